"""Lifecycles of delivery orders, trip requests, vehicles and missions, as transition tables.

Each lifecycle is one table: state -> the states it may move to. `Lifecycle.check` raises
`IllegalTransitionError` for anything else, so a bug or a stale message can never put an order in a
state it cannot reach. The diagrams in `docs/lifecycles.md` are generated from these tables
(`python -m fleet.lifecycle > docs/lifecycles.md`), and a test keeps the two in step.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass


class IllegalTransitionError(ValueError):
    """A transition the lifecycle table does not allow."""


@dataclass(frozen=True)
class Lifecycle:
    name: str
    initial: str
    table: Mapping[str, frozenset[str]]
    terminal: frozenset[str]

    def __post_init__(self) -> None:
        targets = set().union(*self.table.values())
        unknown = targets - set(self.table)
        if unknown:
            raise ValueError(f"{self.name}: transitions to undeclared states {sorted(unknown)}")
        for state in self.terminal:
            if self.table[state]:
                raise ValueError(f"{self.name}: terminal state {state!r} has exits")

    @property
    def states(self) -> tuple[str, ...]:
        return tuple(self.table)

    def allowed(self, current: str, target: str) -> bool:
        return target in self.table.get(current, frozenset())

    def check(self, current: str, target: str) -> None:
        if current not in self.table:
            raise IllegalTransitionError(f"{self.name}: unknown state {current!r}")
        if target not in self.table[current]:
            allowed = ", ".join(sorted(self.table[current])) or "none (terminal)"
            raise IllegalTransitionError(
                f"{self.name}: cannot go from {current!r} to {target!r} (allowed: {allowed})"
            )

    def mermaid(self) -> str:
        lines = ["stateDiagram-v2", f"    [*] --> {self.initial}"]
        for state, targets in self.table.items():
            lines += [f"    {state} --> {target}" for target in sorted(targets)]
        lines += [f"    {state} --> [*]" for state in sorted(self.terminal)]
        return "\n".join(lines)


def _table(rows: Mapping[str, tuple[str, ...]]) -> dict[str, frozenset[str]]:
    return {state: frozenset(targets) for state, targets in rows.items()}


ORDER = Lifecycle(
    name="delivery order",
    initial="received",
    table=_table(
        {
            "received": ("planned", "rejected", "cancelled", "failed"),
            "planned": ("assigned", "planned", "cancelled", "failed"),
            "assigned": ("loaded", "planned", "cancelled", "failed"),
            "loaded": ("in_flight", "failed"),
            "in_flight": ("delivered", "failed", "loaded"),
            "delivered": (),
            "rejected": (),
            "cancelled": (),
            "failed": (),
        }
    ),
    terminal=frozenset({"delivered", "rejected", "cancelled", "failed"}),
)
"""A parcel: planned (promised a window), assigned to a drone, loaded, flown, delivered.
`assigned -> planned` is a re-dispatch (the drone was lost or could not finish);
`in_flight -> loaded` is a drone that came back with the parcel still aboard."""

TRIP = Lifecycle(
    name="trip request",
    initial="received",
    table=_table(
        {
            "received": ("planned", "rejected", "cancelled", "failed"),
            "planned": ("assigned", "planned", "cancelled", "failed"),
            "assigned": ("picked_up", "planned", "cancelled", "failed"),
            "picked_up": ("dropped_off", "failed"),
            "dropped_off": (),
            "rejected": (),
            "cancelled": (),
            "failed": (),
        }
    ),
    terminal=frozenset({"dropped_off", "rejected", "cancelled", "failed"}),
)
"""A ride: planned (promised a pickup window), assigned to a vehicle, picked up, dropped off."""

VEHICLE = Lifecycle(
    name="vehicle",
    initial="offline",
    table=_table(
        {
            "offline": ("idle", "busy", "fault"),
            "idle": ("busy", "holding", "returning", "offline", "fault"),
            "busy": ("idle", "holding", "returning", "offline", "fault"),
            "holding": ("busy", "idle", "returning", "offline", "fault"),
            "returning": ("idle", "busy", "holding", "offline", "fault"),
            "fault": ("idle", "offline", "returning"),
        }
    ),
    terminal=frozenset(),
)
"""A vehicle as the service sees it; `offline` is link lost or not yet connected."""

MISSION = Lifecycle(
    name="mission",
    initial="planned",
    table=_table(
        {
            "planned": ("uploading", "cancelled"),
            "uploading": ("uploaded", "upload_failed", "cancelled"),
            "upload_failed": ("uploading", "cancelled"),
            "uploaded": ("started", "uploading", "cancelled"),
            "started": ("completed", "aborted"),
            "completed": (),
            "aborted": (),
            "cancelled": (),
        }
    ),
    terminal=frozenset({"completed", "aborted", "cancelled"}),
)
"""A drone mission: uploaded through the MAVLink mission protocol, started, flown."""

LIFECYCLES = (ORDER, TRIP, VEHICLE, MISSION)


def document() -> str:
    """The Markdown page of every lifecycle, generated from the tables."""
    parts = [
        "# Lifecycles",
        "",
        "Generated from `fleet/lifecycle.py` by `python -m fleet.lifecycle`; do not edit by hand.",
        "Any transition not drawn here is refused with `IllegalTransitionError`.",
    ]
    for lc in LIFECYCLES:
        parts += ["", f"## {lc.name}", "", "```mermaid", lc.mermaid(), "```"]
        if lc.terminal:
            parts += ["", "Terminal: " + ", ".join(f"`{s}`" for s in sorted(lc.terminal)) + "."]
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    sys.stdout.write(document())
