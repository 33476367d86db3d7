"""The server core alone: handshake, refusals, limits, and state that bad input cannot touch."""

from __future__ import annotations

import msgpack
import pytest

from tests.vehicles.ground_pair import TOKEN, VID
from vehicles.ground import messages as m
from vehicles.ground.codec import decode, encode
from vehicles.ground.server_session import GroundServerCore, negotiate
from vehicles.ground.server_types import (
    Close,
    ConnId,
    Send,
    StalePlanError,
    UnknownVehicleError,
    VehicleConnected,
    VehicleDisconnected,
)

C = m.CloseCode
E = m.ErrorCode


def _hello(**kw: object) -> bytes:
    fields: dict[str, object] = {"v": 1, "vehicle_id": VID, "token": TOKEN, "boot_id": "b"}
    fields.update(kw)
    return encode(m.Hello(**fields))  # type: ignore[arg-type]


def _tm(seq: int = 1, lat_deg: float = 35.65) -> bytes:
    return encode(
        m.Telemetry(seq, 1.0, lat_deg, 140.0, 0.0, 0.0, 0.5, 0, False, m.VehicleState.IDLE)
    )


class Side:
    """One raw connection to a core, recording what the core sends it."""

    def __init__(
        self, core: GroundServerCore, now_s: float = 0.0, proto: str | None = m.SUBPROTOCOL
    ):
        self.core = core
        self.conn = core.connect(now_s, proto)
        self.got: list[m.Message] = []
        self.closed: Close | None = None
        _SIDES[(id(core), self.conn)] = self
        self.collect()

    def send(self, data: bytes | str, now_s: float = 0.0) -> list[m.Message]:
        self.core.receive(self.conn, data, now_s)
        return self.collect()

    def collect(self) -> list[m.Message]:
        """Route the core's outputs to the sides they are for; this side's new messages."""
        before = len(self.got)
        for out in self.core.outputs():
            side = _SIDES[(id(self.core), out.conn)]
            if isinstance(out, Send):
                side.got.append(decode(out.data))
            else:
                side.closed = out
        return self.got[before:]


_SIDES: dict[tuple[int, ConnId], Side] = {}


def _core(**limits: object) -> GroundServerCore:
    return GroundServerCore({VID: TOKEN, "bus-2": "other"}, m.Limits(**limits))  # type: ignore[arg-type]


def test_valid_hello_is_welcomed_with_limits() -> None:
    core = _core()
    side = Side(core)
    [welcome] = side.send(_hello())
    assert welcome == m.Welcome(1, "c1", 0, m.Limits())
    assert isinstance(core.events()[0], VehicleConnected)


@pytest.mark.parametrize(
    ("first", "code", "reason"),
    [
        (_hello(token="wrong"), C.AUTH_FAILED, "authentication failed"),
        (_hello(vehicle_id="nobody"), C.AUTH_FAILED, "authentication failed"),
        (_hello(v=2), C.UNSUPPORTED_VERSION, "hello v=2"),
        (_tm(), C.PROTOCOL_ERROR, "the first frame must be hello"),
        (b"\xc1garbage", C.PROTOCOL_ERROR, "expected a valid hello"),
        ("hello as text", C.PROTOCOL_ERROR, "binary frames only"),
        (
            msgpack.packb({"t": "hello", "v": 1, "vehicle_id": VID}),
            C.PROTOCOL_ERROR,
            "token: missing",
        ),
    ],
)
def test_bad_first_frames_close_with_a_code_and_reason(
    first: bytes | str, code: int, reason: str
) -> None:
    core = _core()
    side = Side(core)
    assert side.send(first) == []
    assert side.closed is not None and side.closed.code == code and reason in side.closed.reason
    assert core.connected_vehicles() == []
    side.send(_tm())  # frames after the close are ignored
    assert core.stats.telemetry_accepted == 0


def test_no_common_subprotocol_closes_4002_naming_the_supported_ones() -> None:
    side = Side(_core(), proto=None)
    assert side.closed is not None and side.closed.code == C.UNSUPPORTED_VERSION
    assert "kaiteki.ground.v1" in side.closed.reason
    assert negotiate(["kaiteki.ground.v9", "kaiteki.ground.v1"]) == "kaiteki.ground.v1"
    assert negotiate(["chat"]) is None


def test_hello_timeout_and_idle_timeout() -> None:
    core = _core(hello_timeout_s=10.0, idle_timeout_s=30.0)
    silent = Side(core, now_s=0.0)
    talker = Side(core, now_s=0.0)
    talker.send(_hello(), now_s=1.0)
    core.tick(9.9)
    silent.collect()
    assert silent.closed is None
    core.tick(10.0)
    silent.collect()
    assert silent.closed is not None and silent.closed.code == C.HELLO_TIMEOUT
    talker.send(_tm(), now_s=20.0)
    core.tick(49.9)
    talker.collect()
    assert talker.closed is None
    core.tick(50.0)
    talker.collect()
    assert talker.closed is not None and talker.closed.code == C.IDLE_TIMEOUT


def test_second_connection_replaces_the_first_and_gets_pending_commands() -> None:
    core = _core()
    first = Side(core)
    first.send(_hello())
    core.send_command(VID, m.Hold(0, "wait"))
    first.collect()
    second = Side(core)
    got = second.send(_hello(last_cmd_seq=0))
    first.collect()
    assert first.closed is not None and first.closed.code == C.REPLACED
    assert [type(x) for x in got] == [m.Welcome, m.Hold]
    assert core.vehicle(VID).conn == second.conn
    kinds = [type(e) for e in core.events()]
    assert kinds == [VehicleConnected, VehicleDisconnected, VehicleConnected]
    core.disconnected(first.conn, 1.0)  # the old socket finally goes: the new one stays
    assert core.connected_vehicles() == [VID]


def test_bad_frames_get_error_frames_and_change_nothing() -> None:
    core = _core()
    side = Side(core)
    side.send(_hello())
    side.send(_tm(seq=5, lat_deg=35.6))
    before = core.vehicle(VID).telemetry
    cases: list[tuple[bytes | str, E]] = [
        (b"\x00\x01not msgpack", E.MALFORMED),
        ("text frame", E.MALFORMED),
        (msgpack.packb({"t": "teleport", "seq": 9}), E.UNKNOWN_TYPE),
        (msgpack.packb({"t": "telemetry", "seq": 9, "lat_deg": float("nan")}), E.INVALID_FIELD),
        (_tm(seq=9, lat_deg=95.0), E.INVALID_FIELD),
        (encode(m.Plan(1, 1, ())), E.UNEXPECTED),
        (encode(m.Welcome(1, "x", 0)), E.UNEXPECTED),
    ]
    for frame, code in cases:
        [answer] = side.send(frame)
        assert isinstance(answer, m.ErrorFrame) and answer.code is code, (frame, answer)
    assert core.vehicle(VID).telemetry == before
    assert core.vehicle(VID).last_tm_seq == 5
    assert side.closed is None
    [pong] = side.send(encode(m.Ping(42)))
    assert pong == m.Pong(42)  # the connection still works


def test_invalid_event_is_acked_not_ok_so_the_vehicle_drops_it() -> None:
    core = _core()
    side = Side(core)
    side.send(_hello())
    bad = msgpack.packb({"t": "event", "seq": 1, "t_s": 1.0, "kind": "arrived"})
    [ack] = side.send(bad)
    assert isinstance(ack, m.Ack) and not ack.ok and ack.code is E.INVALID_FIELD
    assert core.vehicle(VID).last_event_seq == 0


def test_hello_twice_closes() -> None:
    side = Side(_core())
    side.send(_hello())
    side.send(_hello())
    assert side.closed is not None and side.closed.code == C.PROTOCOL_ERROR


def test_rate_limit_drops_answers_and_then_closes_a_flood() -> None:
    core = _core(max_frames_per_s=10.0, burst_frames=5)
    side = Side(core)
    side.send(_hello())
    good = Side(core)
    good.send(_hello(vehicle_id="bus-2", token="other"))
    for seq in range(1, 6):
        side.send(_tm(seq), now_s=0.0)
    assert core.stats.telemetry_accepted == 5
    [err] = side.send(_tm(6), now_s=0.0)
    assert isinstance(err, m.ErrorFrame) and err.code is E.RATE_LIMITED
    assert side.send(_tm(7), now_s=0.0) == []  # at most one rate error per second
    side.send(_tm(8), now_s=0.1)  # one token refilled
    assert core.vehicle(VID).last_tm_seq == 8
    for seq in range(9, 200):
        side.send(_tm(seq), now_s=0.2)
    assert side.closed is not None and side.closed.code == C.RATE_LIMIT
    good.send(_tm(1), now_s=0.3)  # the other vehicle is untouched
    assert core.vehicle("bus-2").last_tm_seq == 1 and good.closed is None


def test_plan_versions_only_grow_and_bad_commands_are_not_queued() -> None:
    core = _core()
    assert core.next_plan_version(VID) == 0
    core.send_command(VID, m.Plan(0, 3, ()))
    assert core.next_plan_version(VID) == 4
    with pytest.raises(StalePlanError):
        core.send_command(VID, m.Plan(0, 3, ()))
    with pytest.raises(ValueError, match="dwell_s"):
        core.send_command(VID, m.Plan(0, 4, (m.PlanStop("a", dwell_s=float("nan")),)))
    with pytest.raises(UnknownVehicleError):
        core.send_command("nobody", m.Hold(0))
    assert list(core.vehicle(VID).pending) == [1]
    side = Side(core)
    side.send(_hello(plan_version=10))  # the vehicle knows a newer plan (e.g. server restarted)
    assert core.next_plan_version(VID) == 11


def test_command_seq_resumes_above_what_the_vehicle_processed() -> None:
    core = _core()
    side = Side(core)
    side.send(_hello(last_cmd_seq=41))
    assert core.send_command(VID, m.Resume(0)).seq == 42


def test_unmatched_acks_are_ignored() -> None:
    core = _core()
    side = Side(core)
    side.send(_hello())
    assert side.send(encode(m.Ack(77, True))) == []
    assert core.stats.acks_unmatched == 1
    assert core.events()[-1:] and not core.vehicle(VID).pending


def test_unknown_connection_ids_are_ignored() -> None:
    core = _core()
    core.receive(ConnId(999), _tm(), 0.0)
    core.disconnected(ConnId(999), 0.0)
    assert core.outputs() == [] and core.events() == []


def test_commands_for_a_closed_connection_wait_for_the_next_one() -> None:
    core = _core()
    side = Side(core)
    side.send(_hello())
    side.send(_hello())  # closes the connection (hello twice); the transport has not gone yet
    assert side.closed is not None
    hold = core.send_command(VID, m.Hold(0))
    side.collect()
    assert hold not in side.got  # nothing is sent on a closed connection
    core.disconnected(side.conn, 1.0)
    fresh = Side(core)
    assert fresh.send(_hello())[1:] == [hold]  # delivered on the next connection


def _event(seq: int, t_s: float) -> bytes:
    return encode(m.Event(seq, t_s, m.EventKind.ARRIVED, stop_id="messe"))


def test_a_reused_event_seq_is_refused_not_silently_dropped() -> None:
    core = _core()
    side = Side(core)
    side.send(_hello())
    assert side.send(_event(1, 10.0)) == [m.Ack(1, True)]
    assert side.send(_event(1, 10.0)) == [m.Ack(1, True, dup=True)]  # a true resend
    [ack] = side.send(_event(1, 99.0))  # the vendor restarted its counters, same boot_id
    assert isinstance(ack, m.Ack) and not ack.ok and ack.code is E.UNEXPECTED
    assert "new boot_id" in (ack.msg or "")
    assert core.stats.events_seq_reused == 1 and core.stats.events_duplicate == 1


def test_telemetry_counter_reset_is_pointed_out_once() -> None:
    core = _core()
    side = Side(core)
    side.send(_hello())
    late = encode(m.Telemetry(50, 100.0, 35.6, 140.0, 0.0, 0.0, 0.5, 0, False, m.VehicleState.IDLE))
    side.send(late)
    reset = encode(m.Telemetry(1, 200.0, 35.6, 140.0, 0.0, 0.0, 0.5, 0, False, m.VehicleState.IDLE))
    [err] = side.send(reset)
    assert isinstance(err, m.ErrorFrame) and err.code is E.UNEXPECTED and err.ref_seq == 1
    assert side.send(reset) == []  # once per connection
    assert core.vehicle(VID).telemetry is not None and core.vehicle(VID).telemetry.seq == 50
