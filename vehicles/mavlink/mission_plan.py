"""Missions and fences from plain data: a planned 3-D path and the airspace's shapes.

A `MissionPlan` is an ordered list of steps in WGS-84 degrees and metres (the planner's
output, no MAVLink in it); `mission_items` turns it into MISSION_ITEM_INT rows:

| step | items |
|---|---|
| `Takeoff(alt_m)` | MAV_CMD_NAV_TAKEOFF |
| `Waypoint(..., speed_m_s)` | DO_CHANGE_SPEED if the speed changes; NAV_WAYPOINT |
| `LandAndWait(..., wait_s)` | NAV_LAND, NAV_DELAY, NAV_TAKEOFF (`loiter`: NAV_LOITER_TIME) |
| `LandAndWait(..., release_gripper=True)` | NAV_LAND, NAV_DELAY, DO_GRIPPER, NAV_TAKEOFF |
| `PayloadPlace(lat, lon, alt_m)` | MAV_CMD_NAV_PAYLOAD_PLACE (ArduPilot Copter) |
| `ReleasePayload("gripper")` | MAV_CMD_DO_GRIPPER (release) |
| `ReleasePayload("winch", length_m, rate_m_s)` | MAV_CMD_DO_WINCH (length control) |
| `Delay(s)` | MAV_CMD_NAV_DELAY |
| `Land(lat, lon)` / `ReturnToLaunch()` | MAV_CMD_NAV_LAND / MAV_CMD_NAV_RETURN_TO_LAUNCH |

ArduPilot runs the DO commands that follow a navigation command when that command starts, so
the gripper item after the NAV_DELAY opens the gripper on the ground, as the wait begins. A
landing inside a mission needs ArduPilot's MIS_OPTIONS bit 2 ("continue after land"; otherwise
the copter disarms at touchdown and the mission stops) and a DISARM_DELAY longer than the wait
(the copter auto-disarms on the ground in AUTO too).

ArduPilot keeps home as mission item 0, so for ArduPilot the list starts with a home row the
autopilot overwrites (what QGroundControl does); PX4 missions start at the first step.

`fence_items` turns inclusion/exclusion polygons (lists of (lat, lon)) and circles into the
fence protocol's items: MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION / _EXCLUSION (param1 =
vertex count, param2 = inclusion group) and MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION / _EXCLUSION
(param1 = radius m), plus an optional MAV_CMD_NAV_FENCE_RETURN_POINT.

Bad input (a NaN, a latitude of 95, a polygon of two vertices, a negative wait) raises
`ValueError` naming the step.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from vehicles.mavlink.codec import C
from vehicles.mavlink.mission import MissionItem
from vehicles.mavlink.modes import ARDUPILOT

LatLon = tuple[float, float]
REL = int(C.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT)
AMSL = int(C.MAV_FRAME_GLOBAL_INT)
MISSION_FRAME = int(C.MAV_FRAME_MISSION)
FENCE_FRAME = int(C.MAV_FRAME_GLOBAL)


@dataclass(frozen=True)
class Takeoff:
    """Climb to `alt_m` over the take-off point."""

    alt_m: float


@dataclass(frozen=True)
class Waypoint:
    """Fly to a point; `speed_m_s` None keeps the current speed."""

    lat_deg: float
    lon_deg: float
    alt_m: float
    speed_m_s: float | None = None
    hold_s: float = 0.0
    acceptance_radius_m: float = 0.0  # 0: the autopilot's default (ArduPilot WPNAV_RADIUS)


@dataclass(frozen=True)
class LandAndWait:
    """Deliver at a point: land, wait, take off again to `takeoff_alt_m` (or hover-wait)."""

    lat_deg: float
    lon_deg: float
    wait_s: float
    takeoff_alt_m: float
    loiter: bool = False  # True: NAV_LOITER_TIME at `takeoff_alt_m` instead of landing
    release_gripper: bool = False  # open the gripper as the wait begins (DO_GRIPPER after it)


@dataclass(frozen=True)
class PayloadPlace:
    """ArduPilot Copter's delivery item: fly to the point, descend (at most `max_descent_m`)
    until the load touches down, release it (gripper), climb back and go on."""

    lat_deg: float
    lon_deg: float
    alt_m: float
    max_descent_m: float = 0.0  # 0: no limit


@dataclass(frozen=True)
class ReleasePayload:
    """Drop the parcel: gripper release, or lower it on the winch."""

    mechanism: Literal["gripper", "winch"] = "gripper"
    instance: int = 1
    length_m: float = 0.0
    rate_m_s: float = 0.0


@dataclass(frozen=True)
class Delay:
    """Wait where it is."""

    seconds: float


@dataclass(frozen=True)
class Land:
    """Land at a point (the mission's end)."""

    lat_deg: float
    lon_deg: float


@dataclass(frozen=True)
class ReturnToLaunch:
    """Fly home and land."""


Step = (Takeoff | Waypoint | LandAndWait | PayloadPlace | ReleasePayload | Delay | Land
        | ReturnToLaunch)


@dataclass(frozen=True)
class MissionPlan:
    """An ordered path with actions; altitudes relative to home or AMSL."""

    steps: tuple[Step, ...]
    alt_frame: Literal["relative", "amsl"] = "relative"
    home: tuple[float, float, float] | None = None  # lat, lon, alt AMSL for ArduPilot's row 0


def _check_point(lat: float, lon: float, where: str) -> None:
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90
            and -180 <= lon <= 180):
        raise ValueError(f"{where}: invalid position ({lat!r}, {lon!r})")


def _check(value: float, where: str, low: float, high: float) -> None:
    if not (math.isfinite(value) and low <= value <= high):
        raise ValueError(f"{where}: {value!r} not in [{low}, {high}]")


def _e7(deg: float) -> int:
    return round(deg * 1e7)


def mission_items(plan: MissionPlan, autopilot: int = ARDUPILOT) -> list[MissionItem]:
    """The MISSION_ITEM_INT rows of `plan` for `autopilot` (seq = index)."""
    frame = REL if plan.alt_frame == "relative" else AMSL
    items: list[MissionItem] = []
    if autopilot == ARDUPILOT:
        lat, lon, alt = plan.home if plan.home is not None else (0.0, 0.0, 0.0)
        items.append(MissionItem(int(C.MAV_CMD_NAV_WAYPOINT), AMSL, x=_e7(lat), y=_e7(lon),
                                 z=alt))
    speed: float | None = None
    for i, step in enumerate(plan.steps):
        where = f"step {i} ({type(step).__name__})"
        if isinstance(step, Takeoff):
            _check(step.alt_m, where, -500.0, 10_000.0)
            items.append(MissionItem(int(C.MAV_CMD_NAV_TAKEOFF), frame, z=step.alt_m))
        elif isinstance(step, Waypoint):
            _check_point(step.lat_deg, step.lon_deg, where)
            _check(step.alt_m, where, -500.0, 10_000.0)
            _check(step.hold_s, where, 0.0, 86_400.0)
            _check(step.acceptance_radius_m, where, 0.0, 10_000.0)
            if step.speed_m_s is not None and step.speed_m_s != speed:
                _check(step.speed_m_s, where, 0.1, 100.0)
                speed = step.speed_m_s
                items.append(MissionItem(int(C.MAV_CMD_DO_CHANGE_SPEED), MISSION_FRAME,
                                         1.0, speed, -1.0))
            items.append(MissionItem(int(C.MAV_CMD_NAV_WAYPOINT), frame, step.hold_s,
                                     step.acceptance_radius_m, 0.0, math.nan,
                                     _e7(step.lat_deg), _e7(step.lon_deg), step.alt_m))
        elif isinstance(step, LandAndWait):
            _check_point(step.lat_deg, step.lon_deg, where)
            _check(step.wait_s, where, 0.0, 86_400.0)
            _check(step.takeoff_alt_m, where, -500.0, 10_000.0)
            x, y = _e7(step.lat_deg), _e7(step.lon_deg)
            if step.loiter:
                items.append(MissionItem(int(C.MAV_CMD_NAV_LOITER_TIME), frame, step.wait_s,
                                         0.0, 0.0, math.nan, x, y, step.takeoff_alt_m))
            else:
                items += [
                    MissionItem(int(C.MAV_CMD_NAV_LAND), frame, 0.0, 0.0, 0.0, math.nan, x, y),
                    MissionItem(int(C.MAV_CMD_NAV_DELAY), MISSION_FRAME, step.wait_s, -1.0,
                                -1.0, -1.0),
                ]
            if step.release_gripper:
                items.append(MissionItem(int(C.MAV_CMD_DO_GRIPPER), MISSION_FRAME, 1.0,
                                         float(C.GRIPPER_ACTION_RELEASE)))
            if not step.loiter:
                items.append(MissionItem(int(C.MAV_CMD_NAV_TAKEOFF), frame, z=step.takeoff_alt_m))
        elif isinstance(step, PayloadPlace):
            _check_point(step.lat_deg, step.lon_deg, where)
            _check(step.alt_m, where, -500.0, 10_000.0)
            _check(step.max_descent_m, where, 0.0, 1_000.0)
            items.append(MissionItem(int(C.MAV_CMD_NAV_PAYLOAD_PLACE), frame,
                                     step.max_descent_m, 0.0, 0.0, 0.0, _e7(step.lat_deg),
                                     _e7(step.lon_deg), step.alt_m))
        elif isinstance(step, ReleasePayload):
            if step.mechanism == "gripper":
                items.append(MissionItem(int(C.MAV_CMD_DO_GRIPPER), MISSION_FRAME,
                                         float(step.instance), float(C.GRIPPER_ACTION_RELEASE)))
            else:
                _check(step.length_m, where, 0.0, 1_000.0)
                _check(step.rate_m_s, where, 0.0, 100.0)
                items.append(MissionItem(int(C.MAV_CMD_DO_WINCH), MISSION_FRAME,
                                         float(step.instance),
                                         float(C.WINCH_RELATIVE_LENGTH_CONTROL),
                                         step.length_m, step.rate_m_s))
        elif isinstance(step, Delay):
            _check(step.seconds, where, 0.0, 86_400.0)
            items.append(MissionItem(int(C.MAV_CMD_NAV_DELAY), MISSION_FRAME, step.seconds,
                                     -1.0, -1.0, -1.0))
        elif isinstance(step, Land):
            _check_point(step.lat_deg, step.lon_deg, where)
            items.append(MissionItem(int(C.MAV_CMD_NAV_LAND), frame, 0.0, 0.0, 0.0, math.nan,
                                     _e7(step.lat_deg), _e7(step.lon_deg)))
        elif isinstance(step, ReturnToLaunch):
            items.append(MissionItem(int(C.MAV_CMD_NAV_RETURN_TO_LAUNCH), MISSION_FRAME))
        else:  # pragma: no cover - the union is closed
            raise ValueError(f"{where}: unknown step")
    return items


@dataclass(frozen=True)
class FencePolygon:
    """A polygon (lat, lon) the drone must stay inside (inclusion) or outside (exclusion)."""

    vertices: tuple[LatLon, ...]
    inclusion: bool = True


@dataclass(frozen=True)
class FenceCircle:
    """A circle the drone must stay inside (inclusion) or outside (exclusion)."""

    lat_deg: float
    lon_deg: float
    radius_m: float
    inclusion: bool = True


def fence_items(polygons: Sequence[FencePolygon] = (), circles: Sequence[FenceCircle] = (),
                return_point: LatLon | None = None, one_inclusion_group: bool = False
                ) -> list[MissionItem]:
    """The fence protocol's items.

    By default each inclusion shape is its own inclusion group (param2), so by the standard the
    drone may fly inside any of them (a union). `one_inclusion_group=True` puts them all in
    group 0: the drone must be inside every one (an intersection), which is also how an
    autopilot that ignores groups reads any fence.
    """
    items: list[MissionItem] = []
    group = 0
    if return_point is not None:
        _check_point(*return_point, "return point")
        items.append(MissionItem(int(C.MAV_CMD_NAV_FENCE_RETURN_POINT), FENCE_FRAME,
                                 x=_e7(return_point[0]), y=_e7(return_point[1])))
    for i, polygon in enumerate(polygons):
        vertices = list(polygon.vertices)
        if len(vertices) > 1 and vertices[0] == vertices[-1]:
            vertices.pop()  # GeoJSON-style closed ring: the autopilot closes it itself
        if len(vertices) < 3:
            raise ValueError(f"polygon {i}: a fence polygon needs at least 3 vertices")
        command = (C.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION if polygon.inclusion
                   else C.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION)
        param2 = float(group) if polygon.inclusion else 0.0
        group += polygon.inclusion and not one_inclusion_group
        for lat, lon in vertices:
            _check_point(lat, lon, f"polygon {i}")
            items.append(MissionItem(int(command), FENCE_FRAME, float(len(vertices)), param2,
                                     x=_e7(lat), y=_e7(lon)))
    for i, circle in enumerate(circles):
        _check_point(circle.lat_deg, circle.lon_deg, f"circle {i}")
        _check(circle.radius_m, f"circle {i}", 0.1, 1_000_000.0)
        command = (C.MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION if circle.inclusion
                   else C.MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION)
        param2 = float(group) if circle.inclusion else 0.0
        group += circle.inclusion and not one_inclusion_group
        items.append(MissionItem(int(command), FENCE_FRAME, circle.radius_m, param2,
                                 x=_e7(circle.lat_deg), y=_e7(circle.lon_deg)))
    return items


def rally_items(points: Sequence[tuple[float, float, float]]) -> list[MissionItem]:
    """Rally points (lat, lon, altitude above home m) for MAV_MISSION_TYPE_RALLY: where RTL may
    go instead of home (ArduPilot RALLY_INCL_HOME / the nearest point)."""
    items = []
    for i, (lat, lon, alt_m) in enumerate(points):
        _check_point(lat, lon, f"rally point {i}")
        _check(alt_m, f"rally point {i}", -500.0, 10_000.0)
        items.append(MissionItem(int(C.MAV_CMD_NAV_RALLY_POINT), REL, x=_e7(lat), y=_e7(lon),
                                 z=alt_m))
    return items
