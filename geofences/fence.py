"""Geofences for an autopilot: the airspace around an operating area as plain shapes.

An autopilot's fence (MAVLink MAV_MISSION_TYPE_FENCE) holds inclusion and exclusion polygons and
circles, without altitude bands. `fence_shapes` gives: one inclusion circle (the operating area),
and as exclusions every `no_fly` or `obstacle` footprint, grown by the clearance, that blocks the
cruise altitude within that circle. Plain tuples of (lat, lon), so the MAVLink side needs nothing
of geofences.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
import shapely

from geofences.frame import to_local, to_wgs84_arrays
from geofences.routing import RouteOptions, router_for
from geofences.volumes import Airspace, iter_polygons

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
    center: LatLon,
    radius_m: float,
    options: RouteOptions | None = None,
    max_vertices: int = 60,
) -> FenceShapes:
    """The fence for flights within `radius_m` of `center` at the options' cruise altitude.

    Exclusion polygons are simplified to at most `max_vertices` vertices each (autopilots keep
    fences small); simplification only ever grows an exclusion (it is taken on the buffered
    outline's convex-safe envelope), so the fence never lets a drone closer than planned.
    """
    router = router_for(airspace, options)
    cx, cy = to_local(*center)
    disc = shapely.Point(cx, cy).buffer(radius_m, quad_segs=16)
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
    ceiling = 150.0
    return FenceShapes(
        polygons=tuple(polygons),
        circles=(FenceCircle(center, radius_m, inclusion=True),),
        max_alt_agl_m=ceiling,
    )
