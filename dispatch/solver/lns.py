"""Ruin and recreate around OR-Tools: large neighbourhoods that local search alone misses.

Guided local search moves one or two requests at a time; with tight ride times and time
windows (dial-a-ride) most such moves are infeasible and the search stalls. Here each round
removes a cluster of related requests (a random seed request and its nearest neighbours by
pickup and delivery location, in the spirit of Shaw removal and SISR), and lets OR-Tools
reinsert and re-optimise them with greedy-descent local search from the partial plan on the
*same* closed model (every constraint still carried by OR-Tools). A round's result is
accepted when it is no worse than the current plan plus a threshold that shrinks linearly to
zero (record-to-record travel); the best plan is kept.

Budgets: rounds until the time limit, or `params.solution_limit` rounds in deterministic mode.
Randomness comes from `params.seed` only.

Measured limits (DARP, 30 s, shared 2-core machine): on a5-50 the phase took guided local
search from 2.2 % to 0.6-0.8 % above the optimum; on a6-72 and a8-96 it gained nothing,
because OR-Tools' local search needs more than a round's 0.5 s to reinsert a few dial-a-ride
pairs there (pair insertion scans all position pairs, most rejected by the ride-time checks),
and a round cut by its time limit is discarded. After such a round the closed model refuses
further partial routes, so the phase restarts on a fresh model from the best plan.
"""

from __future__ import annotations

import dataclasses
import random
import time
from typing import Any

import numpy as np

from dispatch.params import SolverParams
from dispatch.problem import Problem
from dispatch.solution import Solution
from dispatch.solver.model import build_model
from dispatch.solver.search import read_solution, search_parameters, status_name

ROUND_TIME_S = 0.5
ROUND_SOLUTIONS = 40  # improving moves per round: the reinsertions plus some repair
THRESHOLD_START = 0.01  # accept up to 1 % worse at the start, 0 at the end
MIN_REMOVED, MAX_REMOVED = 3, 15


def _relatedness(problem: Problem) -> np.ndarray[Any, np.dtype[np.int64]]:
    """requests x requests: smallest distance between their stops (first profile)."""
    d = problem.profiles[0].distance_m
    stops = [(r.delivery, r.delivery if r.pickup is None else r.pickup) for r in problem.requests]
    a = np.array([s[0] for s in stops])
    b = np.array([s[1] for s in stops])
    closest: np.ndarray[Any, np.dtype[np.int64]] = np.minimum.reduce(
        [d[np.ix_(a, a)], d[np.ix_(b, b)], d[np.ix_(a, b)], d[np.ix_(b, a)]]
    ).astype(np.int64)
    return closest


def improve_by_lns(problem: Problem, params: SolverParams, start: Solution) -> Solution:
    """Ruin-and-recreate rounds from `start`; returns the best plan found (or `start`)."""
    if not start.routes or len(problem.requests) < 2 * MIN_REMOVED:
        return start
    t0 = time.perf_counter()
    rng = random.Random(params.seed)
    greedy = dataclasses.replace(
        params,
        time_limit_s=None if params.time_limit_s is None else ROUND_TIME_S,
        solution_limit=ROUND_SOLUTIONS,
        metaheuristic="GREEDY_DESCENT",
        fleet_reduction=False,
        warm_start="none",
        lns_share=0.0,
    )
    model, sp = _closed_model(problem, greedy)
    failures = 0
    related = _relatedness(problem)
    locked_nodes = {n for prefix in problem.locked_prefixes for n in prefix}
    current_routes = start.route_nodes()
    current_cost = best_cost = start.objective
    best: Solution = start
    rounds = 0
    max_rounds = params.solution_limit if params.time_limit_s is None else None
    while True:
        elapsed = time.perf_counter() - t0
        if params.time_limit_s is not None:
            progress = elapsed / params.time_limit_s
            if params.time_limit_s - elapsed < 0.05:
                break
            sp.time_limit.FromMilliseconds(
                max(10, int(1000 * min(ROUND_TIME_S, params.time_limit_s - elapsed)))
            )
        else:
            assert max_rounds is not None
            if rounds >= max_rounds:
                break
            progress = rounds / max_rounds
        rounds += 1
        removed = _pick_cluster(problem, related, rng, locked_nodes)
        partial = [[n for n in route if n not in removed] for route in current_routes]
        index_routes = [[model.index(n) for n in route] for route in partial]
        assignment = model.routing.ReadAssignmentFromRoutes(index_routes, True)
        if assignment is None:
            # Seen after a round stopped by its time limit: the model refuses further
            # partial routes. Start over on a fresh model from the best plan.
            failures += 1
            model, sp = _closed_model(problem, greedy)
            current_routes, current_cost = best.route_nodes(), best_cost
            continue
        result = model.routing.SolveFromAssignmentWithParameters(assignment, sp)
        if result is None:
            continue
        cost = int(result.ObjectiveValue())
        threshold = THRESHOLD_START * (1.0 - progress) * abs(current_cost)
        if cost <= current_cost + threshold:
            sol = read_solution(model, result, status_name(model))
            current_routes, current_cost = sol.route_nodes(), cost
            if cost < best_cost:
                best, best_cost = sol, cost
    stats = (*best.stats, ("lns_rounds", float(rounds)), ("lns_restarts", float(failures)))
    return Solution(
        best.routes, best.unserved, best.objective, best.status, best.dropped_optional, stats
    )


_BOOL_FALSE = 2  # ortools.util.optional_boolean_pb2.BOOL_FALSE
# Operators that each solve a sub-problem per neighbour: far too slow for short rounds.
_SLOW_OPERATORS = (
    "use_global_cheapest_insertion_path_lns",
    "use_local_cheapest_insertion_path_lns",
    "use_relocate_path_global_cheapest_insertion_insert_unperformed",
    "use_global_cheapest_insertion_visit_types_lns",
    "use_local_cheapest_insertion_visit_types_lns",
    "use_shortest_path_swap_active",
    "use_shortest_path_two_opt",
    "use_swap_active_chain",
    "use_lin_kernighan",
    "use_relocate_expensive_chain",
    "use_make_chain_inactive",
)


def _closed_model(problem: Problem, params: SolverParams) -> tuple[Any, Any]:
    model = build_model(problem, params)
    sp = search_parameters(params)
    ops = sp.local_search_operators
    for name in _SLOW_OPERATORS:
        setattr(ops, name, _BOOL_FALSE)
    model.routing.CloseModelWithParameters(sp)
    if problem.locked_prefixes:
        locks = [[model.index(n) for n in prefix] for prefix in problem.locked_prefixes]
        model.routing.ApplyLocksToAllVehicles(locks, False)
    return model, sp


def _pick_cluster(
    problem: Problem,
    related: np.ndarray[Any, np.dtype[np.int64]],
    rng: random.Random,
    locked_nodes: set[int],
) -> set[int]:
    """Nodes of a seed request and its most related requests (never locked stops)."""
    n = len(problem.requests)
    seed = rng.randrange(n)
    size = rng.randint(MIN_REMOVED, min(MAX_REMOVED, max(MIN_REMOVED, n // 4)))
    order = np.argsort(related[seed], kind="stable")
    removed: set[int] = set()
    taken = 0
    for i in order:
        r = problem.requests[int(i)]
        nodes = {r.delivery} if r.pickup is None else {r.pickup, r.delivery}
        if nodes & locked_nodes:
            continue
        removed |= nodes
        taken += 1
        if taken >= size:
            break
    return removed
