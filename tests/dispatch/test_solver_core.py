"""The solver on small hand-made problems: constraints held, budgets, warm starts, drops."""

from __future__ import annotations

import numpy as np
import pytest

from dispatch.params import SolverParams
from dispatch.problem import Node, Problem, Profile, Request, VehicleSpec, frozen_matrix
from dispatch.solver import solve

WORK = SolverParams(time_limit_s=None, solution_limit=100)


def _line_problem(
    n_pairs: int = 3, capacity: int = 1, vehicles: int = 2, late_s: int = 10_000
) -> Problem:
    """Depot at 0, pickups and deliveries on a line, 100 m apart, 1 m/s."""
    xs = [0] + [100 * (i + 1) for i in range(2 * n_pairs)]
    d = frozen_matrix(np.abs(np.subtract.outer(xs, xs)))
    nodes = [Node("depot")]
    for i in range(n_pairs):
        nodes.append(Node(f"p{i}", load=1, service_s=5, tw_late_s=late_s))
        nodes.append(Node(f"d{i}", load=-1, service_s=5, tw_late_s=late_s))
    requests = tuple(Request(pickup=1 + 2 * i, delivery=2 + 2 * i) for i in range(n_pairs))
    fleet = tuple(VehicleSpec(f"v{i}", 0, 0, 0, capacity) for i in range(vehicles))
    return Problem(tuple(nodes), fleet, requests, (Profile("line", d, d),))


def test_pickup_precedes_delivery_and_capacity_holds() -> None:
    problem = _line_problem()
    sol = solve(problem, WORK)
    assert sol.unserved == ()
    for route in sol.routes:
        load = 0
        for node in route.nodes:
            load += problem.nodes[node].load
            assert 0 <= load <= 1
        for r in problem.requests:
            if r.delivery in route.nodes:
                assert r.pickup is not None
                assert route.nodes.index(r.pickup) < route.nodes.index(r.delivery)


def test_times_are_consistent_with_the_matrix() -> None:
    problem = _line_problem()
    sol = solve(problem, WORK)
    for route in sol.routes:
        for k in range(1, len(route.nodes)):
            a, b = route.nodes[k - 1], route.nodes[k]
            travel = int(problem.profiles[0].duration_s[a, b])
            assert route.arrival_s[k] == route.start_s[k - 1] + problem.nodes[a].service_s + travel
            assert route.start_s[k] >= route.arrival_s[k]


def test_impossible_request_is_dropped_with_fallback_penalty_not_lost() -> None:
    problem = _line_problem(late_s=250)  # the farthest pairs cannot be reached in time
    sol = solve(
        problem, SolverParams(time_limit_s=None, solution_limit=50, fallback_drop_penalty=1_000_000)
    )
    assert sol.routes
    assert set(sol.unserved) == {1, 2}


def test_by_default_unservable_requests_are_reported_unserved() -> None:
    problem = _line_problem(late_s=250)
    sol = solve(problem, WORK)
    assert sol.routes
    assert set(sol.unserved) == {1, 2}


def test_strict_must_serve_reports_no_plan_when_infeasible() -> None:
    problem = _line_problem(late_s=250)
    sol = solve(problem, SolverParams(time_limit_s=None, solution_limit=50, strict_must_serve=True))
    assert not sol.routes
    assert set(sol.unserved) == {0, 1, 2}
    assert sol.status != "SUCCESS"


def test_warm_start_routes_are_used_and_kept_feasible() -> None:
    problem = _line_problem(vehicles=3)
    start = [[1, 2], [3, 4], [5, 6]]
    sol = solve(problem, SolverParams(time_limit_s=None, solution_limit=1), initial_routes=start)
    assert sol.stat("warm_start_rejected") == 0.0
    assert sol.unserved == ()
    with pytest.raises(ValueError, match="initial_routes"):
        solve(problem, WORK, initial_routes=[[1, 2]])


def test_fleet_reduction_uses_one_vehicle_when_one_suffices() -> None:
    problem = _line_problem(vehicles=3)
    spread = [[1, 2], [3, 4], [5, 6]]
    sol = solve(
        problem,
        SolverParams(time_limit_s=None, solution_limit=60, fleet_reduction=True),
        initial_routes=spread,
    )
    assert sol.unserved == ()
    assert sol.vehicles_used == 1


def test_deterministic_budget_gives_identical_plans() -> None:
    problem = _line_problem(n_pairs=5, capacity=2, vehicles=3)
    a = solve(problem, WORK)
    b = solve(problem, WORK)
    assert a.route_nodes() == b.route_nodes()
    assert a.objective == b.objective


def test_ruin_and_recreate_phase_keeps_plans_complete_and_deterministic() -> None:
    problem = _line_problem(n_pairs=6, capacity=2, vehicles=3)
    params = SolverParams(time_limit_s=None, solution_limit=40, lns_share=0.5, seed=3)
    a = solve(problem, params)
    b = solve(problem, params)
    assert a.unserved == ()
    assert a.stat("lns_rounds") >= 1
    assert a.route_nodes() == b.route_nodes()
    plain = solve(problem, SolverParams(time_limit_s=None, solution_limit=20, seed=3))
    assert a.objective <= plain.objective
