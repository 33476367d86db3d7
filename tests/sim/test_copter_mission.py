"""Mission and fence transfers as ArduPilot does them, and flying a delivery mission in AUTO."""

from __future__ import annotations

import math

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from sim.copter import CopterAutopilot, CopterConfig, CopterMode
from tests.sim.copter_ground_station import ScriptedGroundStation

C = mavlink

HOME = (35.6480, 140.0350)
REL = C.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT
FENCE = C.MAV_MISSION_TYPE_FENCE


def at(d_north_m: float, d_east_m: float) -> tuple[float, float]:
    return (HOME[0] + d_north_m / 110_940.0,
            HOME[1] + d_east_m / (111_320.0 * math.cos(math.radians(HOME[0]))))


def wp(cmd: int, lat_lon: tuple[float, float] = (0.0, 0.0), alt: float = 0.0,
       p1: float = 0.0, p2: float = 0.0, p3: float = 0.0, p4: float = 0.0,
       frame: int = REL) -> tuple[int, int, float, float, float, float, float, float, float]:
    return (frame, cmd, p1, p2, p3, p4, lat_lon[0], lat_lon[1], alt)


HOME_ITEM = wp(C.MAV_CMD_NAV_WAYPOINT, HOME, 0.0, frame=C.MAV_FRAME_GLOBAL)
DELIVERY = [
    HOME_ITEM,
    wp(C.MAV_CMD_NAV_TAKEOFF, alt=20),                                      # 1
    wp(C.MAV_CMD_DO_CHANGE_SPEED, p1=1, p2=6, p3=-1, frame=C.MAV_FRAME_MISSION),  # 2
    wp(C.MAV_CMD_NAV_WAYPOINT, at(150, 0), 25),                              # 3
    wp(C.MAV_CMD_NAV_LAND, at(150, 100), 0),                                 # 4
    wp(C.MAV_CMD_NAV_DELAY, p1=3),                                           # 5
    wp(C.MAV_CMD_DO_GRIPPER, p1=1, p2=C.GRIPPER_ACTION_RELEASE, frame=C.MAV_FRAME_MISSION),
    wp(C.MAV_CMD_NAV_TAKEOFF, alt=15),                                       # 7
    wp(C.MAV_CMD_NAV_RETURN_TO_LAUNCH),                                      # 8
]


def ready(**kwargs: object) -> ScriptedGroundStation:
    gcs = ScriptedGroundStation(CopterAutopilot(CopterConfig(payload_kg=2.0), **kwargs))  # type: ignore[arg-type]
    gcs.run(3.0)
    return gcs


def test_upload_asks_with_legacy_mission_request_like_ardupilot() -> None:
    gcs = ready()
    assert gcs.upload(DELIVERY) == C.MAV_MISSION_ACCEPTED
    assert gcs.of_type("MISSION_REQUEST") and not gcs.of_type("MISSION_REQUEST_INT")
    assert [m.seq for m in gcs.of_type("MISSION_REQUEST")] == list(range(len(DELIVERY)))
    assert gcs.copter.fc.params["MIS_TOTAL"] == len(DELIVERY)


def test_upload_can_ask_with_mission_request_int_and_accepts_float_items() -> None:
    gcs = ready(request_int=True)
    assert gcs.upload(DELIVERY, use_int=False) == C.MAV_MISSION_ACCEPTED
    assert len(gcs.of_type("MISSION_REQUEST_INT")) == len(DELIVERY)
    stored = gcs.copter.missions.items[C.MAV_MISSION_TYPE_MISSION][3]
    assert stored.x == pytest.approx(at(150, 0)[0] * 1e7, abs=50)  # float32 on the wire


@pytest.mark.parametrize("legacy", [False, True])
def test_download_answers_both_request_kinds_with_home_at_zero(legacy: bool) -> None:
    gcs = ready()
    gcs.upload(DELIVERY)
    gcs.send(gcs.mav.mission_request_list_encode(1, 1, 0))
    assert gcs.last("MISSION_COUNT").count == len(DELIVERY)
    for seq in range(len(DELIVERY)):
        if legacy:
            gcs.send(gcs.mav.mission_request_encode(1, 1, seq, 0))
        else:
            gcs.send(gcs.mav.mission_request_int_encode(1, 1, seq, 0))
    items = gcs.of_type("MISSION_ITEM" if legacy else "MISSION_ITEM_INT")
    assert [i.seq for i in items] == list(range(len(DELIVERY)))
    assert [i.command for i in items[1:]] == [d[1] for d in DELIVERY[1:]]
    lat = items[3].x if not legacy else round(items[3].x * 1e7)
    assert lat == pytest.approx(at(150, 0)[0] * 1e7, abs=1 if not legacy else 50)
    assert items[0].z == pytest.approx(5.0)  # home, AMSL
    gcs.send(gcs.mav.mission_request_int_encode(1, 1, 99, 0))
    assert gcs.last("MISSION_ACK").type == C.MAV_MISSION_INVALID_SEQUENCE


def test_upload_errors_get_the_ardupilot_results() -> None:
    gcs = ready()
    assert gcs.upload([HOME_ITEM, wp(31000)]) == C.MAV_MISSION_UNSUPPORTED
    assert gcs.upload([HOME_ITEM, wp(C.MAV_CMD_NAV_WAYPOINT, HOME, 10, p1=math.nan)]) == (
        C.MAV_MISSION_INVALID_PARAM1)
    assert gcs.upload([HOME_ITEM, wp(C.MAV_CMD_NAV_WAYPOINT, HOME, 10, frame=C.MAV_FRAME_BODY_FRD)]
                      ) == C.MAV_MISSION_UNSUPPORTED_FRAME
    gcs.send(gcs.mav.mission_count_encode(1, 1, 5000, 0))
    assert gcs.last("MISSION_ACK").type == C.MAV_MISSION_NO_SPACE
    # an item out of order
    gcs.send(gcs.mav.mission_count_encode(1, 1, 3, 0))
    gcs.send(gcs.mav.mission_item_int_encode(1, 1, 2, REL, 16, 0, 1, 0, 0, 0, 0, 1, 1, 1, 0))
    assert gcs.last("MISSION_ACK").type == C.MAV_MISSION_INVALID_SEQUENCE
    # a second ground station may not barge into the transfer
    other = ScriptedGroundStation(gcs.copter, now_s=gcs.now_s, sysid=200)
    other.send(other.mav.mission_count_encode(1, 1, 2, 0))
    assert other.last("MISSION_ACK").type == C.MAV_MISSION_DENIED
    # nothing more comes: the copter re-asks each second, then gives up after 8 s
    gcs.run(9.0)
    requests = [m for m in gcs.of_type("MISSION_REQUEST") if m.seq == 0]
    assert len(requests) >= 8
    assert gcs.last("MISSION_ACK").type == C.MAV_MISSION_OPERATION_CANCELLED
    assert gcs.copter.missions.items[C.MAV_MISSION_TYPE_MISSION] == []


def test_clear_all_and_fence_validation() -> None:
    gcs = ready()
    square = [at(-200, -200), at(-200, 200), at(200, 200), at(200, -200)]
    incl = C.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION
    fence = [wp(incl, v, p1=4, frame=C.MAV_FRAME_GLOBAL) for v in square]
    fence.append(wp(C.MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION, at(50, 50), p1=20,
                    frame=C.MAV_FRAME_GLOBAL))
    assert gcs.upload(fence, FENCE) == C.MAV_MISSION_ACCEPTED
    assert len(gcs.copter.fc.fence_zones) == 2
    assert gcs.upload(fence[:3], FENCE) == C.MAV_MISSION_INVALID  # polygon cut short
    assert gcs.upload([wp(C.MAV_CMD_NAV_WAYPOINT, HOME)], FENCE) == C.MAV_MISSION_UNSUPPORTED
    gcs.send(gcs.mav.mission_clear_all_encode(1, 1, FENCE))
    assert gcs.last("MISSION_ACK").type == C.MAV_MISSION_ACCEPTED
    assert gcs.copter.fc.fence_zones == []


def fly_delivery(gcs: ScriptedGroundStation) -> None:
    assert gcs.upload(DELIVERY) == C.MAV_MISSION_ACCEPTED
    assert gcs.set_mode(CopterMode.GUIDED) == C.MAV_RESULT_ACCEPTED
    assert gcs.arm() == C.MAV_RESULT_ACCEPTED
    assert gcs.command(C.MAV_CMD_MISSION_START) == C.MAV_RESULT_ACCEPTED


def test_delivery_mission_flies_from_the_ground_to_the_end() -> None:
    gcs = ready()
    gcs.copter.fc.params.set("MIS_OPTIONS", 4)  # continue after land (a takeoff follows)
    fly_delivery(gcs)
    gcs.run(30.0)
    speeds = [m.groundspeed for m in gcs.of_type("VFR_HUD")]
    assert max(speeds) == pytest.approx(6.0, abs=0.3)  # DO_CHANGE_SPEED, not WPNAV_SPEED 10
    gcs.run(200.0)
    fc = gcs.copter.fc
    assert [m.seq for m in gcs.of_type("MISSION_ITEM_REACHED")] == [1, 3, 4, 5, 7, 8]
    texts = gcs.texts()
    assert "Gripper load released (2.0 kg)" in texts and "Mission complete" in texts
    assert fc.payload_kg == 0.0 and not fc.armed
    assert fc.mission.payload_events[0][1] == "gripper"
    pos = gcs.last("GLOBAL_POSITION_INT")
    assert (pos.lat, pos.lon, pos.relative_alt) == (356480000, 1400350000, 0)
    states = [m.mission_state for m in gcs.of_type("MISSION_CURRENT")]
    assert C.MISSION_STATE_COMPLETE in states
    assert states[-1] == C.MISSION_STATE_NOT_STARTED  # ArduCopter resets the mission on disarm
    # the landing spot: the copter was on the ground at the drop-off during the delay
    landed = [m for m in gcs.of_type("EXTENDED_SYS_STATE")
              if m.landed_state == C.MAV_LANDED_STATE_ON_GROUND]
    assert len(landed) > 3


def test_without_continue_after_land_the_mission_stops_at_the_first_landing() -> None:
    gcs = ready()  # MIS_OPTIONS 0, ArduPilot's default
    fly_delivery(gcs)
    gcs.run(120.0)
    fc = gcs.copter.fc
    assert [m.seq for m in gcs.of_type("MISSION_ITEM_REACHED")] == [1, 3]  # not the landing
    assert not fc.armed and "Disarming motors: landed" in gcs.texts()
    assert fc.payload_kg == 2.0  # the gripper item after the delay never ran
    assert fc.mission.state == C.MISSION_STATE_NOT_STARTED and fc.mission.current_seq == 1
    assert fc.lat_lon_deg != pytest.approx((35.6480, 140.0350))  # down at the drop-off


def test_a_ground_wait_longer_than_disarm_delay_ends_the_mission() -> None:
    gcs = ready()
    gcs.copter.fc.params.set("MIS_OPTIONS", 4)
    gcs.copter.fc.params.set("DISARM_DELAY", 2)  # shorter than the 3 s NAV_DELAY
    fly_delivery(gcs)
    gcs.run(120.0)
    reached = [m.seq for m in gcs.of_type("MISSION_ITEM_REACHED")]
    assert reached == [1, 3, 4]  # landed, then disarmed while waiting: no takeoff
    assert "Disarming motors: auto-disarm" in gcs.texts() and not gcs.copter.fc.armed


def test_auto_mode_alone_does_not_take_off_but_mission_start_does() -> None:
    gcs = ready()
    gcs.upload(DELIVERY)
    gcs.set_mode(CopterMode.GUIDED)
    gcs.arm()
    assert gcs.set_mode(CopterMode.AUTO) == C.MAV_RESULT_ACCEPTED
    gcs.run(3.0)  # ArduPilot waits for the throttle (AUTO_OPTIONS bit 1 off)
    assert gcs.last("GLOBAL_POSITION_INT").relative_alt == 0
    assert gcs.command(C.MAV_CMD_MISSION_START) == C.MAV_RESULT_ACCEPTED
    gcs.run(5.0)
    assert gcs.last("GLOBAL_POSITION_INT").relative_alt > 3000


def test_auto_needs_a_takeoff_first_when_armed_on_the_ground() -> None:
    gcs = ready()
    gcs.upload([HOME_ITEM, wp(C.MAV_CMD_NAV_WAYPOINT, at(50, 0), 20)])
    gcs.set_mode(CopterMode.GUIDED)
    gcs.arm()
    assert gcs.set_mode(CopterMode.AUTO) == C.MAV_RESULT_FAILED
    assert "Auto: Missing Takeoff Cmd" in gcs.texts()


def test_do_jump_repeats_and_winch_releases_after_lowering() -> None:
    gcs = ready()
    mission = [
        HOME_ITEM,
        wp(C.MAV_CMD_NAV_TAKEOFF, alt=10),                                   # 1
        wp(C.MAV_CMD_NAV_WAYPOINT, at(30, 0), 10),                           # 2
        wp(C.MAV_CMD_NAV_WAYPOINT, at(0, 0), 10),                            # 3
        wp(C.MAV_CMD_DO_JUMP, p1=2, p2=2, frame=C.MAV_FRAME_MISSION),        # 4
        wp(C.MAV_CMD_NAV_LOITER_TIME, at(0, 30), 10, p1=12),                 # 5
        wp(C.MAV_CMD_DO_WINCH, p1=1, p2=C.WINCH_RELATIVE_LENGTH_CONTROL, p3=8, p4=1,
           frame=C.MAV_FRAME_MISSION),                                       # 6
        wp(C.MAV_CMD_NAV_LAND),                                              # 7
    ]
    assert gcs.upload(mission) == C.MAV_MISSION_ACCEPTED
    gcs.set_mode(CopterMode.GUIDED)
    gcs.arm()
    gcs.command(C.MAV_CMD_MISSION_START)
    gcs.run(150.0)
    # the final NAV_LAND ends in a disarm (ArduCopter's verify_land), never "reached"
    assert [m.seq for m in gcs.of_type("MISSION_ITEM_REACHED")] == [1, 2, 3, 2, 3, 2, 3, 5]
    assert "Disarming motors: landed" in gcs.texts()
    events = gcs.copter.fc.mission.payload_events
    assert events and events[0][1] == "winch"
    assert not gcs.copter.fc.armed


def test_waypoints_without_hold_are_flown_through_and_with_hold_stopped_at() -> None:
    def speed_at_middle(hold_s: float) -> float:
        gcs = ready()
        mission = [HOME_ITEM, wp(C.MAV_CMD_NAV_TAKEOFF, alt=10),
                   wp(C.MAV_CMD_NAV_WAYPOINT, at(0, 0), 10),
                   wp(C.MAV_CMD_NAV_WAYPOINT, at(100, 0), 10, p1=hold_s),
                   wp(C.MAV_CMD_NAV_WAYPOINT, at(200, 0), 10)]
        gcs.upload(mission)
        gcs.set_mode(CopterMode.GUIDED)
        gcs.arm()
        gcs.command(C.MAV_CMD_MISSION_START)
        fc = gcs.copter.fc
        while 3 not in gcs.copter.reached_log:
            gcs.run(0.1)
            assert gcs.now_s < 200
        return fc.body.ground_speed_m_s

    assert speed_at_middle(0.0) > 8.0  # straight on at WPNAV_SPEED 10 m/s
    assert speed_at_middle(2.0) < 0.5
