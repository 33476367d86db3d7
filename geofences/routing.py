"""Airspace-aware 3-D drone routes: legal, under every ceiling, over water where possible.

How a route is found (all in the local metric frame):

1. At the cruise altitude, every `no_fly` volume whose band reaches that altitude and every
   `obstacle` taller than it is a blocked footprint, grown by the horizontal clearance.
2. A navigation graph covers the planning area: a square lattice (`grid_m`, 16 neighbours per
   node) plus a finer lattice inside narrow preferred corridors (the Hanami River). An edge
   exists only if its segment stays clear of every blocked footprint; its cost is its length
   times the mean cost factor of the ground below (water and preferred corridors cheapest, then
   land, then permission-required districts), read from a 20 m ground-class raster
   (`geofences.ground`). The graph is built once per airspace and options and stored both ways
   as a CSR matrix.
3. A query appends the start as one extra CSR row (edges out of it to the legal nearby nodes),
   runs a bounded Dijkstra (scipy; the bound is lifted when the answer is not certified within
   it), joins the destination through its own nearby nodes (or the straight segment if that is
   legal and cheaper), then shortens the path greedily: from each kept point, the farthest later
   point whose segment is legal and costs no more than the path it replaces, so shortening never
   trades water for land.
4. "No legal path" is only said when it is certain: an endpoint inside a blocked footprint, or
   the two endpoints in different connected pieces of free space. If the lattice misses a
   narrow gap, an exact visibility graph over the free-space vertices finds the way.

The vertical profile is climb at the start, cruise at `cruise_alt_m` above ground, descend at the
end; the ground is 0 m AMSL in this area. The result is checked by the conformance checker,
and its length, duration, over-water fraction and the rules it touches are reported.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace
from functools import cached_property

import numpy as np
import numpy.typing as npt
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra
from shapely.geometry.base import BaseGeometry
from shapely.strtree import STRtree

from geofences.conformance import ConformanceChecker
from geofences.frame import to_local, to_local_arrays, to_wgs84_arrays
from geofences.ground import LAND, PERMISSION, PREFERRED, WATER, GroundRaster
from geofences.lattice import Lattice, build_lattice, walk
from geofences.route import (
    CostMatrix,
    Route,
    RouteError,
    RouteOptions,
    Waypoint,
    check_coordinate,
)
from geofences.volumes import Airspace, RuleKind

FloatArray = npt.NDArray[np.float64]


class Router:
    """Plans routes in one airspace with one set of options; build once, query many times."""

    def __init__(self, airspace: Airspace, options: RouteOptions | None = None) -> None:
        self.airspace = airspace
        self.options = options or RouteOptions()
        self.lock = threading.RLock()
        self.checker = ConformanceChecker(airspace, self.options.clearance_m)
        lon0, lat0, lon1, lat1 = airspace.bounds
        xs, ys = to_local_arrays([lat0, lat0, lat1, lat1], [lon0, lon1, lon0, lon1])
        self.area = shapely.box(xs.min(), ys.min(), xs.max(), ys.max())
        alt = self.options.cruise_alt_m
        blockers = []
        self.blocker_names: list[tuple[str, BaseGeometry]] = []
        for v in airspace.of_kind(RuleKind.NO_FLY, RuleKind.OBSTACLE):
            if v.kind is RuleKind.NO_FLY:
                margin = self.options.vertical_clearance_m
                blocks = v.floor_amsl_m() <= alt + margin and v.ceiling_amsl_m() >= alt - margin
            else:
                blocks = v.blocks_altitude(alt, self.options.vertical_clearance_m)
            if blocks:
                grown = v.local.buffer(self.options.clearance_m, quad_segs=8)
                blockers.append(grown)
                self.blocker_names.append((f"{v.id} ({v.name})", grown))
        self.blocked: BaseGeometry = shapely.union_all(blockers) if blockers else shapely.Polygon()
        shapely.prepare(self.blocked)
        self.free = self.area.difference(self.blocked)
        shapely.prepare(self.free)
        pref = [v.local for v in airspace.of_kind(RuleKind.PREFERRED)]
        perm = [v.local for v in airspace.of_kind(RuleKind.PERMISSION_REQUIRED)]
        self._pref = shapely.union_all(pref) if pref else shapely.Polygon()
        self._perm = shapely.union_all(perm) if perm else shapely.Polygon()
        self._corridors = [g for g in pref if g.area < 5e6]
        self._column_volumes = airspace.of_kind(RuleKind.NO_FLY, RuleKind.OBSTACLE)
        self._columns = STRtree([v.local for v in self._column_volumes])
        for g in (self._pref, self._perm):
            shapely.prepare(g)
        # routes asked for again (a fleet flies the same pads day long): a route is frozen and
        # depends only on the airspace, the options and its two ends, so it is kept
        self._routes: OrderedDict[tuple[tuple[float, float], tuple[float, float]], Route] = (
            OrderedDict())

    # ------------------------------------------------------------------ ground below
    @cached_property
    def ground(self) -> GroundRaster:
        """The ground-class raster (20 m) over the planning area."""
        x0, y0, x1, y1 = self.area.bounds
        return GroundRaster.build(
            (x0 - 100, y0 - 100, x1 + 100, y1 + 100),
            self.airspace.land_local,
            self._perm,
            self._pref,
        )

    @cached_property
    def _class_cost(self) -> FloatArray:
        o = self.options
        table = np.zeros(4)
        table[[WATER, LAND, PERMISSION, PREFERRED]] = (
            o.cost_water,
            o.cost_land,
            o.cost_permission,
            o.cost_preferred,
        )
        return table

    def classify(self, x: FloatArray, y: FloatArray) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
        """Cost factor and over-water flag (open water or a preferred corridor) of points."""
        codes = self.ground.lookup(x, y)
        return self._class_cost[codes], (codes == WATER) | (codes == PREFERRED)

    def segment_costs(
        self, a: FloatArray, b: FloatArray, samples: int = 5
    ) -> tuple[FloatArray, FloatArray]:
        """(cost, length) of segments a[i] -> b[i], the cost sampled at `samples` points."""
        cost, length, _ = self._profile(a, b, samples)
        return cost, length

    def _profile(
        self, a: FloatArray, b: FloatArray, samples: int
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(cost, length, length over water) of segments a[i] -> b[i]."""
        lengths = np.hypot(b[:, 0] - a[:, 0], b[:, 1] - a[:, 1])
        t = (np.arange(samples) + 0.5) / samples
        x = (a[:, None, 0] + (b[:, None, 0] - a[:, None, 0]) * t).ravel()
        y = (a[:, None, 1] + (b[:, None, 1] - a[:, None, 1]) * t).ravel()
        factor, wet = self.classify(x, y)
        cost = factor.reshape(-1, samples).mean(axis=1) * lengths
        return cost, lengths, wet.reshape(-1, samples).mean(axis=1) * lengths

    def legal_segments(self, a: FloatArray, b: FloatArray) -> npt.NDArray[np.bool_]:
        """Which segments a[i] -> b[i] keep clear of every blocked footprint."""
        if len(a) == 0:
            return np.zeros(0, dtype=bool)
        lines = shapely.linestrings(np.stack([a, b], axis=1))
        return np.asarray(~shapely.intersects(lines, self.blocked), dtype=bool)

    # ------------------------------------------------------------------ the graph
    @cached_property
    def graph(self) -> Lattice:
        """The navigation lattice at the cruise altitude (built on first use)."""
        return build_lattice(
            self.area.bounds,
            self.blocked,
            self._corridors,
            self.options.grid_m,
            self.legal_segments,
            self.segment_costs,
        )

    def _links(self, p: FloatArray) -> tuple[npt.NDArray[np.int64], FloatArray]:
        """Legal edges from a point to the lattice nodes near it: (node indices, costs)."""
        gr = self.graph
        near = np.asarray(gr.tree.query_ball_point(p, self.options.grid_m * 2.0), dtype=np.int64)
        if len(near) == 0:
            return near, np.zeros(0)
        a = np.repeat(p[None, :], len(near), axis=0)
        b = gr.xy[near]
        ok = self.legal_segments(a, b)
        samples = max(5, int(self.options.grid_m / 20))
        cost, _ = self.segment_costs(a[ok], b[ok], samples)
        return near[ok], np.maximum(cost, 1e-6)

    def _direct(self, a: FloatArray, b: FloatArray) -> float:
        """Cost of the straight segment a -> b, or inf when it is not legal."""
        if not self.legal_segments(a[None, :], b[None, :])[0]:
            return math.inf
        samples = max(5, int(float(np.hypot(*(b - a))) / 20))
        return float(self.segment_costs(a[None, :], b[None, :], samples)[0][0])

    # ------------------------------------------------------------------ queries
    def _endpoint_problem(self, xy: tuple[float, float], what: str) -> str:
        if not self.area.contains(shapely.Point(xy)):
            return f"{what} is outside the planning area"
        if not shapely.contains_xy(self.blocked, *xy):
            return ""
        for name, geom in self.blocker_names:
            if geom.contains(shapely.Point(xy)):
                o = self.options
                return (
                    f"{what} is inside {name} at {o.cruise_alt_m:.0f} m "
                    f"(clearance {o.clearance_m:.0f} m)"
                )
        return ""

    def _separated(self, a: tuple[float, float], b: tuple[float, float]) -> bool:
        for piece in getattr(self.free, "geoms", [self.free]):
            has_a, has_b = piece.covers(shapely.Point(a)), piece.covers(shapely.Point(b))
            if has_a or has_b:
                return not (has_a and has_b)
        return True

    def route(self, start: tuple[float, float], end: tuple[float, float]) -> Route:
        """The best legal route from `start` to `end` ((lat, lon) pairs), or why there is none.

        Safe to call from several threads (fleet plans missions in worker threads): queries on
        one router are serialised, as GEOS builds prepared-geometry indexes lazily.

        Raises:
            RouteError: a coordinate is not a finite, in-range latitude/longitude.
        """
        key = (start, end)
        with self.lock:
            route = self._routes.get(key)
            if route is None:
                route = self._routes[key] = self._route(start, end)
                if len(self._routes) > ROUTE_CACHE_SIZE:
                    self._routes.popitem(last=False)
            else:
                self._routes.move_to_end(key)
            return route

    def _route(self, start: tuple[float, float], end: tuple[float, float]) -> Route:
        check_coordinate(*start, what="start")
        check_coordinate(*end, what="end")
        a_xy, b_xy = to_local(*start), to_local(*end)
        for point_xy, what in ((a_xy, "start"), (b_xy, "destination")):
            problem = self._endpoint_problem(point_xy, what)
            if problem:
                return self._refusal(problem)
        column = self._column_problem(start) or self._column_problem(end)
        if column:
            return self._refusal(column)
        if self._separated(a_xy, b_xy):
            return self._refusal(
                "start and destination are separated by no-fly volumes at "
                f"{self.options.cruise_alt_m:.0f} m"
            )
        a, b = np.array(a_xy, dtype=float), np.array(b_xy, dtype=float)
        pts = self._graph_path(a, b)
        if pts is None:
            pts = self._visibility_path(a_xy, b_xy)
        return self._finish(start, end, pts)

    def _refusal(self, problem: str) -> Route:
        return Route(
            False, reason=f"no legal path: {problem}", cruise_alt_m=self.options.cruise_alt_m
        )

    def _graph_path(self, a: FloatArray, b: FloatArray) -> FloatArray | None:
        """Dijkstra from `a` over the lattice, joined to `b` through its nearby nodes, then
        shortened; None when the lattice does not connect them.

        The search is first bounded (`limit`) to the cost a near-straight route would have; an
        answer within the bound is exact (every node beyond it costs more), otherwise the search
        is repeated with the bound set to the best found, or unbounded.
        """
        gr = self.graph
        n = len(gr.xy)
        out_nodes, out_cost = self._links(a)
        in_nodes, in_cost = self._links(b)
        direct = self._direct(a, b)
        matrix = gr.with_sources([(out_nodes, out_cost)])
        o = self.options
        factors = (o.cost_water, o.cost_preferred, o.cost_land, o.cost_permission)
        euclid = float(np.hypot(*(b - a)))
        limit = 1.5 * euclid * min(factors) + 2 * o.grid_m * max(factors)
        while True:
            dist, pred = dijkstra(
                matrix, directed=True, indices=n, return_predecessors=True, limit=limit
            )
            via = dist[in_nodes] + in_cost if len(in_nodes) else np.zeros(0)
            best = float(via.min()) if len(via) else math.inf
            if min(best, direct) <= limit or math.isinf(limit):
                break
            limit = best if math.isfinite(best) else math.inf
        if math.isfinite(direct) and direct <= best:
            return np.array([a, b])
        if not math.isfinite(best):
            return None
        last = int(in_nodes[int(np.argmin(via))])
        nodes = walk(pred, n, last)[1:]
        pts = np.concatenate([a[None, :], gr.xy[nodes], b[None, :]])
        cum = np.concatenate([[0.0], dist[nodes], [best]])
        return self._shorten(pts, cum)

    def _column_problem(self, point: tuple[float, float]) -> str:
        """Can a drone climb from the ground to cruise altitude here?"""
        here = shapely.Point(*to_local(*point))
        alt, clearance = self.options.cruise_alt_m, self.options.clearance_m
        near = self._columns.query(here, predicate="dwithin", distance=clearance)
        for i in sorted(near.tolist()):
            v = self._column_volumes[i]
            if v.floor_amsl_m() > alt:
                continue
            if v.kind is RuleKind.OBSTACLE:
                return (
                    f"cannot climb to {alt:.0f} m at {point}: within {clearance:.0f} m of "
                    f"{v.id} ({v.name}, {v.ceiling_amsl_m():.0f} m)"
                )
            if v.local.intersects(here):
                return f"cannot climb to {alt:.0f} m at {point}: inside {v.id} ({v.name})"
        return ""

    def _shorten(self, pts: FloatArray, cum: FloatArray) -> FloatArray:
        """Greedy shortcuts: from each kept point, jump to the farthest later point whose
        straight segment is legal and costs no more than the path it replaces."""
        out = [0]
        i, last = 0, len(pts) - 1
        while i < last:
            k = np.arange(i + 2, last + 1)
            best = i + 1
            if len(k):
                a = np.repeat(pts[i : i + 1], len(k), axis=0)
                b = pts[k]
                ok = self.legal_segments(a, b)
                length = float(np.hypot(*(pts[last] - pts[i])))
                cost, _ = self.segment_costs(a, b, max(5, int(length / 20)))
                ok &= cost <= (cum[k] - cum[i]) * (1 + 1e-6) + 1e-6
                if ok.any():
                    best = int(k[np.flatnonzero(ok)[-1]])
            out.append(best)
            i = best
        return pts[out]

    def _visibility_path(self, a: tuple[float, float], b: tuple[float, float]) -> FloatArray:
        """Exact fallback: shortest path over the vertices of the blocked area (slightly grown)."""
        ring_pts = (
            [
                np.asarray(r.coords)[:-1]
                for p in getattr(
                    self.blocked.buffer(0.5, join_style="mitre"),
                    "geoms",
                    [self.blocked.buffer(0.5, join_style="mitre")],
                )
                for r in (p.exterior, *p.interiors)
            ]
            if not self.blocked.is_empty
            else []
        )
        verts = np.concatenate([np.array([a, b]), *ring_pts]) if ring_pts else np.array([a, b])
        verts = verts[shapely.contains_xy(self.area, verts[:, 0], verts[:, 1])]
        i, j = np.triu_indices(len(verts), 1)
        ok = self.legal_segments(verts[i], verts[j])
        i, j = i[ok], j[ok]
        cost, _ = self.segment_costs(verts[i], verts[j])
        m = coo_matrix((np.maximum(cost, 1e-6), (i, j)), shape=(len(verts), len(verts))).tocsr()
        dist, pred = dijkstra(m, directed=False, indices=0, return_predecessors=True)
        if not math.isfinite(dist[1]):
            raise AssertionError("free space is connected but no visibility path was found")
        return verts[walk(pred, 0, 1)]

    def _finish(
        self, start: tuple[float, float], end: tuple[float, float], pts: FloatArray
    ) -> Route:
        """Altitudes, length, duration and over-water fraction; then the conformance check."""
        o = self.options
        lat, lon = to_wgs84_arrays(pts[:, 0], pts[:, 1])
        lat[0], lon[0], lat[-1], lon[-1] = start[0], start[1], end[0], end[1]
        alt = o.cruise_alt_m
        wps = [Waypoint(start[0], start[1], 0.0, 0.0)]
        wps += [Waypoint(float(la), float(lo), alt, alt) for la, lo in zip(lat, lon, strict=True)]
        wps.append(Waypoint(end[0], end[1], 0.0, 0.0))
        _, seg, wet = self._profile(pts[:-1], pts[1:], 50)
        horizontal = float(seg.sum())
        water = float(wet.sum() / horizontal) if horizontal > 0 else 0.0
        path = [(w.lat_deg, w.lon_deg, w.alt_amsl_m) for w in wps]
        violations, touched = self.checker.check(path)
        return Route(
            legal=not violations,
            waypoints=tuple(wps),
            length_m=horizontal + 2 * alt,
            horizontal_m=horizontal,
            duration_s=alt / o.climb_speed_m_s
            + horizontal / o.cruise_speed_m_s
            + alt / o.descent_speed_m_s,
            over_water_fraction=water,
            cruise_alt_m=alt,
            touched=tuple(touched),
            violations=tuple(violations),
            reason=""
            if not violations
            else "planned path breaks a rule: " + violations[0].describe(),
        )

    def matrix(self, sites: Sequence[tuple[float, float]]) -> CostMatrix:
        """Pairwise routes between `sites` ((lat, lon) pairs): see `geofences.matrix`.

        Raises:
            RouteError: a site is not a finite, in-range latitude/longitude.
        """
        from geofences.matrix import site_matrix  # it takes a Router

        with self.lock:
            return site_matrix(self, sites)


_ROUTERS: OrderedDict[tuple[int, RouteOptions], Router] = OrderedDict()
_ROUTERS_LOCK = threading.Lock()
ROUTER_CACHE_SIZE = 8
ROUTE_CACHE_SIZE = 1024  # routes kept per router (the most recently asked)


def router_for(airspace: Airspace, options: RouteOptions | None = None) -> Router:
    """A cached router per (airspace, options); the few most recently used are kept (each
    holds its airspace, so an id is never reused while cached)."""
    key = (id(airspace), options or RouteOptions())
    with _ROUTERS_LOCK:
        router = _ROUTERS.get(key)
        if router is None or router.airspace is not airspace:
            router = Router(airspace, key[1])
            _ROUTERS[key] = router
        _ROUTERS.move_to_end(key)
        while len(_ROUTERS) > ROUTER_CACHE_SIZE:
            _ROUTERS.popitem(last=False)
        return router


def plan_route(
    airspace: Airspace,
    start: tuple[float, float],
    end: tuple[float, float],
    options: RouteOptions | None = None,
) -> Route:
    """The best legal 3-D route between two (lat, lon) points, or why there is none.

    With `options.min_cruise_alt_m` set, lower cruise altitudes are tried in turn when there is
    no legal path at `options.cruise_alt_m`; the first legal route is returned.

    Raises:
        RouteError: a coordinate is not a finite, in-range latitude/longitude.
    """
    options = options or RouteOptions()
    route = router_for(airspace, options).route(start, end)
    low = options.min_cruise_alt_m
    if route.legal or low is None:
        return route
    tried = [options.cruise_alt_m]
    alt = options.cruise_alt_m - options.cruise_alt_step_m
    while alt >= low - 1e-9:
        lower = replace(options, cruise_alt_m=alt, min_cruise_alt_m=None)
        attempt = router_for(airspace, lower).route(start, end)
        if attempt.legal:
            return attempt
        tried.append(alt)
        alt -= options.cruise_alt_step_m
    heights = ", ".join(f"{h:.0f}" for h in tried)
    return replace(route, reason=f"{route.reason} (cruise altitudes tried: {heights} m)")


def cost_matrix(
    airspace: Airspace, sites: Sequence[tuple[float, float]], options: RouteOptions | None = None
) -> CostMatrix:
    """Air distances, durations and over-water fractions between (lat, lon) sites."""
    return router_for(airspace, options).matrix(sites)


__all__ = [
    "CostMatrix",
    "Route",
    "RouteError",
    "RouteOptions",
    "Router",
    "Waypoint",
    "cost_matrix",
    "plan_route",
    "router_for",
]
