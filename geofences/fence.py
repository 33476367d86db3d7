"""Geofences for an autopilot: the airspace around an operating area as plain shapes.

An autopilot's fence (MAVLink MAV_MISSION_TYPE_FENCE) holds inclusion and exclusion polygons and
circles, without altitude bands. `fence_shapes` gives: one inclusion circle (the operating area),
and as exclusions every `no_fly` or `obstacle` footprint, grown by the clearance, that blocks the
cruise altitude within that circle. Plain tuples of (lat, lon), so the MAVLink side needs nothing
of geofences.

An autopilot stores few fence items (ArduPilot answers MAV_MISSION_NO_SPACE beyond its storage;
a vertex or a circle is one item), so for a flight `fit_fence` fits the fence to the path and a
budget: one inclusion zone around the path, and each volume the drone could reach inside it as
the cheapest covering shape (a circle, a rectangle, an outline simplified outwards) that keeps
clear of the path. It never drops a reachable volume to save items; it shrinks the zone instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import cast

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geofences.frame import to_local, to_wgs84, to_wgs84_arrays
from geofences.route import RouteError, RouteOptions, check_coordinate
from geofences.routing import router_for
from geofences.volumes import Airspace, RuleKind, iter_polygons

LatLon = tuple[float, float]


@dataclass(frozen=True, slots=True)
class FencePolygon:
    vertices: tuple[LatLon, ...]  # open ring: the first vertex is not repeated
    inclusion: bool


@dataclass(frozen=True, slots=True)
class FenceCircle:
    center: LatLon
    radius_m: float
    inclusion: bool


@dataclass(frozen=True, slots=True)
class FenceShapes:
    polygons: tuple[FencePolygon, ...]
    circles: tuple[FenceCircle, ...]
    max_alt_agl_m: float


def fence_shapes(
    airspace: Airspace,
    around: LatLon,
    radius_m: float,
    options: RouteOptions | None = None,
    max_vertices: int = 60,
) -> FenceShapes:
    """The fence for flights within `radius_m` of `around` at the options' cruise altitude.

    Exclusion polygons are simplified to at most `max_vertices` vertices each (autopilots keep
    fences small); simplification only ever grows an exclusion (it is taken on the buffered
    outline's convex-safe envelope), so the fence never lets a drone closer than planned.
    """
    router = router_for(airspace, options)
    check_coordinate(*around, what="fence centre")
    if not (math.isfinite(radius_m) and radius_m > 0):
        raise RouteError(f"fence radius_m must be a positive number, got {radius_m!r}")
    cx, cy = to_local(*around)
    disc = shapely.Point(cx, cy).buffer(radius_m, quad_segs=16)
    with router.lock:
        blocked = router.blocked.intersection(disc)
    polygons = []
    for poly in iter_polygons(blocked):
        outline = shapely.Polygon(poly.exterior)
        tolerance = 5.0
        simple = outline
        while len(simple.exterior.coords) - 1 > max_vertices:
            simple = cast(
                shapely.Polygon, outline.buffer(tolerance, join_style="mitre").simplify(tolerance)
            )
            tolerance *= 2
        coords = np.asarray(simple.exterior.coords)[:-1]
        lat, lon = to_wgs84_arrays(coords[:, 0], coords[:, 1])
        polygons.append(
            FencePolygon(tuple(zip(lat.tolist(), lon.tolist(), strict=True)), inclusion=False)
        )
    return FenceShapes(
        polygons=tuple(polygons),
        circles=(FenceCircle(around, radius_m, inclusion=True),),
        max_alt_agl_m=_lowest_floor_above(airspace, disc, router.options.cruise_alt_m),
    )


def _lowest_floor_above(airspace: Airspace, disc: shapely.Polygon, cruise_alt_m: float) -> float:
    """The lowest no-fly floor above the cruise altitude anywhere in the disc (the altitude the
    autopilot must never exceed there), at most 150 m."""
    floors = [
        v.floor_amsl_m() - v.ground_amsl_m
        for v in airspace.of_kind(RuleKind.NO_FLY)
        if v.floor_amsl_m() > cruise_alt_m and v.local.intersects(disc)
    ]
    return min([150.0, *floors])


# ---------------------------------------------------------------------- fitting an autopilot
class FenceFitError(RouteError):
    """No fence within the autopilot's item budget keeps the path clear (see `fit_fence`)."""


@dataclass(frozen=True, slots=True)
class FittedFence:
    """A fence fitted to a path and an autopilot's storage.

    Attributes:
        shapes: the inclusion zone (one circle, or one corridor polygon) and the exclusions.
        items: fence items it takes (a polygon vertex or a circle is one item).
        reach_m: how far from the path the inclusion zone reaches (at least).
        volume_ids: the airspace volumes the exclusions stand for, sorted.
    """

    shapes: FenceShapes
    items: int
    reach_m: float
    volume_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Shape:
    """An exclusion candidate in local metres: a polygon, or a circle when `radius_m` > 0."""

    polygon: shapely.Polygon
    centre: tuple[float, float] = (0.0, 0.0)
    radius_m: float = 0.0

    @property
    def items(self) -> int:
        return 1 if self.radius_m > 0 else len(self.polygon.exterior.coords) - 1


def fit_fence(
    airspace: Airspace,
    path: list[LatLon],
    options: RouteOptions | None = None,
    max_items: int = 84,
    reach_m: float = 1500.0,
    min_reach_m: float = 200.0,
    keep_clear_m: float = 10.0,
    top_cruise_alt_m: float | None = None,
) -> FittedFence:
    """The smallest fence, within `max_items`, that still holds every volume the drone could
    reach while flying `path` (a planned route, (lat, lon) points) at the options' cruise
    altitude, or anywhere between it and `top_cruise_alt_m` (legs flown at other altitudes).

    The inclusion zone is the smallest circle around the path grown by `reach_m` (one item), or
    failing the budget the corridor `reach_m` either side of the path. Every `no_fly` or
    `obstacle` footprint that reaches into the zone below the fence's ceiling is excluded, as the
    cheapest shape that covers all of it inside the zone and stays more than `keep_clear_m` from
    the path: its smallest enclosing circle (1 item), its smallest rotated rectangle (4), an
    outline simplified only outwards, or its own outline. Volumes above the cruise band but
    under 150 m AGL lower the ceiling (`max_alt_agl_m`) instead. When nothing fits, the reach
    is halved down to `min_reach_m`, then `FenceFitError` says why. Nothing within reach is ever
    dropped: a smaller budget gives a smaller zone or coarser shapes, never fewer volumes.
    """
    opts = options or RouteOptions()
    if len(path) < 1:
        raise RouteError("fit_fence needs a path of at least one point")
    for i, (lat, lon) in enumerate(path):
        check_coordinate(lat, lon, what=f"path point {i}")
    if max_items < 2:
        raise RouteError(f"max_items must be at least 2, got {max_items}")
    xy = [to_local(lat, lon) for lat, lon in path]
    line: BaseGeometry = shapely.LineString(xy) if len(xy) > 1 else shapely.Point(xy[0])
    keep_clear = line.buffer(keep_clear_m, quad_segs=4)
    shapely.prepare(keep_clear)
    alt = opts.cruise_alt_m
    top = max(alt, top_cruise_alt_m if top_cruise_alt_m is not None else alt)
    reach = max(reach_m, min_reach_m)
    best = ""
    while True:
        for zone_kind in ("circle", "corridor"):
            zone, zone_items, zone_shape = _zone(line, reach, zone_kind)
            fitted = _exclusions(airspace, zone, keep_clear, (alt, top),
                                 opts.vertical_clearance_m)
            if isinstance(fitted, str):
                raise FenceFitError(fitted)
            shapes, ids = fitted
            items = zone_items + sum(s.items for s in shapes)
            if items <= max_items:
                ceiling_m = _lowest_floor_above(airspace, zone, top + opts.vertical_clearance_m)
                return FittedFence(
                    _to_fence_shapes(zone_shape, shapes, ceiling_m), items, reach, ids
                )
            best = f"{items} items at {reach:.0f} m reach ({zone_kind})"
        if reach <= min_reach_m:
            raise FenceFitError(
                f"no fence fits {max_items} items: the smallest needs {best}"
            )
        reach = max(min_reach_m, reach / 2.0)


def _zone(
    line: BaseGeometry, reach_m: float, kind: str
) -> tuple[shapely.Polygon, int, _Shape]:
    """The inclusion zone: (its area, items, shape)."""
    if kind == "circle":
        disc = shapely.minimum_bounding_circle(line.buffer(reach_m, quad_segs=8))
        centre = disc.centroid
        radius_m = float(shapely.minimum_bounding_radius(line.buffer(reach_m, quad_segs=8)))
        exact = shapely.Point(centre.x, centre.y).buffer(radius_m, quad_segs=32)
        return exact, 1, _Shape(exact, (centre.x, centre.y), radius_m)
    # a corridor: simplifying moves the outline by at most a quarter of the reach, so the path
    # keeps at least three quarters of it on either side
    outline = shapely.Polygon(line.buffer(reach_m, quad_segs=2).exterior)
    corridor = cast(shapely.Polygon, outline.simplify(reach_m / 4.0))
    return corridor, len(corridor.exterior.coords) - 1, _Shape(corridor)


def _exclusions(
    airspace: Airspace,
    zone: shapely.Polygon,
    keep_clear: BaseGeometry,
    band_m: tuple[float, float],
    vertical_clearance_m: float,
) -> tuple[list[_Shape], tuple[str, ...]] | str:
    """The cheapest exclusion for every part of a blocking volume inside the zone (or why not)."""
    grown = zone.buffer(20.0, quad_segs=4)
    shapes: list[_Shape] = []
    ids: list[str] = []
    for v in airspace.of_kind(RuleKind.NO_FLY, RuleKind.OBSTACLE):
        floor_m = v.floor_amsl_m() - v.ground_amsl_m
        low, high = band_m
        if v.kind is RuleKind.NO_FLY:  # as the router: within the vertical clearance of the band
            ceiling_m = v.ceiling_amsl_m() - v.ground_amsl_m
            blocks = floor_m <= high + vertical_clearance_m and (
                ceiling_m >= low - vertical_clearance_m
            )
        else:  # an obstacle blocks the band when it reaches (with clearance) its bottom
            top_m = v.ceiling_amsl_m() - v.ground_amsl_m + vertical_clearance_m
            blocks = floor_m <= high and top_m >= low
        if not blocks or not v.local.intersects(grown):
            continue
        ids.append(v.id)
        for part in iter_polygons(v.local.intersection(grown)):
            shape = cheapest_cover(part, keep_clear)
            if shape is None:
                return f"{v.id} ({v.name}) lies within the keep-clear distance of the path"
            shapes.append(shape)
    return shapes, tuple(sorted(ids))


def cheapest_cover(part: shapely.Polygon, keep_clear: BaseGeometry) -> _Shape | None:
    """The cheapest fence shape that covers `part` and does not touch `keep_clear`.

    Tried from the cheapest: the smallest enclosing circle, the smallest rotated rectangle,
    outlines simplified outwards at growing tolerances, the outline itself (holes filled).
    None when even the outline touches `keep_clear`.
    """
    solid = shapely.Polygon(part.exterior)
    if solid.is_empty or solid.area <= 0.0:
        return None if solid.intersects(keep_clear) else _Shape(solid.envelope.buffer(0.5))
    radius_m = float(shapely.minimum_bounding_radius(solid)) + 0.5
    centre = shapely.minimum_bounding_circle(solid).centroid
    corners = np.asarray(solid.exterior.coords)
    covered = float(np.hypot(corners[:, 0] - centre.x, corners[:, 1] - centre.y).max()) <= radius_m
    if covered and keep_clear.distance(centre) > radius_m:
        return _Shape(centre.buffer(radius_m, quad_segs=16), (centre.x, centre.y), radius_m)
    candidates: list[shapely.Polygon] = [
        solid.minimum_rotated_rectangle.buffer(0.5, join_style="mitre")
    ]
    tolerance = 2.0
    while tolerance < 2000.0:
        grown = solid.buffer(tolerance, join_style="mitre")
        simple = grown.simplify(tolerance, preserve_topology=True)
        if isinstance(simple, shapely.Polygon) and not simple.is_empty:
            candidates.append(shapely.Polygon(simple.exterior))
        tolerance *= 2.0
    candidates.append(solid)
    best: _Shape | None = None
    for candidate in candidates:
        if len(candidate.exterior.coords) < 4 or not candidate.covers(solid):
            continue
        if candidate.intersects(keep_clear):
            continue
        shape = _Shape(candidate)
        if best is None or shape.items < best.items:
            best = shape
    return best


def _to_fence_shapes(zone: _Shape, exclusions: list[_Shape], max_alt_agl_m: float) -> FenceShapes:
    polygons: list[FencePolygon] = []
    circles: list[FenceCircle] = []
    for shape, inclusion in [(zone, True), *((s, False) for s in exclusions)]:
        if shape.radius_m > 0:
            circles.append(FenceCircle(to_wgs84(*shape.centre), shape.radius_m, inclusion))
            continue
        coords = np.asarray(shape.polygon.exterior.coords)[:-1]
        lat, lon = to_wgs84_arrays(coords[:, 0], coords[:, 1])
        polygons.append(
            FencePolygon(tuple(zip(lat.tolist(), lon.tolist(), strict=True)), inclusion)
        )
    return FenceShapes(tuple(polygons), tuple(circles), max_alt_agl_m)
