"""The ground vehicle's lifecycle as a transition table; an illegal transition raises.

A vehicle's *base* state is what its plan makes it do (idle, driving to a stop, dwelling at a
stop, returning to its depot). Three overlays suspend it, strongest first: a fault, a manual
takeover by a safety driver, and an operator's hold. The reported state is the strongest overlay
in force, else the base state; when an overlay lifts, the vehicle carries on from where it was.
"""

from __future__ import annotations

from sim.ground.plan import VehicleState

S = VehicleState
_BASE = frozenset({S.IDLE, S.EN_ROUTE, S.AT_STOP, S.RETURNING})
_OVERLAYS = frozenset({S.HOLDING, S.FAULT, S.MANUAL})

TRANSITIONS: dict[VehicleState, frozenset[VehicleState]] = {
    S.IDLE: frozenset({S.EN_ROUTE, S.RETURNING}) | _OVERLAYS,
    S.EN_ROUTE: frozenset({S.AT_STOP, S.RETURNING, S.IDLE}) | _OVERLAYS,
    S.AT_STOP: frozenset({S.EN_ROUTE, S.RETURNING, S.IDLE}) | _OVERLAYS,
    S.RETURNING: frozenset({S.IDLE, S.EN_ROUTE}) | _OVERLAYS,
    S.HOLDING: _BASE | frozenset({S.FAULT, S.MANUAL}),
    S.MANUAL: _BASE | frozenset({S.FAULT, S.HOLDING}),
    S.FAULT: _BASE | frozenset({S.MANUAL, S.HOLDING}),
}


class IllegalTransitionError(RuntimeError):
    """A state change the lifecycle table does not allow (a bug in the vehicle core)."""


def check_transition(old: VehicleState, new: VehicleState) -> None:
    """Raise `IllegalTransitionError` unless `old` -> `new` is in the table (or no change)."""
    if old != new and new not in TRANSITIONS[old]:
        raise IllegalTransitionError(f"ground vehicle cannot go from {old} to {new}")


def mermaid() -> str:
    """The table as a Mermaid state diagram, for the docs."""
    lines = ["stateDiagram-v2"]
    for old in VehicleState:
        lines.extend(f"    {old} --> {new}" for new in sorted(TRANSITIONS[old]))
    return "\n".join(lines)
