"""`Instance`: a benchmark as its file states it (floats, the file's node numbering)."""

from __future__ import annotations

import math
from dataclasses import dataclass


class InstanceFormatError(ValueError):
    """A benchmark file does not follow its set's format; the message names file and line."""


@dataclass(frozen=True, slots=True)
class Instance:
    """One benchmark instance.

    Attributes:
        name: the instance name (file stem, e.g. "C101", "lc101", "a2-16").
        kind: "vrptw", "pdptw" or "darp".
        x, y: coordinates per node.
        demand: load change per node (+ pickup / collect, - delivery).
        ready, due: time window on the start of service per node.
        service: service duration per node.
        pairs: (pickup, delivery) node pairs; empty for VRPTW.
        num_vehicles: fleet size (an upper bound).
        capacity: vehicle capacity.
        start_depot, end_depot: depot nodes (equal for Solomon and Li & Lim).
        max_ride: maximum ride time per request (DARP), else None.
        max_route_duration: maximum route duration (DARP), else None.
    """

    name: str
    kind: str
    x: tuple[float, ...]
    y: tuple[float, ...]
    demand: tuple[int, ...]
    ready: tuple[float, ...]
    due: tuple[float, ...]
    service: tuple[float, ...]
    pairs: tuple[tuple[int, int], ...]
    num_vehicles: int
    capacity: int
    start_depot: int = 0
    end_depot: int = 0
    max_ride: float | None = None
    max_route_duration: float | None = None

    @property
    def num_nodes(self) -> int:
        """Number of nodes including depots."""
        return len(self.x)

    @property
    def customers(self) -> tuple[int, ...]:
        """Every node that must be visited (all but the depots)."""
        depots = {self.start_depot, self.end_depot}
        return tuple(i for i in range(self.num_nodes) if i not in depots)

    def dist(self, a: int, b: int) -> float:
        """Euclidean distance (= travel time, speed 1) in double precision."""
        return math.hypot(self.x[a] - self.x[b], self.y[a] - self.y[b])
