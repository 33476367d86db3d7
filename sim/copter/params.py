"""The simulated copter's parameters, named, typed and defaulted like ArduPilot Copter's.

A ground station reads and writes them with the MAVLink parameter protocol (PARAM_REQUEST_LIST,
PARAM_REQUEST_READ, PARAM_SET, answered by PARAM_VALUE). As ArduPilot does, values travel as
floats cast from the integer types (MAV_PROTOCOL_CAPABILITY_PARAM_ENCODE_C_CAST), ArduPilot's
units are kept (centimetres, cm/s) so a script written for a real copter works here, and the
order is fixed so indices are stable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pymavlink.dialects.v20 import ardupilotmega as mavlink

INT8 = mavlink.MAV_PARAM_TYPE_INT8
INT16 = mavlink.MAV_PARAM_TYPE_INT16
INT32 = mavlink.MAV_PARAM_TYPE_INT32
REAL32 = mavlink.MAV_PARAM_TYPE_REAL32


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """One parameter: ArduPilot name, MAVLink type, default and accepted range."""

    name: str
    param_type: int
    default: float
    low: float
    high: float


# (name, type, default, low, high): ArduPilot Copter 4.x names, units and defaults.
_SPECS: tuple[ParamSpec, ...] = tuple(
    ParamSpec(*row)
    for row in (
        ("SYSID_THISMAV", INT16, 1, 1, 255),
        ("SYSID_MYGCS", INT16, 255, 1, 255),
        ("ARMING_CHECK", INT32, 1, 0, 0x7FFFFFFF),
        ("DISARM_DELAY", INT8, 10, 0, 127),  # s; auto-disarm when landed
        ("AUTO_OPTIONS", INT32, 0, 0, 0xFFFF),  # bit0 arm in AUTO, bit1 no throttle for takeoff
        ("WPNAV_SPEED", REAL32, 1000, 10, 2000),  # cm/s
        ("WPNAV_SPEED_UP", REAL32, 250, 10, 1000),  # cm/s
        ("WPNAV_SPEED_DN", REAL32, 150, 10, 500),  # cm/s
        ("WPNAV_ACCEL", REAL32, 250, 50, 500),  # cm/s/s
        ("WPNAV_RADIUS", REAL32, 200, 5, 1000),  # cm
        ("LAND_SPEED", INT16, 50, 30, 200),  # cm/s, final descent
        ("LAND_SPEED_HIGH", INT16, 0, 0, 500),  # cm/s, 0 = WPNAV_SPEED_DN
        ("LAND_ALT_LOW", INT16, 1000, 100, 10000),  # cm
        ("RTL_ALT", INT32, 1500, 200, 300000),  # cm
        ("RTL_SPEED", INT16, 0, 0, 2000),  # cm/s, 0 = WPNAV_SPEED
        ("RTL_LOIT_TIME", INT32, 5000, 0, 60000),  # ms
        ("RTL_ALT_FINAL", INT16, 0, 0, 1000),  # cm, 0 = land
        ("PILOT_TKOFF_ALT", REAL32, 0, 0, 1000),  # cm
        ("FS_GCS_ENABLE", INT8, 0, 0, 7),  # 0 off, 1 RTL, 2 continue AUTO else RTL, 5 land
        ("FS_GCS_TIMEOUT", REAL32, 5, 2, 120),  # s
        ("FS_OPTIONS", INT32, 0, 0, 0xFFFF),
        ("BATT_CAPACITY", INT32, 16000, 0, 1000000),  # mAh
        ("BATT_LOW_VOLT", REAL32, 21.0, 0, 100),  # V
        ("BATT_LOW_MAH", REAL32, 3200, 0, 1000000),  # mAh remaining
        ("BATT_LOW_TIMER", INT8, 10, 0, 120),  # s below the voltage before failsafe
        ("BATT_FS_LOW_ACT", INT8, 2, 0, 5),  # 0 none, 1 land, 2 RTL, 3/4 SmartRTL, 5 terminate
        ("BATT_CRT_VOLT", REAL32, 19.8, 0, 100),
        ("BATT_CRT_MAH", REAL32, 1600, 0, 1000000),
        ("BATT_FS_CRT_ACT", INT8, 1, 0, 5),
        ("BATT_ARM_MAH", INT32, 0, 0, 1000000),  # mAh needed to arm
        ("BATT_ARM_VOLT", REAL32, 0, 0, 100),
        ("FENCE_ENABLE", INT8, 0, 0, 1),
        ("FENCE_TYPE", INT8, 7, 0, 15),  # bit0 max alt, bit1 home circle, bit2 polygons, bit3 min
        ("FENCE_ACTION", INT8, 1, 0, 5),  # 0 report, 1 RTL or land, 2 land, 4 brake or land
        ("FENCE_ALT_MAX", REAL32, 100, 10, 1000),  # m
        ("FENCE_ALT_MIN", REAL32, -10, -100, 100),  # m
        ("FENCE_RADIUS", REAL32, 300, 30, 10000),  # m, circle around home
        ("FENCE_MARGIN", REAL32, 2, 1, 10),  # m
        ("FENCE_TOTAL", INT8, 0, 0, 255),
        ("MIS_TOTAL", INT16, 0, 0, 32766),
        ("MIS_OPTIONS", INT16, 0, 0, 0xFFFF),  # bit2 (4): continue the mission after a landing
        ("GPS_TYPE", INT8, 1, 0, 50),
        ("SIM_GPS_DISABLE", INT8, 0, 0, 1),
        ("SIM_WIND_SPD", REAL32, 0, 0, 50),  # m/s
        ("SIM_WIND_DIR", REAL32, 0, 0, 360),  # deg, from
    )
)


class ParamError(ValueError):
    """A parameter name or value is not accepted."""


class ParamTable:
    """The parameter values, in a fixed order."""

    def __init__(self, overrides: dict[str, float] | None = None) -> None:
        self._specs = {spec.name: spec for spec in _SPECS}
        self._names = [spec.name for spec in _SPECS]
        self._values = {spec.name: float(spec.default) for spec in _SPECS}
        self.version = 0  # counts the changes (for caches of values derived from parameters)
        for name, value in (overrides or {}).items():
            self.set(name, value)

    def __len__(self) -> int:
        return len(self._names)

    def __getitem__(self, name: str) -> float:
        return self._values[name]

    def names(self) -> list[str]:
        return list(self._names)

    def index_of(self, name: str) -> int:
        return self._names.index(name)

    def spec(self, name: str) -> ParamSpec:
        try:
            return self._specs[name]
        except KeyError:
            raise ParamError(f"unknown parameter {name!r}") from None

    def set(self, name: str, value: float) -> float:
        """Set a parameter; returns the stored value (integers are rounded)."""
        spec = self.spec(name)
        if not math.isfinite(value):
            raise ParamError(f"{name}: value must be finite, got {value!r}")
        if spec.param_type != REAL32:
            value = float(round(value))
        if not spec.low <= value <= spec.high:
            raise ParamError(f"{name}: {value} outside [{spec.low}, {spec.high}]")
        self._values[name] = value
        self.version += 1
        return value

    def set_internal(self, name: str, value: float) -> None:
        """Set a read-only counter such as MIS_TOTAL (no range check)."""
        self._values[name] = float(value)
        self.version += 1
