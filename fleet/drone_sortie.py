"""One drone sortie as the service follows it, and the flight arithmetic the supervisor uses.

`Sortie` turns the telemetry of a flight into an outcome: the parcel is delivered when the
mission is past the landing at the drone port (the gripper item opens as the wait on the ground
begins) and the drone came down within `DELIVERED_WITHIN_M` of its pad; a drone seen disarmed
before that landed short (where, and in which mode, goes into the reason); when the link was lost
during the sortie and the end was not seen, the reason says the delivery is not confirmed rather
than guess. `no_fly_ahead` and `soc_needed` are the supervisor's look-ahead and energy rules.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import shapely

from fleet.config import DroneFigures
from geofences.conformance import ConformanceChecker, Violation
from geofences.frame import to_local, to_wgs84
from vehicles.mavlink.telemetry import DroneState

DELIVERED_WITHIN_M = 50.0  # a landing this close to the drone port's pad delivers the parcel


@dataclass
class Sortie:
    """One flight as the service follows it.

    The parcel is delivered when the mission is past the landing at the drone port (the gripper
    item runs as the wait on the ground begins) and the drone came down within
    `DELIVERED_WITHIN_M` of the port; a drone that disarms before that landed short.
    """

    order_id: str
    land_seq: int  # the mission item of the landing at the drone port
    last_seq: int  # the final landing back home
    path: shapely.LineString  # planned horizontal path, local metres (EPSG:6677)
    port: tuple[float, float] = (0.0, 0.0)  # the drone port (lat, lon)
    delivered: bool = False
    max_seq: int = 0  # furthest mission item known passed (MISSION_ITEM_REACHED or MISSION_CURRENT)
    was_armed: bool = False
    last_armed: DroneState | None = None  # the last state seen while armed
    port_miss_m: float | None = None  # closest the drone was seen to the port's pad
    link_losses: int = 0  # times the link was lost during the sortie (progress may be unseen)
    # the last MISSION_ITEM_REACHED the link knew when the sortie began (a previous flight's):
    # not progress of this one until a new item is reached
    stale_reached: int | None = None
    fresh_reached: bool = False
    landings: dict[int, tuple[float, float]] = field(default_factory=dict)  # NAV_LAND seq: pad
    progress_m: float = 0.0  # furthest along `path` the drone was seen (see `rest_m`)
    progress_t_s: float | None = None

    def to_json(self) -> dict[str, Any]:
        """What a restarted service needs to follow this sortie (journaled at its start)."""
        return {
            "land_seq": self.land_seq,
            "last_seq": self.last_seq,
            "port": list(self.port),
            "landings": [[k, lat, lon] for k, (lat, lon) in sorted(self.landings.items())],
            "path": [[round(x, 1), round(y, 1)] for x, y in self.path.coords],
        }

    @classmethod
    def from_json(cls, order_id: str, d: Mapping[str, Any]) -> Sortie:
        path = [(float(x), float(y)) for x, y in d["path"]]
        return cls(
            order_id, int(d["land_seq"]), int(d["last_seq"]),
            shapely.LineString(path) if len(path) >= 2 else shapely.LineString(),
            port=(float(d["port"][0]), float(d["port"][1])),
            landings={int(k): (float(lat), float(lon)) for k, lat, lon in d["landings"]},
        )

    @cached_property
    def port_along_m(self) -> float:
        """How far along `path` the drone port is (the parcel is aboard until there)."""
        if self.path.is_empty:
            return 0.0
        return float(self.path.project(shapely.Point(*to_local(*self.port))))

    def rest_m(self, x: float, y: float, now_s: float, speed_m_s: float) -> float:
        """Path left to fly from (x, y) (local metres). The position is projected on the
        stretch of path the drone can have reached since it was last seen (from 100 m behind
        the furthest point reached to twice its speed times the time since, plus 200 m), so a
        path that ends where it began reads as ending at home, not as all ahead, and a
        corridor flown out and back is not mistaken for its return."""
        total = self._legs.length_m
        if total <= 0.0:
            return 0.0
        since_s = 0.0 if self.progress_t_s is None else max(0.0, now_s - self.progress_t_s)
        lo = max(0.0, self.progress_m - 100.0)
        hi = min(total, self.progress_m + 200.0 + 2.0 * speed_m_s * since_s)
        along, _ = self._legs.nearest(x, y, lo, hi)
        self.progress_m = max(self.progress_m, along)
        self.progress_t_s = now_s
        return max(0.0, total - along)

    def off_path_m(self, x: float, y: float, enough_m: float = 0.0) -> float:
        """How far (x, y) (local metres) is from the planned path (inf if there is none).

        Where the stretch of path around the drone's progress is within `enough_m`, the
        distance to that stretch is the answer (never less than the exact one): whoever asks
        whether the drone is more than `enough_m` off gets the same answer, for less work."""
        legs = self._legs
        if not legs.starts:
            return math.inf
        if enough_m > 0.0:
            lo = max(0.0, self.progress_m - 100.0)
            near_m = legs.nearest(x, y, lo, min(legs.length_m, self.progress_m + 500.0))[1]
            if near_m <= enough_m:
                return near_m
        return float(self.path.distance(shapely.Point(x, y)))

    @cached_property
    def _legs(self) -> Legs:
        return Legs([(float(x), float(y)) for x, y in self.path.coords])

    def follow(self, s: DroneState) -> None:
        """Progress from telemetry; a reached item can be missed while the link is down.

        Only what this sortie's flight reports counts: mission progress once the drone has
        been seen armed, a reached item once it differs from the one left over from before.
        """
        self.was_armed = self.was_armed or s.armed
        if s.armed:
            self.last_armed = s
        if not self.was_armed:
            return
        if s.mission_reached_seq != self.stale_reached:
            self.fresh_reached = True
        reached = (s.mission_reached_seq or 0) if self.fresh_reached else 0
        self.max_seq = max(self.max_seq, reached, (s.mission_seq or 0) - 1)
        if s.lat_deg is not None and s.lon_deg is not None and (
            (s.mission_seq or 0) >= self.land_seq
        ):  # on the port's landing or after it (positions come a few times a wall second)
            d_m = distance_m((s.lat_deg, s.lon_deg), self.port)
            self.port_miss_m = d_m if self.port_miss_m is None else min(self.port_miss_m, d_m)

    @property
    def past_port(self) -> bool:
        return self.max_seq >= self.land_seq

    def short_of_port(self, down: DroneState, sites: dict[str, tuple[float, float]]) -> str:
        """Where and how a drone that disarmed before the port (as far as the service saw)
        came down; `down` is the first state seen disarmed."""
        s = down if down.lat_deg is not None else self.last_armed
        if s is None or s.lat_deg is None or s.lon_deg is None:
            where = "position unknown"
        else:
            here = (s.lat_deg, s.lon_deg)
            name, d_m = min(((n, distance_m(here, p)) for n, p in sites.items()),
                            key=lambda t: t[1])
            where = f"at {name}" if d_m < 100.0 else f"{d_m:.0f} m from {name}"
        seen = self.last_armed
        last = (f"last seen armed in {seen.mode} at mission item {seen.mission_seq}"
                if seen is not None else "never seen armed")
        if self.link_losses:
            return (f"delivery not confirmed: the link was lost {self.link_losses} time(s) "
                    f"during the sortie; down {where}, {last} (port landing is item "
                    f"{self.land_seq})")
        return (f"landed before the drone port, {where} ({last}; port landing is item "
                f"{self.land_seq})")


class Legs:
    """A polyline's segments, for the nearest point to a position (plain arithmetic: a planned
    path has a few dozen vertices, asked about once a second per drone)."""

    def __init__(self, vertices: Sequence[tuple[float, float]]) -> None:
        self.segments: list[tuple[float, float, float, float, float]] = []  # x, y, dx, dy, len
        self.starts: list[float] = []  # how far along the path each segment starts
        along = 0.0
        for (ax, ay), (bx, by) in itertools.pairwise(vertices):
            length = math.hypot(bx - ax, by - ay)
            self.segments.append((ax, ay, bx - ax, by - ay, length))
            self.starts.append(along)
            along += length
        self.length_m = along

    def nearest(self, x: float, y: float, lo: float, hi: float) -> tuple[float, float]:
        """How far along the path its point nearest to (x, y) is, among the points from `lo`
        to `hi` metres along (the first if tied), and how far that point is from (x, y)."""
        best_d2, best = math.inf, lo
        first = max(0, bisect.bisect_right(self.starts, lo) - 1)
        for i in range(first, len(self.segments)):
            a0 = self.starts[i]
            if a0 > hi:
                break
            x0, y0, dx, dy, length = self.segments[i]
            t = 0.0 if length <= 0.0 else ((x - x0) * dx + (y - y0) * dy) / length
            t = min(max(t, lo - a0, 0.0), hi - a0, length)  # metres into the segment
            f = 0.0 if length <= 0.0 else t / length
            d2 = (x0 + dx * f - x) ** 2 + (y0 + dy * f - y) ** 2
            if d2 < best_d2:
                best_d2, best = d2, a0 + t
        return best, math.sqrt(best_d2)


VERTICAL_LOOKAHEAD_S = 4.0  # a climb or descent is extrapolated this far at most


def no_fly_ahead(checker: ConformanceChecker, s: DroneState, lookahead_s: float) -> list[Violation]:
    """Airspace rules the drone breaks within `lookahead_s` if it keeps its velocity.

    The straight line from the current position to where the velocity takes it is checked
    against the airspace: no-fly volumes, obstacles, ceilings. Vertically at most
    `VERTICAL_LOOKAHEAD_S`: a copter climbing to its cruise altitude levels off there (its
    position controller slows the climb over the last metres), and a take-off climbing at
    2.5 m/s to 115 m must not read as a ceiling breach 15 s ahead.
    """
    if s.lat_deg is None or s.lon_deg is None or s.alt_amsl_m is None:
        return []
    vn, ve, vd = s.vel_north_m_s or 0.0, s.vel_east_m_s or 0.0, s.vel_down_m_s or 0.0
    x, y = to_local(s.lat_deg, s.lon_deg)
    up_m = -vd * min(lookahead_s, VERTICAL_LOOKAHEAD_S)
    found, _ = checker.check_local(
        (x, x + ve * lookahead_s), (y, y + vn * lookahead_s),
        (s.alt_amsl_m, s.alt_amsl_m + up_m),
    )
    return [v for v in found if v.kind != "permission_required"]


def soc_needed(distance_m: float, landings: int, drone: DroneFigures, reserve: float,
               payload_kg: float = 0.0, takeoff: bool = False, unloaded_m: float = 0.0) -> float:
    """State of charge needed to fly `distance_m` at cruise carrying `payload_kg`, then
    `unloaded_m` more without it, and make `landings` stops (each a descent and a climb at hover
    power), plus the final descent, the first climb if `takeoff`, and `reserve`, as a fraction."""
    speed = drone.cruise_speed_m_s
    climbs = landings + (1 if takeoff else 0)
    vertical_s = (landings + 1) * (drone.cruise_alt_m / drone.descent_speed_m_s) + climbs * (
        drone.cruise_alt_m / drone.climb_speed_m_s
    )
    loaded_w = drone.cruise_power_w + drone.power_per_kg_w * payload_kg
    energy_wh = (loaded_w * distance_m / speed + drone.cruise_power_w * unloaded_m / speed
                 + drone.hover_power_w * vertical_s) / 3600.0
    return reserve + energy_wh / drone.battery_wh


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Ground distance between two (lat, lon) points (local frame, metres)."""
    ax, ay = to_local(*a)
    bx, by = to_local(*b)
    return math.hypot(ax - bx, ay - by)


def offset_point(origin: tuple[float, float], north_m: float, east_m: float) -> tuple[float, float]:
    """The point `north_m`, `east_m` from `origin` (lat, lon), in the local frame."""
    x, y = to_local(*origin)
    return to_wgs84(x + east_m, y + north_m)
