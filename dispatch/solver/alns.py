"""Adaptive large neighbourhood search for pickup-and-delivery plans (dial-a-ride, PDPTW).

OR-Tools' local search moves one or two requests at a time, and with tight ride times and
time windows most such moves are infeasible: on the Cordeau dial-a-ride set it stalls 3-8 %
above the optimum. This module is the classic remedy (Ropke and Pisinger 2006; for the
dial-a-ride problem Parragh, Doerner and Hartl; Gschwind and Drexl): each iteration removes a
set of requests (random, related by place and time, the most expensive ones, or strings of
consecutive stops in nearby routes, after Christiaens and Vanden Berghe's SISR) and reinserts
them greedily or by regret, each at its cheapest *feasible* position; simulated annealing
decides whether the new plan replaces the current one, and operators that find improvements
are chosen more often.

Feasibility of every candidate route is decided exactly by `pd_kernels.least_schedule`
(time windows, ride times, route duration, capacity), in compiled code when numba is
installed. The plan it returns is a warm start: `dispatch.solver.solve` hands it to OR-Tools
(`ReadAssignmentFromRoutes`), which carries the full model, polishes with guided local search
and produces the schedule.

What it holds is checked by `fits_alns`: pickup-delivery pairs with opposite loads and
single visits whose load stays on board (VRPTW customers), one travel profile, no extra
dimensions, locks, optional visits, vehicle restrictions, fixed costs or initial loads.
Requests that cannot be inserted stay unassigned at their penalty (the prohibitive one for
must-serve requests) and are retried by every later repair. `eliminate_routes` uses the same
search to empty routes one by one (the fleet-first objective of Solomon and Li & Lim).

Budgets: `time_limit_s` seconds, or (deterministic) a number of iterations. Randomness comes
only from the seed.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from dispatch.params import SolverParams
from dispatch.problem import Problem
from dispatch.solution import Route, Solution
from dispatch.solver import alns_kernels as kk
from dispatch.solver import pd_kernels as kern
from dispatch.solver.model import HORIZON_CAP_S, prohibitive_penalty, tightened_windows
from dispatch.solver.search import route_from_schedule, unserved_requests

INF = int(kern.INFEASIBLE)
Q_SHARE = 0.2  # at most this share of the requests is removed per iteration
Q_CAP = 30
ATTEMPT_SHARE = 0.3  # of the route-elimination budget left, per attempt
VICTIMS = 2  # routes tried for elimination (smallest first) before settling
TRIANGLE_CHECK_MAX_NODES = 1000  # above: re-check routes after every removal instead
NOISE = 0.025  # insertion noise amplitude as a share of the longest arc
CHUNK_ITERATIONS = 50  # compiled iterations between two looks at the clock
T_START, T_END = 1.0, 0.02  # temperature in units of the start plan's distance per stop


def fits_alns(problem: Problem) -> bool:
    """True when every constraint of `problem` is one this search holds (see the module doc)."""
    if problem.dimensions or problem.locked_prefixes or problem.optional_nodes():
        return False
    if not problem.requests or len({v.profile for v in problem.vehicles}) != 1:
        return False
    if any(v.initial_load or v.fixed_cost for v in problem.vehicles):
        return False
    for r in problem.requests:
        if r.vehicles is not None:
            return False
        if r.pickup is None:  # a single visit: its load stays on board to the route's end
            if problem.nodes[r.delivery].load < 0:
                return False
            continue
        load_p, load_d = problem.nodes[r.pickup].load, problem.nodes[r.delivery].load
        if load_p < 0 or load_d != -load_p:
            return False
    return True


@dataclass(frozen=True, slots=True)
class PdData:
    """The problem as arrays for the kernels."""

    dist: Any
    tt: Any
    e: Any
    late: Any
    load: Any
    partner: Any
    ride_lim: Any
    vbounds: tuple[Any, ...]
    capacity: tuple[int, ...]
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    pickup: tuple[int, ...]
    delivery: tuple[int, ...]
    penalty: tuple[int, ...]


def pd_data(problem: Problem) -> PdData:
    """Arrays for the kernels, with the same windows and bounds as the OR-Tools model."""
    profile = problem.profiles[problem.vehicles[0].profile]
    n = problem.num_nodes
    service = np.array([nd.service_s for nd in problem.nodes], dtype=np.int64)
    horizon = min(
        HORIZON_CAP_S,
        max([v.shift_end_s for v in problem.vehicles] + [nd.tw_late_s for nd in problem.nodes]),
    )
    windows = tightened_windows(problem)
    e = np.array([w[0] for w in windows], dtype=np.int64)
    late = np.minimum(np.array([w[1] for w in windows], dtype=np.int64), horizon)
    partner = np.full(n, -1, dtype=np.int64)
    ride_lim = np.full(n, kern.NO_LIMIT, dtype=np.int64)
    for r in problem.requests:
        if r.pickup is None:
            continue
        partner[r.pickup], partner[r.delivery] = r.delivery, r.pickup
        if r.max_ride_s is not None:
            ride_lim[r.pickup] = r.max_ride_s + int(service[r.pickup])
    vbounds = []
    for v in problem.vehicles:
        s_node, e_node = problem.nodes[v.start], problem.nodes[v.end]
        vbounds.append(
            np.array(
                [
                    max(v.shift_start_s, s_node.tw_early_s),
                    min(v.shift_end_s, s_node.tw_late_s, horizon),
                    max(v.shift_start_s, e_node.tw_early_s),
                    min(v.shift_end_s, e_node.tw_late_s, horizon),
                    -1 if v.max_route_s is None else v.max_route_s,
                ],
                dtype=np.int64,
            )
        )
    must = prohibitive_penalty(problem)
    return PdData(
        dist=np.ascontiguousarray(profile.distance_m, dtype=np.int64),
        tt=np.ascontiguousarray(profile.duration_s + service[:, None], dtype=np.int64),
        e=e,
        late=late,
        load=np.array([nd.load for nd in problem.nodes], dtype=np.int64),
        partner=partner,
        ride_lim=ride_lim,
        vbounds=tuple(vbounds),
        capacity=tuple(v.capacity for v in problem.vehicles),
        starts=tuple(v.start for v in problem.vehicles),
        ends=tuple(v.end for v in problem.vehicles),
        pickup=tuple(-1 if r.pickup is None else r.pickup for r in problem.requests),
        delivery=tuple(r.delivery for r in problem.requests),
        penalty=tuple(must if r.penalty is None else r.penalty for r in problem.requests),
    )


def static_arrays(problem: Problem, data: PdData) -> tuple[Any, ...]:
    """The tuple `st` the kernels read (order: `alns_kernels.S_*`)."""
    n_req = len(data.pickup)
    pick = np.array(data.pickup, dtype=np.int64)
    drop = np.array(data.delivery, dtype=np.int64)
    first = np.where(pick >= 0, pick, drop)  # a single visit stands for both ends
    travel = problem.profiles[problem.vehicles[0].profile].duration_s
    rel = (
        travel[np.ix_(first, first)]
        + travel[np.ix_(drop, drop)]
        + np.abs(data.e[first][:, None] - data.e[first][None, :])
        + np.abs(data.e[drop][:, None] - data.e[drop][None, :])
    )
    req_of_node = np.full(problem.num_nodes, -1, dtype=np.int64)
    req_of_node[first] = np.arange(n_req)
    req_of_node[drop] = np.arange(n_req)
    first_rank = np.empty(n_req, dtype=np.int64)
    first_rank[np.argsort(data.e[first], kind="stable")] = np.arange(n_req)
    keys = [
        (data.starts[k], data.ends[k], data.capacity[k], tuple(data.vbounds[k].tolist()))
        for k in range(len(data.starts))
    ]
    return (
        data.dist,
        data.tt,
        data.e,
        data.late,
        data.load,
        data.partner,
        data.ride_lim,
        np.array(data.vbounds, dtype=np.int64).reshape(len(data.starts), 5),
        np.array(data.capacity, dtype=np.int64),
        pick,
        drop,
        np.array(data.penalty, dtype=np.int64),
        req_of_node,
        np.ascontiguousarray(np.argsort(rel, axis=1, kind="stable"), dtype=np.int64),
        np.array([keys.index(key) for key in keys], dtype=np.int64),
        first_rank,
    )


def _triangle_ok(tt: Any) -> bool:
    """Travel plus service obeys the triangle inequality (then removals keep routes feasible)."""
    n = tt.shape[0]
    if n > TRIANGLE_CHECK_MAX_NODES:
        return False
    return all(bool((tt <= tt[:, k, None] + tt[None, k, :]).all()) for k in range(n))


@dataclass(slots=True)
class SearchResult:
    """Best routes found (visits only, per vehicle) and counters for `Solution.stats`."""

    routes: list[list[int]]
    cost: int
    unassigned: int
    iterations: int
    improvements: int


def _plan_arrays(
    data: PdData, routes: list[list[int]], st: tuple[Any, ...]
) -> tuple[Any, Any, Any, Any]:
    n_nodes = data.dist.shape[0]
    n_veh = len(data.starts)
    rows = np.zeros((n_veh, n_nodes + 2), dtype=np.int64)
    lens = np.zeros(n_veh, dtype=np.int64)
    route_of = np.full(len(data.pickup), -1, dtype=np.int64)
    rcost = np.zeros(n_veh, dtype=np.int64)
    for k in range(n_veh):
        row = [data.starts[k], *routes[k], data.ends[k]]
        rows[k, : len(row)] = row
        lens[k] = len(row)
        rcost[k] = kk.route_cost(rows[k], lens[k], data.dist)
        for node in routes[k]:
            r = int(st[kk.S_REQ_OF_NODE][node])
            if r >= 0:
                route_of[r] = k
    return rows, lens, route_of, rcost


def _valid_routes(data: PdData, routes: list[list[int]], st: tuple[Any, ...]) -> bool:
    """One visit list per vehicle, each request's pickup before its delivery, nothing twice."""
    if len(routes) != len(data.starts):
        return False
    seen: set[int] = set()
    req_of_node = st[kk.S_REQ_OF_NODE]
    for route in routes:
        pos: dict[int, int] = {}
        for i, node in enumerate(route):
            if node in seen or not 0 <= node < len(req_of_node) or req_of_node[node] < 0:
                return False
            seen.add(node)
            pos[node] = i
        for node in route:
            r = int(req_of_node[node])
            if data.pickup[r] < 0:
                continue
            if pos.get(data.pickup[r], len(route)) >= pos.get(data.delivery[r], -1):
                return False
    return True


def search(
    problem: Problem,
    seed: int,
    time_limit_s: float | None,
    max_iterations: int | None,
    initial_routes: list[list[int]] | None = None,
    *,
    stop_when_complete: bool = False,
) -> SearchResult:
    """Run the ALNS; `time_limit_s` (wall clock) and/or `max_iterations` bound it.

    `initial_routes` (visits per vehicle) seed it when they are a valid, feasible plan.
    `stop_when_complete` ends the search as soon as a plan serves every request.
    """
    if time_limit_s is None and max_iterations is None:
        raise ValueError("search needs a time limit or an iteration limit")
    t0 = time.perf_counter()
    data = pd_data(problem)
    st = static_arrays(problem, data)
    kk.seed_rng(seed)
    empty: list[list[int]] = [[] for _ in problem.vehicles]
    start = [list(r) for r in initial_routes] if initial_routes is not None else empty
    if not _valid_routes(data, start, st):
        start = empty
    rows, lens, route_of, rcost = _plan_arrays(data, start, st)
    if not all(kk.route_ok(rows, lens, k, st) for k in range(len(lens))):
        rows, lens, route_of, rcost = _plan_arrays(data, empty, st)
    kk.repair(kk.REPAIR_REGRET, 0.0, rows, lens, route_of, rcost, np.flatnonzero(route_of < 0), st)
    cur = (rows, lens, route_of, rcost)
    best = tuple(a.copy() for a in cur)
    cost = float(kk.plan_cost(rcost, route_of, st[kk.S_PEN]))
    per_stop = max(1.0, float(rcost.sum()) / max(1, 2 * len(data.pickup)))
    noise = NOISE * float(data.dist.max())
    temps = np.array([per_stop * T_START, per_stop * T_END, noise])
    state = np.zeros(kk.STATE_SIZE)
    state[0] = state[1] = cost
    state[4:12] = 1.0
    q_max = max(kk.Q_MIN, min(Q_CAP, int(Q_SHARE * len(data.pickup))))
    safe = _triangle_ok(data.tt)
    chunk = CHUNK_ITERATIONS
    while True:
        done = int(state[2])
        if max_iterations is not None:
            if done >= max_iterations:
                break
            n_iter = min(chunk, max_iterations - done)
            prog0, prog1 = done / max_iterations, (done + n_iter) / max_iterations
        else:
            n_iter = chunk
        if time_limit_s is not None:
            elapsed = time.perf_counter() - t0
            if elapsed >= time_limit_s:
                break
            prog0 = elapsed / time_limit_s
            prog1 = min(1.0, prog0 + 0.02)
            if max_iterations is not None:
                n_iter = min(n_iter, max_iterations - done)
        if stop_when_complete and bool((best[2] >= 0).all()):
            break
        kk.iterate(n_iter, prog0, prog1, temps, q_max, safe, cur, best, state, st)
    b_rows, blens, broute_of, _ = best
    routes = [[int(x) for x in b_rows[k, 1 : blens[k] - 1]] for k in range(len(blens))]
    return SearchResult(
        routes=routes,
        cost=int(state[1]),
        unassigned=int((broute_of < 0).sum()),
        iterations=int(state[2]),
        improvements=int(state[3]),
    )


def to_solution(problem: Problem, params: SolverParams, routes: list[list[int]]) -> Solution:
    """A `Solution` for feasible ALNS routes, with the least schedule and the objective the
    OR-Tools model would give it (distance plus drop penalties), so the two compare."""
    data = pd_data(problem)
    out: list[Route] = []
    visited: set[int] = set()
    for k, visits in enumerate(routes):
        seq = np.array([data.starts[k], *visits, data.ends[k]], dtype=np.int64)
        times = np.empty(len(seq), dtype=np.int64)
        ok = kern.least_schedule(
            seq, len(seq), data.tt, data.e, data.late, data.partner, data.ride_lim,
            data.vbounds[k], times,
        )  # fmt: skip
        if not ok:
            raise ValueError(f"route {k} has no feasible schedule")
        profile = problem.profiles[problem.vehicles[k].profile]
        nodes = [int(x) for x in seq]
        starts = [int(x) for x in times]
        out.append(
            route_from_schedule(problem, k, nodes, starts, profile.distance_m, profile.duration_s)
        )
        visited.update(visits)
    unserved = unserved_requests(problem, visited)
    must = params.fallback_drop_penalty
    if must is None:
        must = prohibitive_penalty(problem)
    penalties = sum(must if (pen := problem.requests[r].penalty) is None else pen for r in unserved)
    return Solution(
        routes=tuple(out),
        unserved=unserved,
        objective=sum(r.distance_m for r in out) + penalties,
        status="SUCCESS",
    )


def warm_up() -> None:
    """Compile (or load from numba's cache) every kernel on a tiny problem, so that the first
    real search does not spend its budget compiling. Benchmarks call it before timing."""
    from dispatch.problem import Node, Profile, Request, VehicleSpec, frozen_matrix

    xs = [0, 10, 20, 30, 40]
    dist = frozen_matrix([[abs(a - b) for b in xs] for a in xs])
    nodes = (Node("depot"), Node("p1", 1), Node("d1", -1), Node("p2", 1), Node("d2", -1))
    problem = Problem(
        nodes=nodes,
        vehicles=(VehicleSpec("v", 0, 0, 0, 2, max_route_s=1000),),
        requests=(Request(2, 1, max_ride_s=100), Request(4, 3, max_ride_s=100)),
        profiles=(Profile("line", dist, dist),),
    )
    search(problem, 0, None, 5)


def eliminate_routes(
    problem: Problem,
    seed: int,
    routes: list[list[int]],
    time_limit_s: float | None,
    max_iterations: int | None,
) -> list[list[int]]:
    """Fewer vehicles: empty the route with the fewest requests and let the ALNS reinsert its
    requests into the others (unassigned ones cost the prohibitive penalty, so the search
    first minimises how many are left out); if that fails, the next smallest routes are
    tried (`VICTIMS` in all). Repeats while it succeeds; then the rest of the budget
    shortens the routes of the smallest fleet reached. Returns one visit list per
    vehicle (idle ones empty).

    Each attempt may use `ATTEMPT_SHARE` of the budget (seconds, or iterations in
    deterministic mode) that is left, and stops as soon as every request is back in.
    """
    t0 = time.perf_counter()
    current = [list(r) for r in routes]
    iterations_left = max_iterations

    def budget(share: float) -> tuple[float | None, int | None]:
        secs = None
        if time_limit_s is not None:
            secs = (time_limit_s - (time.perf_counter() - t0)) * share
        its = None if iterations_left is None else int(iterations_left * share)
        return secs, its

    def run(keep: list[int], share: float, complete: bool) -> SearchResult | None:
        nonlocal iterations_left
        secs, its = budget(share)
        if (secs is not None and secs < 0.1) or (its is not None and its < 1):
            return None
        sub = dataclasses.replace(
            problem, vehicles=tuple(problem.vehicles[k] for k in keep), locked_prefixes=()
        )
        initial = [current[k] for k in keep]
        result = search(sub, seed, secs, its, initial, stop_when_complete=complete)
        if iterations_left is not None:
            iterations_left -= result.iterations
        return result

    reduced = True
    while reduced:
        reduced = False
        used = [k for k, r in enumerate(current) if r]
        if len(used) <= 1:
            break
        for victim in sorted(used, key=lambda k: (len(current[k]), k))[:VICTIMS]:
            keep = [k for k in used if k != victim]
            result = run(keep, ATTEMPT_SHARE, True)
            if result is None:
                break
            if result.unassigned == 0:
                current = [[] for _ in problem.vehicles]
                for k, route in zip(keep, result.routes, strict=True):
                    current[k] = route
                reduced = True
                break
    used = [k for k, r in enumerate(current) if r]
    result = run(used, 1.0, False)
    if result is not None and result.unassigned == 0:
        current = [[] for _ in problem.vehicles]
        for k, route in zip(used, result.routes, strict=True):
            current[k] = route
    return current
