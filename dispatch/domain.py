"""Domain objects the model builders turn into a `Problem`: sites, vehicles, orders, trips.

These are what an operator talks about (a drone at the Funabashi warehouse with 80 % battery, a
parcel of 2.1 kg of medicine due by 10:30), in float units where people think in floats (kg, SoC)
and integer seconds for times. The builders (`drone_model`, `ground_model`) translate them into
the solver's integer boundary object and translate the answer back.

Places are named by *location keys* (strings): a site id, or any other key the caller put in a
`TravelMatrix` (a vehicle's current position, a rider's door). Models never compute geometry:
they read travel distances and times from the matrices they are given (air matrices from
`geofences`, road and sidewalk matrices from the fleet's network).

A vehicle's `VehicleStart` is where live re-planning begins: its position, the time it is free,
what it has on board (those drops stay with it) and the stops it has committed to (locked).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NewType

import numpy as np
import numpy.typing as npt

from dispatch.problem import IntMatrix, frozen_matrix

SiteId = NewType("SiteId", str)
VehicleId = NewType("VehicleId", str)
OrderId = NewType("OrderId", str)
TripId = NewType("TripId", str)

UNREACHABLE = 10**9
"""A matrix entry at or above this (metres or seconds) means: no legal way between the two."""


class SiteKind(StrEnum):
    """What a site is for."""

    WAREHOUSE = "warehouse"  # parcels are loaded here; batteries can be swapped
    DRONE_PORT = "drone_port"  # parcels are delivered here (landing or winch release)
    SWAP_STATION = "swap_station"  # batteries can be swapped, nothing loaded
    STOP = "stop"  # a bus stop


class VehicleKind(StrEnum):
    """Vehicle kinds the models know."""

    DRONE = "drone"
    BUS = "bus"
    PERSONAL_MOBILITY = "personal_mobility"


class Priority(StrEnum):
    """How much leaving an order unserved hurts (sets its drop penalty)."""

    NORMAL = "normal"
    URGENT = "urgent"
    MEDICINE = "medicine"


@dataclass(frozen=True, slots=True)
class Site:
    """A fixed place in the network.

    Attributes:
        id: the site's id, also its location key in the matrices.
        kind: what it is for.
        lat_deg: WGS-84 latitude.
        lon_deg: WGS-84 longitude.
        name: human name.
        pads: landing pads (drone ports) or bays; informational for the models.
    """

    id: SiteId
    kind: SiteKind
    lat_deg: float
    lon_deg: float
    name: str = ""
    pads: int = 1

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lat_deg) and -90 <= self.lat_deg <= 90):
            raise ValueError(f"site {self.id}: lat_deg out of range: {self.lat_deg}")
        if not (math.isfinite(self.lon_deg) and -180 <= self.lon_deg <= 180):
            raise ValueError(f"site {self.id}: lon_deg out of range: {self.lon_deg}")
        if self.pads < 1:
            raise ValueError(f"site {self.id}: pads must be >= 1")

    @property
    def swaps_batteries(self) -> bool:
        """True when a drone can reload or swap its battery here."""
        return self.kind in (SiteKind.WAREHOUSE, SiteKind.SWAP_STATION)


@dataclass(frozen=True, slots=True)
class Committed:
    """A stop a vehicle has committed to (locked in re-planning): `action` on a request."""

    request_id: str
    action: str  # "pickup" or "dropoff"

    def __post_init__(self) -> None:
        if self.action not in ("pickup", "dropoff"):
            raise ValueError(f"committed action must be pickup or dropoff, got {self.action!r}")


@dataclass(frozen=True, slots=True)
class VehicleStart:
    """Where and when a vehicle can start its (new) plan.

    Attributes:
        location: location key of its position (a site id, or its own key when in transit).
        t_s: the time it can leave `location`.
        onboard: ids of orders/trips on board (their drops are locked to this vehicle).
        battery_soc: state of charge in 0..1 (drones).
        committed: next stops it is committed to, in order (locked in re-planning).
        boarded_s: for ground vehicles, when each `onboard` trip was picked up (same order;
            empty: unknown, the ride-time limit of those riders is then not re-imposed).
        landed: True when it stands on the ground at `location` (a drone may swap there).
    """

    location: str
    t_s: int = 0
    onboard: tuple[str, ...] = ()
    battery_soc: float = 1.0
    committed: tuple[Committed, ...] = ()
    boarded_s: tuple[int, ...] = ()
    landed: bool = True

    def __post_init__(self) -> None:
        if not (math.isfinite(self.battery_soc) and 0.0 <= self.battery_soc <= 1.0):
            raise ValueError(f"battery_soc must be within 0..1, got {self.battery_soc}")
        if self.t_s < 0:
            raise ValueError("t_s must be >= 0")
        if self.boarded_s and len(self.boarded_s) != len(self.onboard):
            raise ValueError("boarded_s needs one time per onboard trip")


@dataclass(frozen=True, slots=True)
class Vehicle:
    """A vehicle of the fleet.

    Attributes:
        id: the vehicle's id.
        kind: drone, bus or personal mobility.
        capacity: seats (ground vehicles; bus 11-15, personal mobility 1); ignored for drones.
        max_payload_kg: payload limit (drones).
        start: its start state.
        home: location key where its plan must end (drones: a site that swaps batteries);
            None: ends anywhere after its last stop (ground vehicles).
        shift_end_s: latest time its plan may end.
        stops: for buses, the stop site ids it may serve (None: any stop).
    """

    id: VehicleId
    kind: VehicleKind
    start: VehicleStart
    capacity: int = 1
    max_payload_kg: float = 0.0
    home: str | None = None
    shift_end_s: int = 2**31 - 1
    stops: tuple[SiteId, ...] | None = None

    def __post_init__(self) -> None:
        if self.capacity < 0:
            raise ValueError(f"vehicle {self.id}: capacity must be >= 0")
        if not (math.isfinite(self.max_payload_kg) and self.max_payload_kg >= 0):
            raise ValueError(f"vehicle {self.id}: max_payload_kg must be >= 0")


@dataclass(frozen=True, slots=True)
class DeliveryOrder:
    """A parcel from a warehouse to a drone port.

    Attributes:
        id: the order's id.
        weight_kg: parcel weight.
        warehouse: site id where it is loaded.
        drone_port: site id where it is delivered.
        ready_s: earliest loading time.
        deadline_s: latest time the delivery (landing or winch release) may start.
        load_s: loading time at the warehouse.
        drop_s: landing / winch release time at the port (hovering, at payload).
        priority: sets the penalty for leaving it unserved.
    """

    id: OrderId
    weight_kg: float
    warehouse: SiteId
    drone_port: SiteId
    ready_s: int
    deadline_s: int
    load_s: int = 60
    drop_s: int = 90
    priority: Priority = Priority.NORMAL

    def __post_init__(self) -> None:
        if not (math.isfinite(self.weight_kg) and self.weight_kg > 0):
            raise ValueError(f"order {self.id}: weight_kg must be > 0, got {self.weight_kg}")
        if self.deadline_s < self.ready_s:
            raise ValueError(f"order {self.id}: deadline before ready time")
        if self.load_s < 0 or self.drop_s < 0:
            raise ValueError(f"order {self.id}: service times must be >= 0")


@dataclass(frozen=True, slots=True)
class TripRequest:
    """A ride: riders from an origin to a destination (location keys, e.g. their doors).

    Attributes:
        id: the trip's id.
        riders: number of riders travelling together.
        origin: location key of the origin.
        destination: location key of the destination.
        earliest_pickup_s: the riders are ready from then.
        latest_dropoff_s: they must arrive by then.
        priority: sets the penalty for leaving it unserved.
    """

    id: TripId
    riders: int
    origin: str
    destination: str
    earliest_pickup_s: int
    latest_dropoff_s: int
    priority: Priority = Priority.NORMAL

    def __post_init__(self) -> None:
        if self.riders < 1:
            raise ValueError(f"trip {self.id}: riders must be >= 1")
        if self.latest_dropoff_s < self.earliest_pickup_s:
            raise ValueError(f"trip {self.id}: latest drop-off before earliest pickup")
        if self.origin == self.destination:
            raise ValueError(f"trip {self.id}: origin equals destination")


@dataclass(frozen=True, slots=True)
class TravelMatrix:
    """Travel distances (m) and times (s) between location keys, integer, read-only."""

    keys: tuple[str, ...]
    distance_m: IntMatrix
    duration_s: IntMatrix
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        n = len(self.keys)
        if len(set(self.keys)) != n:
            raise ValueError("matrix keys must be unique")
        for label, m in (("distance_m", self.distance_m), ("duration_s", self.duration_s)):
            if m.shape != (n, n):
                raise ValueError(f"{label} is {m.shape}, expected {(n, n)}")
        object.__setattr__(self, "_index", {k: i for i, k in enumerate(self.keys)})

    @classmethod
    def build(
        cls,
        keys: Sequence[str],
        distance_m: npt.ArrayLike,
        duration_s: npt.ArrayLike,
    ) -> TravelMatrix:
        """From plain arrays (validated: square, non-negative integers)."""
        return cls(tuple(keys), frozen_matrix(distance_m), frozen_matrix(duration_s))

    def index(self, key: str) -> int:
        """Row of `key`; KeyError with a clear message when unknown."""
        try:
            return self._index[key]
        except KeyError:
            raise KeyError(f"location {key!r} is not in the travel matrix") from None

    def __contains__(self, key: object) -> bool:
        return key in self._index

    def dist(self, a: str, b: str) -> int:
        """Distance in metres from `a` to `b`."""
        return int(self.distance_m[self._index[a], self._index[b]])

    def time(self, a: str, b: str) -> int:
        """Travel time in seconds from `a` to `b`."""
        return int(self.duration_s[self._index[a], self._index[b]])

    def sub(self, keys: Sequence[str]) -> tuple[IntMatrix, IntMatrix]:
        """Distance and duration matrices over `keys`, in that order (rows may repeat)."""
        rows = np.array([self.index(k) for k in keys], dtype=np.int64)
        return (
            frozen_matrix(self.distance_m[np.ix_(rows, rows)]),
            frozen_matrix(self.duration_s[np.ix_(rows, rows)]),
        )
