"""Route elimination: fewest vehicles first, then distance (the hierarchical objective).

A large fixed cost per vehicle would also rank plans by vehicle count, but it distorts guided
local search (whose penalties scale with arc costs, fixed costs included) and the search then
barely moves. So, as routing practice does, vehicles are removed in an explicit phase:

1. a first plan within a share of the budget (from a warm start: with its idle vehicles
   kept idle, so the fleet never grows beyond the warm start's);
2. repeatedly: empty the route with the fewest stops, forbid that vehicle and every idle one,
   make the orphaned requests droppable at a prohibitive penalty, and let OR-Tools search from
   the remaining routes. If it reinserts every request, the plan has one vehicle less; if not,
   the next smallest route is tried once before giving up;
3. the rest of the budget improves distance with the fleet capped at the count reached.

Budgets: in time mode each phase gets a share of `time_limit_s`; in deterministic mode each
phase gets a share of `solution_limit` (work), so the result depends on no clock.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence

from dispatch.params import SolverParams
from dispatch.problem import Problem
from dispatch.solution import Solution
from dispatch.solver.core import solve_once
from dispatch.solver.model import prohibitive_penalty

FIRST_SHARE = 0.3
ATTEMPT_SHARE = 0.12
FINAL_SHARE = 0.3
MAX_ATTEMPTS = 12


def _rank(problem: Problem, sol: Solution) -> tuple[int, int, int]:
    must = sum(1 for i in sol.unserved if problem.requests[i].penalty is None)
    return (must, sol.vehicles_used, sol.distance_m)


def _work_share(params: SolverParams, share: float) -> SolverParams:
    limit = params.solution_limit
    scaled = None if limit is None else max(1, int(limit * share))
    return dataclasses.replace(params, solution_limit=scaled, fleet_reduction=False)


def reduce_fleet(
    problem: Problem, params: SolverParams, initial_routes: Sequence[Sequence[int]] | None
) -> Solution:
    """Solve, then remove routes while every must-serve request stays served."""
    t0 = time.perf_counter()
    total_s = params.time_limit_s

    def remaining() -> float:
        return 0.0 if total_s is None else total_s - (time.perf_counter() - t0)

    def slice_s(share: float) -> float | None:
        return None if total_s is None else max(0.05, min(remaining(), total_s * share))

    locked = {v for v, prefix in enumerate(problem.locked_prefixes) if prefix}
    # A warm start with k routes is a plan with k vehicles: the first search keeps the idle
    # vehicles idle (a distance-only search would open more routes to shorten the plan). If
    # that leaves a must-serve request out (e.g. the warm start was refused), it runs again
    # with the whole fleet.
    idle_start = [v for v, r in enumerate(initial_routes or ()) if not r and v not in locked]
    first_share = FIRST_SHARE / 2 if idle_start else FIRST_SHARE
    best = solve_once(
        problem,
        _work_share(params, first_share),
        initial_routes,
        disabled_vehicles=idle_start,
        time_limit_s=slice_s(first_share),
    )
    if idle_start and (not best.routes or _rank(problem, best)[0] > 0):
        best = solve_once(
            problem,
            _work_share(params, first_share),
            initial_routes,
            time_limit_s=slice_s(first_share),
        )
    if not best.routes:
        return best
    drop_params = dataclasses.replace(
        _work_share(params, ATTEMPT_SHARE), fallback_drop_penalty=prohibitive_penalty(problem)
    )
    attempts = 0
    failures_in_row = 0
    while attempts < MAX_ATTEMPTS and (total_s is None or remaining() > total_s * FINAL_SHARE):
        used = sorted(
            (r for r in best.routes if r.used and r.vehicle not in locked),
            key=lambda r: (len(r.visits), r.distance_m, r.vehicle),
        )
        if len(used) <= 1 or failures_in_row >= min(2, len(used)):
            break
        victim = used[failures_in_row]
        idle = [r.vehicle for r in best.routes if not r.used and r.vehicle not in locked]
        routes = best.route_nodes()
        routes[victim.vehicle] = []
        attempts += 1
        trial = solve_once(
            problem,
            drop_params,
            routes,
            disabled_vehicles=[*idle, victim.vehicle],
            time_limit_s=slice_s(ATTEMPT_SHARE),
        )
        if trial.routes and _rank(problem, trial) < _rank(problem, best):
            best = trial
            failures_in_row = 0
        else:
            failures_in_row += 1
    idle = [r.vehicle for r in best.routes if not r.used and r.vehicle not in locked]
    final = solve_once(
        problem,
        _work_share(params, FINAL_SHARE),
        best.route_nodes(),
        disabled_vehicles=idle,
        time_limit_s=None if total_s is None else max(0.05, remaining()),
    )
    chosen = final if final.routes and _rank(problem, final) <= _rank(problem, best) else best
    stats = (*chosen.stats, ("fleet_attempts", float(attempts)))
    return dataclasses.replace(chosen, stats=stats)
