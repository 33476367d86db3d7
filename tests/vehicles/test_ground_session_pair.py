"""Vehicle session + server core in memory: delivery guarantees across cut links."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.vehicles.ground_pair import VID, Pair
from vehicles.ground import messages as m
from vehicles.ground.codec import decode
from vehicles.ground.server_types import CommandAnswered, EventReceived, TelemetryReceived

S = m.VehicleState


def _tm(speed: float = 1.0) -> m.Telemetry:
    return m.Telemetry(0, 1.0, 35.65, 140.04, 90.0, speed, 0.9, 0, False, S.EN_ROUTE)


def _ev(stop: str) -> m.Event:
    return m.Event(0, 1.0, m.EventKind.ARRIVED, stop_id=stop)


def _received(pair: Pair) -> list[int]:
    return [e.event.seq for e in pair.app_events if isinstance(e, EventReceived)]


def test_handshake_telemetry_event_and_plan() -> None:
    pair = Pair()
    pair.connect()
    assert pair.vehicle.is_open and pair.server.connected_vehicles() == [VID]
    pair.vehicle.send_telemetry(_tm())
    pair.vehicle.send_event(_ev("messe"))
    pair.pump()
    assert _received(pair) == [1]
    assert pair.vehicle.unacked_events == 0
    assert [type(e) for e in pair.app_events].count(TelemetryReceived) == 1
    plan = pair.server.send_command(VID, m.Plan(0, 0, (m.PlanStop("messe"),)))
    pair._collect()
    pair.pump()
    [cmd] = pair.vehicle.take_commands()
    assert cmd == plan and cmd.seq == 1
    pair.vehicle.reply(cmd.seq)
    pair.pump()
    [answer] = [e for e in pair.app_events if isinstance(e, CommandAnswered)]
    assert answer.ack.ok and pair.server.vehicle(VID).plan_version_acked == 0
    assert pair.vehicle.plan_version == 0


def test_event_whose_ack_was_lost_is_not_delivered_twice() -> None:
    pair = Pair()
    pair.connect()
    pair.vehicle.send_event(_ev("messe"))
    pair.uplink()  # the server got it and acked, the ack dies with the link
    pair.cut()
    assert pair.vehicle.unacked_events == 1
    pair.vehicle.send_event(_ev("aeon-mall"))  # while offline
    pair.connect()
    assert _received(pair) == [1, 2]
    assert pair.vehicle.unacked_events == 0
    assert pair.server.stats.events_duplicate == 0  # welcome.last_event_seq told the vehicle


def test_duplicate_event_on_the_wire_is_acked_but_dropped() -> None:
    pair = Pair()
    pair.connect()
    pair.vehicle.send_event(_ev("messe"))
    frames = pair.vehicle.data_to_send()
    for frame in frames + frames:
        assert pair.conn is not None
        pair.server.receive(pair.conn, frame, 0.0)
    pair._collect()
    acks = pair.server_saw()
    assert acks == [m.Ack(1, True), m.Ack(1, True, dup=True)]
    assert _received(pair) == [1]


def test_unacked_event_is_resent_after_the_ack_timeout() -> None:
    pair = Pair()
    pair.connect()
    pair.vehicle.send_event(_ev("messe"))
    pair.vehicle.data_to_send()  # lost on an open link (e.g. dropped by a rate limit)
    pair.vehicle.tick(4.9)
    assert pair.vehicle.data_to_send() == []
    pair.vehicle.tick(5.0)
    pair.pump()
    assert _received(pair) == [1]


def test_a_quiet_vehicle_pings_so_it_is_not_closed_as_idle() -> None:
    pair = Pair(m.Limits(idle_timeout_s=30.0))
    pair.connect()
    for t in range(0, 121, 1):
        pair.now_s = float(t)
        pair.vehicle.tick(pair.now_s)
        pair.server.tick(pair.now_s)
        pair.pump()
    assert pair.closes == [] and pair.vehicle.is_open
    pair.vehicle.send_telemetry(_tm())  # traffic resets the quiet time: no ping needed
    pair.vehicle.tick(121.0)
    assert [type(decode(f)) for f in pair.vehicle.data_to_send()] == [m.Telemetry]


def test_telemetry_offline_keeps_only_the_newest() -> None:
    pair = Pair()
    pair.vehicle.send_telemetry(_tm(1.0))
    pair.vehicle.send_telemetry(_tm(2.0))
    pair.connect()
    got = [e.telemetry for e in pair.app_events if isinstance(e, TelemetryReceived)]
    assert [(t.seq, t.speed_m_s) for t in got] == [(2, 2.0)]
    assert pair.vehicle.stats.telemetry_superseded == 1


def test_older_telemetry_is_dropped_latest_wins() -> None:
    pair = Pair()
    pair.connect()
    pair.vehicle.send_telemetry(_tm(1.0))
    pair.vehicle.send_telemetry(_tm(2.0))
    first, second = pair.vehicle.data_to_send()
    assert pair.conn is not None
    pair.server.receive(pair.conn, second, 0.0)
    pair.server.receive(pair.conn, first, 0.0)
    pair._collect()
    assert pair.server.vehicle(VID).telemetry is not None
    assert pair.server.vehicle(VID).telemetry.speed_m_s == 2.0
    assert pair.server.stats.telemetry_stale == 1


def test_command_resent_after_reconnect_reaches_the_application_once() -> None:
    pair = Pair()
    pair.connect()
    pair.server.send_command(VID, m.Hold(0, "crowd"))
    pair._collect()
    pair.downlink()
    [hold] = pair.vehicle.take_commands()
    pair.vehicle.reply(hold.seq)  # the ack is queued, then the link dies
    pair.cut()
    pair.connect()  # the server resends the hold; the vehicle answers from memory
    assert pair.vehicle.take_commands() == []
    answers = [e for e in pair.app_events if isinstance(e, CommandAnswered)]
    assert len(answers) == 1 and answers[0].ack.ok and answers[0].ack.dup
    assert not pair.server.vehicle(VID).pending


def test_stale_plan_is_refused_by_the_vehicle_and_the_server() -> None:
    pair = Pair()
    pair.connect()
    pair.server.send_command(VID, m.Plan(0, 5, ()))
    pair._collect()
    pair.pump()
    [plan] = pair.vehicle.take_commands()
    pair.vehicle.reply(plan.seq)
    pair.pump()
    try:
        pair.server.send_command(VID, m.Plan(0, 5, ()))
    except ValueError as exc:
        assert "not newer" in str(exc)
    else:
        raise AssertionError("the server sent a stale plan")
    # a replay on the wire (e.g. from a confused backend) is refused by the vehicle itself
    from vehicles.ground.codec import encode

    pair.vehicle.receive(encode(m.Plan(99, 4, ())), 0.0)
    [frame] = pair.vehicle.data_to_send()
    from vehicles.ground.codec import decode

    ack = decode(frame)
    assert isinstance(ack, m.Ack) and ack.code is m.ErrorCode.STALE_PLAN
    assert pair.vehicle.take_commands() == [] and pair.vehicle.plan_version == 5


def test_new_boot_id_restarts_the_counters() -> None:
    pair = Pair()
    pair.connect()
    pair.vehicle.send_event(_ev("messe"))
    pair.pump()
    pair.cut()
    rebooted = Pair(boot_id="boot-2")
    rebooted.server = pair.server
    rebooted.connect()
    rebooted.vehicle.send_event(_ev("messe"))  # seq 1 again, but a new boot: not a duplicate
    rebooted.pump()
    assert _received(rebooted) == [1]
    assert pair.server.stats.events_duplicate == 0


OPS = st.lists(
    st.sampled_from(
        [
            "event",
            "event",
            "telemetry",
            "command",
            "reply",
            "uplink",
            "downlink",
            "pump",
            "cut",
            "connect",
            "tick",
        ]
    ),
    max_size=60,
)


@given(OPS)
@settings(max_examples=150, deadline=None)
def test_no_event_or_command_is_lost_or_duplicated_whatever_the_cuts(ops: list[str]) -> None:
    pair = Pair()
    pair.connect()
    sent_events = 0
    commands: list[int] = []
    surfaced: list[int] = []
    for op in ops:
        if op == "event":
            pair.vehicle.send_event(_ev(f"s{sent_events}"), pair.now_s)
            sent_events += 1
        elif op == "telemetry":
            pair.vehicle.send_telemetry(_tm())
        elif op == "command":
            commands.append(pair.server.send_command(VID, m.Hold(0)).seq)
            pair._collect()
        elif op == "reply":
            for cmd in pair.vehicle.take_commands():
                surfaced.append(cmd.seq)
                pair.vehicle.reply(cmd.seq)
        elif op == "uplink":
            pair.uplink()
        elif op == "downlink":
            pair.downlink()
        elif op == "pump":
            pair.pump()
        elif op == "cut":
            pair.cut()
        elif op == "connect" and pair.conn is None:
            pair.connect()
        elif op == "tick":
            pair.now_s += 6.0
            pair.vehicle.tick(pair.now_s)
    # settle: reconnect, answer everything, and let acks flow
    if pair.conn is None:
        pair.connect()
    for _ in range(3):
        for cmd in pair.vehicle.take_commands():
            surfaced.append(cmd.seq)
            pair.vehicle.reply(cmd.seq)
        pair.pump()
    assert _received(pair) == list(range(1, sent_events + 1))
    assert pair.vehicle.unacked_events == 0
    assert sorted(surfaced) == commands  # each command executed exactly once
    answered = [e.command.seq for e in pair.app_events if isinstance(e, CommandAnswered)]
    assert sorted(answered) == commands
    assert not pair.server.vehicle(VID).pending


def test_a_restarted_server_restored_from_the_journal_still_drops_duplicates() -> None:
    pair = Pair()
    pair.connect()
    pair.vehicle.send_event(_ev("messe"))
    pair.uplink()  # accepted by the old server; the ack is lost when it crashes
    [accepted] = [e for e in pair.app_events if isinstance(e, EventReceived)]
    pair.cut()
    restarted = Pair()
    restarted.vehicle = pair.vehicle
    restarted.server.restore_vehicle(
        VID, boot_id=accepted.boot_id, last_event_seq=accepted.event.seq
    )
    restarted.connect()
    assert _received(restarted) == []  # not delivered a second time
    assert restarted.vehicle.unacked_events == 0
