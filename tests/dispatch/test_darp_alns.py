"""The pickup-and-delivery ALNS warm start, end to end through `solve`.

Judged by the independent benchmark checker on a Cordeau instance (time windows, ride times,
route duration, capacity) and by the solver's own contract (nothing lost, deterministic for a
work budget). Budgets are work (iterations), never wall-clock.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from dispatch.bench.cli import default_root
from dispatch.checker import check_plan
from dispatch.instances import DEFAULT_SCALE, read_instance, to_problem
from dispatch.params import SolverParams
from dispatch.problem import Dimension, Node, Problem, Profile, Request, VehicleSpec, frozen_matrix
from dispatch.solver import alns, solve

ROOT = default_root()
A2_16 = ROOT / "darp" / "a2-16.txt"
needs_data = pytest.mark.skipif(not A2_16.is_file(), reason=f"no benchmark data at {ROOT}")
PARAMS = SolverParams(
    time_limit_s=None, solution_limit=60, warm_start="alns", warm_start_share=0.9, seed=3
)


@needs_data
def test_a2_16_is_solved_feasibly_near_the_optimum_and_reproducibly() -> None:
    instance = read_instance("darp", A2_16)
    problem = to_problem(instance, DEFAULT_SCALE)
    assert alns.fits_alns(problem)
    sol = solve(problem, PARAMS)
    assert sol.unserved == ()
    routes = [list(r.visits) for r in sol.routes]
    schedules = [[t / DEFAULT_SCALE for t in r.start_s] for r in sol.routes]
    report = check_plan(instance, routes, schedules)
    assert report.feasible, report.violations
    assert report.distance <= 294.25 * 1.01  # published optimum 294.25
    stats = dict(sol.stats)
    assert stats["alns_iterations"] == int(60 * 0.9 * 50)
    again = solve(problem, PARAMS)
    assert [r.nodes for r in again.routes] == [r.nodes for r in sol.routes]


def _line_problem(*, late_drop_s: int = 10**6, dims: tuple[Dimension, ...] = ()) -> Problem:
    xs = [0, 10, 20, 30, 40]
    dist = frozen_matrix([[abs(a - b) for b in xs] for a in xs])
    nodes = (
        Node("depot"),
        Node("p1", 1),
        Node("d1", -1),
        Node("p2", 1),
        Node("d2", -1, tw_late_s=late_drop_s),
    )
    return Problem(
        nodes=nodes,
        vehicles=(VehicleSpec("v0", 0, 0, 0, 1), VehicleSpec("v1", 0, 0, 0, 1)),
        requests=(Request(2, 1, max_ride_s=15), Request(4, 3, max_ride_s=15)),
        profiles=(Profile("line", dist, dist),),
        dimensions=dims,
    )


def test_an_impossible_request_is_reported_unserved_not_lost() -> None:
    problem = _line_problem(late_drop_s=5)  # d2 is 40 away: never reachable by t = 5
    sol = solve(problem, PARAMS)
    assert sol.unserved == (1,)
    served = [n for r in sol.routes for n in r.visits]
    assert sorted(served) == [1, 2]
    assert dict(sol.stats)["alns_iterations"] > 0


def test_a_problem_the_alns_cannot_hold_falls_back_to_ortools() -> None:
    zero = frozen_matrix(np.zeros((5, 5), dtype=np.int64))
    problem = _line_problem(dims=(Dimension("energy", (zero,), (10, 10)),))
    assert not alns.fits_alns(problem)
    sol = solve(problem, PARAMS)
    assert "alns_iterations" not in dict(sol.stats)
    assert sol.unserved == ()


def test_invalid_initial_routes_are_ignored_and_valid_ones_are_kept() -> None:
    problem = _line_problem()
    broken = solve(problem, PARAMS, initial_routes=[[2, 1], []])  # delivery before pickup
    assert broken.unserved == ()
    kept = alns.search(problem, 0, None, 0, initial_routes=[[1, 2], [3, 4]])
    assert kept.routes == [[1, 2], [3, 4]] and kept.unassigned == 0
    improved = alns.search(problem, 0, None, 50, initial_routes=[[1, 2], [3, 4]])
    assert sorted(improved.routes, key=len) == [[], [1, 2, 3, 4]]  # 80 instead of 40 + 80


def test_each_vehicle_carries_one_rider_at_a_time_with_capacity_one() -> None:
    problem = _line_problem()
    sol = solve(problem, dataclasses.replace(PARAMS, seed=11))
    for route in sol.routes:
        load = np.cumsum([problem.nodes[n].load for n in route.nodes])
        assert load.max() <= 1 and load.min() >= 0


def test_route_elimination_merges_two_routes_when_one_vehicle_can_do_both() -> None:
    problem = _line_problem()
    merged = alns.eliminate_routes(problem, 0, [[1, 2], [3, 4]], None, 200)
    assert sorted(merged, key=len) == [[], [1, 2, 3, 4]]


def test_route_elimination_keeps_the_plan_when_no_vehicle_can_be_spared() -> None:
    # Two riders in opposite directions, each due at its drop-off by t = 20.
    xs = [0, 10, 20, -10, -20]
    dist = frozen_matrix([[abs(a - b) for b in xs] for a in xs])
    nodes = (
        Node("depot"),
        Node("p1", 1),
        Node("d1", -1, tw_late_s=20),
        Node("p2", 1),
        Node("d2", -1, tw_late_s=20),
    )
    problem = Problem(
        nodes=nodes,
        vehicles=(VehicleSpec("v0", 0, 0, 0, 1), VehicleSpec("v1", 0, 0, 0, 1)),
        requests=(Request(2, 1), Request(4, 3)),
        profiles=(Profile("line", dist, dist),),
    )
    routes = [[1, 2], [3, 4]]
    assert alns.eliminate_routes(problem, 0, routes, None, 200) == routes


def test_fleet_share_is_validated() -> None:
    with pytest.raises(ValueError, match="alns_fleet_share"):
        SolverParams(alns_fleet_share=1.5)


def test_single_visits_with_windows_and_capacity_vrptw() -> None:
    """Six customers on a line, demand 2 each, capacity 6: at least two routes; windows hold."""
    xs = [0, 10, 20, 30, -10, -20, -30]
    dist = frozen_matrix([[abs(a - b) for b in xs] for a in xs])
    customers = [Node(f"c{i}", 2, service_s=1, tw_late_s=200) for i in range(1, 7)]
    nodes = (Node("depot"), *customers)
    problem = Problem(
        nodes=nodes,
        vehicles=tuple(VehicleSpec(f"v{k}", 0, 0, 0, 6) for k in range(3)),
        requests=tuple(Request(delivery=i) for i in range(1, 7)),
        profiles=(Profile("line", dist, dist),),
    )
    assert alns.fits_alns(problem)
    result = alns.search(problem, 0, None, 300)
    assert result.unassigned == 0
    assert sorted(sorted(r) for r in result.routes if r) == [[1, 2, 3], [4, 5, 6]]
    assert result.cost == 120
    merged = alns.eliminate_routes(problem, 0, [[1], [2, 3], [4, 5, 6]], None, 300)
    assert sorted(sorted(r) for r in merged if r) == [[1, 2, 3], [4, 5, 6]]
