"""Route minimisation for single-visit problems (VRPTW): an ejection pool, after Nagata and
Bräysy (2009, "A powerful route minimization heuristic for the vehicle routing problem with
time windows").

The hierarchical objective of the Solomon set (fewest vehicles, then distance) needs a search
that removes whole routes. PyVRP (a large fixed vehicle cost, then a capped fleet) and our ALNS
(empty a route, reinsert its requests) both stall one route above the best-known fleet on the
tightest instances (R110: 11 against 10), because reinserting a whole route's customers at
once rarely fits. This heuristic takes them one at a time:

1. remove a route (the one with the fewest customers); its customers form the ejection
   pool (a stack), every customer's penalty counter p is 1;
2. pop a customer v: if it fits somewhere (capacity and time windows), put it at a random
   feasible position;
3. otherwise p[v] += 1 and v is inserted at the position where ejecting at most `KMAX` other
   customers of that route makes it fit with the smallest sum of their counters (a
   lexicographic search with bounding); the ejected customers join the pool, and the plan is
   perturbed by `PERTURB_MOVES` random feasible moves (relocate, swap, 2-opt* between
   neighbours), whatever their cost, so the next insertions see different routes;
4. when the pool is empty the plan has one route less: start again from 1; when the budget
   runs out first, the last complete plan is returned.

Customers that keep being ejected accumulate counters and are ejected less, so the hard ones
get placed first and the easy ones find room around them. The squeeze step of the paper
(inserting with a penalised violation, then repairing it by local search) is left out.

Only feasibility is searched for; distance is left to the phase that follows (PyVRP with the
fleet capped at the count reached, in `warm_start.pyvrp_routes`). The kernels are compiled
by numba (`route_min_kernels`), cached on disk; `warm_up` compiles them before a clock starts.

Budgets: seconds of wall clock, and/or (deterministic) a number of pops from the pool.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from dispatch.problem import Problem
from dispatch.solver import alns
from dispatch.solver import alns_kernels as kk
from dispatch.solver import route_min_kernels as rk

KMAX = 5  # customers ejected at most per insertion
MAX_NODES = 4000  # search nodes of the ejection search per (route, position)
PERTURB_MOVES = 200  # random feasible moves after each ejection
NEIGHBOURS = 30  # perturbation moves pair a customer with one of its nearest
CHUNK_POPS = 200  # compiled pops between two looks at the clock


def fits_route_min(problem: Problem) -> bool:
    """True for problems of single visits the heuristic holds: what the ALNS holds, without
    pickup-delivery pairs, ride limits or route durations."""
    return (
        alns.fits_alns(problem)
        and all(r.pickup is None for r in problem.requests)
        and all(v.max_route_s is None for v in problem.vehicles)
    )


@dataclass(frozen=True, slots=True)
class RouteMinResult:
    """The plan (one visit list per vehicle, idle ones empty) and counters."""

    routes: list[list[int]]
    removed: int
    attempts: int
    pops: int
    ejections: int
    last_removal_s: float  # seconds into the search when the last route was removed


def static_arrays(problem: Problem) -> tuple[Any, ...]:
    """The tuple `st` the kernels read (order: `route_min_kernels.S_*`)."""
    data = alns.pd_data(problem)
    cust = np.array(sorted(set(data.delivery)), dtype=np.int64)
    dist = data.dist
    n_nb = max(1, min(NEIGHBOURS, len(cust) - 1))
    nn = np.zeros((problem.num_nodes, n_nb), dtype=np.int64)
    if len(cust) > 1:
        sub = dist[np.ix_(cust, cust)] + dist[np.ix_(cust, cust)].T
        np.fill_diagonal(sub, np.iinfo(np.int64).max)
        order = np.argsort(sub, axis=1, kind="stable")[:, :n_nb]
        nn[cust] = cust[order]
    else:
        nn[cust] = cust[0]
    return (
        data.tt,
        data.e,
        data.late,
        data.load,
        np.array(data.vbounds, dtype=np.int64).reshape(len(data.starts), 5),
        np.array(data.capacity, dtype=np.int64),
        nn,
        cust,
    )


def _plan(problem: Problem, routes: list[list[int]], st: tuple[Any, ...]) -> tuple[Any, ...]:
    n = problem.num_nodes
    n_veh = len(problem.vehicles)
    rows = np.zeros((n_veh, n + 2), dtype=np.int64)
    lens = np.zeros(n_veh, dtype=np.int64)
    for k, v in enumerate(problem.vehicles):
        row = [v.start, *routes[k], v.end]
        rows[k, : len(row)] = row
        lens[k] = len(row)
    ea = np.zeros((n_veh, n + 2), dtype=np.int64)
    za = np.zeros((n_veh, n + 2), dtype=np.int64)
    lds = np.zeros(n_veh, dtype=np.int64)
    wk = np.full(n, -1, dtype=np.int64)
    wx = np.full(n, -1, dtype=np.int64)
    return rows, lens, ea, za, lds, wk, wx


def _routes_of(plan: tuple[Any, ...]) -> list[list[int]]:
    rows, lens = plan[0], plan[1]
    return [[int(x) for x in rows[k, 1 : lens[k] - 1]] for k in range(len(lens))]


def _valid(problem: Problem, routes: list[list[int]]) -> bool:
    if len(routes) != len(problem.vehicles):
        return False
    visits = [node for r in routes for node in r]
    return sorted(visits) == sorted(r.delivery for r in problem.requests)


def minimise_routes(
    problem: Problem,
    seed: int,
    routes: list[list[int]],
    time_limit_s: float | None,
    max_pops: int | None,
) -> RouteMinResult:
    """Remove routes from the feasible plan `routes` (every customer served) one at a time
    while it succeeds within the budget (seconds and/or pops from the ejection pool); the
    plan with the fewest routes reached. An invalid or infeasible plan is returned as is."""
    if time_limit_s is None and max_pops is None:
        raise ValueError("minimise_routes needs a time limit or a pop limit")
    t0 = time.perf_counter()
    current = [list(r) for r in routes]
    if not fits_route_min(problem) or not _valid(problem, current):
        return RouteMinResult(current, 0, 0, 0, 0, 0.0)
    st = static_arrays(problem)
    plan = _plan(problem, current, st)
    rows, lens, ea, za, lds, wk, wx = plan
    if not all(rk.refresh(rows, lens, k, ea, za, lds, wk, wx, st) for k in range(len(lens))):
        return RouteMinResult(current, 0, 0, 0, 0, 0.0)
    kk.seed_rng(seed)
    rng = np.random.default_rng(seed)
    capacity = max(1, max(v.capacity for v in problem.vehicles))
    fewest = max(1, -(-int(st[rk.S_LOAD][st[rk.S_CUST]].sum()) // capacity))
    cnt = np.zeros(rk.COUNTERS, dtype=np.int64)
    ep = np.zeros(problem.num_nodes, dtype=np.int64)
    p = np.ones(problem.num_nodes, dtype=np.int64)
    removed = attempts = 0
    last_removal_s = 0.0
    while True:
        used = [k for k in range(len(lens)) if lens[k] > 2]
        if len(used) <= fewest:
            break
        if time_limit_s is not None and time.perf_counter() - t0 >= time_limit_s:
            break
        if max_pops is not None and cnt[rk.C_POPS] >= max_pops:
            break
        attempts += 1
        backup = tuple(a.copy() for a in plan)
        sizes = np.array([lens[k] for k in used]) + rng.random(len(used))
        victim = used[int(np.argmin(sizes))]
        active = np.zeros(len(lens), dtype=np.bool_)
        active[used] = True
        active[victim] = False
        members = rows[victim, 1 : lens[victim] - 1].copy()
        rng.shuffle(members)
        ep[: len(members)] = members
        cnt[rk.C_EP] = len(members)
        wk[members] = -1
        rows[victim, 1] = rows[victim, lens[victim] - 1]
        lens[victim] = 2
        rk.refresh(rows, lens, victim, ea, za, lds, wk, wx, st)
        p[:] = 1
        while cnt[rk.C_EP] > 0:
            steps = CHUNK_POPS
            if time_limit_s is not None and time.perf_counter() - t0 >= time_limit_s:
                break
            if max_pops is not None:
                left = max_pops - int(cnt[rk.C_POPS])
                if left <= 0:
                    break
                steps = min(CHUNK_POPS, left)
            rk.run_pool(steps, KMAX, MAX_NODES, PERTURB_MOVES, plan, active, ep, p, cnt, st)
        if cnt[rk.C_EP] > 0:
            for target, saved in zip(plan, backup, strict=True):
                target[...] = saved
            break
        removed += 1
        last_removal_s = time.perf_counter() - t0
    final = _routes_of(plan)
    return RouteMinResult(
        final, removed, attempts, int(cnt[rk.C_POPS]), int(cnt[rk.C_EJECT]), last_removal_s
    )


def warm_up() -> None:
    """Compile (or load from numba's cache) the kernels on a tiny problem, so that the first
    real search does not spend its budget compiling. Benchmarks call it before timing."""
    from dispatch.problem import Node, Profile, Request, VehicleSpec, frozen_matrix

    xs = [0, 10, 20, 30]
    dist = frozen_matrix([[abs(a - b) for b in xs] for a in xs])
    nodes = (Node("depot"), Node("a", 1), Node("b", 1), Node("c", 1))
    problem = Problem(
        nodes=nodes,
        vehicles=tuple(VehicleSpec(f"v{k}", 0, 0, 0, 2) for k in range(3)),
        requests=(Request(1), Request(2), Request(3)),
        profiles=(Profile("line", dist, dist),),
    )
    minimise_routes(problem, 0, [[1], [2], [3]], None, 50)
