"""Flight modes: ArduPilot Copter's custom mode numbers and PX4's main/sub mode encoding.

HEARTBEAT carries the autopilot kind (`MAV_AUTOPILOT_ARDUPILOTMEGA` = 3, `MAV_AUTOPILOT_PX4` =
12) and a 32-bit `custom_mode` whose meaning is the autopilot's own:

- ArduPilot Copter: `custom_mode` is the mode number (ArduCopter `mode.h`): STABILIZE 0,
  GUIDED 4, AUTO 3, LOITER 5, RTL 6, LAND 9, BRAKE 17, ... Set with MAV_CMD_DO_SET_MODE,
  param1 = MAV_MODE_FLAG_CUSTOM_MODE_ENABLED, param2 = the number.
- PX4: `custom_mode` packs a main mode in bits 16..23 and a sub mode in bits 24..31
  (`px4_custom_mode.h`): AUTO (4) with sub modes READY 1, TAKEOFF 2, LOITER 3, MISSION 4,
  RTL 5, LAND 6, ... Set with MAV_CMD_DO_SET_MODE, param2 = main mode, param3 = sub mode.

`FlightMode` names what the fleet asks for; `mode_request` turns it into DO_SET_MODE
parameters for the drone's autopilot, `mode_name` reads a heartbeat back into a name.
"""

from __future__ import annotations

from enum import Enum

from vehicles.mavlink.codec import C

ARDUPILOT = int(C.MAV_AUTOPILOT_ARDUPILOTMEGA)
PX4 = int(C.MAV_AUTOPILOT_PX4)
CUSTOM_MODE_ENABLED = int(C.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED)

COPTER_MODES: dict[int, str] = {
    0: "STABILIZE", 1: "ACRO", 2: "ALT_HOLD", 3: "AUTO", 4: "GUIDED", 5: "LOITER", 6: "RTL",
    7: "CIRCLE", 9: "LAND", 11: "DRIFT", 13: "SPORT", 14: "FLIP", 15: "AUTOTUNE",
    16: "POSHOLD", 17: "BRAKE", 18: "THROW", 19: "AVOID_ADSB", 20: "GUIDED_NOGPS",
    21: "SMART_RTL", 22: "FLOWHOLD", 23: "FOLLOW", 24: "ZIGZAG", 25: "SYSTEMID",
    26: "AUTOROTATE", 27: "AUTO_RTL", 28: "TURTLE",
}
COPTER_MODE_NUMBERS = {name: number for number, name in COPTER_MODES.items()}

PX4_MAIN_MODES: dict[int, str] = {
    1: "MANUAL", 2: "ALTCTL", 3: "POSCTL", 4: "AUTO", 5: "ACRO", 6: "OFFBOARD",
    7: "STABILIZED", 8: "RATTITUDE", 9: "SIMPLE", 10: "TERMINATION",
}
PX4_AUTO_SUB_MODES: dict[int, str] = {
    1: "READY", 2: "TAKEOFF", 3: "LOITER", 4: "MISSION", 5: "RTL", 6: "LAND", 7: "RTGS",
    8: "FOLLOW_TARGET", 9: "PRECLAND", 10: "VTOL_TAKEOFF",
}
PX4_MAIN_AUTO = 4


class FlightMode(Enum):
    """The modes the fleet commands, whatever the autopilot."""

    GUIDED = "GUIDED"  # fly to targets the ground station sends (PX4: hold + reposition)
    AUTO = "AUTO"  # fly the uploaded mission (PX4: AUTO.MISSION)
    LOITER = "LOITER"  # hold position (PX4: AUTO.LOITER, "Hold")
    RTL = "RTL"  # return to launch (PX4: AUTO.RTL)
    LAND = "LAND"  # land here (PX4: AUTO.LAND)
    BRAKE = "BRAKE"  # stop as fast as possible (PX4 has none: AUTO.LOITER)
    TAKEOFF = "TAKEOFF"  # PX4 only: AUTO.TAKEOFF (ArduPilot takes off in GUIDED)


_ARDUPILOT_FOR: dict[FlightMode, int] = {
    FlightMode.GUIDED: 4, FlightMode.AUTO: 3, FlightMode.LOITER: 5, FlightMode.RTL: 6,
    FlightMode.LAND: 9, FlightMode.BRAKE: 17,
}
_PX4_FOR: dict[FlightMode, tuple[int, int]] = {
    FlightMode.GUIDED: (PX4_MAIN_AUTO, 3), FlightMode.AUTO: (PX4_MAIN_AUTO, 4),
    FlightMode.LOITER: (PX4_MAIN_AUTO, 3), FlightMode.RTL: (PX4_MAIN_AUTO, 5),
    FlightMode.LAND: (PX4_MAIN_AUTO, 6), FlightMode.BRAKE: (PX4_MAIN_AUTO, 3),
    FlightMode.TAKEOFF: (PX4_MAIN_AUTO, 2),
}


class UnsupportedModeError(ValueError):
    """The autopilot has no such mode."""


def px4_custom_mode(main: int, sub: int = 0) -> int:
    """PX4's 32-bit custom_mode for a main and sub mode."""
    return (main & 0xFF) << 16 | (sub & 0xFF) << 24


def mode_request(autopilot: int, mode: FlightMode) -> tuple[float, float, float]:
    """MAV_CMD_DO_SET_MODE (param1, param2, param3) asking `autopilot` for `mode`.

    Raises:
        UnsupportedModeError: when the autopilot has no such mode (e.g. TAKEOFF on ArduPilot).
    """
    if autopilot == PX4:
        main, sub = _PX4_FOR[mode]
        return float(CUSTOM_MODE_ENABLED), float(main), float(sub)
    number = _ARDUPILOT_FOR.get(mode)
    if number is None:
        raise UnsupportedModeError(f"ArduPilot Copter has no {mode.value} mode")
    return float(CUSTOM_MODE_ENABLED), float(number), 0.0


def mode_name(autopilot: int, base_mode: int, custom_mode: int) -> str:
    """A readable mode name from a HEARTBEAT ('GUIDED', 'AUTO.MISSION', 'UNKNOWN(42)')."""
    if not base_mode & CUSTOM_MODE_ENABLED:
        return f"BASE({base_mode})"
    if autopilot == PX4:
        main = (custom_mode >> 16) & 0xFF
        sub = (custom_mode >> 24) & 0xFF
        name = PX4_MAIN_MODES.get(main, f"UNKNOWN({main})")
        if main == PX4_MAIN_AUTO:
            return f"AUTO.{PX4_AUTO_SUB_MODES.get(sub, f'UNKNOWN({sub})')}"
        return name
    return COPTER_MODES.get(custom_mode, f"UNKNOWN({custom_mode})")


def is_mode(autopilot: int, custom_mode: int, mode: FlightMode) -> bool:
    """Whether a heartbeat's custom_mode is `mode` on this autopilot."""
    if autopilot == PX4:
        main, sub = _PX4_FOR[mode]
        return custom_mode == px4_custom_mode(main, sub)
    return _ARDUPILOT_FOR.get(mode) == custom_mode
