"""Hypothesis drives the server core with random traffic on several connections at once.

Whatever arrives (valid, invalid, replayed, out of order, on closed or replaced connections),
the core never raises and its state stays consistent: events and telemetry reach the service
in strictly increasing seq per vehicle and boot, nothing is sent on a connection after its
close, and a vehicle has at most one open connection.
"""

from __future__ import annotations

import contextlib
from typing import Any

import msgpack
from hypothesis import given, settings
from hypothesis import strategies as st

from vehicles.ground import messages as m
from vehicles.ground.server_session import GroundServerCore
from vehicles.ground.server_types import (
    Close,
    ConnId,
    EventReceived,
    Send,
    TelemetryReceived,
    _Stage,
)

CREDS = {"a": "ta", "b": "tb"}


def _frame(draw: st.DrawFn) -> bytes | str:
    vid = draw(st.sampled_from(["a", "b", "x"]))
    seq = draw(st.integers(-1, 8))
    kind = draw(st.sampled_from([0, 0, 0, 1, 2, 2, 3, 4, 5, 6, 7, 8]))
    raw: Any
    if kind == 0:
        token = draw(st.sampled_from([CREDS.get(vid, "nope")] * 3 + ["wrong"]))
        boot = draw(st.sampled_from(["b1", "b2"]))
        raw = {
            "t": "hello",
            "v": draw(st.sampled_from([1, 1, 1, 2])),
            "vehicle_id": vid,
            "token": token,
            "boot_id": boot,
            "last_cmd_seq": max(seq, 0),
        }
    elif kind == 1:
        raw = {
            "t": "telemetry",
            "seq": seq,
            "t_s": 1.0,
            "lat_deg": 35.0,
            "lon_deg": 140.0,
            "heading_deg": 0.0,
            "speed_m_s": 1.0,
            "battery_soc": draw(st.sampled_from([0.5, 2.0])),
            "occupancy": 0,
            "doors_open": False,
            "state": "idle",
        }
    elif kind == 2:
        raw = {
            "t": "event",
            "seq": seq,
            "t_s": 1.0,
            "kind": draw(st.sampled_from(["arrived", "at_depot"])),
            "stop_id": "s",
        }
    elif kind == 3:
        raw = {"t": "ack", "seq": seq, "ok": draw(st.booleans()), "code": "refused"}
    elif kind == 4:
        raw = {"t": "ping", "nonce": seq}
    elif kind == 5:
        return draw(st.binary(max_size=20))
    elif kind == 6:
        return "text"
    elif kind == 7:
        raw = {
            "t": draw(st.sampled_from(["plan", "welcome", "frob", "error"])),
            "seq": seq,
            "code": "malformed",
            "msg": "",
        }
    else:
        raw = {"t": "event", "seq": seq, "t_s": float("nan"), "kind": "arrived", "stop_id": "s"}
    return msgpack.packb(raw)


@st.composite
def scripts(draw: st.DrawFn) -> list[tuple[str, int, Any]]:
    steps = []
    for _ in range(draw(st.integers(1, 80))):
        op = draw(
            st.sampled_from(["open", "frame", "frame", "frame", "frame", "drop", "tick", "command"])
        )
        steps.append((op, draw(st.integers(0, 5)), _frame(draw) if op == "frame" else None))
    return steps


@given(scripts())
@settings(max_examples=150, deadline=None)
def test_server_core_survives_any_traffic_with_consistent_state(
    script: list[tuple[str, int, Any]],
) -> None:
    limits = m.Limits(max_frames_per_s=5.0, burst_frames=4, idle_timeout_s=5, hello_timeout_s=2)
    core = GroundServerCore(CREDS, limits)
    conns: list[ConnId] = []
    closed: set[ConnId] = set()
    gone: set[ConnId] = set()
    now_s = 0.0
    last_ev: dict[tuple[str, str], int] = {}
    last_tm: dict[tuple[str, str], int] = {}
    for op, k, frame in script:
        now_s += 0.05
        if op == "open":
            conns.append(core.connect(now_s, m.SUBPROTOCOL if k else None))
        elif op == "frame" and conns:
            core.receive(conns[k % len(conns)], frame, now_s)
        elif op == "drop" and conns:
            conn = conns[k % len(conns)]
            core.disconnected(conn, now_s)
            gone.add(conn)
        elif op == "tick":
            now_s += 5.0 * k
            core.tick(now_s)
        elif op == "command":
            with contextlib.suppress(OverflowError):
                core.send_command("a", m.Plan(0, core.next_plan_version("a"), ()))
        for out in core.outputs():
            assert out.conn not in closed, "nothing goes out after a close"
            assert out.conn not in gone, "nothing goes out on a dead connection"
            if isinstance(out, Close):
                closed.add(out.conn)
                assert 1000 <= out.code < 5000 and out.reason
            else:
                assert isinstance(out, Send) and out.data
        for event in core.events():
            if isinstance(event, EventReceived):
                key = (event.vehicle_id, event.boot_id)
                assert event.event.seq > last_ev.get(key, 0)
                last_ev[key] = event.event.seq
            elif isinstance(event, TelemetryReceived):
                key = (event.vehicle_id, core.vehicle(event.vehicle_id).boot_id or "")
                assert event.telemetry.seq > last_tm.get(key, 0)
                last_tm[key] = event.telemetry.seq
        for vid in CREDS:
            record = core.vehicle(vid)
            open_conns = [
                c for c in core._conns.values() if c.vehicle_id == vid and c.stage is _Stage.OPEN
            ]
            assert len(open_conns) <= 1
            if open_conns:
                assert record.conn == open_conns[0].id
            assert record.last_event_seq >= 0 and record.next_cmd_seq >= 1
