"""ArduPilot Copter flight modes: custom mode numbers, names and what each requires.

Numbers are ArduCopter's `Mode::Number` (the HEARTBEAT's custom_mode). `ARMABLE` is the modes a
ground station may arm in (ArduPilot refuses "Arm: Mode not armable" in AUTO unless AUTO_OPTIONS
bit 0, and in RTL, LAND and BRAKE); `NEEDS_POSITION` the modes that need a GPS position (a
change to them without one fails "requires position").
"""

from __future__ import annotations

from enum import IntEnum


class CopterMode(IntEnum):
    """ArduCopter custom modes (the subset the simulator flies)."""

    STABILIZE = 0
    ALT_HOLD = 2
    AUTO = 3
    GUIDED = 4
    LOITER = 5
    RTL = 6
    LAND = 9
    POSHOLD = 16
    BRAKE = 17
    SMART_RTL = 21


ARMABLE = frozenset({CopterMode.STABILIZE, CopterMode.ALT_HOLD, CopterMode.GUIDED,
                     CopterMode.LOITER, CopterMode.POSHOLD})
NEEDS_POSITION = frozenset({CopterMode.AUTO, CopterMode.GUIDED, CopterMode.LOITER,
                            CopterMode.RTL, CopterMode.POSHOLD, CopterMode.BRAKE,
                            CopterMode.SMART_RTL})
# Modes where the autopilot holds or follows a position (the others drift with the wind).
HOLDS_POSITION = NEEDS_POSITION | {CopterMode.LAND}
