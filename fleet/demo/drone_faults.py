"""The scenario's weather and faults for the simulated copters, applied on schedule.

`sim.scenario` lists the wind over the bay (`[wind]`) and faults as data (`[faults]`). For drones:
- the scenario's wind blows on every copter from the start (mean speed, direction, gusts);
- `gust_front`: for `for_s` seconds the wind is `speed_m_s` from `from_deg` (gusts as the
  scenario's), then the scenario's wind again;
- `battery_sag` on a drone: its state of charge drops by `drop_fraction` at once (a cell
  failing), which the service must notice from telemetry and act on;
- `link_loss` on a drone: its radio link is cut both ways for `for_s` seconds.
Faults naming vehicles that are not drones here are left to the ground simulator.

`DroneFaultSchedule.apply(now_s)` is called every tick of the run: it starts what is due and ends
what has run its time, exactly once each, so a run under a virtual clock stays deterministic.
Every action is written down (`log`) for the report.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sim.copter.autopilot import CopterAutopilot
from sim.copter.battery import Battery
from sim.copter.channel import LinkCut
from sim.copter.physics import Wind
from sim.scenario.model import Fault
from sim.scenario.model import Wind as ScenarioWind

DRONE_KINDS = ("link_loss", "battery_sag", "gust_front")


@dataclass(frozen=True, slots=True)
class FaultCopter:
    """What a fault needs of a copter: its autopilot and its link's cut switch."""

    autopilot: CopterAutopilot
    cut: LinkCut


@dataclass(frozen=True, slots=True)
class _Action:
    at_s: float
    order: int  # ties at one time keep the scenario's order
    kind: str  # wind | sag | cut | restore
    vehicle_id: str = ""
    value: float = 0.0
    wind: Wind | None = None


def copter_wind(wind: ScenarioWind, sysid: int) -> Wind:
    """The scenario's wind as one copter feels it (gust phases differ per copter)."""
    return Wind.from_direction(wind.speed_m_s, wind.from_deg, wind.gust_m_s, seed=sysid)


class DroneFaultSchedule:
    """Time-ordered weather and fault actions on the copters; see the module docstring."""

    def __init__(
        self,
        faults: Sequence[Fault],
        copters: Mapping[str, FaultCopter],
        wind: ScenarioWind,
        start_s: float = 0.0,
    ) -> None:
        self.copters = copters
        self.base_wind = wind
        self.log: list[tuple[float, str, str]] = []  # (t_s, vehicle or "all", what happened)
        actions = [_Action(start_s, -1, "wind", wind=None)]
        for i, fault in enumerate(faults):
            if fault.kind not in DRONE_KINDS:
                continue
            at_s = start_s + fault.at_s
            vid = str(fault.params.get("vehicle", ""))
            if fault.kind != "gust_front" and vid not in copters:
                continue  # not a drone of this run: the ground simulator's business
            for_s = float(fault.params.get("for_s", 60.0))
            if not for_s > 0.0:
                raise ValueError(f"{fault.kind} at {fault.at_s} s: for_s must be positive")
            if fault.kind == "gust_front":
                speed = float(fault.params.get("speed_m_s", 14.0))
                from_deg = float(fault.params.get("from_deg", wind.from_deg))
                if not (0.0 <= speed <= 40.0 and 0.0 <= from_deg <= 360.0):
                    raise ValueError(
                        f"gust_front at {fault.at_s} s: speed_m_s must be in [0, 40] and "
                        f"from_deg in [0, 360], got {speed}, {from_deg}"
                    )
                gust = dataclasses.replace(wind, speed_m_s=speed, from_deg=from_deg)
                actions += [
                    _Action(at_s, i, "wind", value=speed, wind=copter_wind(gust, 0)),
                    _Action(at_s + for_s, i, "wind", wind=None),
                ]
            elif fault.kind == "battery_sag":
                drop = float(fault.params.get("drop_fraction", 0.25))
                if not 0.0 < drop <= 1.0:
                    raise ValueError(f"battery_sag of {vid}: drop_fraction must be in (0, 1]")
                actions.append(_Action(at_s, i, "sag", vid, drop))
            else:
                actions += [_Action(at_s, i, "cut", vid), _Action(at_s + for_s, i, "restore", vid)]
        self._actions = sorted(actions, key=lambda a: (a.at_s, a.order))
        self._next = 0

    def apply(self, now_s: float) -> None:
        """Carry out every action due by `now_s` (each exactly once, in time order)."""
        while self._next < len(self._actions) and self._actions[self._next].at_s <= now_s:
            action = self._actions[self._next]
            self._next += 1
            self._do(action, now_s)

    def _do(self, action: _Action, now_s: float) -> None:
        if action.kind == "wind":
            for copter in self.copters.values():
                fc = copter.autopilot.fc
                wind = action.wind or copter_wind(self.base_wind, copter.autopilot.sysid)
                if action.wind is not None:  # the front is one air mass; gust phases per copter
                    wind = dataclasses.replace(wind, seed=copter.autopilot.sysid)
                fc.config = dataclasses.replace(fc.config, wind=wind)
            what = (
                f"gust front: {action.value:g} m/s"
                if action.wind is not None
                else f"wind: {self.base_wind.speed_m_s:g} m/s from {self.base_wind.from_deg:g} deg"
            )
            self.log.append((round(now_s, 1), "all", what))
            return
        copter = self.copters[action.vehicle_id]
        fc = copter.autopilot.fc
        if action.kind == "sag":
            before = fc.battery.soc
            fc.battery = Battery(fc.battery.spec, max(0.0, before - action.value))
            what = f"battery sag: {before:.0%} -> {fc.battery.soc:.0%}"
        elif action.kind == "cut":
            copter.cut.cut()
            what = "link cut"
        else:
            copter.cut.restore()
            what = "link restored"
        self.log.append((round(now_s, 1), action.vehicle_id, what))
