"""The ALNS iterations themselves, compiled: plan edits, removal and insertion operators.

A plan is four arrays: `rows[k, :lens[k]]` route k with its start and end nodes, `route_of[r]`
the route serving request r (-1: unassigned), `rcost[k]` route k's distance. `st` is the tuple
of static arrays built by `alns.static_arrays` (see `S_*` indices below). Operators are
described in `dispatch.solver.alns`. Random numbers come from numba's generator, seeded by
`seed_rng`; without numba the same code runs on NumPy's global generator (slow, for tests).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dispatch.solver.pd_kernels import INFEASIBLE, _jit, insertion_column, least_schedule

INF = INFEASIBLE
(S_DIST, S_TT, S_E, S_LATE, S_LOAD, S_PARTNER, S_RIDE, S_VB, S_CAP, S_PICK, S_DROP, S_PEN,
 S_REQ_OF_NODE, S_REL_ORDER, S_VCLASS, S_FIRST_RANK) = range(16)  # fmt: skip
DESTROY_RANDOM, DESTROY_RELATED, DESTROY_WORST, DESTROY_STRINGS = range(4)
REPAIR_GREEDY, REPAIR_REGRET = range(2)
Q_MIN = 2
BLINK = 0.01  # chance to skip a route when choosing where to insert (SISR's blinks)
SEGMENT = 100  # operator weights are updated every SEGMENT iterations
REACTION = 0.2
SCORE_BEST, SCORE_BETTER, SCORE_ACCEPTED = 12.0, 5.0, 2.0
STATE_SIZE = 28


@_jit
def seed_rng(seed: int) -> None:
    """Seed the generator the kernels draw from."""
    np.random.seed(seed)


@_jit
def route_cost(row: Any, m: int, dist: Any) -> int:
    """Distance of one route row."""
    c = 0
    for x in range(m - 1):
        c += dist[row[x], row[x + 1]]
    return c


@_jit
def plan_cost(rcost: Any, route_of: Any, pen: Any) -> int:
    """Total distance plus the penalties of unassigned requests."""
    c = 0
    for k in range(rcost.shape[0]):
        c += rcost[k]
    for r in range(route_of.shape[0]):
        if route_of[r] < 0:
            c += pen[r]
    return c


@_jit
def remove_requests(rows: Any, lens: Any, route_of: Any, rcost: Any, reqs: Any, st: Any) -> None:
    """Take every request in `reqs` out of its route."""
    pick, drop = st[S_PICK], st[S_DROP]
    for t in range(reqs.shape[0]):
        r = reqs[t]
        k = route_of[r]
        if k < 0:
            continue
        w = 0
        for x in range(lens[k]):
            node = rows[k, x]
            if node != pick[r] and node != drop[r]:
                rows[k, w] = node
                w += 1
        lens[k] = w
        route_of[r] = -1
        rcost[k] = route_cost(rows[k], w, st[S_DIST])


@_jit
def insert_request(
    rows: Any,
    lens: Any,
    route_of: Any,
    rcost: Any,
    r: int,
    k: int,
    i: int,
    j: int,
    delta: int,
    st: Any,
) -> None:
    """Put request r into route k: pickup after position i, delivery after position j
    (a single visit: after position i)."""
    m = lens[k]
    route_of[r] = k
    rcost[k] += delta
    if st[S_PICK][r] < 0:
        for x in range(m - 1, i, -1):
            rows[k, x + 1] = rows[k, x]
        rows[k, i + 1] = st[S_DROP][r]
        lens[k] = m + 1
        return
    for x in range(m - 1, j, -1):
        rows[k, x + 2] = rows[k, x]
    rows[k, j + 2] = st[S_DROP][r]
    for x in range(j, i, -1):
        rows[k, x + 1] = rows[k, x]
    rows[k, i + 1] = st[S_PICK][r]
    lens[k] = m + 2


@_jit
def _candidates(lens: Any, vclass: Any) -> Any:
    """Used routes plus one empty route per vehicle class."""
    n_veh = lens.shape[0]
    out = np.zeros(n_veh, dtype=np.bool_)
    seen = np.zeros(n_veh, dtype=np.bool_)
    for k in range(n_veh):
        if lens[k] > 2:
            out[k] = True
        elif not seen[vclass[k]]:
            seen[vclass[k]] = True
            out[k] = True
    return out


@_jit
def _column(rows: Any, lens: Any, k: int, pend: Any, alive: Any, table: Any, st: Any) -> None:
    """Recompute route k's column of the insertion table for the pending requests alive."""
    live = np.flatnonzero(alive)
    ps = np.empty(live.shape[0], dtype=np.int64)
    ds = np.empty(live.shape[0], dtype=np.int64)
    for t in range(live.shape[0]):
        ps[t] = st[S_PICK][pend[live[t]]]
        ds[t] = st[S_DROP][pend[live[t]]]
    out = np.empty((3, live.shape[0]), dtype=np.int64)
    insertion_column(
        rows[k], lens[k], ps, ds, st[S_DIST], st[S_TT], st[S_E], st[S_LATE], st[S_LOAD],
        st[S_PARTNER], st[S_RIDE], st[S_VB][k], st[S_CAP][k], out,
    )  # fmt: skip
    for t in range(live.shape[0]):
        for c in range(3):
            table[c, live[t], k] = out[c, t]


@_jit
def repair(
    mode: int,
    noise: float,
    rows: Any,
    lens: Any,
    route_of: Any,
    rcost: Any,
    pend: Any,
    st: Any,
) -> None:
    """Insert the pending requests (greedy or regret-2), each at its cheapest feasible place.

    With `noise` > 0 the choice (not the feasibility) sees each added cost plus a uniform
    random term in [-noise, noise] (Ropke and Pisinger's noise, for diversification).
    """
    n_veh = rows.shape[0]
    n = pend.shape[0]
    if n == 0:
        return
    table = np.full((3, n, n_veh), INF, dtype=np.int64)
    alive = np.ones(n, dtype=np.bool_)
    computed = np.zeros(n_veh, dtype=np.bool_)
    cand = _candidates(lens, st[S_VCLASS])
    for k in range(n_veh):
        if cand[k]:
            _column(rows, lens, k, pend, alive, table, st)
            computed[k] = True
    if mode == REPAIR_GREEDY:
        order = np.random.permutation(n)
        if np.random.random() < 0.5:
            keys = np.empty(n, dtype=np.int64)
            for t in range(n):
                keys[t] = st[S_FIRST_RANK][pend[t]]
            order = np.argsort(keys)
    for step in range(n):
        row, best_k = -1, -1
        if mode == REPAIR_GREEDY:
            row = order[step]
            best = np.inf
            for k in range(n_veh):
                if table[0, row, k] >= INF or np.random.random() < BLINK:
                    continue
                c = float(table[0, row, k])
                if noise > 0:
                    c += noise * (2.0 * np.random.random() - 1.0)
                if c < best:
                    best, best_k = c, k
            if best_k < 0:
                alive[row] = False
                continue
        else:
            top = -np.inf
            for t in range(n):
                if not alive[t]:
                    continue
                b1, b2, kb = np.inf, float(INF), -1
                for k in range(n_veh):
                    if table[0, t, k] >= INF:
                        continue
                    c = float(table[0, t, k])
                    if noise > 0:
                        c += noise * (2.0 * np.random.random() - 1.0)
                    if c < b1:
                        b2, b1, kb = b1, c, k
                    elif c < b2:
                        b2 = c
                if kb < 0:
                    continue
                regret = (b2 - b1) - 1e-6 * b1
                if regret > top:
                    top, row, best_k = regret, t, kb
            if row < 0:
                return
        insert_request(
            rows, lens, route_of, rcost, pend[row], best_k, table[1, row, best_k],
            table[2, row, best_k], table[0, row, best_k], st,
        )  # fmt: skip
        alive[row] = False
        if not alive.any():
            return
        _column(rows, lens, best_k, pend, alive, table, st)
        cand = _candidates(lens, st[S_VCLASS])
        for k in range(n_veh):
            if cand[k] and not computed[k]:
                _column(rows, lens, k, pend, alive, table, st)
                computed[k] = True


@_jit
def destroy(op: int, q_max: int, rows: Any, lens: Any, route_of: Any, rcost: Any, st: Any) -> Any:
    """Remove requests with operator `op`; returns the removed requests."""
    assigned = np.flatnonzero(route_of >= 0)
    if assigned.shape[0] == 0:
        return assigned
    q = min(assigned.shape[0], np.random.randint(Q_MIN, q_max + 1))
    if op == DESTROY_RANDOM:
        removed = np.random.permutation(assigned)[:q]
    elif op == DESTROY_RELATED:
        removed = _related(q, assigned, route_of, st)
    elif op == DESTROY_WORST:
        removed = _worst(q, rows, lens, route_of, st)
    else:
        removed = _strings(q, assigned, rows, lens, route_of, st)
    remove_requests(rows, lens, route_of, rcost, removed, st)
    return removed


@_jit
def _related(q: int, assigned: Any, route_of: Any, st: Any) -> Any:
    order = st[S_REL_ORDER]
    n = route_of.shape[0]
    removed = np.empty(q, dtype=np.int64)
    taken = np.zeros(n, dtype=np.bool_)
    removed[0] = assigned[np.random.randint(assigned.shape[0])]
    taken[removed[0]] = True
    count = 1
    cands = np.empty(n, dtype=np.int64)
    while count < q:
        anchor = removed[np.random.randint(count)]
        nc = 0
        for x in range(n):
            r = order[anchor, x]
            if route_of[r] >= 0 and not taken[r]:
                cands[nc] = r
                nc += 1
        if nc == 0:
            break
        pick = cands[int(np.random.random() ** 6 * nc)]
        removed[count] = pick
        taken[pick] = True
        count += 1
    return removed[:count]


@_jit
def _worst(q: int, rows: Any, lens: Any, route_of: Any, st: Any) -> Any:
    dist, req_of_node, pick = st[S_DIST], st[S_REQ_OF_NODE], st[S_PICK]
    n = route_of.shape[0]
    gain = np.zeros(n, dtype=np.int64)
    for k in range(rows.shape[0]):
        m = lens[k]
        for x in range(1, m - 1):
            node = rows[k, x]
            r = req_of_node[node]
            a, b = rows[k, x - 1], rows[k, x + 1]
            g = dist[a, node] + dist[node, b] - dist[a, b]
            if node == pick[r] and b == st[S_DROP][r]:  # adjacent pair: count the pair once
                g = (
                    dist[a, node]
                    + dist[node, b]
                    + dist[b, rows[k, x + 2]]
                    - dist[a, rows[k, x + 2]]
                )
            elif node != pick[r] and a == pick[r]:
                g = 0
            gain[r] += g
    ranked = list(np.argsort(-gain))
    ranked = [r for r in ranked if route_of[r] >= 0]
    removed = np.empty(q, dtype=np.int64)
    count = 0
    while count < q and len(ranked) > 0:
        removed[count] = ranked.pop(int(np.random.random() ** 3 * len(ranked)))
        count += 1
    return removed[:count]


@_jit
def _strings(q: int, assigned: Any, rows: Any, lens: Any, route_of: Any, st: Any) -> Any:
    order, req_of_node = st[S_REL_ORDER], st[S_REQ_OF_NODE]
    n = route_of.shape[0]
    n_veh = rows.shape[0]
    used = 0
    for k in range(n_veh):
        if lens[k] > 2:
            used += 1
    max_len = max(2, (2 * q) // max(1, min(q, used)))
    seed = assigned[np.random.randint(assigned.shape[0])]
    ruined = np.zeros(n_veh, dtype=np.bool_)
    taken = np.zeros(n, dtype=np.bool_)
    removed = np.empty(n, dtype=np.int64)
    count = 0
    for x in range(n):
        if count >= q:
            break
        r = order[seed, x]
        k = route_of[r]
        if k < 0 or ruined[k] or taken[r]:
            continue
        ruined[k] = True
        m = lens[k] - 2  # visits in rows[k, 1 : m + 1]
        pos = 0
        for y in range(1, m + 1):
            if rows[k, y] == (st[S_PICK][r] if st[S_PICK][r] >= 0 else st[S_DROP][r]):
                pos = y - 1
                break
        length = np.random.randint(1, min(m, max_len) + 1)
        first = np.random.randint(max(0, pos - length + 1), min(pos, m - length) + 1)
        for y in range(first, first + length):
            owner = req_of_node[rows[k, y + 1]]
            if not taken[owner]:
                taken[owner] = True
                removed[count] = owner
                count += 1
    return removed[:count]


@_jit
def route_ok(rows: Any, lens: Any, k: int, st: Any) -> bool:
    """Route k passes the capacity and exact schedule checks."""
    m = lens[k]
    load = 0
    for x in range(m):
        load += st[S_LOAD][rows[k, x]]
        if load > st[S_CAP][k] or load < 0:
            return False
    times = np.empty(m, dtype=np.int64)
    return least_schedule(
        rows[k], m, st[S_TT], st[S_E], st[S_LATE], st[S_PARTNER], st[S_RIDE], st[S_VB][k], times
    )


@_jit
def _roulette(w: Any, lo: int, hi: int) -> int:
    total = 0.0
    for x in range(lo, hi):
        total += w[x]
    pick = np.random.random() * total
    for x in range(lo, hi):
        pick -= w[x]
        if pick <= 0:
            return x - lo
    return hi - 1 - lo


@_jit
def iterate(
    n_iter: int,
    prog0: float,
    prog1: float,
    temps: Any,
    q_max: int,
    safe_removal: bool,
    cur: Any,
    best: Any,
    state: Any,
    st: Any,
) -> None:
    """Run `n_iter` ALNS iterations (simulated annealing, adaptive operator weights).

    `cur` and `best` are (rows, lens, route_of, rcost) plans, updated in place. `temps` =
    (start temperature, end temperature, insertion noise); the temperature falls
    geometrically as progress goes from `prog0` to `prog1`. `state` = float64 array of
    `STATE_SIZE`: [0] current cost, [1] best cost, [2] iterations, [3] improvements,
    [4:8] removal weights, [8:12] insertion weights (greedy, regret, each without and with
    noise), then per operator its segment's score (+8) and uses (+16).
    """
    rows, lens, route_of, rcost = cur
    b_rows, blens, broute_of, brcost = best
    for it in range(n_iter):
        progress = prog0 + (prog1 - prog0) * it / max(1, n_iter)
        temp = temps[0] * (temps[1] / temps[0]) ** progress
        d_op = _roulette(state, 4, 8)
        r_op = _roulette(state, 8, 12)
        t_rows, tl, tro, trc = rows.copy(), lens.copy(), route_of.copy(), rcost.copy()
        destroy(d_op, q_max, t_rows, tl, tro, trc, st)
        state[2] += 1
        if not safe_removal:
            ok = True
            for k in range(t_rows.shape[0]):
                if not route_ok(t_rows, tl, k, st):
                    ok = False
                    break
            if not ok:
                continue
        noise = temps[2] if r_op >= 2 else 0.0
        repair(r_op % 2, noise, t_rows, tl, tro, trc, np.flatnonzero(tro < 0), st)
        cost = float(plan_cost(trc, tro, st[S_PEN]))
        gained = 0.0
        if cost < state[1]:
            b_rows[:], blens[:], broute_of[:], brcost[:] = t_rows, tl, tro, trc
            state[1] = cost
            state[3] += 1
            gained = SCORE_BEST
        delta = cost - state[0]
        if delta < 0 or np.random.random() < np.exp(-delta / max(temp, 1e-9)):
            if gained == 0.0:
                gained = SCORE_BETTER if delta < 0 else SCORE_ACCEPTED
            rows[:], lens[:], route_of[:], rcost[:] = t_rows, tl, tro, trc
            state[0] = cost
        for op in (4 + d_op, 8 + r_op):
            state[op + 8] += gained
            state[op + 16] += 1
        if int(state[2]) % SEGMENT == 0:
            for op in range(4, 12):
                if state[op + 16] > 0:
                    avg = state[op + 8] / state[op + 16]
                    state[op] = max(0.05, (1 - REACTION) * state[op] + REACTION * avg)
                state[op + 8] = 0.0
                state[op + 16] = 0.0
