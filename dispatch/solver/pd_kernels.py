"""Compiled inner loops for pickup-and-delivery search: exact route scheduling and insertion.

A route is an int64 array `seq` of node indices, `seq[0]` the vehicle's start node and
`seq[m - 1]` its end node. Times follow the OR-Tools model exactly (`dispatch.solver.model`):
`B[k]` is the start of service at position k, `tt[a, b]` is the service time at `a` plus the
travel time from `a` to `b`, waiting is free, and a route is feasible when there is a schedule
with

* `e[node] <= B[k] <= l[node]` (the start/end positions use the vehicle's bounds instead),
* `B[k + 1] >= B[k] + tt[seq[k], seq[k + 1]]`,
* `B[delivery] - B[pickup] <= ride_lim[pickup]` (maximum ride time plus the pickup's service),
* `B[m - 1] - B[0] <= span` (maximum route duration),
* the load (starting at 0) never above the capacity.

All constraints are difference constraints, so the least schedule (every `B[k]` as early as
possible) exists exactly when the route is feasible. `least_schedule` computes it by
monotone fixpoint iteration (a Bellman-Ford longest-path on the route): the earliest forward
pass, then every violated ride or duration limit lifts the pickup (or the departure) and the
forward pass runs again from there. Positive cycles are ruled out first by comparing each
limit with the chain of travel and service times, which makes the iteration terminate after
at most one round per limit. This is exact, unlike the classic eight-step heuristic schedule
of Cordeau and Laporte, and it costs a few passes over the route.

`best_insertion` tries every pair of positions for a request's pickup and delivery, filters
them with cheap necessary conditions (capacity, earliest arrival against the window, the
route's latest feasible times), sorts the survivors by added distance and returns the first
one whose new route `least_schedule` accepts: the cheapest feasible insertion.

The functions are plain Python written in the subset numba compiles; when numba is
installed they are compiled on first use (cached on disk), otherwise they run as Python
(same results, much slower).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np

F = TypeVar("F", bound=Callable[..., Any])

try:  # pragma: no cover - which branch runs depends on the environment
    import numba

    def _jit(fn: F) -> F:
        return cast(F, numba.njit(cache=True, nogil=True)(fn))

    COMPILED = True
except ImportError:  # pragma: no cover

    def _jit(fn: F) -> F:
        return fn

    COMPILED = False

NO_LIMIT = -1
INFEASIBLE = np.int64(2**62)


@_jit
def least_schedule(
    seq: Any,
    m: int,
    tt: Any,
    e: Any,
    late: Any,
    partner: Any,
    ride_lim: Any,
    vbounds: Any,
    out: Any,
) -> bool:
    """Earliest feasible start-of-service times for `seq[:m]` into `out[:m]`; False if none.

    `vbounds` = (departure earliest, departure latest, end earliest, end latest, span limit
    or -1). Both nodes of every ride-limited pair in the route must be in `seq`.
    """
    out[0] = vbounds[0]
    if out[0] > vbounds[1]:
        return False
    for k in range(1, m):
        node = seq[k]
        t = out[k - 1] + tt[seq[k - 1], node]
        lo = vbounds[2] if k == m - 1 else e[node]
        hi = vbounds[3] if k == m - 1 else late[node]
        out[k] = t if t > lo else lo
        if out[k] > hi:
            return False
    span = vbounds[4]
    # Positive cycles: a limit shorter than the chain of travel and service it spans.
    chain = np.empty(m, dtype=np.int64)
    chain[0] = 0
    for k in range(1, m):
        chain[k] = chain[k - 1] + tt[seq[k - 1], seq[k]]
    if span >= 0 and chain[m - 1] > span:
        return False
    where = np.full(m, -1, dtype=np.int64)
    limited = 0
    for k in range(1, m - 1):
        node = seq[k]
        if ride_lim[node] >= 0:
            for j in range(k + 1, m - 1):
                if seq[j] == partner[node]:
                    where[k] = j
                    break
            if where[k] < 0 or chain[where[k]] - chain[k] > ride_lim[node]:
                return False
            limited += 1
    for _ in range(limited + 2):
        lowest = m
        for k in range(1, m - 1):
            j = where[k]
            if j >= 0:
                excess = out[j] - out[k] - ride_lim[seq[k]]
                if excess > 0:
                    out[k] += excess
                    if out[k] > late[seq[k]]:
                        return False
                    if k < lowest:
                        lowest = k
        if span >= 0 and out[m - 1] - out[0] > span:
            out[0] = out[m - 1] - span
            if out[0] > vbounds[1]:
                return False
            lowest = 0
        if lowest == m:
            return True
        for k in range(lowest + 1, m):
            t = out[k - 1] + tt[seq[k - 1], seq[k]]
            if t > out[k]:
                out[k] = t
                hi = vbounds[3] if k == m - 1 else late[seq[k]]
                if t > hi:
                    return False
    return False


@_jit
def latest_times(seq: Any, m: int, tt: Any, late: Any, vbounds: Any, out: Any) -> None:
    """Latest start of service per position from windows and travel alone (an upper bound)."""
    out[m - 1] = vbounds[3]
    for k in range(m - 2, -1, -1):
        t = out[k + 1] - tt[seq[k], seq[k + 1]]
        hi = vbounds[1] if k == 0 else late[seq[k]]
        out[k] = t if t < hi else hi


@_jit
def best_insertion(
    seq: Any,
    m: int,
    p: int,
    d: int,
    dist: Any,
    tt: Any,
    e: Any,
    late: Any,
    load: Any,
    partner: Any,
    ride_lim: Any,
    vbounds: Any,
    capacity: int,
) -> tuple[int, int, int]:
    """Cheapest feasible insertion of pair (p, d) into route `seq[:m]`.

    Returns (added distance, i, j): p goes right after position i and d right after
    position j of the current route (j == i: d directly after p). Added distance is
    `INFEASIBLE` (and i = j = -1) when no position pair is feasible.
    """
    ps = np.full(1, p, dtype=np.int64)
    ds = np.full(1, d, dtype=np.int64)
    out = np.empty((3, 1), dtype=np.int64)
    insertion_column(
        seq, m, ps, ds, dist, tt, e, late, load, partner, ride_lim, vbounds, capacity, out
    )
    return out[0, 0], out[1, 0], out[2, 0]


@_jit
def insertion_column(
    seq: Any,
    m: int,
    ps: Any,
    ds: Any,
    dist: Any,
    tt: Any,
    e: Any,
    late: Any,
    load: Any,
    partner: Any,
    ride_lim: Any,
    vbounds: Any,
    capacity: int,
    out: Any,
) -> None:
    """`best_insertion` of every pair (ps[t], ds[t]) into one route, into out[:, t].

    The route's own schedule, latest times and loads are computed once for all requests.
    out[0] = added distance (`INFEASIBLE` when none), out[1] = i, out[2] = j.
    """
    early = np.empty(m, dtype=np.int64)
    latest = np.empty(m, dtype=np.int64)
    after = np.empty(m, dtype=np.int64)  # load after serving position k
    peak_from = np.empty(m, dtype=np.int64)  # highest load from position k on
    base_ok = least_schedule(seq, m, tt, e, late, partner, ride_lim, vbounds, early)
    if base_ok:
        latest_times(seq, m, tt, late, vbounds, latest)
        after[0] = 0
        for k in range(1, m):
            after[k] = after[k - 1] + load[seq[k]]
        peak_from[m - 1] = after[m - 1]
        for k in range(m - 2, -1, -1):
            peak_from[k] = after[k] if after[k] > peak_from[k + 1] else peak_from[k + 1]
    cand_cost = np.empty(m * m, dtype=np.int64)
    cand_i = np.empty(m * m, dtype=np.int64)
    cand_j = np.empty(m * m, dtype=np.int64)
    trial = np.empty(m + 2, dtype=np.int64)
    times = np.empty(m + 2, dtype=np.int64)
    for t in range(ps.shape[0]):
        out[0, t], out[1, t], out[2, t] = INFEASIBLE, -1, -1
        if not base_ok:
            continue
        p, d = ps[t], ds[t]
        if p < 0:  # a single visit: one position
            _best_single(
                seq, m, d, dist, tt, e, late, load, partner, ride_lim, vbounds, capacity,
                early, latest, peak_from, trial, times, out, t,
            )  # fmt: skip
            continue
        q = load[p]
        n_cand = 0
        for i in range(m - 1):
            a, a1 = seq[i], seq[i + 1]
            if early[i] > late[p]:
                break
            if after[i] + q > capacity:
                continue
            tp = early[i] + tt[a, p]
            if tp < e[p]:
                tp = e[p]
            if tp > late[p]:
                continue
            # d directly after p
            td = tp + tt[p, d]
            if td < e[d]:
                td = e[d]
            if td <= late[d] and td + tt[d, a1] <= latest[i + 1]:
                cand_cost[n_cand] = dist[a, p] + dist[p, d] + dist[d, a1] - dist[a, a1]
                cand_i[n_cand] = i
                cand_j[n_cand] = i
                n_cand += 1
            if tp + tt[p, a1] > latest[i + 1]:
                continue
            add_p = dist[a, p] + dist[p, a1] - dist[a, a1]
            peak = 0
            for j in range(i + 1, m - 1):
                if after[j] > peak:
                    peak = after[j]
                if peak + q > capacity or early[j] > late[d]:
                    break
                c, c1 = seq[j], seq[j + 1]
                td = early[j] + tt[c, d]
                if td < e[d]:
                    td = e[d]
                if td > late[d] or td + tt[d, c1] > latest[j + 1]:
                    continue
                cand_cost[n_cand] = add_p + dist[c, d] + dist[d, c1] - dist[c, c1]
                cand_i[n_cand] = i
                cand_j[n_cand] = j
                n_cand += 1
        if n_cand == 0:
            continue
        order = np.argsort(cand_cost[:n_cand], kind="mergesort")
        for c in range(n_cand):
            idx = order[c]
            i, j = cand_i[idx], cand_j[idx]
            _spliced(seq, m, p, d, i, j, trial)
            if least_schedule(trial, m + 2, tt, e, late, partner, ride_lim, vbounds, times):
                out[0, t], out[1, t], out[2, t] = cand_cost[idx], i, j
                break


@_jit
def _best_single(
    seq: Any,
    m: int,
    d: int,
    dist: Any,
    tt: Any,
    e: Any,
    late: Any,
    load: Any,
    partner: Any,
    ride_lim: Any,
    vbounds: Any,
    capacity: int,
    early: Any,
    latest: Any,
    peak_from: Any,
    trial: Any,
    times: Any,
    out: Any,
    t: int,
) -> None:
    """Cheapest feasible position for a single visit d (load >= 0, kept to the route's end)."""
    q = load[d]
    best = INFEASIBLE
    for i in range(m - 1):
        a, a1 = seq[i], seq[i + 1]
        if early[i] > late[d]:
            break
        if peak_from[i] + q > capacity:
            continue
        td = early[i] + tt[a, d]
        if td < e[d]:
            td = e[d]
        if td > late[d] or td + tt[d, a1] > latest[i + 1]:
            continue
        cost = dist[a, d] + dist[d, a1] - dist[a, a1]
        if cost >= best:
            continue
        w = 0
        for k in range(m):
            trial[w] = seq[k]
            w += 1
            if k == i:
                trial[w] = d
                w += 1
        if least_schedule(trial, m + 1, tt, e, late, partner, ride_lim, vbounds, times):
            best = cost
            out[0, t], out[1, t], out[2, t] = cost, i, -1


@_jit
def _spliced(seq: Any, m: int, p: int, d: int, i: int, j: int, out: Any) -> None:
    """`seq[:m]` with p after position i and d after position j, written into `out`."""
    w = 0
    for k in range(m):
        out[w] = seq[k]
        w += 1
        if k == i:
            out[w] = p
            w += 1
        if k == j:
            out[w] = d
            w += 1
