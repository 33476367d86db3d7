"""The scenario's faults for ground vehicles, applied on schedule.

`sim.scenario` lists faults as data (`[faults]` in the scenario TOML). Three concern ground
vehicles: `ground_fault` (the vehicle stops with fault `code`, default `sensor_fault`, for `for_s`
seconds), `battery_sag` (its state of charge drops by `drop_fraction`) and `link_loss` (its
connection drops for `for_s` seconds; in fast mode only, where links are per vehicle). Faults
naming vehicles that are not ground vehicles here (drones) are ignored.

`GroundFaultSchedule.apply(now_s)` is called every tick: it starts what is due and ends what
has run its time, exactly once each, so it is deterministic under a virtual clock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sim.ground.vehicle import GroundVehicle
from sim.scenario.model import Fault

GROUND_KINDS = ("ground_fault", "battery_sag", "link_loss")


@dataclass(frozen=True, slots=True)
class _Action:
    at_s: float
    vehicle_id: str
    kind: str  # start_fault | end_fault | sag | cut | restore
    code: str = ""
    value: float = 0.0


class GroundFaultSchedule:
    """Time-ordered fault actions on ground vehicles; see the module docstring."""

    def __init__(
        self,
        faults: Sequence[Fault],
        vehicles: Mapping[str, GroundVehicle],
        *,
        cut_link: Callable[[str], None] | None = None,
        restore_link: Callable[[str], None] | None = None,
        start_s: float = 0.0,
    ) -> None:
        self.vehicles = vehicles
        self.cut_link = cut_link
        self.restore_link = restore_link
        actions: list[_Action] = []
        for fault in faults:
            vid = str(fault.params.get("vehicle", ""))
            if fault.kind not in GROUND_KINDS or vid not in vehicles:
                continue
            at_s = start_s + fault.at_s
            for_s = float(fault.params.get("for_s", 60.0))
            if for_s <= 0.0:
                raise ValueError(f"{fault.kind} for {vid}: for_s must be positive")
            if fault.kind == "ground_fault":
                code = str(fault.params.get("code", "sensor_fault"))
                actions += [
                    _Action(at_s, vid, "start_fault", code),
                    _Action(at_s + for_s, vid, "end_fault", code),
                ]
            elif fault.kind == "battery_sag":
                drop = float(fault.params.get("drop_fraction", 0.25))
                if not 0.0 < drop <= 1.0:
                    raise ValueError(f"battery_sag for {vid}: drop_fraction must be in (0, 1]")
                actions.append(_Action(at_s, vid, "sag", value=drop))
            elif cut_link is not None and restore_link is not None:
                actions += [_Action(at_s, vid, "cut"), _Action(at_s + for_s, vid, "restore")]
        self._actions = sorted(actions, key=lambda a: (a.at_s, a.vehicle_id, a.kind))
        self.applied: list[tuple[float, str, str]] = []

    @property
    def pending(self) -> int:
        return len(self._actions)

    def apply(self, now_s: float) -> None:
        """Carry out every action due by `now_s`, in order."""
        while self._actions and self._actions[0].at_s <= now_s:
            action = self._actions.pop(0)
            vehicle = self.vehicles[action.vehicle_id]
            if action.kind == "start_fault":
                vehicle.inject_fault(action.code, "scenario ground_fault")
            elif action.kind == "end_fault":
                if vehicle.fault_code == action.code:
                    vehicle.clear_fault()
            elif action.kind == "sag":
                vehicle.battery_soc = max(0.0, vehicle.battery_soc - action.value)
            elif action.kind == "cut" and self.cut_link is not None:
                self.cut_link(action.vehicle_id)
            elif action.kind == "restore" and self.restore_link is not None:
                self.restore_link(action.vehicle_id)
            self.applied.append((now_s, action.vehicle_id, action.kind))
