"""Telemetry into one typed `DroneState`, and readiness to arm.

Each message the autopilot streams updates its part of the state (ArduPilot and PX4 send the
same common messages):

| message | fields |
|---|---|
| HEARTBEAT | armed, mode, system status, autopilot and vehicle type |
| GLOBAL_POSITION_INT | lat/lon, AMSL and relative altitude, velocity, heading |
| GPS_RAW_INT | fix type, satellites, HDOP |
| SYS_STATUS | battery voltage/current/remaining, sensor health incl. the pre-arm bit |
| BATTERY_STATUS | consumed charge, remaining, voltage (sum of cells) |
| EXTENDED_SYS_STATE | landed state |
| HOME_POSITION | home lat/lon/alt |
| MISSION_CURRENT / MISSION_ITEM_REACHED | mission progress |

Readiness (`readiness`) says whether a real autopilot would arm now and why not: a 3-D fix
(GPS_RAW_INT fix_type >= 3), a home position, and the pre-arm checks passing (SYS_STATUS
`MAV_SYS_STATUS_PREARM_CHECK` health bit where the autopilot reports it, as ArduPilot 4.x does;
with the latest "PreArm: ..." STATUSTEXT as the reason).
"""

from __future__ import annotations

import dataclasses
import math
import operator
from dataclasses import dataclass
from typing import Any

from vehicles.mavlink.codec import C
from vehicles.mavlink.modes import mode_name

PREARM_BIT = int(C.MAV_SYS_STATUS_PREARM_CHECK)
# how autopilots explain a refusal to arm: ArduPilot "PreArm: ..."/"Arm: ...", PX4 "Preflight
# Fail: ..." and "Arming denied: ..."
PREARM_PREFIXES = ("PreArm:", "Arm:", "Preflight Fail", "Arming denied")
FIX_3D = int(C.GPS_FIX_TYPE_3D_FIX)
MISSION_STATES = {1: "NO_MISSION", 2: "NOT_STARTED", 3: "ACTIVE", 4: "PAUSED", 5: "COMPLETE"}
LANDED_STATES = {0: "UNDEFINED", 1: "ON_GROUND", 2: "IN_AIR", 3: "TAKEOFF", 4: "LANDING"}


@dataclass(frozen=True)
class Home:
    """The home position (where RTL returns)."""

    lat_deg: float
    lon_deg: float
    alt_amsl_m: float


@dataclass(slots=True)
class DroneState:
    """Everything the link knows about one drone; `None` until the first report of it.

    The link updates its own instance in place (cheap per message); what it hands out
    (`DroneLink.state`) is a copy taken when something changed, safe to keep.
    """

    sysid: int
    autopilot: int | None = None
    vehicle_type: int | None = None
    armed: bool = False
    mode: str = "UNKNOWN"
    custom_mode: int | None = None
    system_status: int | None = None
    lat_deg: float | None = None
    lon_deg: float | None = None
    alt_amsl_m: float | None = None
    alt_rel_m: float | None = None
    vel_north_m_s: float | None = None
    vel_east_m_s: float | None = None
    vel_down_m_s: float | None = None
    heading_deg: float | None = None
    gps_fix_type: int = 0
    satellites: int | None = None
    hdop: float | None = None
    battery_voltage_v: float | None = None
    battery_current_a: float | None = None
    battery_remaining_pct: int | None = None
    battery_consumed_mah: float | None = None
    landed_state: str = "UNDEFINED"
    home: Home | None = None
    mission_seq: int | None = None
    mission_total: int | None = None
    mission_state: str = "UNKNOWN"  # MISSION_CURRENT.mission_state: ACTIVE, PAUSED, COMPLETE...
    mission_reached_seq: int | None = None
    prearm_ok: bool | None = None
    prearm_message: str | None = None
    position_t_s: float | None = None
    updated_t_s: float | None = None

    @property
    def ground_speed_m_s(self) -> float | None:
        """Horizontal speed over ground."""
        if self.vel_north_m_s is None or self.vel_east_m_s is None:
            return None
        return math.hypot(self.vel_north_m_s, self.vel_east_m_s)


@dataclass(frozen=True)
class Readiness:
    """Whether the drone would arm now, and the reasons it would not."""

    ready: bool
    reasons: tuple[str, ...]


_ALL_FIELDS = operator.attrgetter(*(f.name for f in dataclasses.fields(DroneState)))

_READY = Readiness(True, ())


def readiness(state: DroneState) -> Readiness:
    """Readiness to arm from what the autopilot reported."""
    if (state.autopilot is not None and state.gps_fix_type >= FIX_3D and state.home is not None
            and (state.prearm_ok or (state.prearm_ok is None and state.prearm_message is None))):
        return _READY  # the usual answer, asked every second per drone
    reasons: list[str] = []
    if state.autopilot is None:
        reasons.append("no heartbeat from the autopilot yet")
    if state.gps_fix_type < FIX_3D:
        reasons.append(f"no 3-D GPS fix (fix type {state.gps_fix_type})")
    if state.home is None:
        reasons.append("home position not set")
    if state.prearm_ok is False:
        reasons.append(state.prearm_message or "pre-arm checks failing")
    elif state.prearm_ok is None and state.prearm_message is not None:
        reasons.append(state.prearm_message)
    return Readiness(not reasons, tuple(reasons))


def apply(state: DroneState, msg: Any, now_s: float) -> bool:
    """Update `state` in place from one message; whether the message was telemetry."""
    handler = _HANDLERS.get(msg.get_type())
    if handler is None:
        return False
    handler(state, msg, now_s)
    state.updated_t_s = now_s
    return True


def snapshot(state: DroneState) -> DroneState:
    """A copy of `state` to hand out (field by field: `copy.copy` of a slotted dataclass
    takes four times as long, and this is asked for after every message)."""
    return DroneState(*_ALL_FIELDS(state))


def _heartbeat(s: DroneState, m: Any, now_s: float) -> None:
    s.autopilot, s.vehicle_type = int(m.autopilot), int(m.type)
    s.armed = bool(m.base_mode & C.MAV_MODE_FLAG_SAFETY_ARMED)
    s.mode = mode_name(int(m.autopilot), int(m.base_mode), int(m.custom_mode))
    s.custom_mode, s.system_status = int(m.custom_mode), int(m.system_status)


def _global_position(s: DroneState, m: Any, now_s: float) -> None:
    s.heading_deg = None if m.hdg == 65535 else m.hdg / 100.0
    s.lat_deg, s.lon_deg = m.lat / 1e7, m.lon / 1e7
    s.alt_amsl_m, s.alt_rel_m = m.alt / 1000.0, m.relative_alt / 1000.0
    s.vel_north_m_s, s.vel_east_m_s, s.vel_down_m_s = m.vx / 100.0, m.vy / 100.0, m.vz / 100.0
    s.position_t_s = now_s


def _gps_raw(s: DroneState, m: Any, now_s: float) -> None:
    s.gps_fix_type = int(m.fix_type)
    s.satellites = None if m.satellites_visible == 255 else int(m.satellites_visible)
    s.hdop = None if m.eph == 65535 else m.eph / 100.0


def _sys_status(s: DroneState, m: Any, now_s: float) -> None:
    if m.onboard_control_sensors_present & PREARM_BIT:
        s.prearm_ok = bool(m.onboard_control_sensors_health & PREARM_BIT)
    if s.prearm_ok:
        s.prearm_message = None
    s.battery_voltage_v = None if m.voltage_battery == 65535 else m.voltage_battery / 1000.0
    s.battery_current_a = None if m.current_battery == -1 else m.current_battery / 100.0
    s.battery_remaining_pct = None if m.battery_remaining == -1 else int(m.battery_remaining)


def _battery_status(s: DroneState, m: Any, now_s: float) -> None:
    if m.id != 0:
        return  # the first battery is the one SYS_STATUS reports
    cells = [c for c in m.voltages if c != 65535]
    if cells:
        s.battery_voltage_v = sum(cells) / 1000.0
    s.battery_consumed_mah = None if m.current_consumed == -1 else float(m.current_consumed)
    if m.battery_remaining != -1:
        s.battery_remaining_pct = int(m.battery_remaining)


def _extended_sys_state(s: DroneState, m: Any, now_s: float) -> None:
    s.landed_state = LANDED_STATES.get(int(m.landed_state), "UNDEFINED")


def _home_position(s: DroneState, m: Any, now_s: float) -> None:
    s.home = Home(m.latitude / 1e7, m.longitude / 1e7, m.altitude / 1000.0)


def _mission_current(s: DroneState, m: Any, now_s: float) -> None:
    total = getattr(m, "total", 0)
    s.mission_seq = int(m.seq)
    s.mission_total = None if total in (0, 65535) else int(total)
    s.mission_state = MISSION_STATES.get(int(getattr(m, "mission_state", 0)), "UNKNOWN")


def _item_reached(s: DroneState, m: Any, now_s: float) -> None:
    s.mission_reached_seq = int(m.seq)


def _statustext(s: DroneState, m: Any, now_s: float) -> None:
    text = m.text if isinstance(m.text, str) else bytes(m.text).decode("utf-8", "replace")
    if text.startswith(PREARM_PREFIXES):
        s.prearm_message = text


_HANDLERS = {
    "HEARTBEAT": _heartbeat, "GLOBAL_POSITION_INT": _global_position, "GPS_RAW_INT": _gps_raw,
    "SYS_STATUS": _sys_status, "BATTERY_STATUS": _battery_status,
    "EXTENDED_SYS_STATE": _extended_sys_state, "HOME_POSITION": _home_position,
    "MISSION_CURRENT": _mission_current, "MISSION_ITEM_REACHED": _item_reached,
    "STATUSTEXT": _statustext,
}
