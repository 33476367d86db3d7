"""Airspace-aware 3-D drone routes: legal, under every ceiling, over water where possible.

How a route is found (all in the local metric frame):

1. At the cruise altitude, every `no_fly` volume whose band reaches that altitude and every
   `obstacle` taller than it is a blocked footprint, grown by the horizontal clearance.
2. A navigation graph covers the planning area: a square lattice (`grid_m`, 16 neighbours per
   node) plus a finer lattice inside narrow preferred corridors (the Hanami River). An edge
   exists only if its segment stays clear of every blocked footprint; its cost is its length
   times the mean cost factor of the ground below (water and preferred corridors cheapest, then
   land, then permission-required districts). The graph is built once per airspace and options.
3. A query joins the two endpoints to nearby nodes, runs Dijkstra (scipy), then shortens the
   path greedily: a shortcut is taken only if it is legal and costs no more than the part of
   the path it replaces, so shortening never trades water for land.
4. "No legal path" is only said when it is certain: an endpoint inside a blocked footprint, or
   the two endpoints in different connected pieces of free space. If the lattice misses a
   narrow gap, an exact visibility graph over the free-space vertices finds the way.

The vertical profile is climb at the start, cruise at `cruise_alt_m` above ground, descend at the
end; the ground is 0 m AMSL in this area. The result is checked by the conformance checker,
and its length, duration, over-water fraction and the rules it touches are reported.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt
import shapely
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree
from shapely.geometry.base import BaseGeometry
from shapely.strtree import STRtree

from geofences.conformance import ConformanceChecker, Violation
from geofences.frame import to_local, to_local_arrays, to_wgs84, to_wgs84_arrays
from geofences.volumes import Airspace, RuleKind, to_local_geometry

FloatArray = npt.NDArray[np.float64]
NEIGHBOURS = ((1, 0), (0, 1), (1, 1), (1, -1), (2, 1), (1, 2), (2, -1), (1, -2))


class RouteError(ValueError):
    """A route request that cannot be answered (bad coordinates, outside the planning area)."""


@dataclass(frozen=True, slots=True)
class RouteOptions:
    """Flight and cost settings. Altitudes above ground; speeds in m/s; costs are factors."""

    cruise_alt_m: float = 60.0
    cruise_speed_m_s: float = 11.0
    climb_speed_m_s: float = 3.0
    descent_speed_m_s: float = 2.0
    clearance_m: float = 30.0
    vertical_clearance_m: float = 20.0
    grid_m: float = 250.0
    cost_water: float = 1.0
    cost_preferred: float = 1.0
    cost_land: float = 2.0
    cost_permission: float = 4.0

    def __post_init__(self) -> None:
        for name in (
            "cruise_alt_m",
            "cruise_speed_m_s",
            "climb_speed_m_s",
            "descent_speed_m_s",
            "grid_m",
            "cost_water",
            "cost_preferred",
            "cost_land",
            "cost_permission",
        ):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise RouteError(f"{name} must be a positive number, got {value!r}")
        if not (math.isfinite(self.clearance_m) and self.clearance_m >= 0):
            raise RouteError(f"clearance_m must be >= 0, got {self.clearance_m!r}")


@dataclass(frozen=True, slots=True)
class Waypoint:
    lat_deg: float
    lon_deg: float
    alt_amsl_m: float
    alt_agl_m: float


@dataclass(frozen=True)
class Route:
    """A planned 3-D path, or the reason there is none (`legal` False, `waypoints` empty)."""

    legal: bool
    waypoints: tuple[Waypoint, ...] = ()
    length_m: float = 0.0
    horizontal_m: float = 0.0
    duration_s: float = 0.0
    over_water_fraction: float = 0.0
    cruise_alt_m: float = 0.0
    touched: tuple[str, ...] = ()
    violations: tuple[Violation, ...] = ()
    reason: str = ""

    def path(self) -> list[tuple[float, float, float]]:
        return [(w.lat_deg, w.lon_deg, w.alt_amsl_m) for w in self.waypoints]


@dataclass(frozen=True)
class CostMatrix:
    """Pairwise air routes between sites: lengths (m), durations (s), over-water fractions, and
    whether each pair has a legal route. Lengths are the navigation-graph paths before
    shortening, so they are never shorter than the routes flown (safe for energy planning)."""

    distance_m: FloatArray
    duration_s: FloatArray
    over_water_fraction: FloatArray
    legal: npt.NDArray[np.bool_]


def check_coordinate(lat_deg: float, lon_deg: float, what: str = "point") -> None:
    if not all(isinstance(v, int | float) and math.isfinite(v) for v in (lat_deg, lon_deg)):
        raise RouteError(
            f"{what}: coordinates must be finite numbers, got {lat_deg!r}, {lon_deg!r}"
        )
    if not (-90 <= lat_deg <= 90 and -180 <= lon_deg <= 180):
        raise RouteError(f"{what}: {lat_deg}, {lon_deg} is not a valid latitude, longitude")


@dataclass
class _Graph:
    xy: FloatArray  # node coordinates (local)
    rows: npt.NDArray[np.int64]
    cols: npt.NDArray[np.int64]
    weights: FloatArray
    lengths: FloatArray
    tree: cKDTree = field(init=False)

    def __post_init__(self) -> None:
        self.tree = cKDTree(self.xy)


class Router:
    """Plans routes in one airspace with one set of options; build once, query many times."""

    def __init__(self, airspace: Airspace, options: RouteOptions | None = None) -> None:
        self.airspace = airspace
        self.options = options or RouteOptions()
        self.checker = ConformanceChecker(airspace, self.options.clearance_m)
        lon0, lat0, lon1, lat1 = airspace.bounds
        xs, ys = to_local_arrays([lat0, lat0, lat1, lat1], [lon0, lon1, lon0, lon1])
        self.area = shapely.box(xs.min(), ys.min(), xs.max(), ys.max())
        alt = self.options.cruise_alt_m
        blockers = []
        self.blocker_names: list[tuple[str, BaseGeometry]] = []
        for v in airspace.of_kind(RuleKind.NO_FLY, RuleKind.OBSTACLE):
            if v.kind is RuleKind.NO_FLY:
                blocks = (
                    v.floor_amsl_m() <= alt + self.options.vertical_clearance_m
                    and v.ceiling_amsl_m() >= alt
                )
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

    # ------------------------------------------------------------------ ground below
    def classify(self, x: FloatArray, y: FloatArray) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
        """Cost factor and over-water flag of points."""
        o = self.options
        in_pref = shapely.contains_xy(self._pref, x, y)
        in_perm = shapely.contains_xy(self._perm, x, y)
        land = self.airspace.land_local
        in_land = shapely.contains_xy(land, x, y) if land is not None else np.ones_like(in_pref)
        factor = np.where(
            in_pref,
            o.cost_preferred,
            np.where(in_perm, o.cost_permission, np.where(in_land, o.cost_land, o.cost_water)),
        )
        return factor.astype(float), in_pref | ~in_land

    def segment_costs(
        self, a: FloatArray, b: FloatArray, samples: int = 5
    ) -> tuple[FloatArray, FloatArray]:
        """(cost, length) of segments a[i] -> b[i], the cost sampled at `samples` points."""
        lengths = np.hypot(b[:, 0] - a[:, 0], b[:, 1] - a[:, 1])
        t = (np.arange(samples) + 0.5) / samples
        x = (a[:, None, 0] + (b[:, None, 0] - a[:, None, 0]) * t).ravel()
        y = (a[:, None, 1] + (b[:, None, 1] - a[:, None, 1]) * t).ravel()
        factor, _ = self.classify(x, y)
        return factor.reshape(-1, samples).mean(axis=1) * lengths, lengths

    def legal_segments(self, a: FloatArray, b: FloatArray) -> npt.NDArray[np.bool_]:
        if len(a) == 0:
            return np.zeros(0, dtype=bool)
        lines = shapely.linestrings(np.stack([a, b], axis=1))
        return np.asarray(~shapely.intersects(lines, self.blocked), dtype=bool)

    # ------------------------------------------------------------------ the graph
    @cached_property
    def graph(self) -> _Graph:
        g = self.options.grid_m
        x0, y0, x1, y1 = self.area.bounds
        gx = np.arange(x0 + g / 2, x1, g)
        gy = np.arange(y0 + g / 2, y1, g)
        ix, iy = np.meshgrid(np.arange(len(gx)), np.arange(len(gy)), indexing="ij")
        ok = ~shapely.contains_xy(self.blocked, gx[ix], gy[iy])
        index: npt.NDArray[np.int64] = np.full(ok.shape, -1, dtype=np.int64)
        index[ok] = np.arange(int(ok.sum()))
        xy = [np.column_stack([gx[ix[ok]], gy[iy[ok]]])]
        pairs = []
        for dx, dy in NEIGHBOURS:
            a = index[
                max(0, -dx) : index.shape[0] - max(0, dx), max(0, -dy) : index.shape[1] - max(0, dy)
            ]
            b = index[max(0, dx) :, max(0, dy) :][: a.shape[0], : a.shape[1]]
            m = (a >= 0) & (b >= 0)
            pairs.append(np.column_stack([a[m], b[m]]))
        n = int(ok.sum())
        for corridor in self._corridors:  # a finer lattice inside narrow preferred corridors
            fine = g / 5
            cx0, cy0, cx1, cy1 = corridor.bounds
            fx, fy = np.meshgrid(
                np.arange(cx0, cx1, fine), np.arange(cy0, cy1, fine), indexing="ij"
            )
            fx, fy = fx.ravel(), fy.ravel()
            keep = shapely.contains_xy(corridor, fx, fy) & ~shapely.contains_xy(
                self.blocked, fx, fy
            )
            pts = np.column_stack([fx[keep], fy[keep]])
            if len(pts) == 0:
                continue
            xy.append(pts)
            n_fine = len(pts)
            local = cKDTree(pts).query_pairs(fine * 1.5, output_type="ndarray")
            pairs.append(local + n)
            coarse = cKDTree(xy[0]).query_ball_point(pts, g * 1.2)
            links = [(n + i, j) for i, js in enumerate(coarse) for j in js]
            if links:
                pairs.append(np.asarray(links, dtype=np.int64))
            n += n_fine
        nodes: FloatArray = np.concatenate(xy).astype(float)
        edges = np.concatenate(pairs) if pairs else np.zeros((0, 2), dtype=np.int64)
        ends_a, ends_b = nodes[edges[:, 0]], nodes[edges[:, 1]]
        legal = self.legal_segments(ends_a, ends_b)
        edges, ends_a, ends_b = edges[legal], ends_a[legal], ends_b[legal]
        cost, length = self.segment_costs(ends_a, ends_b)
        return _Graph(nodes, edges[:, 0], edges[:, 1], np.maximum(cost, 1e-6), length)

    def _augmented(self, points: FloatArray) -> tuple[csr_matrix, FloatArray, int]:
        """The graph plus `points` as extra nodes joined to nearby nodes and to each other."""
        gr = self.graph
        n = len(gr.xy)
        near = gr.tree.query_ball_point(points, self.options.grid_m * 2.0)
        extra = [(n + k, j) for k, js in enumerate(near) for j in js]
        extra += [(n + i, n + j) for i in range(len(points)) for j in range(i + 1, len(points))]
        all_xy: FloatArray = np.concatenate([gr.xy, points]).astype(float)
        rows, cols, weights, lengths = [gr.rows], [gr.cols], [gr.weights], [gr.lengths]
        if extra:
            e = np.asarray(extra, dtype=np.int64)
            a, b = all_xy[e[:, 0]], all_xy[e[:, 1]]
            ok = self.legal_segments(a, b)
            e, a, b = e[ok], a[ok], b[ok]
            cost, length = self.segment_costs(a, b, samples=max(5, int(self.options.grid_m / 25)))
            rows.append(e[:, 0])
            cols.append(e[:, 1])
            weights.append(np.maximum(cost, 1e-6))
            lengths.append(length)
        r, c = np.concatenate(rows), np.concatenate(cols)
        w = np.concatenate(weights)
        size = n + len(points)
        matrix = coo_matrix((w, (r, c)), shape=(size, size)).tocsr()
        return matrix, all_xy, n

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
        """The best legal route from `start` to `end` ((lat, lon) pairs)."""
        check_coordinate(*start, what="start")
        check_coordinate(*end, what="end")
        a_xy, b_xy = to_local(*start), to_local(*end)
        for point_xy, what in ((a_xy, "start"), (b_xy, "destination")):
            problem = self._endpoint_problem(point_xy, what)
            if problem:
                return Route(
                    False,
                    reason=f"no legal path: {problem}",
                    cruise_alt_m=self.options.cruise_alt_m,
                )
        column = self._column_problem(start) or self._column_problem(end)
        if column:
            return Route(
                False, reason=f"no legal path: {column}", cruise_alt_m=self.options.cruise_alt_m
            )
        if self._separated(a_xy, b_xy):
            return Route(
                False,
                reason="no legal path: start and destination are separated by no-fly "
                f"volumes at {self.options.cruise_alt_m:.0f} m",
                cruise_alt_m=self.options.cruise_alt_m,
            )
        matrix, xy, n = self._augmented(np.array([a_xy, b_xy], dtype=float))
        dist, pred = dijkstra(matrix, directed=False, indices=n, return_predecessors=True)
        if math.isfinite(dist[n + 1]):
            nodes = _walk(pred, n, n + 1)
            pts = self._shorten(xy[nodes], dist[nodes])
        else:
            pts = self._visibility_path(a_xy, b_xy)
        return self._finish(start, end, pts)

    def _column_problem(self, point: tuple[float, float]) -> str:
        """Can a drone climb from the ground to cruise altitude here?"""
        here = shapely.Point(*to_local(*point))
        for i in self._columns.query(here, predicate="intersects").tolist():
            v = self._column_volumes[i]
            if v.floor_amsl_m() <= self.options.cruise_alt_m:
                alt = self.options.cruise_alt_m
                return f"cannot climb to {alt:.0f} m at {point}: inside {v.id} ({v.name})"
        return ""

    def _shorten(self, pts: FloatArray, cum: FloatArray) -> FloatArray:
        out = [0]
        i, last = 0, len(pts) - 1
        while i < last:
            best = i + 1
            k = i + 2
            while k <= last:
                seg_a, seg_b = pts[i : i + 1], pts[k : k + 1]
                if not self.legal_segments(seg_a, seg_b)[0]:
                    break
                samples = max(5, int(np.hypot(*(pts[k] - pts[i])) / 50))
                cost, _ = self.segment_costs(seg_a, seg_b, samples)
                if cost[0] <= (cum[k] - cum[i]) * (1 + 1e-6) + 1e-6:
                    best = k
                k += 1
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
        return verts[_walk(pred, 0, 1)]

    def _finish(
        self, start: tuple[float, float], end: tuple[float, float], pts: FloatArray
    ) -> Route:
        o = self.options
        lat, lon = to_wgs84_arrays(pts[:, 0], pts[:, 1])
        lat[0], lon[0], lat[-1], lon[-1] = start[0], start[1], end[0], end[1]
        alt = o.cruise_alt_m
        wps = [Waypoint(start[0], start[1], 0.0, 0.0)]
        wps += [Waypoint(float(la), float(lo), alt, alt) for la, lo in zip(lat, lon, strict=True)]
        wps.append(Waypoint(end[0], end[1], 0.0, 0.0))
        seg = np.hypot(np.diff(pts[:, 0]), np.diff(pts[:, 1]))
        horizontal = float(seg.sum())
        water = 0.0
        if horizontal > 0:
            n = max(2, int(horizontal / 25))
            t = np.linspace(0, 1, n)
            cum = np.concatenate([[0], np.cumsum(seg)]) / horizontal
            x = np.interp(t, cum, pts[:, 0])
            y = np.interp(t, cum, pts[:, 1])
            water = float(self.classify(x, y)[1].mean())
        route = Route(
            legal=True,
            waypoints=tuple(wps),
            length_m=horizontal + 2 * alt,
            horizontal_m=horizontal,
            duration_s=alt / o.climb_speed_m_s
            + horizontal / o.cruise_speed_m_s
            + alt / o.descent_speed_m_s,
            over_water_fraction=water,
            cruise_alt_m=alt,
        )
        violations, touched = self.checker.check(route.path())
        return Route(
            legal=not violations,
            waypoints=route.waypoints,
            length_m=route.length_m,
            horizontal_m=horizontal,
            duration_s=route.duration_s,
            over_water_fraction=water,
            cruise_alt_m=alt,
            touched=tuple(touched),
            violations=tuple(violations),
            reason=""
            if not violations
            else "planned path breaks a rule: " + violations[0].describe(),
        )

    def matrix(self, sites: Sequence[tuple[float, float]]) -> CostMatrix:
        """Pairwise graph routes between `sites` ((lat, lon) pairs)."""
        for k, s in enumerate(sites):
            check_coordinate(*s, what=f"site {k}")
        o = self.options
        pts = np.array([to_local(*s) for s in sites], dtype=float).reshape(-1, 2)
        k = len(pts)
        distance = np.full((k, k), np.inf)
        water = np.zeros((k, k))
        usable = [
            not self._endpoint_problem((float(p[0]), float(p[1])), "site")
            and not self._column_problem(s)
            for p, s in zip(pts, sites, strict=True)
        ]
        if k:
            matrix, xy, n = self._augmented(pts)
            idx = [n + i for i in range(k) if usable[i]]
            if idx:
                _, pred = dijkstra(matrix, directed=False, indices=idx, return_predecessors=True)
                for row, src in enumerate(idx):
                    for j in range(k):
                        if src == n + j:
                            distance[src - n, j] = 0.0
                            continue
                        if not usable[j] or pred[row, n + j] < 0:
                            continue
                        nodes = _walk(pred[row], src, n + j)
                        p = xy[nodes]
                        seg = np.hypot(np.diff(p[:, 0]), np.diff(p[:, 1]))
                        distance[src - n, j] = float(seg.sum())
                        mids = (p[:-1] + p[1:]) / 2
                        wet = self.classify(mids[:, 0], mids[:, 1])[1]
                        water[src - n, j] = float((seg * wet).sum() / max(seg.sum(), 1e-9))
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


def _walk(pred: npt.NDArray[np.int32], source: int, target: int) -> list[int]:
    nodes = [target]
    while nodes[-1] != source:
        nodes.append(int(pred[nodes[-1]]))
    return nodes[::-1]


_ROUTERS: dict[tuple[int, RouteOptions], Router] = {}


def router_for(airspace: Airspace, options: RouteOptions | None = None) -> Router:
    """A cached router per (airspace, options)."""
    key = (id(airspace), options or RouteOptions())
    if key not in _ROUTERS:
        _ROUTERS[key] = Router(airspace, key[1])
    return _ROUTERS[key]


def plan_route(
    airspace: Airspace,
    start: tuple[float, float],
    end: tuple[float, float],
    options: RouteOptions | None = None,
) -> Route:
    """The best legal 3-D route between two (lat, lon) points, or why there is none."""
    return router_for(airspace, options).route(start, end)


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
    "to_local_geometry",
    "to_wgs84",
]
