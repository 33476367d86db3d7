"""Failsafes: low battery, lost ground station, fence breach (ArduPilot Copter semantics).

- Battery (AP_BattMonitor): *low* when the voltage stays under BATT_LOW_VOLT for BATT_LOW_TIMER
  seconds or the remaining capacity falls under BATT_LOW_MAH; *critical* likewise with
  BATT_CRT_VOLT / BATT_CRT_MAH. Each level fires once, says "Battery 1 is low ..." and takes
  BATT_FS_LOW_ACT / BATT_FS_CRT_ACT (0 warn, 1 land, 2 RTL, 3/4 SmartRTL taken as RTL,
  5 terminate).
- GCS (FS_GCS_ENABLE, off by default): when armed and the ground station with system id
  SYSID_MYGCS, once heard, has been silent FS_GCS_TIMEOUT seconds: 1 RTL, 2 continue an AUTO
  mission else RTL, 3 SmartRTL (no path kept here, so RTL), 4 SmartRTL or land (here: land),
  5 land. On the ground it disarms.
- Fence (FENCE_ENABLE): a new breach while flying says "Fence Breached" and takes FENCE_ACTION
  (0 report, 1 RTL or land, 2 land, 3/5 SmartRTL taken as RTL, 4 brake); beyond 100 m outside it
  lands rather than fly back, as AC_Fence's give-up distance.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from sim.copter.modes import NEEDS_POSITION, CopterMode

if TYPE_CHECKING:
    from sim.copter.flight import FlightController

_BATT_ACTIONS = {1: CopterMode.LAND, 2: CopterMode.RTL, 3: CopterMode.RTL, 4: CopterMode.RTL}
_GCS_ACTIONS = {1: CopterMode.RTL, 2: CopterMode.RTL, 3: CopterMode.RTL, 4: CopterMode.LAND,
                5: CopterMode.LAND}
_FENCE_ACTIONS = {1: CopterMode.RTL, 2: CopterMode.LAND, 3: CopterMode.RTL,
                  4: CopterMode.BRAKE, 5: CopterMode.RTL}


def _rtl_or_land(fc: FlightController, mode: CopterMode) -> None:
    """Switch to `mode`; if that fails (no position), land."""
    if fc.mode == mode or (mode == CopterMode.RTL and fc.mode == CopterMode.LAND):
        return
    if not fc.set_mode(mode) and mode != CopterMode.LAND:
        fc.set_mode(CopterMode.LAND)


def check_battery(fc: FlightController) -> None:
    p, batt, now_s = fc.params, fc.battery, fc.now_s
    if batt is not fc._failsafe_battery:  # a fresh pack (a swap is a reboot in effect)
        fc._failsafe_battery = batt
        fc.battery_failsafe = 0
        fc._batt_low_since_s = fc._batt_crt_since_s = None
    level = fc.battery_failsafe
    if level >= 2:
        return
    drawing = batt.current_a > 0
    # how long the voltage has been under each threshold (ArduPilot's BATT_LOW_TIMER)
    crt_v, low_v = p["BATT_CRT_VOLT"], p["BATT_LOW_VOLT"]
    if crt_v > 0 and batt.voltage_v < crt_v and drawing:
        fc._batt_crt_since_s = now_s if fc._batt_crt_since_s is None else fc._batt_crt_since_s
    else:
        fc._batt_crt_since_s = None
    timer_s = p["BATT_LOW_TIMER"]

    def reached(since_s: float | None, mah_key: str) -> bool:
        return (since_s is not None and now_s - since_s >= timer_s) or (
            p[mah_key] > 0 and batt.remaining_mah < p[mah_key])

    if reached(fc._batt_crt_since_s, "BATT_CRT_MAH"):
        level, name, action = 2, "critical", int(p["BATT_FS_CRT_ACT"])
    else:
        if level >= 1:
            return
        if low_v > 0 and batt.voltage_v < low_v and drawing:
            fc._batt_low_since_s = now_s if fc._batt_low_since_s is None else (
                fc._batt_low_since_s)
        else:
            fc._batt_low_since_s = None
        if not reached(fc._batt_low_since_s, "BATT_LOW_MAH"):
            return
        level, name, action = 1, "low", int(p["BATT_FS_LOW_ACT"])
    fc.battery_failsafe = level
    fc.say(mavlink.MAV_SEVERITY_CRITICAL,
           f"Battery 1 is {name} {batt.voltage_v:.2f}V used {batt.used_mah:.0f} mAh")
    if not fc.armed:
        return
    if fc.land_complete:
        fc.disarm(force=True, reason="battery failsafe")
        return
    if action == 5:
        fc.disarm(force=True, reason="battery failsafe terminate")
        return
    mode = _BATT_ACTIONS.get(action)
    if mode is not None:
        _rtl_or_land(fc, mode)


def check_gcs(fc: FlightController) -> None:
    enabled = int(fc.params["FS_GCS_ENABLE"])
    last = fc.gcs_last_heartbeat_s
    if last is None:
        return  # never heard from the ground station: nothing to lose
    lost = fc.now_s - last > fc.params["FS_GCS_TIMEOUT"]
    if not lost:
        if fc.gcs_failsafe:
            fc.gcs_failsafe = False
            fc.say(mavlink.MAV_SEVERITY_CRITICAL, "GCS Failsafe Cleared")
        return
    if fc.gcs_failsafe or not enabled or not fc.armed:
        return
    fc.gcs_failsafe = True
    fc.say(mavlink.MAV_SEVERITY_CRITICAL, "GCS Failsafe")
    if fc.land_complete:
        fc.disarm(force=True, reason="GCS failsafe")
        return
    if enabled == 2 and fc.mode == CopterMode.AUTO:
        fc.say(mavlink.MAV_SEVERITY_INFO, "GCS Failsafe - Continuing Auto Mode")
        return
    mode = _GCS_ACTIONS.get(enabled)
    if mode is not None:
        _rtl_or_land(fc, mode)


def check_ekf(fc: FlightController) -> None:
    """Position lost (GPS gone) for a second while flying a mode that needs it: LAND
    (ArduCopter's EKF failsafe, FS_EKF_ACTION 1); the landing drifts with the wind."""
    if fc.has_position:
        fc._no_position_since_s = None
        if fc.ekf_failsafe:
            fc.ekf_failsafe = False
            fc.say(mavlink.MAV_SEVERITY_CRITICAL, "EKF Failsafe Cleared")
        return
    if fc._no_position_since_s is None:
        fc._no_position_since_s = fc.now_s
    if (fc.ekf_failsafe or not fc.armed or fc.land_complete
            or fc.mode not in NEEDS_POSITION or fc.now_s - fc._no_position_since_s < 1.0):
        return
    fc.ekf_failsafe = True
    fc.set_mode(CopterMode.LAND)
    fc.say(mavlink.MAV_SEVERITY_CRITICAL, "EKF Failsafe: changed to LAND Mode")


def check_fence(fc: FlightController) -> None:
    if not fc.params["FENCE_ENABLE"] or not fc.has_position or not fc.home_set:
        fc.fence_breach = int(mavlink.FENCE_BREACH_NONE)
        return
    kind = fc.current_breach()
    if kind == mavlink.FENCE_BREACH_NONE:
        fc.fence_breach = kind
        return
    if fc.fence_breach != mavlink.FENCE_BREACH_NONE:
        return  # still outside: the action was taken on entry
    fc.fence_breach = kind
    fc.fence_breach_count += 1
    fc.fence_breach_time_s = fc.now_s
    if not fc.armed or fc.land_complete:
        return
    fc.say(mavlink.MAV_SEVERITY_CRITICAL, "Fence Breached")
    action = int(fc.params["FENCE_ACTION"])
    mode = _FENCE_ACTIONS.get(action)
    if mode is None:
        return
    if mode == CopterMode.RTL and _outside_by_m(fc) > 100.0:
        mode = CopterMode.LAND
    _rtl_or_land(fc, mode)


def _outside_by_m(fc: FlightController) -> float:
    """How far beyond the home circle the copter is (0 for other kinds of breach)."""
    if not int(fc.params["FENCE_TYPE"]) & 2:
        return 0.0
    dn = fc.body.north_m - fc.home_ne_m[0]
    de = fc.body.east_m - fc.home_ne_m[1]
    return max(0.0, math.hypot(dn, de) - fc.params["FENCE_RADIUS"])
