"""The copter's geofence: uploaded polygons and circles, the home circle and the altitude limits.

Semantics follow ArduPilot's AC_Fence with FENCE_TYPE bits (1 max altitude, 2 circle around home
of FENCE_RADIUS, 4 uploaded polygons and circles, 8 min altitude). The copter must stay inside
at least one inclusion zone (if there are any) and outside every exclusion zone; that is what
`breach` checks. Geometry is in the local metric frame (`geo.LocalFrame`), so each check is a
few ray-casting tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from sim.copter.geo import LocalFrame
from sim.copter.mission_items import MissionItem

FENCE_TYPE_ALT_MAX = 1
FENCE_TYPE_CIRCLE = 2
FENCE_TYPE_POLYGON = 4
FENCE_TYPE_ALT_MIN = 8


def point_in_polygon(north_m: float, east_m: float, polygon: list[tuple[float, float]]) -> bool:
    """Ray casting; `polygon` is a list of (north, east) vertices, not closed."""
    inside = False
    j = len(polygon) - 1
    for i in range(len(polygon)):
        ni, ei = polygon[i]
        nj, ej = polygon[j]
        if (ei > east_m) != (ej > east_m):
            n_cross = ni + (east_m - ei) * (nj - ni) / (ej - ei)
            if north_m < n_cross:
                inside = not inside
        j = i
    return inside


@dataclass(frozen=True, slots=True)
class Zone:
    """One inclusion or exclusion zone: a polygon or a circle (centre and radius)."""

    inclusion: bool
    polygon: tuple[tuple[float, float], ...] = ()
    centre_ne_m: tuple[float, float] = (0.0, 0.0)
    radius_m: float = 0.0

    def contains(self, north_m: float, east_m: float) -> bool:
        if self.polygon:
            return point_in_polygon(north_m, east_m, list(self.polygon))
        return math.hypot(north_m - self.centre_ne_m[0], east_m - self.centre_ne_m[1]) <= (
            self.radius_m
        )


def zones_from_items(items: list[MissionItem], frame: LocalFrame) -> list[Zone]:
    """Group NAV_FENCE_* items into zones (vertex runs become polygons)."""
    zones: list[Zone] = []
    i = 0
    while i < len(items):
        item = items[i]
        cmd = item.command
        if cmd in (mavlink.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION,
                   mavlink.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION):
            n = int(item.param1)
            vertices = tuple(frame.to_ne_m(v.lat_deg, v.lon_deg) for v in items[i:i + n])
            zones.append(Zone(
                inclusion=cmd == mavlink.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION,
                polygon=vertices))
            i += max(n, 1)
            continue
        if cmd in (mavlink.MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION,
                   mavlink.MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION):
            zones.append(Zone(
                inclusion=cmd == mavlink.MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION,
                centre_ne_m=frame.to_ne_m(item.lat_deg, item.lon_deg), radius_m=item.param1))
        i += 1
    return zones


@dataclass(frozen=True, slots=True)
class FenceLimits:
    """The parameter side of the fence (FENCE_TYPE, FENCE_ALT_MAX, ...)."""

    fence_type: int
    alt_max_m: float
    alt_min_m: float
    radius_m: float


def breach(
    north_m: float,
    east_m: float,
    up_m: float,
    home_ne_m: tuple[float, float],
    zones: list[Zone],
    limits: FenceLimits,
) -> int:
    """The FENCE_BREACH kind for a position (FENCE_BREACH_NONE when inside)."""
    if limits.fence_type & FENCE_TYPE_ALT_MAX and up_m > limits.alt_max_m:
        return int(mavlink.FENCE_BREACH_MAXALT)
    if limits.fence_type & FENCE_TYPE_ALT_MIN and up_m < limits.alt_min_m:
        return int(mavlink.FENCE_BREACH_MINALT)
    if limits.fence_type & FENCE_TYPE_CIRCLE and math.hypot(
        north_m - home_ne_m[0], east_m - home_ne_m[1]
    ) > limits.radius_m:
        return int(mavlink.FENCE_BREACH_BOUNDARY)
    if limits.fence_type & FENCE_TYPE_POLYGON and zones:
        inclusions = [z for z in zones if z.inclusion]
        if inclusions and not any(z.contains(north_m, east_m) for z in inclusions):
            return int(mavlink.FENCE_BREACH_BOUNDARY)
        if any(z.contains(north_m, east_m) for z in zones if not z.inclusion):
            return int(mavlink.FENCE_BREACH_BOUNDARY)
    return int(mavlink.FENCE_BREACH_NONE)
