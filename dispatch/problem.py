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
class Dimension:
    """An extra accumulated quantity along a route (energy, a second load kind, ...).

    `transit[p]` is the amount consumed on each arc by a vehicle of profile `p` (one matrix per
    profile, shape n x n, non-negative). The cumulated value must stay within
    `0..capacity[v]` for vehicle `v` (one entry per vehicle). At `reset_nodes` the cumulated value
    drops back to 0 on leaving the node (a battery swap, a reload). `start_value[v]` is what
    vehicle `v` already carries at its start (e.g. energy already used); default 0.
    """

    name: str
    transit: tuple[IntMatrix, ...]
    capacity: tuple[int, ...]
    reset_nodes: tuple[int, ...] = ()
    start_value: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Problem:
    """An immutable routing problem with time windows, capacities and pickup-delivery pairs."""

    nodes: tuple[Node, ...]
    vehicles: tuple[VehicleSpec, ...]
    requests: tuple[Request, ...]
    profiles: tuple[Profile, ...]
    # Live re-planning: for vehicle i, stops (node indices) it must visit first, in this order.
    locked_prefixes: tuple[tuple[int, ...], ...] = field(default=())
    # Extra route dimensions (energy, ...), enforced by the solver and the checker.
    dimensions: tuple[Dimension, ...] = field(default=())

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
        for dim in self.dimensions:
            self._check_dimension(dim)

    def _check_dimension(self, dim: Dimension) -> None:
        n = len(self.nodes)
        if len(dim.transit) != len(self.profiles):
            raise ValueError(f"dimension {dim.name!r} needs one transit matrix per profile")
        for matrix in dim.transit:
            if matrix.shape != (n, n):
                raise ValueError(f"dimension {dim.name!r} transit is {matrix.shape}, not {(n, n)}")
        if len(dim.capacity) != len(self.vehicles):
            raise ValueError(f"dimension {dim.name!r} needs one capacity per vehicle")
        if dim.start_value and len(dim.start_value) != len(self.vehicles):
            raise ValueError(f"dimension {dim.name!r} needs one start_value per vehicle")
        if any(not 0 <= node < n for node in dim.reset_nodes):
            raise ValueError(f"dimension {dim.name!r} has a reset node outside 0..{n - 1}")

    @property
    def num_nodes(self) -> int:
        """Number of nodes (stops)."""
        return len(self.nodes)

    def request_of_node(self) -> dict[int, int]:
        """Map each pickup or delivery node to the index of its request."""
        owner: dict[int, int] = {}
        for i, r in enumerate(self.requests):
            owner[r.delivery] = i
            if r.pickup is not None:
                owner[r.pickup] = i
        return owner

    def depot_nodes(self) -> frozenset[int]:
        """Nodes that are some vehicle's start or end."""
        return frozenset(n for v in self.vehicles for n in (v.start, v.end))

    def optional_nodes(self) -> tuple[int, ...]:
        """Nodes that are neither a depot nor part of a request: optional visits at no penalty.

        These are e.g. reload or battery-swap stops (copies of a warehouse node); the solver
        may use each of them at most once, or not at all.
        """
        used = self.depot_nodes() | frozenset(self.request_of_node())
        return tuple(i for i in range(len(self.nodes)) if i not in used)
