"""Ground plans in domain terms, read back from a `Solution` of a `GroundProblem`.

A `GroundPlan` lists per vehicle its stops (pick up or drop off a trip's riders at a stop or a
door), with times and the load after each stop, the walk each bus rider makes, and the trips left
out with a reason. `plan_ground` is the one call: build, solve with the engine, read back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dispatch.domain import Site, SiteId, TravelMatrix, TripId, TripRequest, Vehicle, VehicleId
from dispatch.ground_model import GroundModelParams, GroundProblem, build_ground_problem
from dispatch.params import SolverParams
from dispatch.solution import Solution
from dispatch.solver import solve


@dataclass(frozen=True, slots=True)
class GroundStop:
    """One stop of a ground vehicle."""

    trip_id: TripId
    action: str  # pickup or dropoff
    location: str
    arrive_s: int
    start_s: int
    load_after: int


@dataclass(frozen=True, slots=True)
class GroundRoute:
    """One vehicle's plan."""

    vehicle_id: VehicleId
    start_location: str
    start_s: int
    stops: tuple[GroundStop, ...]


@dataclass(frozen=True, slots=True)
class GroundPlan:
    """Routes, walks of bus riders (m), and trips left out with reasons."""

    routes: tuple[GroundRoute, ...]
    walk_m: tuple[tuple[TripId, int], ...]
    unserved: tuple[tuple[str, str], ...]
    status: str = "SUCCESS"


def read_ground_plan(gp: GroundProblem, solution: Solution) -> GroundPlan:
    """Translate the solver's answer into a `GroundPlan`."""
    problem = gp.problem
    routes = []
    served: set[TripId] = set()
    walks: list[tuple[TripId, int]] = []
    for route in solution.routes:
        spec = problem.vehicles[route.vehicle]
        load = spec.initial_load
        stops = []
        for pos, k in enumerate(route.nodes):
            kind, trip = gp.node_kind[k], gp.node_trip[k]
            if trip is None or kind not in ("pickup", "dropoff"):
                continue
            load += problem.nodes[k].load
            where = gp.node_key[k][spec.profile]
            stops.append(
                GroundStop(trip, kind, where, route.arrival_s[pos], route.start_s[pos], load)
            )
            if kind == "dropoff":
                served.add(trip)
            elif spec.profile != 0:
                walks.append((trip, gp.access[trip].walk_m))
        routes.append(
            GroundRoute(
                gp.vehicle_ids[route.vehicle],
                gp.node_key[spec.start][spec.profile],
                route.start_s[0],
                tuple(stops),
            )
        )
    reason = "no vehicle can serve it within its windows, capacity and ride time"
    if not solution.routes:
        reason = f"no plan found ({solution.status})"
    unserved = list(gp.excluded)
    unserved += [(t, reason) for t in gp.trip_ids if t not in served]
    return GroundPlan(tuple(routes), tuple(walks), tuple(unserved), solution.status)


def plan_ground(
    vehicles: Sequence[Vehicle],
    trips: Sequence[TripRequest],
    stops: Mapping[SiteId, Site],
    road: TravelMatrix,
    sidewalk: TravelMatrix,
    solver_params: SolverParams,
    params: GroundModelParams | None = None,
    initial_routes: Sequence[Sequence[int]] | None = None,
) -> tuple[GroundPlan, GroundProblem, Solution]:
    """Build, solve and read back a ground problem (static planning or a re-plan)."""
    gp = build_ground_problem(vehicles, trips, stops, road, sidewalk, params)
    sol = solve(gp.problem, solver_params, initial_routes)
    return read_ground_plan(gp, sol), gp, sol
