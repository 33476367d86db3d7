"""The solver engine: `solve(problem, params, initial_routes=None) -> Solution`.

OR-Tools routing is the engine that carries every side constraint (time windows, capacities,
pickup-delivery pairs, ride times, route durations, extra dimensions, locks). Around it:

* warm starts: the caller's `initial_routes` (live re-planning), or a PyVRP plan when
  `params.warm_start == "pyvrp"` and the problem fits PyVRP's model, or a plan from our
  pickup-and-delivery ALNS (`alns`, exact ride-time scheduling) when
  `params.warm_start == "alns"` and the problem fits it; OR-Tools then continues from that
  plan under the full model, and the better of the two plans is returned;
* a route-elimination phase when `params.fleet_reduction` is set (see `fleet_reduction`),
  preceded, when `params.alns_fleet_share` > 0 and the problem fits the ALNS, by ALNS route
  elimination from the warm start (`alns.eliminate_routes`);
* ruin-and-recreate rounds on the same OR-Tools model for `params.lns_share` of the budget
  (see `lns`).

`initial_routes` lists, per vehicle, the nodes to visit between start and end (the form
`Solution.route_nodes()` returns). Nodes it omits start unassigned; if the routes break a
constraint they are ignored and the search starts from its first-solution strategy (recorded
in `Solution.stats` as `warm_start_rejected`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence

from dispatch.params import SolverParams
from dispatch.problem import Problem
from dispatch.solution import Solution
from dispatch.solver import alns
from dispatch.solver.core import solve_once
from dispatch.solver.fleet_reduction import reduce_fleet
from dispatch.solver.lns import improve_by_lns
from dispatch.solver.warm_start import pyvrp_routes

__all__ = ["solve"]


def solve(
    problem: Problem,
    params: SolverParams,
    initial_routes: Sequence[Sequence[int]] | None = None,
) -> Solution:
    """Plan routes for `problem` within the budget in `params`.

    Args:
        problem: the immutable problem.
        params: budget and strategy.
        initial_routes: optional warm start, one visit list per vehicle (without start/end).

    Returns:
        The best plan found. If no plan at all was found, `Solution.routes` is empty, every
        request is listed unserved and `status` says why.
    """
    if initial_routes is not None and len(initial_routes) != len(problem.vehicles):
        raise ValueError(
            f"initial_routes has {len(initial_routes)} routes, expected {len(problem.vehicles)}"
        )
    t0 = time.perf_counter()
    total_s = params.time_limit_s
    warm: tuple[tuple[str, float], ...] = ()
    searched: Solution | None = None
    if params.warm_start == "alns" and _fits_alns(problem, params):
        searched, warm = _alns_start(problem, params, initial_routes)
        initial_routes = [list(r.visits) for r in searched.routes]
        if params.time_limit_s is not None:
            # OR-Tools' time limit covers its search, not building the model: keep a margin.
            margin = min(BUILD_MARGIN_MAX_S, BUILD_MARGIN_SHARE * params.time_limit_s)
            left = max(0.05, params.time_limit_s - (time.perf_counter() - t0) - margin)
            params = dataclasses.replace(params, time_limit_s=left)
    elif initial_routes is None and params.warm_start == "pyvrp":
        initial_routes = pyvrp_routes(problem, params, params.warm_start_share)
        elapsed = time.perf_counter() - t0
        warm = (("warm_start_s", elapsed), ("warm_start_used", float(initial_routes is not None)))
        if params.time_limit_s is not None:
            left = max(0.05, params.time_limit_s - elapsed)
            params = dataclasses.replace(params, time_limit_s=left)
    if (
        initial_routes is not None
        and params.fleet_reduction
        and params.alns_fleet_share > 0
        and alns.fits_alns(problem)
    ):
        t1 = time.perf_counter()
        before = sum(1 for r in initial_routes if r)
        initial_routes = alns.eliminate_routes(
            problem,
            params.seed,
            [list(r) for r in initial_routes],
            None if total_s is None else total_s * params.alns_fleet_share,
            None
            if total_s is not None
            else max(
                1,
                int(
                    (params.solution_limit or 1)
                    * params.alns_fleet_share
                    * ALNS_ITERATIONS_PER_SOLUTION
                ),
            ),
        )
        after = sum(1 for r in initial_routes if r)
        warm = (
            *warm,
            ("alns_fleet_s", time.perf_counter() - t1),
            ("alns_fleet_removed", before - after),
        )
        if params.time_limit_s is not None and total_s is not None:
            left = max(0.05, total_s - (time.perf_counter() - t0))
            params = dataclasses.replace(params, time_limit_s=left)
    main_params, lns_params = _split_for_lns(params)
    if params.fleet_reduction:
        sol = reduce_fleet(problem, main_params, initial_routes)
    else:
        sol = solve_once(problem, main_params, initial_routes)
    if lns_params is not None:
        if lns_params.time_limit_s is not None:
            left = params.time_limit_s - (time.perf_counter() - t0) if params.time_limit_s else 0
            lns_params = dataclasses.replace(lns_params, time_limit_s=max(0.05, left))
        sol = improve_by_lns(problem, lns_params, sol)
    if searched is not None and (not sol.routes or sol.objective > searched.objective):
        sol = dataclasses.replace(searched, stats=(("ortools_kept_alns", 1.0), *sol.stats))
    return dataclasses.replace(sol, stats=(*warm, *sol.stats))


BUILD_MARGIN_SHARE, BUILD_MARGIN_MAX_S = 0.03, 1.0
# Deterministic mode: ALNS iterations per unit of `solution_limit` (its share of it).
ALNS_ITERATIONS_PER_SOLUTION = 50


def _fits_alns(problem: Problem, params: SolverParams) -> bool:
    return params.vehicle_fixed_cost == 0 and not params.fleet_reduction and alns.fits_alns(problem)


def _alns_start(
    problem: Problem, params: SolverParams, initial_routes: Sequence[Sequence[int]] | None
) -> tuple[Solution, tuple[tuple[str, float], ...]]:
    """Run the ALNS for its share of the budget; its plan as a `Solution`, and stats."""
    t0 = time.perf_counter()
    share = params.warm_start_share
    result = alns.search(
        problem,
        params.seed,
        None if params.time_limit_s is None else params.time_limit_s * share,
        None
        if params.time_limit_s is not None
        else max(1, int((params.solution_limit or 1) * share * ALNS_ITERATIONS_PER_SOLUTION)),
        None if initial_routes is None else [list(r) for r in initial_routes],
    )
    sol = alns.to_solution(problem, params, result.routes)
    stats = (
        ("warm_start_s", time.perf_counter() - t0),
        ("warm_start_used", 1.0),
        ("alns_iterations", float(result.iterations)),
        ("alns_improvements", float(result.improvements)),
        ("alns_objective", float(sol.objective)),
    )
    return sol, stats


def _split_for_lns(params: SolverParams) -> tuple[SolverParams, SolverParams | None]:
    """The main search's budget and the ruin-and-recreate phase's (None when off)."""
    share = params.lns_share
    if share <= 0:
        return params, None
    main = dataclasses.replace(
        params,
        time_limit_s=None if params.time_limit_s is None else params.time_limit_s * (1 - share),
        solution_limit=None
        if params.solution_limit is None
        else max(1, int(params.solution_limit * (1 - share))),
    )
    rounds = None if params.solution_limit is None else max(1, int(params.solution_limit * share))
    lns = dataclasses.replace(params, solution_limit=rounds)
    return main, lns
