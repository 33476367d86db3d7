"""What the solver answers: an immutable plan, one route per vehicle.

A `Route` lists the node indices a vehicle visits, *including* its start and end nodes, with the
arrival time and the start-of-service time at each (service may start later than arrival when a
time window opens later; the vehicle waits). An unused vehicle has the route `[start, end]`.
Requests the plan does not serve are listed in `Solution.unserved` (indices into
`Problem.requests`), never silently lost.

All figures are integers in the problem's units (metres, seconds). `distance_m` is summed from
the problem's distance matrices; benchmark code that needs double precision recomputes it from
the coordinates (see `dispatch.checker`).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Route:
    """One vehicle's plan.

    Attributes:
        vehicle: index into `Problem.vehicles`.
        nodes: node indices in visiting order, first the vehicle's start, last its end.
        arrival_s: arrival time at each node (at the start node: the departure time).
        start_s: start of service at each node (>= arrival; waiting in between).
        distance_m: length of the route from the vehicle's profile matrix.
    """

    vehicle: int
    nodes: tuple[int, ...]
    arrival_s: tuple[int, ...]
    start_s: tuple[int, ...]
    distance_m: int

    @property
    def visits(self) -> tuple[int, ...]:
        """The nodes between start and end (what the vehicle actually does)."""
        return self.nodes[1:-1]

    @property
    def used(self) -> bool:
        """True when the vehicle visits at least one stop."""
        return len(self.nodes) > 2

    @property
    def duration_s(self) -> int:
        """From departure at the start node to arrival at the end node."""
        return self.arrival_s[-1] - self.start_s[0] if self.nodes else 0


@dataclass(frozen=True, slots=True)
class Solution:
    """A complete plan: one `Route` per vehicle (in vehicle order) and the unserved requests.

    Attributes:
        routes: one per vehicle, `routes[v].vehicle == v`.
        unserved: indices of requests left out (each costs its penalty).
        dropped_optional: optional nodes (reload/swap copies) not used; informational.
        objective: the solver's objective value (arc costs + fixed costs + penalties).
        status: the solver's final status, e.g. "SUCCESS", "FAIL", "INFEASIBLE".
        stats: free-form figures (phase timings, fleet reduction steps) for reports.
    """

    routes: tuple[Route, ...]
    unserved: tuple[int, ...]
    objective: int
    status: str = "SUCCESS"
    dropped_optional: tuple[int, ...] = ()
    stats: tuple[tuple[str, float], ...] = field(default=())

    @property
    def feasible_found(self) -> bool:
        """True when the solver produced a plan (it may still leave requests unserved)."""
        return bool(self.routes)

    @property
    def vehicles_used(self) -> int:
        """Number of vehicles that visit at least one stop."""
        return sum(1 for r in self.routes if r.used)

    @property
    def distance_m(self) -> int:
        """Total distance over all routes (integer matrix units)."""
        return sum(r.distance_m for r in self.routes)

    def route_nodes(self) -> list[list[int]]:
        """Per-vehicle visit lists without start/end: the form `solve(initial_routes=...)` takes."""
        return [list(r.visits) for r in self.routes]

    def stat(self, key: str, default: float = 0.0) -> float:
        """A figure from `stats` by name."""
        for name, value in self.stats:
            if name == key:
                return value
        return default
