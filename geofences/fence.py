"""Geofences for an autopilot: the airspace around an operating area as plain shapes.

An autopilot's fence (MAVLink MAV_MISSION_TYPE_FENCE) holds inclusion and exclusion polygons and
circles, without altitude bands. `fence_shapes` gives: one inclusion circle (the operating area),
and as exclusions every `no_fly` or `obstacle` footprint, grown by the clearance, that blocks the
cruise altitude within that circle. Plain tuples of (lat, lon), so the MAVLink side needs nothing
of geofences.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import cast

import numpy as np
import shapely

from geofences.frame import to_local, to_wgs84_arrays
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
