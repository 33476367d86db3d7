"""The copter's geofence: uploaded polygons and circles, the home circle and the altitude limits.

Semantics follow ArduPilot's AC_Fence with FENCE_TYPE bits (1 max altitude, 2 circle around home
of FENCE_RADIUS, 4 uploaded polygons and circles, 8 min altitude). The copter must stay inside
at least one inclusion zone (if there are any) and outside every exclusion zone; that is what
`breach` checks. Geometry is in the local metric frame (`geo.LocalFrame`), so each check is a
few ray-casting tests.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from sim.copter.geo import LocalFrame
from sim.copter.mission_items import MissionItem

FENCE_TYPE_ALT_MAX = 1
FENCE_TYPE_CIRCLE = 2
FENCE_TYPE_POLYGON = 4
FENCE_TYPE_ALT_MIN = 8


def point_in_polygon(north_m: float, east_m: float,
                     polygon: Sequence[tuple[float, float]]) -> bool:
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

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """The polygon's envelope (min north, min east, max north, max east)."""
        ns, es = [n for n, _ in self.polygon], [e for _, e in self.polygon]
        return min(ns), min(es), max(ns), max(es)

    def contains(self, north_m: float, east_m: float) -> bool:
        if self.polygon:
            return point_in_polygon(north_m, east_m, self.polygon)
        return math.hypot(north_m - self.centre_ne_m[0], east_m - self.centre_ne_m[1]) <= (
            self.radius_m
        )

    def edge_distance_m(self, north_m: float, east_m: float) -> float:
        """How far the point is from the zone's edge (inside or out); outside a polygon's
        envelope, how far it is from the envelope (less, and enough to know the point's
        neighbours are outside too)."""
        if not self.polygon:
            return abs(math.hypot(north_m - self.centre_ne_m[0], east_m - self.centre_ne_m[1])
                       - self.radius_m)
        lo_n, lo_e, hi_n, hi_e = self.bounds
        if not (lo_n <= north_m <= hi_n and lo_e <= east_m <= hi_e):
            return math.hypot(max(lo_n - north_m, 0.0, north_m - hi_n),
                              max(lo_e - east_m, 0.0, east_m - hi_e))
        best = math.inf
        (n0, e0) = self.polygon[-1]
        for n1, e1 in self.polygon:
            dn, de = n1 - n0, e1 - e0
            length2 = dn * dn + de * de
            t = 0.0 if length2 <= 0.0 else max(
                0.0, min(1.0, ((north_m - n0) * dn + (east_m - e0) * de) / length2))
            best = min(best, math.hypot(n0 + t * dn - north_m, e0 + t * de - east_m))
            n0, e0 = n1, e1
        return best


class ZoneMemo:
    """The polygon part of `breach` for a point that moves a little between tests (a copter
    checking its fence every step): a zone's answer for a point stands for every point nearer
    to it than the zone's edge, so each zone is tested again only beyond that."""

    def __init__(self) -> None:
        self._last: dict[int, tuple[float, float, float, bool]] = {}  # by zone: n, e, clear, in
        # where all the zones' answers were last combined, how far from there every one of
        # them still stands, and the answer
        self._all: tuple[float, float, float, bool] | None = None

    def outside(self, zones: Sequence[Zone], north_m: float, east_m: float) -> bool:
        """Outside every inclusion zone (if there are any) or inside an exclusion zone."""
        both = self._all
        if both is not None and math.hypot(north_m - both[0], east_m - both[1]) < both[2]:
            return both[3]
        included = excluded = has_inclusion = False
        stands_m = math.inf
        for i, zone in enumerate(zones):
            last = self._last.get(i)
            away_m = math.inf if last is None else math.hypot(north_m - last[0],
                                                              east_m - last[1])
            if last is not None and away_m < last[2]:
                inside = last[3]
                stands_m = min(stands_m, last[2] - away_m)
            else:
                inside = zone.contains(north_m, east_m)
                clear_m = zone.edge_distance_m(north_m, east_m) - 1e-6
                self._last[i] = (north_m, east_m, clear_m, inside)
                stands_m = min(stands_m, clear_m)
            if zone.inclusion:
                has_inclusion, included = True, included or inside
            else:
                excluded = excluded or inside
        out = (has_inclusion and not included) or excluded
        self._all = (north_m, east_m, stands_m, out)
        return out


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
    memo: ZoneMemo | None = None,
) -> int:
    """The FENCE_BREACH kind for a position (FENCE_BREACH_NONE when inside); `memo` keeps the
    zones' answers for the next position (the same `zones` each time)."""
    if limits.fence_type & FENCE_TYPE_ALT_MAX and up_m > limits.alt_max_m:
        return int(mavlink.FENCE_BREACH_MAXALT)
    if limits.fence_type & FENCE_TYPE_ALT_MIN and up_m < limits.alt_min_m:
        return int(mavlink.FENCE_BREACH_MINALT)
    if limits.fence_type & FENCE_TYPE_CIRCLE and math.hypot(
        north_m - home_ne_m[0], east_m - home_ne_m[1]
    ) > limits.radius_m:
        return int(mavlink.FENCE_BREACH_BOUNDARY)
    if limits.fence_type & FENCE_TYPE_POLYGON and zones and (
            memo or ZoneMemo()).outside(zones, north_m, east_m):
        return int(mavlink.FENCE_BREACH_BOUNDARY)
    return int(mavlink.FENCE_BREACH_NONE)
