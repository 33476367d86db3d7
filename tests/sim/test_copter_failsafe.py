"""Failsafes: ground-station loss (FS_GCS_ENABLE), low battery, fence breach."""

from __future__ import annotations

import math

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from sim.copter import CopterAutopilot, CopterConfig, CopterMode, Wind
from sim.copter.battery import Battery
from tests.sim.copter_ground_station import ScriptedGroundStation

C = mavlink

HOME = (35.6480, 140.0350)


def airborne(alt_m: float = 10.0, soc: float = 1.0, **params: float) -> ScriptedGroundStation:
    copter = CopterAutopilot(CopterConfig(params=params, battery_soc=soc))
    gcs = ScriptedGroundStation(copter)
    gcs.run(3.0)
    assert gcs.set_mode(CopterMode.GUIDED) == C.MAV_RESULT_ACCEPTED
    assert gcs.arm() == C.MAV_RESULT_ACCEPTED
    assert gcs.command(C.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, alt_m) == C.MAV_RESULT_ACCEPTED
    gcs.run(alt_m / 2.5 + 4.0)
    return gcs


def mode(gcs: ScriptedGroundStation) -> CopterMode:
    return gcs.copter.fc.mode


def goto(gcs: ScriptedGroundStation, d_north_m: float, alt_m: float) -> None:
    lat = HOME[0] + d_north_m / 110_940.0
    gcs.send(gcs.mav.command_int_encode(
        1, 1, C.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT, C.MAV_CMD_DO_REPOSITION, 0, 0, -1, 0, 0, 0,
        round(lat * 1e7), round(HOME[1] * 1e7), alt_m))
    assert gcs.last("COMMAND_ACK").result == C.MAV_RESULT_ACCEPTED


def test_gcs_loss_is_ignored_by_default() -> None:
    gcs = airborne()
    gcs.heartbeat = False
    gcs.run(20.0)
    assert gcs.last("HEARTBEAT").custom_mode == CopterMode.GUIDED
    assert "GCS Failsafe" not in gcs.texts()


def test_gcs_loss_triggers_rtl_when_enabled_and_clears_when_back() -> None:
    gcs = airborne(FS_GCS_ENABLE=1)
    goto(gcs, 60.0, 10.0)
    gcs.run(10.0)
    gcs.heartbeat = False
    gcs.run(4.0)
    assert mode(gcs) == CopterMode.GUIDED  # FS_GCS_TIMEOUT is 5 s
    gcs.run(2.0)
    assert mode(gcs) == CopterMode.RTL
    assert "GCS Failsafe" in gcs.texts()
    assert gcs.last("HEARTBEAT").system_status == C.MAV_STATE_CRITICAL
    gcs.heartbeat = True
    gcs.run(2.0)
    assert "GCS Failsafe Cleared" in gcs.texts()
    gcs.run(60.0)
    fc = gcs.copter.fc
    assert not fc.armed and math.hypot(fc.body.north_m, fc.body.east_m) < 1.0


def test_gcs_loss_can_land_instead() -> None:
    gcs = airborne(FS_GCS_ENABLE=5)
    gcs.heartbeat = False
    gcs.run(7.0)
    assert mode(gcs) == CopterMode.LAND


def test_low_battery_failsafe_returns_home_and_reports() -> None:
    # 16 Ah pack, low at 3200 mAh left: start just above it
    gcs = airborne(soc=0.215)
    goto(gcs, 100.0, 10.0)
    gcs.run(60.0)
    fc = gcs.copter.fc
    low = [t for t in gcs.texts() if t.startswith("Battery 1 is low")]
    assert low, gcs.texts()
    assert fc.battery_failsafe >= 1
    assert gcs.last("BATTERY_STATUS").charge_state in (C.MAV_BATTERY_CHARGE_STATE_LOW,
                                                       C.MAV_BATTERY_CHARGE_STATE_CRITICAL)
    assert fc.mode in (CopterMode.RTL, CopterMode.LAND)


def test_low_battery_refuses_arming() -> None:
    gcs = ScriptedGroundStation(CopterAutopilot(CopterConfig(battery_soc=0.1)))
    gcs.run(3.0)
    gcs.set_mode(CopterMode.GUIDED)
    assert gcs.arm() == C.MAV_RESULT_FAILED
    assert "PreArm: Battery failsafe on" in gcs.texts()


def test_fence_breach_triggers_rtl_and_outside_fence_refuses_arming() -> None:
    gcs = airborne(FENCE_ENABLE=1, FENCE_RADIUS=50, FENCE_ALT_MAX=40)
    goto(gcs, 120.0, 10.0)
    gcs.run(40.0)
    fc = gcs.copter.fc
    assert "Fence Breached" in gcs.texts()
    assert mode(gcs) == CopterMode.RTL
    status = [m for m in gcs.of_type("FENCE_STATUS") if m.breach_status]
    assert status and status[0].breach_type == C.FENCE_BREACH_BOUNDARY
    gcs.run(60.0)
    assert not fc.armed


def test_fence_altitude_breach_and_polygon() -> None:
    gcs = airborne(FENCE_ENABLE=1, FENCE_ALT_MAX=30, FENCE_ACTION=2)
    goto(gcs, 0.0, 45.0)
    gcs.run(15.0)
    assert "Fence Breached" in gcs.texts()
    assert mode(gcs) == CopterMode.LAND
    assert gcs.copter.fc.fence_breach_count == 1


def test_exclusion_zone_around_the_copter_blocks_arming() -> None:
    gcs = ScriptedGroundStation(CopterAutopilot(CopterConfig(params={"FENCE_ENABLE": 1})))
    gcs.run(3.0)
    gcs.send(gcs.mav.mission_count_encode(1, 1, 1, C.MAV_MISSION_TYPE_FENCE))
    gcs.send(gcs.mav.mission_item_int_encode(
        1, 1, 0, C.MAV_FRAME_GLOBAL, C.MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION, 0, 1, 30, 0, 0, 0,
        round(HOME[0] * 1e7), round(HOME[1] * 1e7), 0, C.MAV_MISSION_TYPE_FENCE))
    assert gcs.last("MISSION_ACK").type == C.MAV_MISSION_ACCEPTED
    gcs.set_mode(CopterMode.GUIDED)
    assert gcs.arm() == C.MAV_RESULT_FAILED
    assert "PreArm: vehicle outside fence" in gcs.texts()


def test_rtl_goes_to_the_nearest_rally_point() -> None:
    gcs = airborne(alt_m=10.0)
    rally = (HOME[0] + 150.0 / 110_940.0, HOME[1])
    gcs.send(gcs.mav.mission_count_encode(1, 1, 1, C.MAV_MISSION_TYPE_RALLY))
    gcs.send(gcs.mav.mission_item_int_encode(
        1, 1, 0, C.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT, C.MAV_CMD_NAV_RALLY_POINT, 0, 1, 0, 0, 0,
        0, round(rally[0] * 1e7), round(rally[1] * 1e7), 15.0, C.MAV_MISSION_TYPE_RALLY))
    assert gcs.last("MISSION_ACK").type == C.MAV_MISSION_ACCEPTED
    goto(gcs, 120.0, 10.0)
    gcs.run(25.0)
    assert gcs.command(C.MAV_CMD_NAV_RETURN_TO_LAUNCH) == C.MAV_RESULT_ACCEPTED
    gcs.run(60.0)
    fc = gcs.copter.fc
    assert not fc.armed
    assert math.hypot(fc.body.north_m - 150.0, fc.body.east_m) < 1.0


def test_fence_status_from_a_copter_booted_late_in_the_clock() -> None:
    copter = CopterAutopilot(CopterConfig(params={"FENCE_ENABLE": 1}), now_s=5000.0)
    gcs = ScriptedGroundStation(copter, now_s=5000.0)
    gcs.run(3.0)
    status = gcs.last("FENCE_STATUS")
    assert (status.breach_status, status.breach_count, status.breach_time) == (0, 0, 0)


def test_gps_loss_in_flight_lands_drifting_with_the_wind() -> None:
    copter = CopterAutopilot(CopterConfig(wind=Wind(north_m_s=3.0, east_m_s=0.0)))
    gcs = ScriptedGroundStation(copter)
    gcs.run(3.0)
    gcs.set_mode(CopterMode.GUIDED)
    gcs.arm()
    gcs.command(C.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, 20)
    gcs.run(12.0)
    fc = copter.fc
    north_before = fc.body.north_m
    gcs.send(gcs.mav.param_set_encode(1, 1, b"SIM_GPS_DISABLE", 1.0, C.MAV_PARAM_TYPE_INT8))
    gcs.run(0.5)
    assert mode(gcs) == CopterMode.GUIDED  # a second of grace
    gcs.run(1.0)
    assert mode(gcs) == CopterMode.LAND
    assert "EKF Failsafe: changed to LAND Mode" in gcs.texts()
    assert gcs.last("GPS_RAW_INT").fix_type == C.GPS_FIX_TYPE_NO_GPS
    gcs.run(60.0)
    assert not fc.armed
    assert fc.body.north_m - north_before > 30.0  # blown downwind while descending
    gcs.send(gcs.mav.param_set_encode(1, 1, b"SIM_GPS_DISABLE", 0.0, C.MAV_PARAM_TYPE_INT8))
    gcs.run(1.0)
    assert "EKF Failsafe Cleared" in gcs.texts()


def test_sudden_battery_loss_triggers_the_failsafe() -> None:
    gcs = airborne()
    copter = gcs.copter
    copter.fc.battery.lose(0.85)  # 15 % left: under BATT_LOW_MAH (20 %)
    gcs.run(1.0)
    assert any(t.startswith("Battery 1 is") for t in gcs.texts())
    assert mode(gcs) in (CopterMode.RTL, CopterMode.LAND)


def test_a_battery_swap_clears_the_battery_failsafe() -> None:
    gcs = ScriptedGroundStation(CopterAutopilot(CopterConfig(battery_soc=0.1)))
    gcs.run(3.0)
    gcs.set_mode(CopterMode.GUIDED)
    assert gcs.arm() == C.MAV_RESULT_FAILED
    fc = gcs.copter.fc
    fc.battery = Battery(fc.battery.spec, 1.0)  # the ground crew swaps the pack
    gcs.run(0.5)
    assert fc.battery_failsafe == 0
    assert gcs.arm() == C.MAV_RESULT_ACCEPTED
