"""Property: any list of items uploaded, stored by a scripted vehicle and downloaded back is
the same list, field by field (MISSION_ITEM_INT keeps degE7 positions exact), whatever the
mission type, whether the vehicle asks with MISSION_REQUEST or MISSION_REQUEST_INT, and
whichever of its requests get lost on the way (the link's retries cover them)."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.vehicles.mavlink_peer import LinkHarness, ScriptedAutopilot
from vehicles.mavlink.mission import FENCE, MISSION, RALLY, MissionItem

floats = st.floats(-1e6, 1e6, allow_nan=False, width=32)
items = st.builds(
    MissionItem, command=st.sampled_from([16, 21, 22, 93, 178, 211, 5001, 5003]),
    frame=st.sampled_from([0, 2, 3, 5, 6]), param1=floats, param2=floats, param3=floats,
    param4=st.one_of(floats, st.just(math.nan)), x=st.integers(-900_000_000, 900_000_000),
    y=st.integers(-1_800_000_000, 1_800_000_000), z=floats, autocontinue=st.integers(0, 1))


class StoringVehicle:
    """Answers the mission protocol from memory, as an autopilot would."""

    def __init__(self, legacy: bool, drop: set[int]) -> None:
        self.ap = ScriptedAutopilot(1)
        self.legacy = legacy
        self.drop = drop  # indexes of our requests that get lost
        self.requests = 0
        self.stored: list[Any] = []
        self.count = 0

    def answer(self, msg: Any) -> list[bytes]:
        m, kind = self.ap.mav, msg.get_type()
        if kind == "MISSION_COUNT":
            self.count, self.stored = msg.count, []
            if msg.count == 0:
                return [self.ap.packet(m.mission_ack_encode(255, 190, 0, msg.mission_type))]
            return self._request(0, msg.mission_type)
        if kind == "MISSION_ITEM_INT":
            if msg.seq == len(self.stored):
                self.stored.append(msg)
            if len(self.stored) < self.count:
                return self._request(len(self.stored), msg.mission_type)
            return [self.ap.packet(m.mission_ack_encode(255, 190, 0, msg.mission_type))]
        if kind == "MISSION_REQUEST_LIST":
            return [self.ap.packet(m.mission_count_encode(255, 190, len(self.stored),
                                                          msg.mission_type))]
        if kind == "MISSION_REQUEST_INT":
            s = self.stored[msg.seq]
            return [self.ap.packet(m.mission_item_int_encode(
                255, 190, s.seq, s.frame, s.command, s.current, s.autocontinue, s.param1,
                s.param2, s.param3, s.param4, s.x, s.y, s.z, msg.mission_type))]
        return []

    def _request(self, seq: int, mission_type: int) -> list[bytes]:
        self.requests += 1
        if self.requests in self.drop:
            return []
        m = self.ap.mav
        encode = m.mission_request_encode if self.legacy else m.mission_request_int_encode
        return [self.ap.packet(encode(255, 190, seq, mission_type))]


def run(h: LinkHarness, vehicle: StoringVehicle, pending: list[Any], op: Any) -> None:
    for _ in range(400):
        if op.done:
            break
        replies = [r for m in pending for r in vehicle.answer(m)]
        pending.clear()
        for reply in replies:
            pending += h.deliver(reply)
        if not pending:
            pending += h.advance(0.5)


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


@settings(max_examples=40, deadline=None)
@given(st.lists(items, max_size=30), st.sampled_from([MISSION, FENCE, RALLY]), st.booleans(),
       st.sets(st.integers(1, 40), max_size=4))
def test_upload_then_download_returns_the_same_items(
        rows: list[MissionItem], mission_type: int, legacy: bool, drop: set[int]) -> None:
    h = LinkHarness()
    vehicle = StoringVehicle(legacy, drop)
    h.deliver(vehicle.ap.heartbeat())
    h.collect()
    drone = h.station.drones[1]
    up = drone.upload(rows, h.now_s, mission_type)
    run(h, vehicle, h.collect(), up)
    assert up.result == len(rows), up
    down = drone.download(h.now_s, mission_type)
    run(h, vehicle, h.collect(), down)
    assert down.result is not None, down
    assert len(down.result) == len(rows)
    for ours, back in zip(rows, down.result, strict=True):
        assert (back.command, back.frame, back.x, back.y, back.autocontinue) == (
            ours.command, ours.frame, ours.x, ours.y, ours.autocontinue)
        for name in ("param1", "param2", "param3", "param4", "z"):
            assert same(getattr(back, name), getattr(ours, name)), name
