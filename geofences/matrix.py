"""Cost matrices: air routes between every pair of sites, in one batch.

Every site is joined to the lattice once (`Router._links`), all sites become extra rows of the
CSR graph, and one multi-source Dijkstra gives every pair; a pair whose straight segment is legal
and no dearer uses it, a pair the lattice cannot join (a gap narrower than the lattice) but that
lies in one piece of free space gets the exact visibility path. Routes are symmetric, so only
i < j is searched. Lengths are the lattice paths before shortening (a few per cent longer than
the routes `plan_route` flies); durations add the climb and descent at the cruise altitude.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from scipy.sparse.csgraph import dijkstra

from geofences.frame import to_local
from geofences.lattice import walk
from geofences.route import CostMatrix, check_coordinate

if TYPE_CHECKING:
    from geofences.routing import Router


def site_matrix(router: Router, sites: Sequence[tuple[float, float]]) -> CostMatrix:
    """Pairwise graph routes between `sites` ((lat, lon) pairs).

    Raises:
        RouteError: a site is not a finite, in-range latitude/longitude.
    """
    for k, s in enumerate(sites):
        check_coordinate(*s, what=f"site {k}")
    o = router.options
    pts = np.array([to_local(*s) for s in sites], dtype=float).reshape(-1, 2)
    k = len(pts)
    distance = np.full((k, k), np.inf)
    water = np.zeros((k, k))
    usable = [
        not router._endpoint_problem((float(p[0]), float(p[1])), "site")
        and not router._column_problem(s)
        for p, s in zip(pts, sites, strict=True)
    ]
    gr = router.graph
    n = len(gr.xy)
    links = [
        router._links(p) if ok else (np.zeros(0, np.int64), np.zeros(0))
        for p, ok in zip(pts, usable, strict=True)
    ]
    idx = [i for i in range(k) if usable[i]]
    for i in idx:
        distance[i, i] = 0.0
    pairs = [(i, j) for i in idx for j in idx if i < j]
    if pairs:
        pi, pj = np.array(pairs).T
        direct_ok = router.legal_segments(pts[pi], pts[pj])
        span = float(np.hypot(*(pts.max(axis=0) - pts.min(axis=0))))
        direct, _ = router.segment_costs(pts[pi], pts[pj], max(5, int(span / 20)))
        direct[~direct_ok] = np.inf
        matrix = gr.with_sources(links)
        sources = {i: row for row, i in enumerate(idx)}
        dist, pred = dijkstra(
            matrix, directed=True, indices=[n + i for i in idx], return_predecessors=True
        )
        seg_a, seg_b, owner = [], [], []
        for p_index, (i, j) in enumerate(pairs):
            row = sources[i]
            nodes_j, cost_j = links[j]
            via = dist[row, nodes_j] + cost_j
            best = float(via.min()) if len(via) else math.inf
            if math.isfinite(direct[p_index]) and direct[p_index] <= best:
                p = pts[[i, j]]
            elif math.isfinite(best):
                nodes = walk(pred[row], n + i, int(nodes_j[int(np.argmin(via))]))[1:]
                p = np.concatenate([pts[i : i + 1], gr.xy[nodes], pts[j : j + 1]])
            else:
                a_xy = (float(pts[i, 0]), float(pts[i, 1]))
                b_xy = (float(pts[j, 0]), float(pts[j, 1]))
                if router._separated(a_xy, b_xy):
                    continue
                p = router._visibility_path(a_xy, b_xy)  # a gap narrower than the lattice
            seg_a.append(p[:-1])
            seg_b.append(p[1:])
            owner.append(np.full(len(p) - 1, p_index))
        if owner:
            who = np.concatenate(owner)
            _, seg, wet = router._profile(np.concatenate(seg_a), np.concatenate(seg_b), 10)
            total = np.bincount(who, seg, minlength=len(pairs))
            wet_total = np.bincount(who, wet, minlength=len(pairs))
            found = np.bincount(who, minlength=len(pairs)) > 0
            fi, fj = pi[found], pj[found]
            distance[fi, fj] = distance[fj, fi] = total[found]
            frac = wet_total[found] / np.maximum(total[found], 1e-9)
            water[fi, fj] = water[fj, fi] = frac
    legal = np.isfinite(distance)
    alt = o.cruise_alt_m
    flight = np.where(legal, distance, 0.0)
    duration = np.where(
        legal,
        alt / o.climb_speed_m_s + flight / o.cruise_speed_m_s + alt / o.descent_speed_m_s,
        np.inf,
    )
    np.fill_diagonal(duration, 0.0)
    length = np.where(legal, flight + 2 * alt, np.inf)
    np.fill_diagonal(length, 0.0)
    return CostMatrix(length, duration, water, legal)
