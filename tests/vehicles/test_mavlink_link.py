"""The sans-I/O link against a scripted autopilot: heartbeats, link state, commands, telemetry."""

from __future__ import annotations

import pytest

from tests.vehicles.mavlink_peer import DRONE_ADDR, C, LinkHarness, ScriptedAutopilot
from vehicles.mavlink.commands import CommandRejectedError
from vehicles.mavlink.events import (
    ArmedChanged,
    DroneDiscovered,
    LinkState,
    LinkStateChanged,
    MissionItemReached,
    ModeChanged,
    StatusText,
)
from vehicles.mavlink.link import LinkConfig
from vehicles.mavlink.modes import FlightMode
from vehicles.mavlink.operation import BusyError, OperationTimeoutError


def connected(config: LinkConfig | None = None, autopilot: int = C.MAV_AUTOPILOT_ARDUPILOTMEGA
              ) -> tuple[LinkHarness, ScriptedAutopilot]:
    h = LinkHarness(config)
    ap = ScriptedAutopilot(autopilot=autopilot)
    h.deliver(ap.heartbeat())
    return h, ap


def test_first_heartbeat_makes_a_drone_and_we_heartbeat_at_1_hz() -> None:
    h, _ = connected()
    drone = h.station.drones[1]
    assert drone.address == DRONE_ADDR and drone.link_state is LinkState.UP
    events = h.station.events()
    assert isinstance(events[0], DroneDiscovered) and events[0].address == DRONE_ADDR
    beats = []
    for _ in range(50):
        beats += h.of_type(h.advance(0.1), "HEARTBEAT")
    assert 5 <= len(beats) <= 6  # 1 Hz over 5 s
    assert all(b.type == C.MAV_TYPE_GCS and b.get_srcSystem() == 255 for b in beats)


def test_link_state_degrades_is_lost_and_recovers_with_streams_rerequested() -> None:
    h, ap = connected(LinkConfig(stream_rates_hz={"GLOBAL_POSITION_INT": 10.0}))
    h.advance(0.1)
    h.deliver(ap.ack(C.MAV_CMD_SET_MESSAGE_INTERVAL, C.MAV_RESULT_ACCEPTED))
    h.station.events()
    drone = h.station.drones[1]
    h.advance(2.6)
    assert drone.link_state is LinkState.DEGRADED
    h.advance(2.5)
    assert drone.link_state is LinkState.LOST
    sent = h.deliver(ap.heartbeat())
    assert drone.link_state is LinkState.UP
    states = [(e.old, e.new) for e in h.station.events() if isinstance(e, LinkStateChanged)]
    assert states == [(LinkState.UP, LinkState.DEGRADED), (LinkState.DEGRADED, LinkState.LOST),
                      (LinkState.LOST, LinkState.UP)]
    intervals = [m for m in h.of_type(sent, "COMMAND_LONG")
                 if m.command == C.MAV_CMD_SET_MESSAGE_INTERVAL]
    assert intervals and intervals[0].param1 == C.MAVLINK_MSG_ID_GLOBAL_POSITION_INT
    assert intervals[0].param2 == pytest.approx(100_000.0)  # 10 Hz = 100 000 us


def test_stream_requests_go_one_at_a_time_and_fall_back_to_request_data_stream() -> None:
    h = LinkHarness(LinkConfig(stream_rates_hz={"SYS_STATUS": 1.0, "GPS_RAW_INT": 2.0,
                                                "BATTERY_STATUS": 1.0, "HOME_POSITION": 1.0}))
    ap = ScriptedAutopilot()
    sent = h.deliver(ap.heartbeat())
    first = h.of_type(sent, "COMMAND_LONG")
    assert [m.param1 for m in first] == [C.MAVLINK_MSG_ID_SYS_STATUS]
    sent = h.deliver(ap.ack(C.MAV_CMD_SET_MESSAGE_INTERVAL, C.MAV_RESULT_ACCEPTED))
    second = h.of_type(sent, "COMMAND_LONG")
    assert [m.param1 for m in second] == [C.MAVLINK_MSG_ID_GPS_RAW_INT]
    sent = h.deliver(ap.ack(C.MAV_CMD_SET_MESSAGE_INTERVAL, C.MAV_RESULT_DENIED))
    third = h.of_type(sent, "COMMAND_LONG")  # one message refused: the others still asked
    assert [m.param1 for m in third] == [C.MAVLINK_MSG_ID_BATTERY_STATUS]
    assert not h.of_type(sent, "REQUEST_DATA_STREAM")
    assert h.station.drones[1].streams_refused == [C.MAVLINK_MSG_ID_GPS_RAW_INT]
    sent = h.deliver(ap.ack(C.MAV_CMD_SET_MESSAGE_INTERVAL, C.MAV_RESULT_UNSUPPORTED))
    assert h.of_type(sent, "REQUEST_DATA_STREAM")  # an old autopilot: legacy stream groups
    assert not h.of_type(h.advance(2.0), "COMMAND_LONG")


def test_command_accepted_carries_attempts_and_retries_increment_confirmation() -> None:
    h, ap = connected()
    drone = h.station.drones[1]
    op = drone.arm(h.now_s)
    first = h.of_type(h.collect(), "COMMAND_LONG")
    assert first[0].command == C.MAV_CMD_COMPONENT_ARM_DISARM and first[0].confirmation == 0
    retry = h.of_type(h.advance(1.6), "COMMAND_LONG")
    assert [m.confirmation for m in retry] == [1]
    h.deliver(ap.ack(C.MAV_CMD_COMPONENT_ARM_DISARM, C.MAV_RESULT_ACCEPTED))
    assert op.done and op.result is not None and op.result.attempts == 2


def test_command_times_out_after_its_attempts() -> None:
    h, _ = connected()
    op = h.station.drones[1].land(h.now_s)
    h.collect()
    confirmations = []
    for _ in range(6):
        confirmations += [m.confirmation for m in h.of_type(h.advance(1.0), "COMMAND_LONG")
                          if m.command == C.MAV_CMD_NAV_LAND]
    assert confirmations == [1, 2]
    assert isinstance(op.error, OperationTimeoutError)


def test_in_progress_stops_retries_then_the_final_ack_finishes() -> None:
    h, ap = connected()
    drone = h.station.drones[1]
    op = drone.takeoff(20.0, h.now_s)
    h.deliver(ap.ack(C.MAV_CMD_NAV_TAKEOFF, C.MAV_RESULT_IN_PROGRESS, progress=40))
    assert drone.commands.progress_pct(C.MAV_CMD_NAV_TAKEOFF) == 40
    resent = [m for m in h.of_type(h.advance(5.0), "COMMAND_LONG")
              if m.command == C.MAV_CMD_NAV_TAKEOFF]
    assert resent == []
    assert not op.done
    h.deliver(ap.ack(C.MAV_CMD_NAV_TAKEOFF, C.MAV_RESULT_ACCEPTED))
    assert op.result is not None and op.result.attempts == 1


def test_in_progress_without_a_final_ack_times_out() -> None:
    h, ap = connected()
    op = h.station.drones[1].takeoff(20.0, h.now_s)
    h.deliver(ap.ack(C.MAV_CMD_NAV_TAKEOFF, C.MAV_RESULT_IN_PROGRESS))
    h.advance(29.0)
    assert not op.done
    h.advance(2.0)
    assert isinstance(op.error, OperationTimeoutError)


REFUSALS = [r for r, e in C.enums["MAV_RESULT"].items()
            if r not in (C.MAV_RESULT_ACCEPTED, C.MAV_RESULT_IN_PROGRESS)
            and not e.name.endswith("ENUM_END")]


@pytest.mark.parametrize("result", [*REFUSALS, 6, 10])  # 6 CANCELLED, 10 newer than the dialect
def test_every_refusal_is_reported_with_its_result(result: int) -> None:
    h, ap = connected()
    op = h.station.drones[1].arm(h.now_s)
    h.deliver(ap.ack(C.MAV_CMD_COMPONENT_ARM_DISARM, result))
    assert isinstance(op.error, CommandRejectedError) and op.error.result == result
    entry = C.enums["MAV_RESULT"].get(result)
    assert (entry.name if entry else f"MAV_RESULT_{result}") in str(op.error)


def test_one_outstanding_command_per_id_others_in_parallel() -> None:
    h, ap = connected()
    drone = h.station.drones[1]
    first = drone.arm(h.now_s)
    second = drone.disarm(h.now_s)  # same command id
    third = drone.return_to_launch(h.now_s)
    assert isinstance(second.error, BusyError)
    assert not first.done and not third.done
    h.deliver(ap.ack(C.MAV_CMD_NAV_RETURN_TO_LAUNCH, C.MAV_RESULT_ACCEPTED))
    h.deliver(ap.ack(C.MAV_CMD_NAV_LAND, C.MAV_RESULT_ACCEPTED))  # never asked: counted
    assert third.result is not None and not first.done
    assert drone.commands.unexpected_acks == 1


def test_set_mode_uses_each_autopilots_numbers() -> None:
    h, _ = connected()
    h.station.drones[1].set_mode(FlightMode.BRAKE, h.now_s)
    msg = h.of_type(h.collect(), "COMMAND_LONG")[0]
    assert (msg.command, msg.param1, msg.param2) == (C.MAV_CMD_DO_SET_MODE, 1.0, 17.0)
    h2, _ = connected(autopilot=C.MAV_AUTOPILOT_PX4)
    h2.station.drones[1].set_mode(FlightMode.AUTO, h2.now_s)
    msg = h2.of_type(h2.collect(), "COMMAND_LONG")[0]
    assert (msg.param2, msg.param3) == (4.0, 4.0)  # AUTO main mode, MISSION sub mode


def test_goto_is_a_command_int_reposition_in_the_relative_frame() -> None:
    h, _ = connected()
    h.station.drones[1].goto(35.6512345, 140.0412345, 42.0, h.now_s)
    msg = h.of_type(h.collect(), "COMMAND_INT")[0]
    assert msg.command == C.MAV_CMD_DO_REPOSITION
    assert (msg.x, msg.y, msg.z) == (356512345, 1400412345, 42.0)
    assert msg.frame == C.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT
    assert int(msg.param2) & C.MAV_DO_REPOSITION_FLAGS_CHANGE_MODE


def test_telemetry_fills_the_state_and_events() -> None:
    h, ap = connected()
    m = ap.mav
    h.deliver(ap.packet(m.global_position_int_encode(1000, 356480000, 1400350000, 35000, 30000,
                                                     300, -400, -50, 9000)))
    h.deliver(ap.packet(m.gps_raw_int_encode(0, 3, 356480000, 1400350000, 35000, 80, 65535,
                                             500, 9000, 12)))
    h.deliver(ap.packet(m.home_position_encode(356480000, 1400350000, 5000, 0, 0, 0,
                                               [1, 0, 0, 0], 0, 0, 0)))
    h.deliver(ap.packet(m.extended_sys_state_encode(0, C.MAV_LANDED_STATE_IN_AIR)))
    h.deliver(ap.packet(m.battery_status_encode(0, 0, 0, 2500, [4100, 4100, 4100, 4100] +
                                                [65535] * 6, 1200, 3300, -1, 71)))
    h.deliver(ap.heartbeat(custom_mode=3, armed=True))
    h.deliver(ap.packet(m.mission_item_reached_encode(2)))
    h.deliver(ap.packet(m.mission_current_encode(3, 9, C.MISSION_STATE_ACTIVE, 0)))
    s = h.station.drones[1].state
    assert (s.mission_seq, s.mission_total, s.mission_state) == (3, 9, "ACTIVE")
    assert (s.lat_deg, s.lon_deg, s.alt_amsl_m, s.alt_rel_m) == (35.648, 140.035, 35.0, 30.0)
    assert s.ground_speed_m_s == pytest.approx(5.0) and s.heading_deg == 90.0
    assert (s.gps_fix_type, s.satellites, s.hdop) == (3, 12, 0.8)
    assert s.home is not None and s.home.alt_amsl_m == 5.0
    assert s.landed_state == "IN_AIR" and s.battery_remaining_pct == 71
    assert s.battery_voltage_v == pytest.approx(16.4) and s.battery_consumed_mah == 3300
    assert s.armed and s.mode == "AUTO" and s.mission_reached_seq == 2
    kinds = [type(e) for e in h.station.events()]
    assert ArmedChanged in kinds and ModeChanged in kinds and MissionItemReached in kinds


def test_readiness_names_what_is_missing_and_prearm_text() -> None:
    h, ap = connected()
    drone = h.station.drones[1]
    m = ap.mav
    reasons = drone.readiness().reasons
    assert any("3-D" in r for r in reasons) and any("home" in r for r in reasons)
    bit = C.MAV_SYS_STATUS_PREARM_CHECK
    h.deliver(ap.packet(m.statustext_encode(C.MAV_SEVERITY_CRITICAL,
                                            b"PreArm: Battery below minimum")))
    h.deliver(ap.packet(m.sys_status_encode(bit, bit, 0, 0, 15800, 1200, 80, 0, 0, 0, 0, 0, 0)))
    assert "PreArm: Battery below minimum" in drone.readiness().reasons
    h.deliver(ap.packet(m.gps_raw_int_encode(0, 3, 0, 0, 0, 80, 65535, 0, 0, 10)))
    h.deliver(ap.packet(m.home_position_encode(1, 1, 1, 0, 0, 0, [1, 0, 0, 0], 0, 0, 0)))
    h.deliver(ap.packet(m.sys_status_encode(bit, bit, bit, 0, 15800, 1200, 80, 0, 0, 0, 0, 0,
                                            0)))
    assert drone.readiness().ready, drone.readiness().reasons
    texts = [e.text for e in h.station.events() if isinstance(e, StatusText)]
    assert texts == ["PreArm: Battery below minimum"]


def test_chunked_statustext_is_joined() -> None:
    h, ap = connected()
    m = ap.mav
    part1 = b"x" * 50
    h.deliver(ap.packet(m.statustext_encode(C.MAV_SEVERITY_INFO, part1, 7, 0)))
    h.deliver(ap.packet(m.statustext_encode(C.MAV_SEVERITY_INFO, b"end", 7, 1)))
    texts = [e.text for e in h.station.events() if isinstance(e, StatusText)]
    assert texts == ["x" * 50 + "end"]


@pytest.mark.parametrize("call", [
    lambda d, t: d.takeoff(float("nan"), t), lambda d, t: d.takeoff(-3.0, t),
    lambda d, t: d.goto(95.0, 140.0, 30.0, t), lambda d, t: d.goto(35.0, float("inf"), 30.0, t),
    lambda d, t: d.change_speed(0.0, t), lambda d, t: d.change_speed(float("nan"), t)])
def test_bad_arguments_raise_before_anything_is_sent(call: object) -> None:
    h, _ = connected()
    h.collect()
    with pytest.raises(ValueError, match="invalid"):
        call(h.station.drones[1], h.now_s)  # type: ignore[operator]
    assert h.collect() == []


def test_commands_before_the_first_heartbeat_fail_not_connected() -> None:
    h = LinkHarness()
    drone = h.station.expect(5, 0.0)
    assert drone.link_state is LinkState.CONNECTING
    op = drone.arm(0.0)
    assert op.done and "not heard from" in str(op.error)


def test_only_the_autopilots_heartbeat_keeps_the_link_up() -> None:
    h = LinkHarness()
    companion = C.MAVLink(None, srcSystem=1, srcComponent=191)

    def companion_beat() -> bytes:
        msg = companion.heartbeat_encode(C.MAV_TYPE_ONBOARD_CONTROLLER, C.MAV_AUTOPILOT_INVALID,
                                         0, 0, C.MAV_STATE_ACTIVE)
        return bytes(msg.pack(companion))

    h.deliver(companion_beat())
    assert 1 not in h.station.drones and h.station.counters["not_a_vehicle"] == 1
    ap = ScriptedAutopilot(1)
    h.deliver(ap.heartbeat())
    drone = h.station.drones[1]
    for _ in range(6):
        h.advance(1.0)
        h.deliver(companion_beat())
    assert drone.link_state is LinkState.LOST
    drone.arm(h.now_s)
    sent = h.of_type(h.collect(), "COMMAND_LONG")
    assert sent[0].target_component == 1


def test_mission_control_commands_encode_as_the_standard_says() -> None:
    from vehicles.mavlink import commands

    h, _ = connected()
    drone = h.station.drones[1]
    for spec in (commands.fence_enable(True), commands.set_mission_current(4),
                 commands.pause_continue(resume=False), commands.request_message(242),
                 commands.gripper_release()):
        drone.command(spec, h.now_s)
    sent = [(m.command, m.param1, m.param2) for m in h.of_type(h.collect(), "COMMAND_LONG")]
    assert sent == [(C.MAV_CMD_DO_FENCE_ENABLE, 1.0, 0.0),
                    (C.MAV_CMD_DO_SET_MISSION_CURRENT, 4.0, 0.0),
                    (C.MAV_CMD_DO_PAUSE_CONTINUE, 0.0, 0.0),
                    (C.MAV_CMD_REQUEST_MESSAGE, 242.0, 0.0),
                    (C.MAV_CMD_DO_GRIPPER, 1.0, float(C.GRIPPER_ACTION_RELEASE))]


def test_packet_loss_from_sequence_numbers_degrades_an_on_time_link() -> None:
    from vehicles.mavlink.quality import LossMeter

    meter = LossMeter(alpha=0.1)
    for seq in range(0, 400, 2):  # every other packet lost, across the 8-bit wrap
        meter.observe(seq % 256)
    assert 0.4 < meter.loss < 0.6 and meter.lost == 199
    meter.observe(397 % 256)  # a late one: not a 255-packet loss
    assert meter.lost == 199

    h, ap = connected()
    drone = h.station.drones[1]
    for _ in range(40):  # heartbeats on time, but half the packets go missing
        h.deliver(ap.heartbeat())
        ap.mav.seq = (ap.mav.seq + 1) % 256
        h.advance(0.5)
    assert drone.link_state is LinkState.DEGRADED and drone.loss.loss > 0.25
    for _ in range(60):  # a clean link again
        h.deliver(ap.heartbeat())
        h.advance(0.5)
    assert drone.link_state is LinkState.UP and drone.loss.loss < 0.10


def test_px4_preflight_failures_are_readiness_reasons() -> None:
    h, ap = connected(autopilot=C.MAV_AUTOPILOT_PX4)
    h.deliver(ap.packet(ap.mav.statustext_encode(C.MAV_SEVERITY_CRITICAL,
                                                 b"Preflight Fail: Compass Sensor 0 missing")))
    assert "Preflight Fail: Compass Sensor 0 missing" in h.station.drones[1].readiness().reasons


def test_config_for_a_fast_clock_stretches_round_trip_timeouts_only() -> None:
    base = LinkConfig()
    fast = base.for_clock_speed(60.0)
    assert fast.command_timing.ack_timeout_s == pytest.approx(90.0)
    assert fast.mission_timing.item_timeout_s == pytest.approx(90.0)
    assert fast.param_timing.timeout_s == pytest.approx(60.0)
    assert (fast.heartbeat_period_s, fast.lost_after_s) == (base.heartbeat_period_s,
                                                            base.lost_after_s)
    assert base.for_clock_speed(0.5) is base
