"""A conformance checker for vendors: a scripted server that tests a vehicle's protocol behaviour.

    python -m vehicles.ground.conformance --port 8799 --vehicle-id bus-1 --token s3cret

Point the vehicle under test at `ws://HOST:8799/v1/vehicle`. The checker plays the server side
of docs/ground-protocol.md and, on the first connection, checks in order: the subprotocol
offer, a valid `hello` (right id, token and version), a `welcome`-triggered stream of valid
`telemetry` with growing `seq`, `pong` for a `ping`, an `ack` for a `plan`, an `ack` again (not a
second execution) for the same plan resent with the same `seq`, `stale_plan` for an older plan,
`error unknown_type` for an unknown tag, and acks for whatever `event`s arrive. Then it cuts the
connection without a close handshake and checks that the vehicle comes back with the same
`boot_id` and a `last_cmd_seq` covering the commands it answered. It prints one line per check
and exits 0 only if all passed. Every frame the vehicle sends is validated by the codec, so a
malformed frame fails the check that was waiting for it, with the codec's message.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from vehicles.ground import messages as m
from vehicles.ground.codec import ProtocolError, decode, encode


@dataclass(slots=True)
class Check:
    name: str
    passed: bool
    detail: str = ""


@dataclass(slots=True)
class Report:
    checks: list[Check] = field(default_factory=list)

    def add(self, name: str, passed: bool, detail: str = "") -> bool:
        self.checks.append(Check(name, passed, detail))
        return passed

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    def text(self) -> str:
        lines = [
            f"{'PASS' if c.passed else 'FAIL'}  {c.name}  {c.detail}".rstrip() for c in self.checks
        ]
        verdict = "conformant" if self.passed else "NOT conformant"
        return "\n".join(
            [*lines, f"{sum(c.passed for c in self.checks)}/{len(self.checks)}: {verdict}"]
        )


class _Peer:
    """The vehicle's side of one connection, with events acknowledged as they come."""

    def __init__(self, ws: ServerConnection, timeout_s: float) -> None:
        self.ws = ws
        self.timeout_s = timeout_s
        self.events_acked = 0

    async def send(self, msg: m.Message | bytes) -> None:
        await self.ws.send(msg if isinstance(msg, bytes) else encode(msg))

    async def expect(self, want: type[m.Message], **match: object) -> m.Message:
        """The next frame of type `want` (matching `match`); events on the way are acked."""
        deadline = asyncio.get_running_loop().time() + self.timeout_s
        while True:
            left = deadline - asyncio.get_running_loop().time()
            try:
                if left <= 0:
                    raise TimeoutError
                data = await asyncio.wait_for(self.ws.recv(), left)
            except TimeoutError:
                wanted = f"{m.TAGS[want]} {match}" if match else m.TAGS[want]
                raise TimeoutError(f"no {wanted} within {self.timeout_s:g} s") from None
            if isinstance(data, str):
                raise ProtocolError(m.ErrorCode.MALFORMED, "a text frame: binary frames only")
            msg = decode(data)
            if isinstance(msg, m.Event):
                await self.send(m.Ack(msg.seq, ok=True))
                self.events_acked += 1
            if isinstance(msg, want) and all(getattr(msg, k) == v for k, v in match.items()):
                return msg


@dataclass(slots=True)
class _Script:
    vehicle_id: str
    token: str
    timeout_s: float
    report: Report = field(default_factory=Report)
    boot_id: str | None = None
    answered_seq: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)
    connections: int = 0


async def _first(peer: _Peer, s: _Script) -> None:
    r = s.report
    hello = await peer.expect(m.Hello)
    assert isinstance(hello, m.Hello)
    ok = hello.vehicle_id == s.vehicle_id and hello.token == s.token and hello.v == m.VERSION
    if not r.add("hello", ok, f"vehicle_id={hello.vehicle_id!r} v={hello.v}"):
        return
    s.boot_id = hello.boot_id
    await peer.send(m.Welcome(m.VERSION, "conformance", 0))
    first = await peer.expect(m.Telemetry)
    second = await peer.expect(m.Telemetry)
    assert isinstance(first, m.Telemetry) and isinstance(second, m.Telemetry)
    r.add("telemetry", second.seq > first.seq, f"seq {first.seq} then {second.seq}")
    await peer.send(m.Ping(424242))
    await peer.expect(m.Pong, nonce=424242)
    r.add("ping/pong", True)
    version = max(hello.plan_version, 0) + 10
    plan = m.Plan(1, version, (m.PlanStop("conformance-stop"),))
    await peer.send(plan)
    ack = await peer.expect(m.Ack, seq=1)
    assert isinstance(ack, m.Ack)
    r.add("plan acknowledged", True, f"ok={ack.ok} code={ack.code}")
    s.answered_seq = 1
    await peer.send(plan)  # the same command again, as after a lost ack
    again = await peer.expect(m.Ack, seq=1)
    assert isinstance(again, m.Ack)
    r.add("duplicate command answered again", again.ok == ack.ok, f"dup={again.dup}")
    if ack.ok:
        await peer.send(m.Plan(2, version - 1, ()))
        stale = await peer.expect(m.Ack, seq=2)
        assert isinstance(stale, m.Ack)
        r.add("stale plan refused", stale.code is m.ErrorCode.STALE_PLAN, f"code={stale.code}")
        s.answered_seq = 2
    await peer.send(b"\x81\xa1t\xa4frob")  # {"t": "frob"}
    err = await peer.expect(m.ErrorFrame)
    assert isinstance(err, m.ErrorFrame)
    r.add("unknown type answered", err.code is m.ErrorCode.UNKNOWN_TYPE, f"code={err.code}")
    r.add("events acknowledged", True, f"{peer.events_acked} event(s) received and acked")
    peer.ws.transport.abort()  # a dead link: no close handshake


async def _second(peer: _Peer, s: _Script) -> None:
    hello = await peer.expect(m.Hello)
    assert isinstance(hello, m.Hello)
    ok = hello.boot_id == s.boot_id and hello.last_cmd_seq >= s.answered_seq
    s.report.add(
        "reconnect keeps counters",
        ok,
        f"boot_id same={hello.boot_id == s.boot_id}, last_cmd_seq={hello.last_cmd_seq}",
    )
    await peer.send(m.Welcome(m.VERSION, "conformance-2", 0))
    await peer.expect(m.Telemetry)
    s.report.add("telemetry after reconnect", True)


async def run(
    host: str,
    port: int,
    vehicle_id: str,
    token: str,
    timeout_s: float = 10.0,
    reconnect_timeout_s: float = 40.0,
    ready: asyncio.Future[int] | None = None,
) -> Report:
    """Serve one vehicle through the script; the report of what passed.

    `ready`, if given, receives the listening port (useful with `port` 0).
    """
    script = _Script(vehicle_id, token, timeout_s)

    async def handler(ws: ServerConnection) -> None:
        script.connections += 1
        peer = _Peer(ws, timeout_s)
        first = script.connections == 1
        if first and not script.report.add(
            "subprotocol", ws.subprotocol == m.SUBPROTOCOL, f"selected {ws.subprotocol!r}"
        ):
            script.done.set()
            return
        try:
            await (_first(peer, script) if first else _second(peer, script))
        except (TimeoutError, ProtocolError, ConnectionClosed, AssertionError) as exc:
            script.report.add("protocol", False, f"{type(exc).__name__}: {exc}")
        if not first or not script.report.passed:
            script.done.set()

    def select(_: ServerConnection, offered: Sequence[Subprotocol]) -> Subprotocol | None:
        return Subprotocol(m.SUBPROTOCOL) if m.SUBPROTOCOL in offered else None

    async with serve(handler, host, port, select_subprotocol=select, compression=None) as server:
        if ready is not None:
            ready.set_result(server.sockets[0].getsockname()[1])
        try:
            await asyncio.wait_for(script.done.wait(), timeout_s * 3 + reconnect_timeout_s)
        except TimeoutError:
            script.report.add("finished in time", False, "the vehicle did not complete the script")
    return script.report


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Check a ground vehicle against the protocol")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8799)
    p.add_argument("--vehicle-id", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--timeout-s", type=float, default=10.0)
    args = p.parse_args(argv)
    report = asyncio.run(run(args.host, args.port, args.vehicle_id, args.token, args.timeout_s))
    print(report.text())
    sys.exit(0 if report.passed else 1)


if __name__ == "__main__":
    main()
