"""One OR-Tools run: build, close, lock, warm start, search, read back.

`solve_once` is the building block the phases (`fleet_reduction`) call with a share of the
budget. It never raises for an unsolvable problem: it returns a `Solution` without routes whose
`status` says what OR-Tools reported.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from typing import Any

from dispatch.params import SolverParams
from dispatch.problem import Problem
from dispatch.solution import Solution
from dispatch.solver.model import RoutingModel, build_model
from dispatch.solver.search import empty_solution, read_solution, search_parameters, status_name


def solve_once(
    problem: Problem,
    params: SolverParams,
    initial_routes: Sequence[Sequence[int]] | None = None,
    *,
    disabled_vehicles: Collection[int] = (),
    time_limit_s: float | None = None,
) -> Solution:
    """Solve with OR-Tools from `initial_routes` (or a warm start) within the given budget.

    Args:
        problem: the problem.
        params: budget and strategy (`time_limit_s` overrides the time budget).
        initial_routes: per-vehicle visit lists to start from.
        disabled_vehicles: vehicles forced to stay empty (used by route elimination).
        time_limit_s: a time budget replacing `params.time_limit_s` (ignored when
            `params.time_limit_s` is None: deterministic runs stay work-bounded).
    """
    t0 = time.perf_counter()
    stats: list[tuple[str, float]] = []
    if time_limit_s is None:
        time_limit_s = params.time_limit_s
    limit = None if params.time_limit_s is None else time_limit_s
    model = build_model(problem, params)
    sp = search_parameters(params, limit)
    model.routing.CloseModelWithParameters(sp)
    for v in disabled_vehicles:
        model.routing.NextVar(model.routing.Start(v)).SetValue(model.routing.End(v))
    if problem.locked_prefixes:
        locks = [[model.index(n) for n in prefix] for prefix in problem.locked_prefixes]
        model.routing.ApplyLocksToAllVehicles(locks, False)
    start = _initial_assignment(model, initial_routes, disabled_vehicles, stats)
    if start is not None:
        assignment = model.routing.SolveFromAssignmentWithParameters(start, sp)
    else:
        assignment = model.routing.SolveWithParameters(sp)
    status = status_name(model)
    stats.append(("solve_s", time.perf_counter() - t0))
    if assignment is None:
        base = empty_solution(problem, status)
        return Solution(base.routes, base.unserved, 0, status, stats=tuple(stats))
    sol = read_solution(model, assignment, status)
    return Solution(
        sol.routes, sol.unserved, sol.objective, status, sol.dropped_optional, tuple(stats)
    )


def _initial_assignment(
    model: RoutingModel,
    routes: Sequence[Sequence[int]] | None,
    disabled_vehicles: Collection[int],
    stats: list[tuple[str, float]],
) -> Any:
    if routes is None:
        return None
    index_routes = [
        [] if v in disabled_vehicles else [model.index(n) for n in route]
        for v, route in enumerate(routes)
    ]
    assignment = model.routing.ReadAssignmentFromRoutes(index_routes, True)
    if assignment is None:
        stats.append(("warm_start_rejected", 1.0))
    return assignment
