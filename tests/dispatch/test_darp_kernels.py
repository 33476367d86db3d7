"""The compiled route kernels against an independent brute force.

`least_schedule` must accept a route exactly when the route's difference constraints (time
windows, travel, ride limits, route duration) have a solution, and then return the least one;
here the reference is Bellman-Ford on the constraint graph, written separately. `best_insertion`
must return the cheapest insertion among all feasible position pairs, found by trying each.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.solver import pd_kernels as kern

N_PAIRS = 3  # nodes: 0 depot, 1..3 pickups, 4..6 deliveries


def _instance(draw: st.DrawFn) -> dict[str, object]:
    n = 2 * N_PAIRS + 1
    xs = draw(st.lists(st.integers(0, 20), min_size=n, max_size=n))
    ys = draw(st.lists(st.integers(0, 20), min_size=n, max_size=n))
    gaps = np.hypot(np.subtract.outer(xs, xs), np.subtract.outer(ys, ys))
    travel = np.ceil(gaps).astype(np.int64)
    service = np.array([0] + [draw(st.integers(0, 3)) for _ in range(n - 1)], dtype=np.int64)
    e = np.zeros(n, dtype=np.int64)
    late = np.full(n, 10**6, dtype=np.int64)
    partner = np.full(n, -1, dtype=np.int64)
    ride = np.full(n, kern.NO_LIMIT, dtype=np.int64)
    for i in range(1, N_PAIRS + 1):
        partner[i], partner[i + N_PAIRS] = i + N_PAIRS, i
        # a window on the pickup or on the delivery (dial-a-ride style), or none
        node = draw(st.sampled_from([i, i + N_PAIRS, 0]))
        if node:
            e[node] = draw(st.integers(0, 150))
            late[node] = e[node] + draw(st.integers(0, 60))
        if draw(st.integers(0, 3)):
            ride[i] = draw(st.integers(10, 80)) + int(service[i])
    span = draw(st.one_of(st.just(-1), st.integers(60, 400)))
    vbounds = np.array([0, draw(st.integers(0, 200)), 0, 10**6, span], dtype=np.int64)
    return {
        "tt": travel + service[:, None],
        "dist": travel,
        "e": e,
        "late": late,
        "partner": partner,
        "ride": ride,
        "vb": vbounds,
    }


instances = st.composite(_instance)


def _reference(seq: list[int], inst: dict[str, object]) -> list[int] | None:
    """Least schedule by Bellman-Ford (longest paths from a source), or None if infeasible."""
    tt, e, late = inst["tt"], inst["e"], inst["late"]
    ride, vb, partner = inst["ride"], inst["vb"], inst["partner"]
    assert isinstance(vb, np.ndarray) and isinstance(tt, np.ndarray)
    assert isinstance(e, np.ndarray) and isinstance(late, np.ndarray)
    assert isinstance(ride, np.ndarray) and isinstance(partner, np.ndarray)
    m = len(seq)
    lo = [int(vb[0])] + [int(e[n]) for n in seq[1:-1]] + [int(vb[2])]
    hi = [int(vb[1])] + [int(late[n]) for n in seq[1:-1]] + [int(vb[3])]
    edges = [(k, k + 1, int(tt[a, b])) for k, (a, b) in enumerate(pairwise(seq))]  # x_b >= x_a + w
    for k in range(1, m - 1):
        if ride[seq[k]] >= 0:
            j = seq.index(int(partner[seq[k]]))
            edges.append((j, k, -int(ride[seq[k]])))
    if vb[4] >= 0:
        edges.append((m - 1, 0, -int(vb[4])))
    x = list(lo)
    for _ in range(m + 2):
        changed = False
        for a, b, w in edges:
            if x[a] + w > x[b]:
                x[b] = x[a] + w
                changed = True
        if any(v > h for v, h in zip(x, hi, strict=True)):
            return None
        if not changed:
            return x
    return None  # a positive cycle


def _least(seq: list[int], inst: dict[str, object]) -> list[int] | None:
    arr = np.array(seq, dtype=np.int64)
    out = np.empty(len(seq), dtype=np.int64)
    ok = kern.least_schedule(
        arr, len(seq), inst["tt"], inst["e"], inst["late"], inst["partner"], inst["ride"],
        inst["vb"], out,
    )  # fmt: skip
    return [int(v) for v in out] if ok else None


@settings(max_examples=300, deadline=None, derandomize=True)
@given(inst=instances(), order=st.permutations(list(range(1, N_PAIRS + 1))))
def test_least_schedule_is_exact(inst: dict[str, object], order: list[int]) -> None:
    # A route with every pair, deliveries interleaved after their pickups.
    visits: list[int] = []
    for p in order:
        visits.insert(len(visits) // 2, p)
    for p in order:
        visits.insert(visits.index(p) + 1 + (p % 2), p + N_PAIRS)
    seq = [0, *visits, 0]
    assert _least(seq, inst) == _reference(seq, inst)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(inst=instances())
def test_best_insertion_is_the_cheapest_feasible_pair_of_positions(
    inst: dict[str, object],
) -> None:
    base = [0, 1, 1 + N_PAIRS, 2, 2 + N_PAIRS, 0]
    if _reference(base, inst) is None:
        return
    p, d = 3, 3 + N_PAIRS
    dist = inst["dist"]
    assert isinstance(dist, np.ndarray)
    best: int | None = None
    for i in range(len(base) - 1):
        for j in range(i, len(base) - 1):
            trial = [*base[: i + 1], p, *base[i + 1 : j + 1], d, *base[j + 1 :]]
            if _reference(trial, inst) is not None:
                cost = int(sum(dist[a, b] for a, b in pairwise(trial)))
                cost -= int(sum(dist[a, b] for a, b in pairwise(base)))
                best = cost if best is None else min(best, cost)
    load = np.zeros(2 * N_PAIRS + 1, dtype=np.int64)
    load[1 : N_PAIRS + 1], load[N_PAIRS + 1 :] = 1, -1
    arr = np.array(base, dtype=np.int64)
    delta, i, j = kern.best_insertion(
        arr, len(base), p, d, dist, inst["tt"], inst["e"], inst["late"], load,
        inst["partner"], inst["ride"], inst["vb"], 3,
    )  # fmt: skip
    if best is None:
        assert delta == kern.INFEASIBLE
    else:
        assert delta == best
        trial = [*base[: i + 1], p, *base[i + 1 : j + 1], d, *base[j + 1 :]]
        assert _reference(trial, inst) is not None


def test_capacity_blocks_an_insertion_that_would_overload() -> None:
    n = 2 * N_PAIRS + 1
    zeros = np.zeros((n, n), dtype=np.int64)
    load = np.zeros(n, dtype=np.int64)
    load[1 : N_PAIRS + 1], load[N_PAIRS + 1 :] = 1, -1
    partner = np.array([-1, 4, 5, 6, 1, 2, 3], dtype=np.int64)
    args = (
        zeros, zeros, np.zeros(n, dtype=np.int64), np.full(n, 10**6, dtype=np.int64), load,
        partner, np.full(n, -1, dtype=np.int64), np.array([0, 10, 0, 10**6, -1], dtype=np.int64),
    )  # fmt: skip
    route = np.array([0, 1, 2, 4, 5, 0], dtype=np.int64)  # load 2 between positions 2 and 3
    delta, i, j = kern.best_insertion(route, 6, 3, 6, *args, 2)
    assert delta == 0 and not (i < 3 and j >= 2)  # never inside the load-2 stretch
    delta, _, _ = kern.best_insertion(route, 6, 3, 6, *args, 1)
    assert delta == 0  # only outside the pairs, where the load is 0
    delta, _, _ = kern.best_insertion(route, 6, 3, 6, *args, 0)
    assert delta == kern.INFEASIBLE


@settings(max_examples=150, deadline=None, derandomize=True)
@given(inst=instances(), q=st.integers(0, 3))
def test_single_visit_goes_to_its_cheapest_feasible_position(
    inst: dict[str, object], q: int
) -> None:
    base = [0, 1, 1 + N_PAIRS, 2, 2 + N_PAIRS, 0]
    if _reference(base, inst) is None:
        return
    visit = 3 + N_PAIRS  # used as a single visit: no partner, load q kept on board
    partner = np.array(inst["partner"]).copy()
    partner[visit] = -1
    single = {**inst, "partner": partner}
    dist = inst["dist"]
    assert isinstance(dist, np.ndarray)
    load = np.zeros(2 * N_PAIRS + 1, dtype=np.int64)
    load[1 : N_PAIRS + 1], load[N_PAIRS + 1 :] = 1, -1
    load[visit] = q
    capacity = 3
    best: int | None = None
    for i in range(len(base) - 1):
        trial = [*base[: i + 1], visit, *base[i + 1 :]]
        loads = np.cumsum(load[trial])
        if loads.max() > capacity or _reference(trial, single) is None:
            continue
        cost = int(sum(dist[a, b] for a, b in pairwise(trial)))
        cost -= int(sum(dist[a, b] for a, b in pairwise(base)))
        best = cost if best is None else min(best, cost)
    delta, i, j = kern.best_insertion(
        np.array(base, dtype=np.int64), len(base), -1, visit, dist, inst["tt"], inst["e"],
        inst["late"], load, partner, inst["ride"], inst["vb"], capacity,
    )  # fmt: skip
    assert delta == (kern.INFEASIBLE if best is None else best)
    if best is not None:
        assert j == -1 and 0 <= i < len(base) - 1
