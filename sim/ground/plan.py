"""What a simulated ground vehicle is told and what it tells: plans, events and telemetry.

A `Plan` is the backend's ordered list of stops for one vehicle, with a version that only grows.
Each stop names the riders who board (`pickups`) and alight (`dropoffs`) there. A plan replaces
the previous one as a whole. These types are the simulator's own; the runner translates them to
and from the wire protocol's messages, so the cores never depend on the wire format.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import NewType

RiderId = NewType("RiderId", str)
VehicleId = NewType("VehicleId", str)


class PlanError(ValueError):
    """A plan or command the vehicle cannot accept; its state is left unchanged."""


class StalePlanError(PlanError):
    """A plan whose version is not newer than the vehicle's current plan."""


@dataclass(frozen=True, slots=True)
class PlanStop:
    """One stop of a plan: a named place, or any lat/lon point (snapped to the network).

    `dwell_s` None means the vehicle's own dwell time.
    """

    stop_id: str
    lat_deg: float | None = None
    lon_deg: float | None = None
    pickups: tuple[RiderId, ...] = ()
    dropoffs: tuple[RiderId, ...] = ()
    dwell_s: float | None = None

    def __post_init__(self) -> None:
        if not self.stop_id:
            raise PlanError("a stop needs a non-empty stop_id")
        if (self.lat_deg is None) != (self.lon_deg is None):
            raise PlanError(f"stop {self.stop_id!r}: give both lat_deg and lon_deg, or neither")
        for v in (self.lat_deg, self.lon_deg, self.dwell_s):
            if v is not None and not math.isfinite(v):
                raise PlanError(f"stop {self.stop_id!r}: values must be finite")
        if self.dwell_s is not None and not 0.0 <= self.dwell_s <= 3600.0:
            raise PlanError(f"stop {self.stop_id!r}: dwell_s must be within 0..3600")
        riders = self.pickups + self.dropoffs
        if len(set(riders)) != len(riders):
            raise PlanError(f"stop {self.stop_id!r}: a rider is named twice")


@dataclass(frozen=True, slots=True)
class Plan:
    """An ordered list of stops; `version` must grow from one plan to the next."""

    version: int
    stops: tuple[PlanStop, ...]

    def __post_init__(self) -> None:
        if isinstance(self.version, bool) or not isinstance(self.version, int):
            raise PlanError(f"plan version must be an integer, got {self.version!r}")
        if self.version < 0:
            raise PlanError(f"plan version must be >= 0, got {self.version}")
        picked: set[RiderId] = set()
        dropped: set[RiderId] = set()
        for stop in self.stops:
            for rider in stop.dropoffs:
                if rider in dropped:
                    raise PlanError(f"plan {self.version}: rider {rider!r} dropped off twice")
                dropped.add(rider)
            for rider in stop.pickups:
                if rider in picked:
                    raise PlanError(f"plan {self.version}: rider {rider!r} picked up twice")
                if rider in dropped:
                    raise PlanError(
                        f"plan {self.version}: rider {rider!r} picked up after drop-off"
                    )
                picked.add(rider)


class EventKind(StrEnum):
    """What a vehicle reports. The first six are the protocol's event kinds."""

    ARRIVED = "arrived"
    DEPARTED = "departed"
    BOARDED = "boarded"
    ALIGHTED = "alighted"
    FAULT = "fault"
    MANUAL_TAKEOVER = "manual_takeover"
    # Simulator-side detail; the runner maps these onto the protocol's kinds where it has none.
    FAULT_CLEARED = "fault_cleared"
    MANUAL_RELEASED = "manual_released"
    PLAN_COMPLETED = "plan_completed"
    AT_DEPOT = "at_depot"


@dataclass(frozen=True, slots=True)
class VehicleEvent:
    """Something that happened, at `t_s`, under plan `plan_version` (-1: no plan yet)."""

    kind: EventKind
    t_s: float
    plan_version: int
    stop_id: str | None = None
    rider_id: RiderId | None = None
    code: str | None = None
    detail: str = ""
    lat_deg: float | None = None  # where it happened
    lon_deg: float | None = None


class VehicleState(StrEnum):
    """Where a vehicle is in its lifecycle (transitions in `sim.ground.lifecycle`)."""

    IDLE = "idle"
    EN_ROUTE = "en_route"
    AT_STOP = "at_stop"
    HOLDING = "holding"
    RETURNING = "returning"
    FAULT = "fault"
    MANUAL = "manual"


@dataclass(frozen=True, slots=True)
class Telemetry:
    """A snapshot of the vehicle (latest-wins on the wire)."""

    t_s: float
    lat_deg: float
    lon_deg: float
    heading_deg: float
    speed_m_s: float
    battery_soc: float  # 0..1
    occupancy: int
    capacity: int
    doors_open: bool
    state: VehicleState
    plan_version: int
    next_stop_id: str | None
    odometer_m: float
    charging: bool = False  # idle at its depot and charging
