"""The one boundary object the solver sees: an immutable, integer-only routing problem.

Everything is in integers: metres, seconds, load units (grams for parcels, riders for ground
trips), energy units (watt-hours x 10, or whatever a model states). Domain objects (drones,
buses, parcels, trips) are turned into a `Problem` by the model builders; the OR-Tools adapter
gets whole matrices from it, never Python callbacks that compute geometry per arc.

Nodes are indices 0..n-1. A node is a stop where something happens: a vehicle's start or end, a
pickup, a delivery, a reload/battery-swap visit. Several nodes may share a location (their
matrix entries are then 0 apart). Matrices are per travel *profile* (air, road, sidewalk, or one
per vehicle when speeds differ); each vehicle names the profile it moves with.

Extend this module additively (new optional fields with defaults); never change the meaning of
an existing field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

IntMatrix = npt.NDArray[np.int64]


def frozen_matrix(values: Sequence[Sequence[int]] | npt.ArrayLike) -> IntMatrix:
    """A read-only square int64 matrix; rejects non-square or negative input."""
    matrix = np.array(values, dtype=np.int64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"matrix must be square, got shape {matrix.shape}")
    if matrix.size and int(matrix.min()) < 0:
        raise ValueError("matrix entries must be non-negative")
    matrix.setflags(write=False)
    return matrix


@dataclass(frozen=True, slots=True)
class Profile:
    """How a kind of vehicle moves between nodes: travel distance and travel time."""

    name: str
    distance_m: IntMatrix
    duration_s: IntMatrix


@dataclass(frozen=True, slots=True)
class Node:
    """A stop. `load` is what visiting it adds to the vehicle (+ pickup, - delivery)."""

    name: str
    load: int = 0
    service_s: int = 0
    tw_early_s: int = 0
    tw_late_s: int = 2**31 - 1


@dataclass(frozen=True, slots=True)
class VehicleSpec:
    """A vehicle as the solver sees it."""

    name: str
    start: int
    end: int
    profile: int
    capacity: int
    shift_start_s: int = 0
    shift_end_s: int = 2**31 - 1
    max_route_s: int | None = None
    fixed_cost: int = 0
    initial_load: int = 0


@dataclass(frozen=True, slots=True)
class Request:
    """A pickup-and-delivery pair (a parcel or a ride), or a single visit when `pickup` is None.

    `penalty` None means the request must be served; otherwise leaving it unserved costs
    `penalty`. `vehicles` restricts which vehicles may serve it (None: any).
    """

    delivery: int
    pickup: int | None = None
    max_ride_s: int | None = None
    penalty: int | None = None
    vehicles: tuple[int, ...] | None = None


@dataclass(frozen=True, slots=True)
class Problem:
    """An immutable routing problem with time windows, capacities and pickup-delivery pairs."""

    nodes: tuple[Node, ...]
    vehicles: tuple[VehicleSpec, ...]
    requests: tuple[Request, ...]
    profiles: tuple[Profile, ...]
    # Live re-planning: for vehicle i, stops (node indices) it must visit first, in this order.
    locked_prefixes: tuple[tuple[int, ...], ...] = field(default=())

    def __post_init__(self) -> None:
        n = len(self.nodes)
        for profile in self.profiles:
            matrices = (("distance_m", profile.distance_m), ("duration_s", profile.duration_s))
            for label, matrix in matrices:
                if matrix.shape != (n, n):
                    raise ValueError(
                        f"profile {profile.name!r} {label} is {matrix.shape}, expected {(n, n)}"
                    )
        for v in self.vehicles:
            if not (0 <= v.start < n and 0 <= v.end < n):
                raise ValueError(f"vehicle {v.name!r} start/end outside 0..{n - 1}")
            if not 0 <= v.profile < len(self.profiles):
                raise ValueError(f"vehicle {v.name!r} has unknown profile {v.profile}")
            if v.capacity < 0:
                raise ValueError(f"vehicle {v.name!r} capacity must be >= 0")
        for i, r in enumerate(self.requests):
            for node in (r.pickup, r.delivery):
                if node is not None and not 0 <= node < n:
                    raise ValueError(f"request {i} refers to node {node} outside 0..{n - 1}")
        if self.locked_prefixes and len(self.locked_prefixes) != len(self.vehicles):
            raise ValueError("locked_prefixes needs one entry per vehicle")

    @property
    def num_nodes(self) -> int:
        return len(self.nodes)
