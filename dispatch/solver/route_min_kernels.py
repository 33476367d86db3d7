"""Compiled inner loops of the route-minimisation heuristic (`dispatch.solver.route_min`).

Single visits only (VRPTW customers: a load that stays on board, a time window, service).
A plan is `rows[k, :lens[k]]` (route k with its start and end nodes), with per route the
earliest start of service `ea[k, x]`, the latest `za[k, x]` (from the windows of the suffix)
and the total load `lds[k]`; `wk[node]`, `wx[node]` say where a customer is (-1: in the
ejection pool). Route k is feasible exactly when `ea[k, x] <= za[k, x]` everywhere and its
load fits. `st` is the tuple built by `route_min.static_arrays` (order: `S_*`).

Random numbers come from numba's generator (seeded by `alns_kernels.seed_rng`); without numba
the same code runs as plain Python on NumPy's global generator (slow, for tests).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dispatch.solver.pd_kernels import _jit

S_TT, S_E, S_LATE, S_LOAD, S_VB, S_CAP, S_NN, S_CUST = range(8)
# `cnt` counters: pool size, pops, ejections, feasible insertions, squeezes.
C_EP, C_POPS, C_EJECT, C_INSERT, C_SQUEEZE = range(5)
COUNTERS = 5
BIG = np.int64(2**62)


@_jit
def refresh(rows: Any, lens: Any, k: int, ea: Any, za: Any, lds: Any, wk: Any, wx: Any,
            st: Any) -> bool:  # fmt: skip
    """Recompute route k's earliest/latest times, load and positions; True when feasible."""
    tt, e, late, load, vb = st[S_TT], st[S_E], st[S_LATE], st[S_LOAD], st[S_VB]
    m = lens[k]
    ea[k, 0] = vb[k, 0]
    total = 0
    ok = True
    for x in range(1, m):
        node = rows[k, x]
        t = ea[k, x - 1] + tt[rows[k, x - 1], node]
        lo = vb[k, 2] if x == m - 1 else e[node]
        ea[k, x] = t if t > lo else lo
        if x < m - 1:
            total += load[node]
            wk[node] = k
            wx[node] = x
    za[k, m - 1] = vb[k, 3]
    for x in range(m - 2, -1, -1):
        node = rows[k, x]
        hi = vb[k, 1] if x == 0 else late[node]
        t = za[k, x + 1] - tt[node, rows[k, x + 1]]
        za[k, x] = t if t < hi else hi
    for x in range(m):
        if ea[k, x] > za[k, x]:
            ok = False
    lds[k] = total
    return bool(ok and total <= st[S_CAP][k])


@_jit
def seq_ok(seq: Any, m: int, k: int, st: Any) -> bool:
    """Whether visiting `seq[:m]` (start and end nodes included) is feasible for vehicle k."""
    tt, e, late, load, vb = st[S_TT], st[S_E], st[S_LATE], st[S_LOAD], st[S_VB]
    t = vb[k, 0]
    if t > vb[k, 1]:
        return False
    total = 0
    for x in range(1, m):
        node = seq[x]
        t += tt[seq[x - 1], node]
        if x == m - 1:
            if t < vb[k, 2]:
                t = vb[k, 2]
            return bool(t <= vb[k, 3] and total <= st[S_CAP][k])
        if t < e[node]:
            t = e[node]
        if t > late[node]:
            return False
        total += load[node]
    return False


@_jit
def _commit(rows: Any, lens: Any, k: int, seq: Any, m: int, plan: Any, st: Any) -> None:
    ea, za, lds, wk, wx = plan[2], plan[3], plan[4], plan[5], plan[6]
    rows[k, :m] = seq[:m]
    lens[k] = m
    refresh(rows, lens, k, ea, za, lds, wk, wx, st)


@_jit
def _without(rows: Any, lens: Any, k: int, node: int, out: Any) -> int:
    w = 0
    for x in range(lens[k]):
        if rows[k, x] != node:
            out[w] = rows[k, x]
            w += 1
    return w


@_jit
def _with_after(rows: Any, lens: Any, k: int, x: int, node: int, out: Any) -> int:
    """Route k with `node` inserted after position x."""
    w = 0
    for y in range(lens[k]):
        out[w] = rows[k, y]
        w += 1
        if y == x:
            out[w] = node
            w += 1
    return w


@_jit
def _cross(rows: Any, lens: Any, ka: int, xa: int, kb: int, xb: int, out: Any) -> int:
    """Route `ka` up to position `xa`, then route `kb`'s customers after `xb`, then `ka`'s end
    (one half of a 2-opt* exchange), into `out`; its length."""
    m = 0
    for y in range(xa + 1):
        out[m] = rows[ka, y]
        m += 1
    for y in range(xb + 1, lens[kb] - 1):
        out[m] = rows[kb, y]
        m += 1
    out[m] = rows[ka, lens[ka] - 1]
    return m + 1


@_jit
def perturb(n_moves: int, plan: Any, active: Any, st: Any, b1: Any, b2: Any) -> int:
    """`n_moves` random moves (relocate, swap, 2-opt*) between a customer and one of its
    nearest neighbours, each applied when it keeps both routes feasible, whatever its cost
    (Nagata and Bräysy's perturbation). Returns how many were applied."""
    rows, lens, wk, wx = plan[0], plan[1], plan[5], plan[6]
    nn, cust, load = st[S_NN], st[S_CUST], st[S_LOAD]
    done = 0
    for _ in range(n_moves):
        u = cust[np.random.randint(cust.shape[0])]
        w = nn[u, np.random.randint(nn.shape[1])]
        ku, kw = wk[u], wk[w]
        if ku < 0 or kw < 0 or u == w:
            continue
        move = np.random.randint(3)
        if move == 0:  # relocate u next to w (after it, or before it)
            m1 = _without(rows, lens, ku, u, b1)
            if ku == kw:
                ww = 0
                for y in range(m1):
                    if b1[y] == w and np.random.random() < 0.5:
                        b2[ww] = u
                        ww += 1
                        b2[ww] = w
                        ww += 1
                    elif b1[y] == w:
                        b2[ww] = w
                        ww += 1
                        b2[ww] = u
                        ww += 1
                    else:
                        b2[ww] = b1[y]
                        ww += 1
                if seq_ok(b2, ww, ku, st):
                    _commit(rows, lens, ku, b2, ww, plan, st)
                    done += 1
                continue
            if plan[4][kw] + load[u] > st[S_CAP][kw]:
                continue
            at = wx[w] - (1 if np.random.random() < 0.5 else 0)
            m2 = _with_after(rows, lens, kw, at, u, b2)
            if seq_ok(b1, m1, ku, st) and seq_ok(b2, m2, kw, st):
                _commit(rows, lens, ku, b1, m1, plan, st)
                _commit(rows, lens, kw, b2, m2, plan, st)
                done += 1
        elif move == 1:  # swap u and w
            if ku != kw and (
                plan[4][ku] - load[u] + load[w] > st[S_CAP][ku]
                or plan[4][kw] - load[w] + load[u] > st[S_CAP][kw]
            ):
                continue
            m1 = lens[ku]
            b1[:m1] = rows[ku, :m1]
            b1[wx[u]] = w
            if ku == kw:
                b1[wx[w]] = u
                if seq_ok(b1, m1, ku, st):
                    _commit(rows, lens, ku, b1, m1, plan, st)
                    done += 1
                continue
            m2 = lens[kw]
            b2[:m2] = rows[kw, :m2]
            b2[wx[w]] = u
            if seq_ok(b1, m1, ku, st) and seq_ok(b2, m2, kw, st):
                _commit(rows, lens, ku, b1, m1, plan, st)
                _commit(rows, lens, kw, b2, m2, plan, st)
                done += 1
        else:  # 2-opt*: u's route up to u, then w's tail; w's route up to w (or before it)
            if ku == kw:
                continue
            xu = wx[u]
            xw = wx[w] - (1 if np.random.random() < 0.5 else 0)
            m1 = _cross(rows, lens, ku, xu, kw, xw, b1)
            m2 = _cross(rows, lens, kw, xw, ku, xu, b2)
            if seq_ok(b1, m1, ku, st) and seq_ok(b2, m2, kw, st):
                _commit(rows, lens, ku, b1, m1, plan, st)
                _commit(rows, lens, kw, b2, m2, plan, st)
                done += 1
    return done


@_jit
def _tail_ok(s: Any, j: int, m: int, t: int, k: int, st: Any) -> bool:
    """Whether `s[j + 1 : m]` can follow a start of service at `s[j]` at time t."""
    tt, e, late, vb = st[S_TT], st[S_E], st[S_LATE], st[S_VB]
    for y in range(j + 1, m):
        t += tt[s[y - 1], s[y]]
        if y == m - 1:
            return bool(t <= vb[k, 3])
        if t < e[s[y]]:
            t = e[s[y]]
        if t > late[s[y]]:
            return False
    return True


@_jit
def eject_search(
    v: int, kmax: int, max_nodes: int, p: Any, plan: Any, active: Any, st: Any, s: Any,
    zs: Any, best_ej: Any,
) -> tuple[int, int, int, int]:  # fmt: skip
    """Insert v somewhere by ejecting at most `kmax` other customers of that route, with the
    smallest sum of their penalty counters `p` (Nagata and Bräysy's lexicographic search with
    bounding). Returns (k, x, ejected count, p sum): v goes after position x of route k and
    the ejected nodes are `best_ej[:count]`; k = -1 when no such ejection exists. Ties are
    broken at random; each (route, position) explores at most `max_nodes` search nodes."""
    rows, lens, ea, lds = plan[0], plan[1], plan[2], plan[4]
    tt, e, late, load, vb = st[S_TT], st[S_E], st[S_LATE], st[S_LOAD], st[S_VB]
    n_veh = rows.shape[0]
    best_p, best_k, best_x, best_n, ties = BIG, -1, -1, 0, 0
    n_max = rows.shape[1] + 1
    dec = np.zeros(n_max, dtype=np.int64)
    tl = np.zeros(n_max, dtype=np.int64)
    lastn = np.zeros(n_max, dtype=np.int64)
    ps = np.zeros(n_max, dtype=np.int64)
    ne = np.zeros(n_max, dtype=np.int64)
    le = np.zeros(n_max, dtype=np.int64)
    ej = np.zeros(kmax + 1, dtype=np.int64)
    offset = np.random.randint(n_veh)
    for kk in range(n_veh):
        k = (kk + offset) % n_veh
        if not active[k] or load[v] > st[S_CAP][k]:
            continue
        m = lens[k]
        tot = lds[k] + load[v]
        cap = st[S_CAP][k]
        for x in range(m - 1):
            big_m = m + 1
            for y in range(x + 1):
                s[y] = rows[k, y]
            s[x + 1] = v
            for y in range(x + 1, m):
                s[y + 1] = rows[k, y]
            zs[big_m - 1] = vb[k, 3]
            for y in range(big_m - 2, 0, -1):
                t = zs[y + 1] - tt[s[y], s[y + 1]]
                zs[y] = t if t < late[s[y]] else late[s[y]]
            j = 1
            dec[1] = 0
            tl[1] = ea[k, 0]
            lastn[1] = s[0]
            ps[1] = 0
            ne[1] = 0
            le[1] = 0
            visited = 0
            while j >= 1 and visited < max_nodes:
                visited += 1
                if j == big_m - 1:
                    t = tl[j] + tt[lastn[j], s[j]]
                    if t < vb[k, 2]:
                        t = vb[k, 2]
                    if t <= vb[k, 3] and tot - le[j] <= cap and ps[j] <= best_p:
                        if ps[j] < best_p:
                            ties = 0
                        ties += 1
                        if np.random.random() * ties < 1.0:
                            best_p, best_k, best_x, best_n = ps[j], k, x, ne[j]
                            for c in range(ne[j]):
                                best_ej[c] = s[ej[c]]
                    j -= 1
                    continue
                node = s[j]
                if dec[j] == 0:
                    dec[j] = 1
                    t = tl[j] + tt[lastn[j], node]
                    if t < e[node]:
                        t = e[node]
                    if t <= late[node]:
                        if t <= zs[j] and tot - le[j] <= cap and _tail_ok(s, j, big_m, t, k, st):
                            if ps[j] <= best_p:
                                if ps[j] < best_p:
                                    ties = 0
                                ties += 1
                                if np.random.random() * ties < 1.0:
                                    best_p, best_k, best_x, best_n = ps[j], k, x, ne[j]
                                    for c in range(ne[j]):
                                        best_ej[c] = s[ej[c]]
                        else:
                            tl[j + 1] = t
                            lastn[j + 1] = node
                            ps[j + 1] = ps[j]
                            ne[j + 1] = ne[j]
                            le[j + 1] = le[j]
                            dec[j + 1] = 0
                            j += 1
                            continue
                if dec[j] == 1:
                    dec[j] = 2
                    if node != v and ne[j] < kmax and ps[j] + p[node] < best_p:
                        ej[ne[j]] = j
                        tl[j + 1] = tl[j]
                        lastn[j + 1] = lastn[j]
                        ps[j + 1] = ps[j] + p[node]
                        ne[j + 1] = ne[j] + 1
                        le[j + 1] = le[j] + load[node]
                        dec[j + 1] = 0
                        j += 1
                        continue
                j -= 1
    return best_k, best_x, best_n, int(best_p)


@_jit
def run_pool(
    n_steps: int, kmax: int, max_nodes: int, n_moves: int, plan: Any, active: Any, ep: Any,
    p: Any, cnt: Any, st: Any,
) -> None:  # fmt: skip
    """Empty the ejection pool `ep[:cnt[C_EP]]` (a stack) into the active routes, for at most
    `n_steps` pops: each popped customer goes to a random feasible position if it has one;
    otherwise its penalty counter rises, it is inserted by the cheapest ejection
    (`eject_search`, the ejected customers join the pool) and the plan is perturbed."""
    rows, lens, ea, za, wk = plan[0], plan[1], plan[2], plan[3], plan[5]
    tt, e, late, load = st[S_TT], st[S_E], st[S_LATE], st[S_LOAD]
    n_veh = rows.shape[0]
    width = rows.shape[1] + 2
    b1 = np.empty(width, dtype=np.int64)
    b2 = np.empty(width, dtype=np.int64)
    zs = np.empty(width, dtype=np.int64)
    best_ej = np.empty(kmax + 1, dtype=np.int64)
    for _ in range(n_steps):
        if cnt[C_EP] == 0:
            return
        cnt[C_EP] -= 1
        v = ep[cnt[C_EP]]
        cnt[C_POPS] += 1
        n_feas, bk, bx = 0, -1, -1
        for k in range(n_veh):
            if not active[k] or plan[4][k] + load[v] > st[S_CAP][k]:
                continue
            for x in range(lens[k] - 1):
                a_node, b_node = rows[k, x], rows[k, x + 1]
                t = ea[k, x] + tt[a_node, v]
                if t < e[v]:
                    t = e[v]
                if t <= late[v] and t + tt[v, b_node] <= za[k, x + 1]:
                    n_feas += 1
                    if np.random.random() * n_feas < 1.0:
                        bk, bx = k, x
        if n_feas > 0:
            m = _with_after(rows, lens, bk, bx, v, b1)
            _commit(rows, lens, bk, b1, m, plan, st)
            cnt[C_INSERT] += 1
            continue
        p[v] += 1
        k, x, n_ej, _ = eject_search(v, kmax, max_nodes, p, plan, active, st, b2, zs, best_ej)
        if k < 0:  # no ejection within kmax: back to the bottom of the pool
            for y in range(cnt[C_EP], 0, -1):
                ep[y] = ep[y - 1]
            ep[0] = v
            cnt[C_EP] += 1
            wk[v] = -1
        else:
            m = _with_after(rows, lens, k, x, v, b2)
            w = 0
            for y in range(m):
                out = False
                for c in range(n_ej):
                    if b2[y] == best_ej[c]:
                        out = True
                if not out:
                    b1[w] = b2[y]
                    w += 1
            _commit(rows, lens, k, b1, w, plan, st)
            for c in range(n_ej):
                ep[cnt[C_EP]] = best_ej[c]
                cnt[C_EP] += 1
                wk[best_ej[c]] = -1
            cnt[C_EJECT] += 1
        perturb(n_moves, plan, active, st, b1, b2)
