"""What the copter tells a ground station: the messages ArduPilot Copter streams, and their rates.

Each builder turns the flight state into one pymavlink message with MAVLink's units (1e-7
degrees, millimetres, cm/s, centidegrees, millivolts, centiamperes). `StreamSchedule` keeps one
interval per message: defaults come from ArduPilot's stream groups (REQUEST_DATA_STREAM's
MAV_DATA_STREAM_* and the SRn_* parameters), and a ground station overrides single messages
with MAV_CMD_SET_MESSAGE_INTERVAL (-1 disables, 0 restores the default).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from sim.copter.modes import CopterMode

if TYPE_CHECKING:
    from sim.copter.flight import FlightController

C = mavlink
VERSION = (4, 5, 7)  # the ArduCopter release whose behaviour this simulates
SENSORS = (C.MAV_SYS_STATUS_SENSOR_3D_GYRO | C.MAV_SYS_STATUS_SENSOR_3D_ACCEL
           | C.MAV_SYS_STATUS_SENSOR_3D_MAG | C.MAV_SYS_STATUS_SENSOR_ABSOLUTE_PRESSURE
           | C.MAV_SYS_STATUS_SENSOR_GPS | C.MAV_SYS_STATUS_SENSOR_ANGULAR_RATE_CONTROL
           | C.MAV_SYS_STATUS_SENSOR_ATTITUDE_STABILIZATION | C.MAV_SYS_STATUS_SENSOR_YAW_POSITION
           | C.MAV_SYS_STATUS_SENSOR_Z_ALTITUDE_CONTROL
           | C.MAV_SYS_STATUS_SENSOR_XY_POSITION_CONTROL
           | C.MAV_SYS_STATUS_SENSOR_MOTOR_OUTPUTS | C.MAV_SYS_STATUS_SENSOR_BATTERY
           | C.MAV_SYS_STATUS_AHRS | C.MAV_SYS_STATUS_PREARM_CHECK)

# MAV_DATA_STREAM id -> the messages ArduCopter sends in that group.
STREAM_GROUPS: dict[int, tuple[str, ...]] = {
    C.MAV_DATA_STREAM_EXTENDED_STATUS: ("SYS_STATUS", "GPS_RAW_INT", "MISSION_CURRENT",
                                        "EXTENDED_SYS_STATE", "FENCE_STATUS"),
    C.MAV_DATA_STREAM_POSITION: ("GLOBAL_POSITION_INT",),
    C.MAV_DATA_STREAM_EXTRA1: ("ATTITUDE",),
    C.MAV_DATA_STREAM_EXTRA2: ("VFR_HUD",),
    C.MAV_DATA_STREAM_EXTRA3: ("BATTERY_STATUS",),
}
DEFAULT_STREAM_RATES_HZ: dict[int, float] = {
    C.MAV_DATA_STREAM_EXTENDED_STATUS: 2.0, C.MAV_DATA_STREAM_POSITION: 3.0,
    C.MAV_DATA_STREAM_EXTRA1: 4.0, C.MAV_DATA_STREAM_EXTRA2: 4.0,
    C.MAV_DATA_STREAM_EXTRA3: 1.0,
}


def time_boot_ms(fc: FlightController) -> int:
    return int((fc.now_s - fc.boot_s) * 1000.0) & 0xFFFFFFFF


def heartbeat(mav: Any, fc: FlightController) -> Any:
    base = C.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED | C.MAV_MODE_FLAG_STABILIZE_ENABLED
    if fc.mode not in (CopterMode.STABILIZE, CopterMode.ALT_HOLD):
        base |= C.MAV_MODE_FLAG_GUIDED_ENABLED
    base |= C.MAV_MODE_FLAG_MANUAL_INPUT_ENABLED
    if fc.armed:
        base |= C.MAV_MODE_FLAG_SAFETY_ARMED
    if fc.battery_failsafe or fc.gcs_failsafe or fc.fence_breach or fc.ekf_failsafe:
        status = C.MAV_STATE_CRITICAL
    elif fc.armed:
        status = C.MAV_STATE_ACTIVE
    else:
        status = C.MAV_STATE_STANDBY
    return mav.heartbeat_encode(C.MAV_TYPE_QUADROTOR, C.MAV_AUTOPILOT_ARDUPILOTMEGA, base,
                                int(fc.mode), status)


def sys_status(mav: Any, fc: FlightController) -> Any:
    enabled = SENSORS | (C.MAV_SYS_STATUS_GEOFENCE if fc.params["FENCE_ENABLE"] else 0)
    health = enabled
    if not fc.has_position:
        health &= ~C.MAV_SYS_STATUS_SENSOR_GPS
    if fc.prearm_failures():
        health &= ~C.MAV_SYS_STATUS_PREARM_CHECK
    if fc.fence_breach:
        health &= ~C.MAV_SYS_STATUS_GEOFENCE
    if fc.battery_failsafe:
        health &= ~C.MAV_SYS_STATUS_SENSOR_BATTERY
    batt = fc.battery
    return mav.sys_status_encode(
        SENSORS | C.MAV_SYS_STATUS_GEOFENCE, enabled, health, 250, round(batt.voltage_v * 1000),
        min(round(batt.current_a * 100), 32767), batt.remaining_pct, 0, 0, 0, 0, 0, 0)


def gps_raw_int(mav: Any, fc: FlightController) -> Any:
    fix = fc.gps_fix_type
    lat, lon = fc.lat_lon_deg if fix >= C.GPS_FIX_TYPE_3D_FIX else (0.0, 0.0)
    cog = round(fc.body.heading_deg * 100) % 36000
    return mav.gps_raw_int_encode(
        int((fc.now_s - fc.boot_s) * 1e6), fix, round(lat * 1e7), round(lon * 1e7),
        round(fc.alt_amsl_m * 1000), 70, 110, round(fc.body.ground_speed_m_s * 100), cog,
        14 if fix >= C.GPS_FIX_TYPE_3D_FIX else 3)


def global_position_int(mav: Any, fc: FlightController) -> Any:
    lat, lon = fc.lat_lon_deg if fc.has_position else (0.0, 0.0)
    b = fc.body
    return mav.global_position_int_encode(
        time_boot_ms(fc), round(lat * 1e7), round(lon * 1e7), round(fc.alt_amsl_m * 1000),
        round(fc.relative_alt_m * 1000), round(b.vn_m_s * 100), round(b.ve_m_s * 100),
        round(-b.vu_m_s * 100), round(b.heading_deg * 100) % 36000)


def attitude(mav: Any, fc: FlightController) -> Any:
    yaw = math.radians(fc.body.heading_deg)
    if yaw > math.pi:
        yaw -= 2 * math.pi
    return mav.attitude_encode(time_boot_ms(fc), 0.0, 0.0, yaw, 0.0, 0.0, 0.0)


def vfr_hud(mav: Any, fc: FlightController) -> Any:
    throttle = 0 if not fc.armed else (15 if fc.land_complete else 45)
    return mav.vfr_hud_encode(fc.body.airspeed_m_s(fc.wind), fc.body.ground_speed_m_s,
                              round(fc.body.heading_deg) % 360, throttle, fc.alt_amsl_m,
                              fc.body.vu_m_s)


def battery_status(mav: Any, fc: FlightController) -> Any:
    batt = fc.battery
    voltages = [min(round(batt.voltage_v * 1000), 65534)] + [65535] * 9
    charge = (C.MAV_BATTERY_CHARGE_STATE_CRITICAL if fc.battery_failsafe == 2 else
              C.MAV_BATTERY_CHARGE_STATE_LOW if fc.battery_failsafe == 1 else
              C.MAV_BATTERY_CHARGE_STATE_OK)
    remaining_s = 0
    if batt.current_a > 1.0:
        remaining_s = int(batt.remaining_mah / (batt.current_a * 1000.0) * 3600.0)
    return mav.battery_status_encode(
        0, C.MAV_BATTERY_FUNCTION_ALL, C.MAV_BATTERY_TYPE_LION, 32767, voltages,
        min(round(batt.current_a * 100), 32767), round(batt.used_mah), round(batt.used_wh * 36.0),
        batt.remaining_pct, remaining_s, charge)


def landed_state(fc: FlightController) -> int:
    if not fc.armed or fc.land_complete:
        return int(C.MAV_LANDED_STATE_ON_GROUND)
    target = fc.target
    if fc.mode == CopterMode.LAND or (target is not None and target.land) or (
        fc.mode in (CopterMode.RTL, CopterMode.SMART_RTL) and fc.rtl_stage == "land"
    ):
        return int(C.MAV_LANDED_STATE_LANDING)
    if target is not None and target.takeoff:
        return int(C.MAV_LANDED_STATE_TAKEOFF)
    return int(C.MAV_LANDED_STATE_IN_AIR)


def extended_sys_state(mav: Any, fc: FlightController) -> Any:
    return mav.extended_sys_state_encode(C.MAV_VTOL_STATE_UNDEFINED, landed_state(fc))


def home_position(mav: Any, fc: FlightController) -> Any:
    lat, lon = fc.frame.to_lat_lon_deg(*fc.home_ne_m)
    alt_amsl_m = fc.frame.origin_alt_amsl_m + fc.home_up_m
    return mav.home_position_encode(round(lat * 1e7), round(lon * 1e7), round(alt_amsl_m * 1000),
                                    fc.home_ne_m[0], fc.home_ne_m[1], -fc.home_up_m,
                                    [1.0, 0.0, 0.0, 0.0], 0.0, 0.0, 0.0,
                                    int((fc.now_s - fc.boot_s) * 1e6))


def mission_current(mav: Any, fc: FlightController) -> Any:
    runner = fc.mission
    total = max(len(runner.items) - 1, 0)
    return mav.mission_current_encode(runner.current_seq, total, runner.state,
                                      1 if fc.mode == CopterMode.AUTO else 2)


def fence_status(mav: Any, fc: FlightController) -> Any | None:
    if not fc.params["FENCE_ENABLE"]:
        return None
    breach_ms = 0
    if fc.fence_breach_count:
        breach_ms = int(max(0.0, fc.fence_breach_time_s - fc.boot_s) * 1e3) & 0xFFFFFFFF
    return mav.fence_status_encode(1 if fc.fence_breach else 0, fc.fence_breach_count,
                                   fc.fence_breach, breach_ms, C.FENCE_MITIGATE_NONE)


def autopilot_version(mav: Any, fc: FlightController, sysid: int) -> Any:
    caps = (C.MAV_PROTOCOL_CAPABILITY_MISSION_FLOAT | C.MAV_PROTOCOL_CAPABILITY_PARAM_FLOAT
            | C.MAV_PROTOCOL_CAPABILITY_MISSION_INT | C.MAV_PROTOCOL_CAPABILITY_COMMAND_INT
            | C.MAV_PROTOCOL_CAPABILITY_SET_POSITION_TARGET_GLOBAL_INT
            | C.MAV_PROTOCOL_CAPABILITY_MAVLINK2 | C.MAV_PROTOCOL_CAPABILITY_MISSION_FENCE
            | C.MAV_PROTOCOL_CAPABILITY_MISSION_RALLY
            | C.MAV_PROTOCOL_CAPABILITY_PARAM_ENCODE_C_CAST)
    major, minor, patch = VERSION
    sw = (major << 24) | (minor << 16) | (patch << 8) | C.FIRMWARE_VERSION_TYPE_OFFICIAL
    return mav.autopilot_version_encode(caps, sw, 0, 0, 0, [0] * 8, [0] * 8, [0] * 8,
                                        0x1209, 0x5740, 0x4B41_4954_0000_0000 + sysid)


BUILDERS: dict[str, Callable[[Any, FlightController], Any | None]] = {
    "HEARTBEAT": heartbeat, "SYS_STATUS": sys_status, "GPS_RAW_INT": gps_raw_int,
    "GLOBAL_POSITION_INT": global_position_int, "ATTITUDE": attitude, "VFR_HUD": vfr_hud,
    "BATTERY_STATUS": battery_status, "EXTENDED_SYS_STATE": extended_sys_state,
    "HOME_POSITION": home_position, "MISSION_CURRENT": mission_current,
    "FENCE_STATUS": fence_status,
}
MESSAGE_IDS: dict[int, str] = {getattr(C, f"MAVLINK_MSG_ID_{name}"): name for name in BUILDERS}


class StreamSchedule:
    """When each telemetry message is next due; intervals in seconds (None: not streamed)."""

    def __init__(self, rates_hz: dict[int, float] | None = None, phase: float = 0.0,
                 heartbeat_period_s: float = 1.0) -> None:
        """`phase` (0..1) shifts every stream by that fraction of its interval: copters that
        booted together should not all transmit in the same instant. `heartbeat_period_s` is
        ArduPilot's 1 s unless a sped-up simulation stretches it."""
        self._heartbeat_period_s = heartbeat_period_s
        self._group_rate_hz = dict(DEFAULT_STREAM_RATES_HZ if rates_hz is None else rates_hz)
        self._phase = phase % 1.0
        self._override_s: dict[str, float | None] = {}
        self._next_s: dict[str, float] = {}
        self._intervals: list[tuple[str, float]] | None = None  # cache of the streamed ones
        self._earliest_s = -math.inf  # nothing is due before this

    def set_group_rate(self, stream_id: int, rate_hz: float) -> None:
        """REQUEST_DATA_STREAM: MAV_DATA_STREAM_ALL (0) sets every group."""
        ids = list(STREAM_GROUPS) if stream_id == C.MAV_DATA_STREAM_ALL else [stream_id]
        for sid in ids:
            if sid in STREAM_GROUPS:
                self._group_rate_hz[sid] = max(0.0, rate_hz)
                for name in STREAM_GROUPS[sid]:
                    self._override_s.pop(name, None)
        self._intervals = None
        self._earliest_s = -math.inf

    def default_interval_s(self, name: str) -> float | None:
        if name == "HEARTBEAT":
            return self._heartbeat_period_s
        for sid, names in STREAM_GROUPS.items():
            if name in names:
                rate = self._group_rate_hz.get(sid, 0.0)
                return 1.0 / rate if rate > 0 else None
        return None

    def interval_s(self, name: str) -> float | None:
        if name in self._override_s:
            return self._override_s[name]
        return self.default_interval_s(name)

    def set_interval_us(self, name: str, interval_us: float) -> None:
        """SET_MESSAGE_INTERVAL semantics: -1 off, 0 default, else the interval."""
        if interval_us < 0:
            self._override_s[name] = None
        elif interval_us == 0:
            self._override_s.pop(name, None)
        else:
            self._override_s[name] = max(interval_us / 1e6, 0.001)
        self._next_s.pop(name, None)
        self._intervals = None
        self._earliest_s = -math.inf

    def due(self, now_s: float) -> list[str]:
        """Names due now; their next deadlines move on."""
        if now_s < self._earliest_s:
            return []
        if self._intervals is None:
            self._intervals = [(name, interval) for name in BUILDERS
                               if (interval := self.interval_s(name)) is not None]
        out = []
        earliest_s = math.inf
        next_of = self._next_s
        for name, interval in self._intervals:
            next_s = next_of.get(name)
            if next_s is None and self._phase > 0.0:
                next_s = next_of[name] = now_s + self._phase * interval
            if next_s is None or now_s >= next_s:
                out.append(name)
                base = now_s if next_s is None or now_s - next_s > interval else next_s
                next_s = next_of[name] = base + interval
            if next_s < earliest_s:
                earliest_s = next_s
        self._earliest_s = earliest_s
        return out
