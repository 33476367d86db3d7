"""The mission protocol (ground side) against a scripted autopilot: missions and fences."""

from __future__ import annotations

import math

import pytest

from tests.vehicles.mavlink_peer import C, LinkHarness, ScriptedAutopilot
from vehicles.mavlink import mission_plan as mp
from vehicles.mavlink.mission import FENCE, MISSION, MissionItem, MissionRejectedError
from vehicles.mavlink.operation import BusyError, OperationTimeoutError


def connected() -> tuple[LinkHarness, ScriptedAutopilot]:
    h = LinkHarness()
    ap = ScriptedAutopilot()
    h.deliver(ap.heartbeat())
    h.collect()
    return h, ap


def items(n: int) -> list[MissionItem]:
    return [MissionItem(int(C.MAV_CMD_NAV_WAYPOINT), x=356480000 + i, y=1400350000 + i,
                        z=30.0 + i) for i in range(n)]


def request(ap: ScriptedAutopilot, seq: int, legacy: bool, mission_type: int = MISSION) -> bytes:
    encode = ap.mav.mission_request_encode if legacy else ap.mav.mission_request_int_encode
    return ap.packet(encode(255, 190, seq, mission_type))


def mission_ack(ap: ScriptedAutopilot, result: int, mission_type: int = MISSION) -> bytes:
    return ap.packet(ap.mav.mission_ack_encode(255, 190, result, mission_type))


@pytest.mark.parametrize("legacy", [False, True])
def test_upload_answers_each_request_with_mission_item_int(legacy: bool) -> None:
    h, ap = connected()
    op = h.station.drones[1].upload(items(3), h.now_s)
    count = h.of_type(h.collect(), "MISSION_COUNT")
    assert count[0].count == 3 and count[0].mission_type == MISSION
    got = []
    for seq in range(3):
        got += h.of_type(h.deliver(request(ap, seq, legacy)), "MISSION_ITEM_INT")
    assert [(m.seq, m.x, m.z) for m in got] == [(i, 356480000 + i, 30.0 + i) for i in range(3)]
    assert not op.done
    h.deliver(mission_ack(ap, C.MAV_MISSION_ACCEPTED))
    assert op.result == 3
    assert h.station.drones[1].missions.legacy_requests == (3 if legacy else 0)


def test_upload_resends_on_timeout_and_serves_repeated_requests() -> None:
    h, ap = connected()
    op = h.station.drones[1].upload(items(2), h.now_s)
    h.collect()
    assert h.of_type(h.advance(1.6), "MISSION_COUNT")  # no request yet: count again
    h.deliver(request(ap, 0, False))
    again = h.of_type(h.deliver(request(ap, 0, False)), "MISSION_ITEM_INT")  # its retry
    assert [m.seq for m in again] == [0]
    assert [m.seq for m in h.of_type(h.advance(1.6), "MISSION_ITEM_INT")] == [0]
    h.deliver(request(ap, 1, False))
    h.deliver(mission_ack(ap, C.MAV_MISSION_ACCEPTED))
    assert op.result == 2


def test_upload_gives_up_after_the_retries_and_cancels() -> None:
    h, _ = connected()
    op = h.station.drones[1].upload(items(2), h.now_s)
    sent = []
    for _ in range(12):
        sent += h.advance(1.0)
    assert len(h.of_type(sent, "MISSION_COUNT")) == 6  # the first and 5 retries
    assert isinstance(op.error, OperationTimeoutError)
    acks = h.of_type(sent, "MISSION_ACK")
    assert [a.type for a in acks] == [C.MAV_MISSION_OPERATION_CANCELLED]


MISSION_RESULTS = [r for r, e in C.enums["MAV_MISSION_RESULT"].items()
                   if r not in (C.MAV_MISSION_ACCEPTED, C.MAV_MISSION_INVALID_SEQUENCE)
                   and not e.name.endswith("ENUM_END")]


@pytest.mark.parametrize("result", MISSION_RESULTS)
def test_every_mission_result_is_reported(result: int) -> None:
    h, ap = connected()
    op = h.station.drones[1].upload(items(3), h.now_s, FENCE)
    h.deliver(request(ap, 0, False, FENCE))
    h.deliver(mission_ack(ap, result, FENCE))
    assert isinstance(op.error, MissionRejectedError) and op.error.result == result
    assert op.error.result_name == C.enums["MAV_MISSION_RESULT"][result].name
    assert op.error.result_name in str(op.error) and "FENCE" in str(op.error)
    assert not h.station.drones[1].missions.busy


def test_acks_of_another_mission_type_or_stale_are_ignored() -> None:
    h, ap = connected()
    op = h.station.drones[1].upload(items(1), h.now_s, FENCE)
    h.deliver(mission_ack(ap, C.MAV_MISSION_ERROR, MISSION))  # not this transfer
    h.deliver(mission_ack(ap, C.MAV_MISSION_ACCEPTED, FENCE))  # early: item 0 never sent
    assert not op.done
    h.deliver(request(ap, 0, True, FENCE))
    h.deliver(mission_ack(ap, C.MAV_MISSION_ACCEPTED, FENCE))
    assert op.result == 1


def test_download_requests_each_item_and_acks() -> None:
    h, ap = connected()
    op = h.station.drones[1].download(h.now_s, FENCE)
    assert h.of_type(h.collect(), "MISSION_REQUEST_LIST")[0].mission_type == FENCE
    sent = h.deliver(ap.packet(ap.mav.mission_count_encode(255, 190, 2, FENCE)))
    assert [m.seq for m in h.of_type(sent, "MISSION_REQUEST_INT")] == [0]
    m = ap.mav
    sent = h.deliver(ap.packet(m.mission_item_int_encode(
        255, 190, 0, 0, 5001, 0, 1, 4, 0, 0, 0, 356480000, 1400350000, 0, FENCE)))
    assert [m.seq for m in h.of_type(sent, "MISSION_REQUEST_INT")] == [1]
    assert h.of_type(h.advance(1.6), "MISSION_REQUEST_INT")[0].seq == 1  # resent on timeout
    sent = h.deliver(ap.packet(m.mission_item_encode(  # the legacy float form
        255, 190, 1, 0, 5001, 0, 1, 4, 0, 0, 0, 35.649, 140.036, 0, FENCE)))
    assert h.of_type(sent, "MISSION_ACK")[0].type == C.MAV_MISSION_ACCEPTED
    assert op.result is not None
    assert [(i.command, i.x, i.y) for i in op.result[:1]] == [(5001, 356480000, 1400350000)]
    legacy = op.result[1]  # float32 degrees: within a few centimetres to a metre
    assert abs(legacy.x - 356490000) < 100 and abs(legacy.y - 1400360000) < 100


def test_download_refused_and_empty() -> None:
    h, ap = connected()
    op = h.station.drones[1].download(h.now_s)
    h.deliver(mission_ack(ap, C.MAV_MISSION_UNSUPPORTED))
    assert isinstance(op.error, MissionRejectedError)
    op = h.station.drones[1].download(h.now_s)
    h.deliver(ap.packet(ap.mav.mission_count_encode(255, 190, 0, MISSION)))
    assert op.result == []


def test_clear_and_one_transfer_at_a_time() -> None:
    h, ap = connected()
    drone = h.station.drones[1]
    op = drone.clear(h.now_s, FENCE)
    assert isinstance(drone.upload(items(1), h.now_s).error, BusyError)
    assert h.of_type(h.collect(), "MISSION_CLEAR_ALL")[0].mission_type == FENCE
    h.deliver(mission_ack(ap, C.MAV_MISSION_ACCEPTED, FENCE))
    assert op.result == 0


def test_plan_becomes_ardupilot_items_with_home_first() -> None:
    plan = mp.MissionPlan((
        mp.Takeoff(20), mp.Waypoint(35.65, 140.04, 30, speed_m_s=8),
        mp.Waypoint(35.651, 140.041, 30, speed_m_s=8, hold_s=3, acceptance_radius_m=2),
        mp.LandAndWait(35.652, 140.042, wait_s=15, takeoff_alt_m=25),
        mp.LandAndWait(35.652, 140.042, wait_s=15, takeoff_alt_m=25, loiter=True),
        mp.ReleasePayload("gripper"), mp.ReleasePayload("winch", length_m=10, rate_m_s=1),
        mp.Delay(4), mp.Waypoint(35.65, 140.04, 30, speed_m_s=12), mp.Land(35.648, 140.035),
        mp.ReturnToLaunch()), home=(35.648, 140.035, 5.0))
    rows = mp.mission_items(plan)
    names = [r.name.removeprefix("MAV_CMD_") for r in rows]
    assert names == ["NAV_WAYPOINT", "NAV_TAKEOFF", "DO_CHANGE_SPEED", "NAV_WAYPOINT",
                     "NAV_WAYPOINT", "NAV_LAND", "NAV_DELAY", "NAV_TAKEOFF", "NAV_LOITER_TIME",
                     "DO_GRIPPER", "DO_WINCH", "NAV_DELAY", "DO_CHANGE_SPEED", "NAV_WAYPOINT",
                     "NAV_LAND", "NAV_RETURN_TO_LAUNCH"]
    assert rows[0].x == 356480000 and rows[0].z == 5.0
    assert rows[2].param2 == 8 and rows[12].param2 == 12
    assert (rows[4].param1, rows[4].param2) == (3, 2)
    assert rows[6].param1 == 15 and rows[8].param1 == 15
    assert rows[10].param3 == 10
    assert mp.mission_items(plan, autopilot=C.MAV_AUTOPILOT_PX4)[0].command == C.MAV_CMD_NAV_TAKEOFF
    place = mp.mission_items(mp.MissionPlan((mp.PayloadPlace(35.65, 140.04, 30, 25),)))[1]
    assert (place.command, place.param1, place.x, place.z) == (
        C.MAV_CMD_NAV_PAYLOAD_PLACE, 25, 356500000, 30)


@pytest.mark.parametrize("step", [
    mp.Waypoint(math.nan, 140.0, 30), mp.Waypoint(95.0, 140.0, 30), mp.Waypoint(35, 140, 30, -1),
    mp.LandAndWait(35, 140, -5, 20), mp.Delay(math.inf), mp.Takeoff(math.nan)])
def test_bad_plans_raise_naming_the_step(step: mp.Step) -> None:
    with pytest.raises(ValueError, match="step 0"):
        mp.mission_items(mp.MissionPlan((step,)))


def test_fences_from_polygons_and_circles() -> None:
    ring = ((35.64, 140.03), (35.66, 140.03), (35.66, 140.05), (35.64, 140.03))  # closed
    rows = mp.fence_items(
        [mp.FencePolygon(ring), mp.FencePolygon(ring[:3], inclusion=False)],
        [mp.FenceCircle(35.65, 140.04, 80, inclusion=False), mp.FenceCircle(35.65, 140.04, 900)],
        return_point=(35.648, 140.035))
    assert [r.command for r in rows] == [5000] + [5001] * 3 + [5002] * 3 + [5004, 5003]
    assert all(r.param1 == 3 for r in rows[1:7])
    assert rows[7].param1 == 80 and rows[8].param2 == 1  # second inclusion group
    single = mp.fence_items([mp.FencePolygon(ring)], [mp.FenceCircle(35.65, 140.04, 900)],
                            one_inclusion_group=True)
    assert {r.param2 for r in single} == {0.0}
    with pytest.raises(ValueError):
        mp.fence_items([mp.FencePolygon(((35.0, 140.0), (35.1, 140.0)))])


def test_rally_points() -> None:
    rows = mp.rally_items([(35.65, 140.04, 30.0), (35.66, 140.05, 40.0)])
    assert [(r.command, r.x, r.z) for r in rows] == [(5100, 356500000, 30.0),
                                                      (5100, 356600000, 40.0)]
    with pytest.raises(ValueError, match="rally point 0"):
        mp.rally_items([(math.nan, 140.0, 30.0)])


def test_invalid_sequence_during_upload_is_not_final_as_with_ardupilot() -> None:
    h, ap = connected()
    op = h.station.drones[1].upload(items(2), h.now_s)
    h.deliver(request(ap, 0, True))
    h.deliver(mission_ack(ap, C.MAV_MISSION_INVALID_SEQUENCE))  # our retry crossed its request
    assert not op.done
    h.deliver(request(ap, 1, True))
    h.deliver(mission_ack(ap, C.MAV_MISSION_ACCEPTED))
    assert op.result == 2 and h.station.drones[1].missions.invalid_sequence_acks == 1


def test_a_stalled_upload_reports_the_invalid_sequence_it_was_told() -> None:
    h, ap = connected()
    op = h.station.drones[1].upload(items(2), h.now_s)
    h.deliver(request(ap, 0, False))
    h.deliver(mission_ack(ap, C.MAV_MISSION_INVALID_SEQUENCE))
    for _ in range(12):
        h.advance(1.0)
    assert isinstance(op.error, MissionRejectedError)
    assert op.error.result == C.MAV_MISSION_INVALID_SEQUENCE


def test_invalid_sequence_ends_a_download() -> None:
    h, ap = connected()
    op = h.station.drones[1].download(h.now_s)
    h.deliver(ap.packet(ap.mav.mission_count_encode(255, 190, 3, MISSION)))
    h.deliver(mission_ack(ap, C.MAV_MISSION_INVALID_SEQUENCE))
    assert isinstance(op.error, MissionRejectedError)


def _lost_final_ack(stored_x_offset: int) -> tuple[LinkHarness, object, list[MissionItem]]:
    h, ap = connected()
    rows = items(2)
    op = h.station.drones[1].upload(rows, h.now_s)
    h.deliver(request(ap, 0, True))
    h.deliver(request(ap, 1, True))  # stored; its MISSION_ACK ACCEPTED is lost on the way
    resent = h.of_type(h.advance(1.6), "MISSION_ITEM_INT")
    assert [m.seq for m in resent] == [1]
    # ArduPilot: an item while not receiving is answered MAV_MISSION_ERROR
    sent = h.deliver(mission_ack(ap, C.MAV_MISSION_ERROR))
    assert h.of_type(sent, "MISSION_REQUEST_LIST") and not op.done
    h.deliver(ap.packet(ap.mav.mission_count_encode(255, 190, 2, MISSION)))
    for i, r in enumerate(rows):
        h.deliver(ap.packet(ap.mav.mission_item_int_encode(
            255, 190, i, r.frame, r.command, 0, 1, 0, 0, 0, 0, r.x + stored_x_offset * i, r.y,
            r.z, MISSION)))
    return h, op, rows


def test_a_lost_final_ack_is_settled_by_reading_the_mission_back() -> None:
    h, op, _ = _lost_final_ack(0)
    assert op.result == 2  # type: ignore[attr-defined]
    assert h.station.drones[1].missions.verifications == 1


def test_a_read_back_that_differs_fails_the_upload() -> None:
    _, op, _ = _lost_final_ack(1000)
    assert isinstance(op.error, MissionRejectedError)  # type: ignore[attr-defined]
    assert "read back different" in str(op.error)  # type: ignore[attr-defined]
