"""The simulated copter as a ground station sees it: heartbeat, arming, modes, commands, streams."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from sim.copter import CopterAutopilot, CopterConfig, CopterMode
from tests.sim.copter_ground_station import ScriptedGroundStation

C = mavlink

TAKEOFF = C.MAV_CMD_NAV_TAKEOFF


def ready(sysid: int = 1, **params: float) -> ScriptedGroundStation:
    """A copter past its GPS fix, with a ground station talking to it."""
    gcs = ScriptedGroundStation(CopterAutopilot(CopterConfig(params=params), sysid=sysid))
    gcs.run(3.0)
    return gcs


def test_heartbeat_is_an_ardupilot_quadrotor_in_stabilize_standby() -> None:
    gcs = ScriptedGroundStation(CopterAutopilot(sysid=42))
    gcs.run(2.5)
    beats = gcs.of_type("HEARTBEAT")
    assert len(beats) == 3  # 1 Hz, first at boot
    hb = beats[-1]
    assert hb.get_srcSystem() == 42 and hb.get_srcComponent() == 1
    assert (hb.type, hb.autopilot) == (C.MAV_TYPE_QUADROTOR, C.MAV_AUTOPILOT_ARDUPILOTMEGA)
    assert hb.custom_mode == CopterMode.STABILIZE
    assert hb.base_mode & C.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED
    assert not hb.base_mode & C.MAV_MODE_FLAG_SAFETY_ARMED
    assert hb.system_status == C.MAV_STATE_STANDBY


def test_arming_is_refused_with_a_prearm_reason_until_gps_fix() -> None:
    gcs = ScriptedGroundStation(CopterAutopilot(CopterConfig(gps_fix_delay_s=5.0)))
    gcs.run(1.0)
    assert gcs.arm() == C.MAV_RESULT_FAILED
    assert "PreArm: Need 3D Fix" in gcs.texts()
    assert not gcs.last("SYS_STATUS").onboard_control_sensors_health & C.MAV_SYS_STATUS_PREARM_CHECK
    assert gcs.last("GPS_RAW_INT").fix_type < C.GPS_FIX_TYPE_3D_FIX
    gcs.run(5.0)
    assert gcs.last("SYS_STATUS").onboard_control_sensors_health & C.MAV_SYS_STATUS_PREARM_CHECK
    assert gcs.last("GPS_RAW_INT").fix_type == C.GPS_FIX_TYPE_3D_FIX
    assert gcs.of_type("HOME_POSITION"), "home is announced once set"
    assert gcs.arm() == C.MAV_RESULT_ACCEPTED
    gcs.run(1.0)
    assert gcs.last("HEARTBEAT").base_mode & C.MAV_MODE_FLAG_SAFETY_ARMED


def test_force_arm_skips_the_checks() -> None:
    gcs = ScriptedGroundStation(CopterAutopilot(CopterConfig(gps_fix_delay_s=50.0)))
    gcs.run(0.5)
    assert gcs.arm(force=True) == C.MAV_RESULT_ACCEPTED


def test_arming_in_auto_rtl_land_is_refused_as_mode_not_armable() -> None:
    gcs = ready()
    for mode in (CopterMode.AUTO, CopterMode.RTL, CopterMode.LAND):
        assert gcs.set_mode(mode) == C.MAV_RESULT_ACCEPTED
        assert gcs.arm() == C.MAV_RESULT_FAILED
        assert gcs.texts()[-1] == "Arm: Mode not armable"


def test_takeoff_only_in_guided_when_armed() -> None:
    gcs = ready()
    assert gcs.command(TAKEOFF, 0, 0, 0, 0, 0, 0, 10) == C.MAV_RESULT_FAILED  # disarmed
    assert gcs.set_mode(CopterMode.LOITER) == C.MAV_RESULT_ACCEPTED
    assert gcs.arm() == C.MAV_RESULT_ACCEPTED
    assert gcs.command(TAKEOFF, 0, 0, 0, 0, 0, 0, 10) == C.MAV_RESULT_FAILED  # not GUIDED
    assert gcs.set_mode(CopterMode.GUIDED) == C.MAV_RESULT_ACCEPTED
    assert gcs.command(TAKEOFF, 0, 0, 0, 0, 0, 0, 10) == C.MAV_RESULT_ACCEPTED
    gcs.run(1.0)
    assert gcs.last("EXTENDED_SYS_STATE").landed_state == C.MAV_LANDED_STATE_TAKEOFF
    gcs.run(12.0)
    assert gcs.last("EXTENDED_SYS_STATE").landed_state == C.MAV_LANDED_STATE_IN_AIR
    assert gcs.last("GLOBAL_POSITION_INT").relative_alt == pytest.approx(10_000, abs=300)
    # already flying: a second takeoff is refused, disarming in flight too
    assert gcs.command(TAKEOFF, 0, 0, 0, 0, 0, 0, 20) == C.MAV_RESULT_FAILED
    assert gcs.command(C.MAV_CMD_COMPONENT_ARM_DISARM, 0) == C.MAV_RESULT_FAILED


def test_guided_armed_but_no_takeoff_auto_disarms_after_disarm_delay() -> None:
    gcs = ready()
    gcs.set_mode(CopterMode.GUIDED)
    assert gcs.arm() == C.MAV_RESULT_ACCEPTED
    gcs.run(11.0)
    assert not gcs.copter.fc.armed
    assert any("auto-disarm" in t for t in gcs.texts())


def test_mode_that_needs_a_position_is_refused_without_gps() -> None:
    gcs = ScriptedGroundStation(CopterAutopilot(CopterConfig(gps_fix_delay_s=100.0)))
    gcs.run(0.5)
    assert gcs.set_mode(CopterMode.GUIDED) == C.MAV_RESULT_FAILED
    assert gcs.texts()[-1] == "Mode change to GUIDED failed: requires position"
    assert gcs.set_mode(CopterMode.STABILIZE) == C.MAV_RESULT_ACCEPTED
    assert gcs.set_mode(99) == C.MAV_RESULT_FAILED


def test_unknown_command_is_unsupported_and_set_mode_message_works() -> None:
    gcs = ready()
    assert gcs.command(31010) == C.MAV_RESULT_UNSUPPORTED
    gcs.send(gcs.mav.set_mode_encode(1, C.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED, CopterMode.LOITER))
    ack = gcs.last("COMMAND_ACK")
    assert (ack.command, ack.result) == (C.MAVLINK_MSG_ID_SET_MODE, C.MAV_RESULT_ACCEPTED)
    gcs.run(1.1)
    assert gcs.last("HEARTBEAT").custom_mode == CopterMode.LOITER


def test_land_and_rtl_commands_change_mode_and_land_disarms() -> None:
    gcs = ready()
    gcs.set_mode(CopterMode.GUIDED)
    gcs.arm()
    gcs.command(TAKEOFF, 0, 0, 0, 0, 0, 0, 8)
    gcs.run(8.0)
    assert gcs.command(C.MAV_CMD_NAV_LAND) == C.MAV_RESULT_ACCEPTED
    gcs.run(3.0)
    assert gcs.last("EXTENDED_SYS_STATE").landed_state == C.MAV_LANDED_STATE_LANDING
    gcs.run(30.0)
    assert not gcs.copter.fc.armed
    assert gcs.last("EXTENDED_SYS_STATE").landed_state == C.MAV_LANDED_STATE_ON_GROUND


def test_reposition_in_guided_flies_there() -> None:
    gcs = ready()
    gcs.set_mode(CopterMode.GUIDED)
    gcs.arm()
    gcs.command(TAKEOFF, 0, 0, 0, 0, 0, 0, 10)
    gcs.run(6.0)
    lat, lon = 35.6485, 140.0352
    before = len(gcs.received)
    gcs.send(gcs.mav.command_int_encode(
        1, 1, C.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT, C.MAV_CMD_DO_REPOSITION, 0, 0, 5.0, 0, 0, 0,
        round(lat * 1e7), round(lon * 1e7), 20.0))
    ack = next(m for m in gcs.received[before:] if m.get_type() == "COMMAND_ACK")
    assert ack.result == C.MAV_RESULT_ACCEPTED
    gcs.run(30.0)
    pos = gcs.last("GLOBAL_POSITION_INT")
    assert pos.lat == pytest.approx(lat * 1e7, abs=30)
    assert pos.lon == pytest.approx(lon * 1e7, abs=30)
    assert pos.relative_alt == pytest.approx(20_000, abs=500)


def test_legacy_guided_item_with_current_2_flies_there() -> None:
    gcs = ready()
    gcs.set_mode(CopterMode.GUIDED)
    gcs.arm()
    gcs.command(TAKEOFF, 0, 0, 0, 0, 0, 0, 10)
    gcs.run(6.0)
    gcs.send(gcs.mav.mission_item_int_encode(
        1, 1, 0, C.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT, C.MAV_CMD_NAV_WAYPOINT, 2, 1, 0, 0, 0, 0,
        356482000, 1400350000, 12.0))
    assert gcs.last("MISSION_ACK").type == C.MAV_MISSION_ACCEPTED
    gcs.run(20.0)
    assert gcs.last("GLOBAL_POSITION_INT").lat == pytest.approx(356482000, abs=30)


def test_set_message_interval_and_request_data_stream_set_rates() -> None:
    gcs = ready()
    interval = C.MAV_CMD_SET_MESSAGE_INTERVAL
    assert gcs.command(interval, C.MAVLINK_MSG_ID_GLOBAL_POSITION_INT, 100_000) == 0
    got = [m for m in gcs.run(2.0) if m.get_type() == "GLOBAL_POSITION_INT"]
    assert 19 <= len(got) <= 21
    assert gcs.command(interval, C.MAVLINK_MSG_ID_GLOBAL_POSITION_INT, -1) == 0
    assert not [m for m in gcs.run(2.0) if m.get_type() == "GLOBAL_POSITION_INT"]
    gcs.send(gcs.mav.request_data_stream_encode(1, 1, C.MAV_DATA_STREAM_ALL, 0, 0))
    assert [m.get_type() for m in gcs.run(3.0)] == ["HEARTBEAT"] * 3
    gcs.send(gcs.mav.request_data_stream_encode(1, 1, C.MAV_DATA_STREAM_POSITION, 5, 1))
    got = [m for m in gcs.run(2.0) if m.get_type() == "GLOBAL_POSITION_INT"]
    assert 9 <= len(got) <= 11
    assert gcs.command(interval, 9999, 100_000) == C.MAV_RESULT_FAILED
    # the heartbeat's interval too (fast mode asks for 2 s); 0 puts it back at 1 Hz
    assert gcs.command(interval, C.MAVLINK_MSG_ID_HEARTBEAT, 2_000_000) == 0
    assert [m.get_type() for m in gcs.run(6.0)].count("HEARTBEAT") == 3
    assert gcs.command(interval, C.MAVLINK_MSG_ID_HEARTBEAT, 0) == 0
    assert [m.get_type() for m in gcs.run(6.0)].count("HEARTBEAT") == 6


def test_request_message_sends_autopilot_version_and_home() -> None:
    gcs = ready()
    assert gcs.command(C.MAV_CMD_REQUEST_MESSAGE, C.MAVLINK_MSG_ID_AUTOPILOT_VERSION) == 0
    version = gcs.last("AUTOPILOT_VERSION")
    assert version.capabilities & C.MAV_PROTOCOL_CAPABILITY_MISSION_FENCE
    assert version.capabilities & C.MAV_PROTOCOL_CAPABILITY_MAVLINK2
    assert version.flight_sw_version >> 24 == 4
    assert gcs.command(C.MAV_CMD_REQUEST_MESSAGE, C.MAVLINK_MSG_ID_HOME_POSITION) == 0
    home = gcs.last("HOME_POSITION")
    assert home.latitude == 356480000 and home.altitude == 5000
    assert gcs.command(C.MAV_CMD_REQUEST_MESSAGE, 12345) == C.MAV_RESULT_FAILED


def test_parameters_read_set_list() -> None:
    gcs = ready()
    gcs.send(gcs.mav.param_set_encode(1, 1, b"FS_GCS_ENABLE", 1.0, C.MAV_PARAM_TYPE_INT8))
    value = gcs.last("PARAM_VALUE")
    assert value.param_id == "FS_GCS_ENABLE" and value.param_value == 1.0
    assert gcs.copter.fc.params["FS_GCS_ENABLE"] == 1
    gcs.send(gcs.mav.param_set_encode(1, 1, b"FS_GCS_ENABLE", 99.0, C.MAV_PARAM_TYPE_INT8))
    assert gcs.last("PARAM_VALUE").param_value == 1.0  # out of range: value unchanged
    count = len(gcs.of_type("PARAM_VALUE"))
    gcs.send(gcs.mav.param_set_encode(1, 1, b"NO_SUCH_PARAM", 1.0, C.MAV_PARAM_TYPE_INT8))
    assert len(gcs.of_type("PARAM_VALUE")) == count
    gcs.send(gcs.mav.param_request_read_encode(1, 1, b"RTL_ALT", -1))
    assert gcs.last("PARAM_VALUE").param_value == 1500.0
    gcs.send(gcs.mav.param_request_list_encode(1, 1))
    gcs.run(1.0)
    listed = {m.param_id for m in gcs.of_type("PARAM_VALUE")}
    assert len(listed) == len(gcs.copter.fc.params)


def test_garbage_and_foreign_messages_are_counted_and_harmless() -> None:
    gcs = ready()
    copter = gcs.copter
    copter.receive_datagram(b"\xfd\x09\x00\x00garbage" + bytes(range(256)), gcs.now_s)
    copter.receive_datagram(b"\xfd\xff\x00", gcs.now_s)  # a truncated packet
    assert copter.bad_packets > 0
    gcs.send(gcs.mav.command_long_encode(9, 1, C.MAV_CMD_COMPONENT_ARM_DISARM, 0,
                                         1, 0, 0, 0, 0, 0, 0))
    assert copter.ignored_messages >= 1 and not copter.fc.armed
    assert gcs.arm() == C.MAV_RESULT_ACCEPTED


def test_a_datagram_of_several_packets_gives_each_and_a_torn_one_is_dropped() -> None:
    gcs = ready()
    copter = gcs.copter
    received, bad = copter.messages_received, copter.bad_packets
    read = gcs.mav.param_request_read_encode(1, 1, b"RTL_ALT", -1).pack(gcs.mav)
    ping = gcs.mav.command_long_encode(1, 1, C.MAV_CMD_REQUEST_MESSAGE, 0,
                                       C.MAVLINK_MSG_ID_HOME_POSITION, 0, 0, 0, 0, 0, 0)
    copter.receive_datagram(read + ping.pack(gcs.mav) + b"junk", gcs.now_s)
    assert copter.messages_received == received + 2
    assert copter.bad_packets > bad
    copter.receive_datagram(read[:7], gcs.now_s)  # torn: dropped with its datagram
    copter.receive_datagram(read, gcs.now_s)
    assert copter.messages_received == received + 3
    gcs.run(0.1)
    assert gcs.last("PARAM_VALUE").param_value == 1500.0
    assert gcs.last("COMMAND_ACK").command == C.MAV_CMD_REQUEST_MESSAGE


def test_signing_drops_unsigned_packets() -> None:
    key = bytes(range(32))
    copter = CopterAutopilot(signing_key=key)
    gcs = ScriptedGroundStation(copter)
    gcs.run(3.0)
    with pytest.raises(AssertionError, match="no COMMAND_ACK"):
        gcs.arm()  # unsigned: dropped, never answered
    assert copter.bad_packets >= 1
    signed = ScriptedGroundStation(copter, now_s=gcs.now_s)
    signed.mav.signing.secret_key = key
    signed.mav.signing.sign_outgoing = True
    signed._rx.signing.secret_key = key
    assert signed.arm() == C.MAV_RESULT_ACCEPTED


finite_or_not = st.one_of(st.floats(width=32, allow_nan=True, allow_infinity=True),
                          st.integers(-70000, 70000).map(float))


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([400, 176, 22, 21, 20, 300, 178, 192, 211, 42600, 207, 179, 224, 193,
                        511, 510, 512, 520, 410, 17, 31000]),
       st.lists(finite_or_not, min_size=7, max_size=7))
def test_any_command_arguments_get_an_ack_never_a_crash(command: int, params: list[float]) -> None:
    gcs = SHARED
    result = gcs.command(command, *params)
    assert result in (C.MAV_RESULT_ACCEPTED, C.MAV_RESULT_FAILED, C.MAV_RESULT_DENIED,
                      C.MAV_RESULT_UNSUPPORTED)
    gcs.run(0.2)


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_break_the_copter(data: bytes) -> None:
    copter = SHARED.copter
    copter.receive_data(data, SHARED.now_s)
    copter.receive_datagram(data, SHARED.now_s)
    assert SHARED.command(C.MAV_CMD_REQUEST_MESSAGE, C.MAVLINK_MSG_ID_HOME_POSITION) == 0


SHARED = ready(sysid=1)


def test_brake_and_loiter_stop_and_hold_where_they_can() -> None:
    for mode in (CopterMode.BRAKE, CopterMode.LOITER):
        gcs = ready()
        gcs.set_mode(CopterMode.GUIDED)
        gcs.arm()
        gcs.command(TAKEOFF, 0, 0, 0, 0, 0, 0, 10)
        gcs.run(6.0)
        gcs.send(gcs.mav.command_int_encode(
            1, 1, C.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT, C.MAV_CMD_DO_REPOSITION, 0, 0, -1, 0, 0,
            0, 356580000, 1400350000, 10.0))  # about 1.1 km north
        gcs.run(10.0)
        fc = gcs.copter.fc
        speed = fc.body.ground_speed_m_s
        assert speed > 9.0
        start_n = fc.body.north_m
        assert gcs.set_mode(mode) == C.MAV_RESULT_ACCEPTED
        gcs.run(15.0)
        stop_n = fc.body.north_m
        assert fc.body.ground_speed_m_s < 0.1
        # within the stopping distance v^2 / (2 a) (and a little for the reaction)
        assert stop_n - start_n <= speed**2 / (2 * fc.config.limits.horiz_accel_m_s2) + 2.0
        gcs.run(10.0)
        assert abs(fc.body.north_m - stop_n) < 0.1 and gcs.copter.fc.armed
