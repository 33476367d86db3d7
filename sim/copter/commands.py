"""COMMAND_LONG / COMMAND_INT / SET_MODE handling with ArduPilot Copter's COMMAND_ACK results.

Each handler returns a MAV_RESULT. ArduPilot's answers: FAILED when a command is understood but
refused now (arming checks, takeoff outside GUIDED, a mode that needs a position), DENIED for
invalid arguments, UNSUPPORTED for commands it does not know. Reasons go out as STATUSTEXT.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from sim.copter.mission_items import AMSL_FRAMES, MissionItem
from sim.copter.mission_run import NavTarget
from sim.copter.modes import CopterMode

if TYPE_CHECKING:
    from sim.copter.autopilot import CopterAutopilot

C = mavlink
ACCEPTED = int(C.MAV_RESULT_ACCEPTED)
FAILED = int(C.MAV_RESULT_FAILED)
DENIED = int(C.MAV_RESULT_DENIED)
UNSUPPORTED = int(C.MAV_RESULT_UNSUPPORTED)


def set_mode(ap: CopterAutopilot, base_mode: int, custom_mode: int) -> int:
    if not base_mode & C.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED:
        return UNSUPPORTED
    try:
        mode = CopterMode(int(custom_mode))
    except ValueError:
        ap.fc.say(C.MAV_SEVERITY_WARNING, f"Mode change failed: no mode {int(custom_mode)}")
        return FAILED
    return ACCEPTED if ap.fc.set_mode(mode) else FAILED


def _location(ap: CopterAutopilot, msg: Any, is_int: bool) -> tuple[float, float, float] | None:
    """(north_m, east_m, up_m) of a command's x/y/z; None when absent (NaN, 0) or invalid."""
    fc = ap.fc
    if is_int:
        if msg.x == 0 and msg.y == 0:
            return None
        lat, lon, frame = msg.x / 1e7, msg.y / 1e7, int(msg.frame)
    else:
        lat, lon, frame = msg.param5, msg.param6, int(C.MAV_FRAME_GLOBAL_RELATIVE_ALT)
        if not (math.isfinite(lat) and math.isfinite(lon)) or (lat == 0 and lon == 0):
            return None
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        return None
    alt = msg.z if is_int else msg.param7
    if math.isfinite(alt) and abs(alt) > 100_000.0:
        return None
    north_m, east_m = fc.frame.to_ne_m(lat, lon)
    if not math.isfinite(alt):
        up_m = fc.body.up_m
    elif frame in AMSL_FRAMES:
        up_m = alt - fc.frame.origin_alt_amsl_m
    else:
        up_m = fc.home_up_m + alt
    return north_m, east_m, up_m


def handle(ap: CopterAutopilot, msg: Any, is_int: bool) -> int:
    """Execute one command message; returns the MAV_RESULT for its COMMAND_ACK."""
    fc, cmd = ap.fc, int(msg.command)
    p1, p2 = msg.param1, msg.param2
    if cmd == C.MAV_CMD_COMPONENT_ARM_DISARM:
        force = round(p2) == 21196
        if p1 == 1:
            return ACCEPTED if fc.arm(force) else FAILED
        if p1 == 0:
            return ACCEPTED if fc.disarm(force, reason="GCS command") else FAILED
        return DENIED
    if cmd == C.MAV_CMD_DO_SET_MODE:
        return set_mode(ap, int(p1), int(p2))
    if cmd == C.MAV_CMD_NAV_TAKEOFF:
        alt = msg.z if is_int else msg.param7
        if not math.isfinite(alt):
            return DENIED
        return ACCEPTED if fc.takeoff(alt) else FAILED
    if cmd == C.MAV_CMD_NAV_LAND:
        return ACCEPTED if fc.set_mode(CopterMode.LAND) else FAILED
    if cmd == C.MAV_CMD_NAV_RETURN_TO_LAUNCH:
        return ACCEPTED if fc.set_mode(CopterMode.RTL) else FAILED
    if cmd == C.MAV_CMD_NAV_LOITER_UNLIM:
        return ACCEPTED if fc.set_mode(CopterMode.LOITER) else FAILED
    if cmd == C.MAV_CMD_MISSION_START:
        if not fc.set_mode(CopterMode.AUTO):
            return FAILED
        fc.auto_armed = True
        if fc.mission.state != C.MISSION_STATE_ACTIVE:
            fc.mission.start_or_resume()
        return ACCEPTED
    if cmd == C.MAV_CMD_DO_CHANGE_SPEED:
        if not (math.isfinite(p2) and p2 > 0):
            return DENIED
        speed = min(p2, fc.config.limits.max_airspeed_m_s)
        if fc.mode == CopterMode.AUTO:
            fc.mission.run_do(MissionItem(0, 2, cmd, p1, speed))
        elif fc.mode == CopterMode.GUIDED:
            fc.guided_speed_m_s = speed
            if fc.target is not None and not fc.target.takeoff:
                t = fc.target
                fc.target = NavTarget(t.north_m, t.east_m, t.up_m, speed_m_s=speed)
        else:
            return FAILED
        return ACCEPTED
    if cmd == C.MAV_CMD_DO_REPOSITION:
        where = _location(ap, msg, is_int)
        if where is None:
            return DENIED
        if fc.mode != CopterMode.GUIDED:
            if not int(p2) & C.MAV_DO_REPOSITION_FLAGS_CHANGE_MODE:
                return FAILED
            if not fc.set_mode(CopterMode.GUIDED):
                return FAILED
        if math.isfinite(p1) and p1 > 0:
            fc.guided_speed_m_s = min(p1, fc.config.limits.max_airspeed_m_s)
        return ACCEPTED if fc.guided_goto(*where) else FAILED
    if cmd in (C.MAV_CMD_DO_GRIPPER, C.MAV_CMD_DO_WINCH, C.MAV_CMD_DO_FENCE_ENABLE):
        fc.mission.run_do(MissionItem(0, 2, cmd, p1, p2, msg.param3, msg.param4))
        return ACCEPTED
    if cmd == C.MAV_CMD_DO_SET_HOME:
        if p1 == 1:
            if not fc.has_position:
                return FAILED
            fc.set_home_here()
        else:
            where = _location(ap, msg, is_int)
            if where is None:
                return DENIED
            lat, lon = fc.frame.to_lat_lon_deg(where[0], where[1])
            fc.set_home(lat, lon, fc.frame.origin_alt_amsl_m + where[2])
        ap.send_now("HOME_POSITION")
        return ACCEPTED
    if cmd == C.MAV_CMD_DO_SET_MISSION_CURRENT:
        return ACCEPTED if fc.mission.set_current(int(p1)) else DENIED
    if cmd == C.MAV_CMD_DO_PAUSE_CONTINUE:
        if fc.mode != CopterMode.AUTO:
            return FAILED
        if p1 == 0:
            hold = fc.stopping_point(NavTarget(fc.body.north_m, fc.body.east_m, fc.body.up_m))
            return ACCEPTED if fc.mission.pause(hold) else FAILED
        return ACCEPTED if fc.mission.resume() else FAILED
    if cmd == C.MAV_CMD_SET_MESSAGE_INTERVAL:
        name = ap.stream_name(int(p1))
        if name is None or not math.isfinite(p2):
            return FAILED
        ap.streams.set_interval_us(name, p2)
        return ACCEPTED
    if cmd == C.MAV_CMD_GET_MESSAGE_INTERVAL:
        name = ap.stream_name(int(p1))
        if name is None:
            return FAILED
        interval = ap.streams.interval_s(name)
        ap.queue(ap.mav.message_interval_encode(int(p1), -1 if interval is None
                                                else round(interval * 1e6)))
        return ACCEPTED
    if cmd == C.MAV_CMD_REQUEST_MESSAGE:
        return ACCEPTED if ap.send_requested(int(p1)) else FAILED
    if cmd == C.MAV_CMD_REQUEST_AUTOPILOT_CAPABILITIES:
        ap.send_requested(C.MAVLINK_MSG_ID_AUTOPILOT_VERSION)
        return ACCEPTED
    if cmd == C.MAV_CMD_GET_HOME_POSITION:
        if not fc.home_set:
            return FAILED
        ap.send_now("HOME_POSITION")
        return ACCEPTED
    return UNSUPPORTED
