"""Ejection-pool route minimisation (`dispatch.solver.route_min`, Nagata and Bräysy).

A crafted case for the ejection search, a crafted route elimination that needs an ejection,
and a Solomon instance (R110, the one where PyVRP and the ALNS stall one route above the
best-known fleet) from a naive plan, judged by the independent checker. Budgets are pops from
the ejection pool, never wall-clock, so the runs are deterministic.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from dispatch.bench.cli import default_root
from dispatch.checker import check_plan
from dispatch.instances import DEFAULT_SCALE, read_instance, to_problem
from dispatch.params import ParamsError, SolverParams
from dispatch.problem import Node, Problem, Profile, Request, VehicleSpec, frozen_matrix
from dispatch.solver import route_min
from dispatch.solver import route_min_kernels as rk
from dispatch.solver.alns_kernels import seed_rng
from dispatch.solver.warm_start import pyvrp_routes

ROOT = default_root()
R110 = ROOT / "solomon" / "R110.txt"
needs_data = pytest.mark.skipif(not R110.is_file(), reason=f"no benchmark data at {ROOT}")


def _line(
    xs: list[int], windows: list[tuple[int, int]], vehicles: int, capacity: int = 10
) -> Problem:
    """Depot at xs[0]; travel time = distance = |dx|; service 1 at every customer."""
    dist = frozen_matrix([[abs(a - b) for b in xs] for a in xs])
    customers = [
        Node(f"c{i}", 1, service_s=1, tw_early_s=lo, tw_late_s=hi)
        for i, (lo, hi) in enumerate(windows, start=1)
    ]
    nodes = (Node("depot"), *customers)
    return Problem(
        nodes=nodes,
        vehicles=tuple(VehicleSpec(f"v{k}", 0, 0, 0, capacity, 0, 100) for k in range(vehicles)),
        requests=tuple(Request(i) for i in range(1, len(xs))),
        profiles=(Profile("line", dist, dist),),
    )


def _state(problem: Problem, routes: list[list[int]]) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    st = route_min.static_arrays(problem)
    plan = route_min._plan(problem, routes, st)
    rows, lens, ea, za, lds, wk, wx = plan
    for k in range(len(routes)):
        assert rk.refresh(rows, lens, k, ea, za, lds, wk, wx, st)
    return st, plan


def test_ejection_search_ejects_the_blocking_customer_with_the_smallest_counter() -> None:
    """Route: A (at 5, window [5, 5]), B (at 10, window [11, 11]). v (at 10, window [11, 11])
    cannot join: B and v would both start at 11 and each takes 1 of service. Ejecting B lets
    v in; ejecting A does not help. With B's counter raised, ejecting B is still the only
    way, at its counter."""
    problem = _line([0, 5, 10, 10], [(5, 5), (11, 11), (11, 11)], 1)
    st, plan = _state(problem, [[1, 2]])
    active = np.ones(1, dtype=np.bool_)
    p = np.ones(problem.num_nodes, dtype=np.int64)
    p[2] = 4
    s = np.empty(8, dtype=np.int64)
    zs = np.empty(8, dtype=np.int64)
    ejected = np.empty(6, dtype=np.int64)
    seed_rng(0)
    k, x, n_ej, p_sum = rk.eject_search(3, 5, 1000, p, plan, active, st, s, zs, ejected)
    assert (k, n_ej, p_sum) == (0, 1, 4)
    assert ejected[0] == 2
    assert x in (1, 2)  # v right after A, or right after B (which leaves)


def test_a_route_is_eliminated_through_an_ejection() -> None:
    """Capacity 2. c1 (at 10, window [10, 12]) and c2 (at 30, [10, 35]) share a full route;
    c3 (at 10, [50, 52]) and c4 (at 30, [50, 52]) are alone and cannot share one (both at
    about 50, 20 apart). Whichever single route is removed, its customer fits nowhere as
    is: it must eject c1 or c2 (or the other single), which then fits elsewhere. Two routes
    is the capacity bound, so the search stops there."""
    problem = _line([0, 10, 30, 10, 30], [(10, 12), (10, 35), (50, 52), (50, 52)], 3, capacity=2)
    for seed in range(4):
        result = route_min.minimise_routes(problem, seed, [[1, 2], [3], [4]], None, 200)
        routes = [r for r in result.routes if r]
        assert len(routes) == 2, (seed, result)
        assert result.removed == 1
        assert result.ejections > 0
        assert sorted(n for r in routes for n in r) == [1, 2, 3, 4]
        st = route_min.static_arrays(problem)
        for k, r in enumerate(result.routes):
            seq = np.array([0, *r, 0], dtype=np.int64)
            assert rk.seq_ok(seq, len(seq), k, st)


def test_infeasible_or_invalid_start_plans_are_returned_as_they_are() -> None:
    problem = _line([0, 10, 10, 20], [(10, 10), (11, 12), (21, 25)], 2)
    late = [[3, 1], [2]]  # c3 before c1: c1 starts after its window
    assert route_min.minimise_routes(problem, 0, late, None, 100).routes == late
    missing = [[1], [2]]
    assert route_min.minimise_routes(problem, 0, missing, None, 100).routes == missing


def _naive_plan(problem: Problem) -> list[list[int]]:
    """Customers by due time, each appended to the first route it fits at the end of."""
    st = route_min.static_arrays(problem)
    order = sorted((r.delivery for r in problem.requests), key=lambda n: st[rk.S_LATE][n])
    routes: list[list[int]] = [[] for _ in problem.vehicles]
    for node in order:
        for k, route in enumerate(routes):
            trial = np.array([0, *route, node, 0], dtype=np.int64)
            if rk.seq_ok(trial, len(trial), k, st):
                route.append(node)
                break
        else:
            raise AssertionError("naive construction ran out of vehicles")
    return routes


@needs_data
def test_r110_reaches_the_best_known_fleet_from_a_naive_plan_reproducibly() -> None:
    instance = read_instance("vrptw", R110)
    problem = to_problem(instance, DEFAULT_SCALE)
    assert route_min.fits_route_min(problem)
    start = _naive_plan(problem)
    assert sum(1 for r in start if r) > 12
    result = route_min.minimise_routes(problem, 1, start, None, 30_000)
    assert sum(1 for r in result.routes if r) == 10  # best-known fleet
    assert result.ejections > 0
    report = check_plan(instance, result.routes, None)
    assert report.feasible, report.violations
    again = route_min.minimise_routes(problem, 1, start, None, 30_000)
    assert again.routes == result.routes


@needs_data
def test_the_pyvrp_warm_start_with_route_minimisation_is_feasible_and_never_larger() -> None:
    """Deterministic budgets: PyVRP's first plan, route minimisation, the capped polish."""
    instance = read_instance("vrptw", R110)
    problem = to_problem(instance, DEFAULT_SCALE)
    base = SolverParams(
        time_limit_s=None, solution_limit=20, fleet_reduction=True, warm_start="pyvrp", seed=1
    )
    plain = pyvrp_routes(problem, base, 0.85)
    with_rm = pyvrp_routes(problem, dataclasses.replace(base, route_min_share=0.2), 0.85)
    assert plain is not None and with_rm is not None
    report = check_plan(instance, with_rm, None)
    assert report.feasible, report.violations
    assert report.vehicles <= sum(1 for r in plain if r)
    assert pyvrp_routes(problem, dataclasses.replace(base, route_min_share=0.2), 0.85) == with_rm


def test_route_min_share_is_validated() -> None:
    with pytest.raises(ParamsError, match="route_min_share"):
        SolverParams(route_min_share=1.0)
    with pytest.raises(ParamsError, match="route_min_share"):
        SolverParams.from_mapping({"route_min_share": "a"})
