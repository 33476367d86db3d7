"""Energy of ground vehicles as the live dispatcher sees it, and when a vehicle must charge.

A real operator never plans a bus or a personal-mobility vehicle past its energy reserve, and
takes it out of service while it charges. Two pieces, both pure (no I/O, no clock):

- `GroundEnergy`: the figures of one vehicle type (pack size, consumption per metre driven,
  auxiliary power, the reserve a plan must keep *after* driving back to its depot, and the charge
  levels at which the vehicle goes to charge and comes back). `plan_energy_wh` estimates what a
  plan costs from straight-line legs stretched by a road factor chosen on the safe side (the
  Makuhari network's 90th percentile of road over straight-line distance, so the estimate is
  high for nine legs in ten, and the reserve covers the rest).
- `ChargeCycle`: the per-vehicle charging lifecycle as a transition table,
  `in_service -> due -> to_depot -> charging -> in_service`. `due` means "no new work; finish
  the riders aboard and any pickups already promised, then go and charge". A vehicle is due
  when it drops under its charge level, or, for a top-up, when it is idle under its top-up
  level and few enough others of its kind are charging (charging staggered over the fleet, so
  the buses do not all leave the loop at once). Its `step` is the
  whole policy: given the vehicle's state of charge and what it still has to do, it returns the
  next state and the command the service must send (return to the depot, or a plan that puts
  the vehicle back in service).

Defaults are the simulator's figures (`sim.ground.bus.BUS_DEFAULTS`,
`sim.ground.mobility.mobility_params`): an operator configures them per vehicle type.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class GroundEnergy:
    """Energy figures of one ground-vehicle type (units in the names); validated on creation.

    Attributes:
        battery_wh: usable pack energy.
        drive_wh_per_m: energy per metre driven.
        aux_w: power drawn all the time (computers, sensors, climate).
        reserve_soc: state of charge a plan must leave *after* the drive back to the depot.
        charge_below_soc: below this the vehicle takes no new work and goes to charge.
        resume_soc: a charging vehicle is back in service at or above this.
        top_up_below_soc: an idle vehicle under this goes to top up while too few others of its
            kind are charging (`max_charging_share`); equal to `charge_below_soc`: never.
        max_charging_share: at most this share of a kind's vehicles top up at once (at least
            one); a vehicle under `charge_below_soc` charges whatever the others do.
        road_factor: road distance over straight-line distance assumed for energy (high side).
    """

    battery_wh: float
    drive_wh_per_m: float
    aux_w: float
    reserve_soc: float
    charge_below_soc: float
    resume_soc: float
    top_up_below_soc: float | None = None  # None: = charge_below_soc (no top-ups)
    max_charging_share: float = 1.0 / 3.0
    road_factor: float = 1.7

    def __post_init__(self) -> None:
        for name in ("battery_wh", "road_factor"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0.0):
                raise ValueError(f"{name} must be positive, got {v!r}")
        for name in ("drive_wh_per_m", "aux_w"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0.0):
                raise ValueError(f"{name} must be >= 0, got {v!r}")
        if not 0.0 <= self.reserve_soc <= self.charge_below_soc < self.resume_soc <= 1.0:
            raise ValueError(
                "need 0 <= reserve_soc <= charge_below_soc < resume_soc <= 1, got "
                f"{self.reserve_soc}, {self.charge_below_soc}, {self.resume_soc}"
            )
        top_up = self.top_up_soc
        if not self.charge_below_soc <= top_up < self.resume_soc:
            raise ValueError(f"top_up_below_soc must be in charge_below_soc..resume_soc: {top_up}")
        if not 0.0 < self.max_charging_share <= 1.0:
            raise ValueError(f"max_charging_share must be in (0, 1]: {self.max_charging_share}")

    @property
    def top_up_soc(self) -> float:
        """Top-up level (`charge_below_soc` when top-ups are off)."""
        return self.charge_below_soc if self.top_up_below_soc is None else self.top_up_below_soc

    def max_charging(self, fleet_size: int) -> int:
        """How many of `fleet_size` vehicles of this kind may top up at once (at least one)."""
        return max(1, math.floor(fleet_size * self.max_charging_share + 1e-9))

    def drive_wh(self, straight_m: float, duration_s: float) -> float:
        """Energy to cover `straight_m` of straight-line legs in `duration_s` (aux included)."""
        drive = self.drive_wh_per_m * self.road_factor * straight_m
        return drive + self.aux_w * duration_s / 3600.0

    def soc_after(self, soc: float, straight_m: float, duration_s: float) -> float:
        """State of charge left after such a drive."""
        return soc - self.drive_wh(straight_m, duration_s) / self.battery_wh


# The simulator's vehicles (sim/ground/bus.py, sim/ground/mobility.py). Reserves equal the
# vehicles' own low-battery warning levels, so a `battery_low` event means the plan estimate was
# wrong, not that the plan was allowed to get there. [EST] figures, as in the simulator.
BUS_ENERGY = GroundEnergy(
    battery_wh=30_000.0,
    drive_wh_per_m=0.25,
    aux_w=800.0,
    reserve_soc=0.20,
    charge_below_soc=0.30,  # about 40 min of loop driving above the reserve
    resume_soc=0.90,  # 22 kW depot charger: 0.3 -> 0.9 in about 55 min
    top_up_below_soc=0.70,  # staggered top-ups: 0.7 -> 0.9 in about 20 min, one bus in three
    road_factor=1.6,  # roads: 90th percentile 1.55 over the Makuhari network
)
MOBILITY_ENERGY = GroundEnergy(
    battery_wh=300.0,
    drive_wh_per_m=300.0 / 16_000.0,  # 16 km range
    aux_w=0.0,
    reserve_soc=0.20,  # 3 km of sidewalk above the vehicle's 15 % warning: single legs can
    charge_below_soc=0.30,  # be several times their straight line (e.g. across the Keiyo line)
    resume_soc=0.60,  # 60 W dock charger: 0.3 -> 0.6 in 1.5 h
    road_factor=2.0,  # sidewalks: 90th percentile 1.68 over the Makuhari network
)
DEFAULT_ENERGY = {"bus": BUS_ENERGY, "mobility": MOBILITY_ENERGY}


class ChargeState(StrEnum):
    """Where a vehicle is in its charging cycle (see the module docstring)."""

    IN_SERVICE = "in_service"
    DUE = "due"  # takes no new work; finishes what it has, then goes to charge
    TO_DEPOT = "to_depot"  # told to return to its depot
    CHARGING = "charging"  # at the depot, charging; back in service at resume_soc


class ChargeCommand(StrEnum):
    """What the service must send the vehicle after a `ChargeCycle.step`."""

    NONE = "none"
    RETURN_TO_DEPOT = "return_to_depot"
    RESUME_SERVICE = "resume_service"  # a (possibly empty) plan: back to work


C = ChargeState
TRANSITIONS: dict[ChargeState, frozenset[ChargeState]] = {
    C.IN_SERVICE: frozenset({C.DUE}),
    C.DUE: frozenset({C.TO_DEPOT, C.CHARGING}),
    C.TO_DEPOT: frozenset({C.CHARGING, C.DUE}),
    C.CHARGING: frozenset({C.IN_SERVICE, C.DUE}),
}


class IllegalChargeTransitionError(RuntimeError):
    """A move the charging lifecycle does not allow (a bug in the policy)."""


@dataclass(frozen=True, slots=True)
class VehicleEnergyView:
    """What the policy needs to know about a vehicle right now."""

    soc: float
    has_stops: bool  # pickups or drop-offs still planned
    riders_aboard: int
    charging: bool  # the vehicle reports it is charging (at its depot)
    at_depot: bool  # idle at its depot (charging or full)
    stopped: bool  # in fault or manual: it cannot drive to a charger now
    may_top_up: bool = False  # few enough others of its kind are charging for a top-up


@dataclass
class ChargeCycle:
    """One vehicle's charging lifecycle; `step` applies the policy (module docstring)."""

    energy: GroundEnergy
    state: ChargeState = ChargeState.IN_SERVICE

    def _move(self, new: ChargeState) -> None:
        if new != self.state and new not in TRANSITIONS[self.state]:
            raise IllegalChargeTransitionError(f"charge cycle cannot go {self.state} -> {new}")
        self.state = new

    @property
    def dispatchable(self) -> bool:
        return self.state is ChargeState.IN_SERVICE

    def battery_low(self) -> None:
        """The vehicle warned its battery is low: no new work from now on."""
        if self.state is ChargeState.IN_SERVICE:
            self._move(ChargeState.DUE)

    def step(self, view: VehicleEnergyView) -> ChargeCommand:
        """Advance on fresh telemetry; returns the command to send (or NONE)."""
        e = self.energy
        if self.state is C.IN_SERVICE:
            idle = not (view.has_stops or view.riders_aboard or view.stopped)
            top_up = view.may_top_up and idle and view.soc < e.top_up_soc
            if view.soc >= e.charge_below_soc and not top_up:
                return ChargeCommand.NONE
            self._move(C.DUE)
        if self.state is C.DUE:
            if view.has_stops or view.riders_aboard or view.stopped:
                return ChargeCommand.NONE
            if view.charging or view.at_depot:
                self._move(C.CHARGING)
            else:
                self._move(C.TO_DEPOT)
                return ChargeCommand.RETURN_TO_DEPOT
        if self.state is C.TO_DEPOT:
            if view.charging or view.at_depot:
                self._move(C.CHARGING)
            else:
                return ChargeCommand.NONE
        if self.state is C.CHARGING:
            if view.soc >= e.resume_soc:
                self._move(C.IN_SERVICE)
                return ChargeCommand.RESUME_SERVICE
            if not (view.charging or view.at_depot):  # driven away (e.g. an operator's plan)
                self._move(C.DUE)
        return ChargeCommand.NONE
