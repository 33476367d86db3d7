"""A ground vehicle written from docs/ground-protocol.md alone: plain `websockets` + `msgpack`.

It shares no code with kaiteki on purpose: it is the proof that a vendor can implement the
protocol from the document. It connects, says hello, sends telemetry and events (keeping each
event until acknowledged), waits for a plan, acknowledges it, reports arriving at its first stop,
answers pings, and exits 0 if all went as the document says (1 otherwise).

    python examples/independent_ground_client.py --url ws://127.0.0.1:8765/v1/vehicle \\
        --vehicle-id bus-1 --token s3cret
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid

import msgpack
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed


def pack(frame: dict[str, object]) -> bytes:
    return msgpack.packb(frame, use_bin_type=True)


async def run(url: str, vehicle_id: str, token: str, plan_timeout_s: float) -> int:
    events_unacked: dict[int, dict[str, object]] = {}
    event_seq = 0
    telemetry_seq = 0

    def telemetry(state: str, plan_version: int) -> bytes:
        nonlocal telemetry_seq
        telemetry_seq += 1
        return pack(
            {
                "t": "telemetry",
                "seq": telemetry_seq,
                "t_s": time.time(),
                "lat_deg": 35.6486,
                "lon_deg": 140.0415,
                "heading_deg": 129.0,
                "speed_m_s": 0.0,
                "battery_soc": 0.9,
                "occupancy": 0,
                "doors_open": False,
                "state": state,
                "plan_version": plan_version,
            }
        )

    def event(kind: str, **fields: object) -> bytes:
        nonlocal event_seq
        event_seq += 1
        frame: dict[str, object] = {
            "t": "event",
            "seq": event_seq,
            "t_s": time.time(),
            "kind": kind,
        }
        frame.update(fields)
        events_unacked[event_seq] = frame
        return pack(frame)

    async with connect(url, subprotocols=["kaiteki.ground.v1"]) as ws:  # type: ignore[list-item]
        if ws.subprotocol != "kaiteki.ground.v1":
            print("server did not select kaiteki.ground.v1", file=sys.stderr)
            return 1
        await ws.send(
            pack(
                {
                    "t": "hello",
                    "v": 1,
                    "vehicle_id": vehicle_id,
                    "token": token,
                    "boot_id": uuid.uuid4().hex[:16],
                    "last_cmd_seq": 0,
                    "plan_version": -1,
                    "kind": "bus",
                    "sw": "independent-0.1",
                }
            )
        )
        welcome = msgpack.unpackb(await ws.recv())
        if welcome.get("t") != "welcome" or welcome.get("v") != 1:
            print(f"expected welcome, got {welcome!r}", file=sys.stderr)
            return 1
        print(f"welcome: session {welcome['session_id']}, limits {welcome.get('limits')}")
        await ws.send(telemetry("idle", -1))
        await ws.send(event("at_depot", stop_id="depot-1"))
        plan: dict[str, object] | None = None
        deadline = time.monotonic() + plan_timeout_s
        while plan is None or events_unacked:
            left = deadline - time.monotonic()
            if left <= 0:
                print(
                    f"timed out: plan={plan is not None}, unacked={sorted(events_unacked)}",
                    file=sys.stderr,
                )
                return 1
            try:
                frame = msgpack.unpackb(await asyncio.wait_for(ws.recv(), left))
            except TimeoutError:
                continue
            tag = frame.get("t")
            if tag == "ack":
                events_unacked.pop(frame["seq"], None)
                if not frame["ok"]:
                    print(f"event {frame['seq']} refused: {frame.get('code')}", file=sys.stderr)
                    return 1
            elif tag == "ping":
                await ws.send(pack({"t": "pong", "nonce": frame["nonce"]}))
            elif tag == "plan":
                plan = frame
                await ws.send(pack({"t": "ack", "seq": frame["seq"], "ok": True}))
                version = frame["plan_version"]
                stops = frame["stops"]
                print(f"plan {version}: {[s['stop_id'] for s in stops]}")
                await ws.send(telemetry("en_route", version))
                if stops:
                    await ws.send(
                        event("arrived", stop_id=stops[0]["stop_id"], plan_version=version)
                    )
                    for rider in stops[0].get("pickups", []):
                        await ws.send(
                            event(
                                "boarded",
                                rider_id=rider,
                                stop_id=stops[0]["stop_id"],
                                plan_version=version,
                            )
                        )
            elif tag in ("hold", "resume", "return_to_depot", "cancel"):
                await ws.send(
                    pack(
                        {
                            "t": "ack",
                            "seq": frame["seq"],
                            "ok": False,
                            "code": "unsupported",
                            "msg": "demo vehicle",
                        }
                    )
                )
            elif tag == "error":
                print(f"server error: {frame}", file=sys.stderr)
                return 1
        await ws.send(pack({"t": "frob"}))  # an unknown type must be answered, not fatal
        answer = msgpack.unpackb(await ws.recv())
        if answer.get("t") != "error" or answer.get("code") != "unknown_type":
            print(f"expected error unknown_type, got {answer!r}", file=sys.stderr)
            return 1
        print(f"done: {telemetry_seq} telemetry, {event_seq} events acknowledged")
        return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--vehicle-id", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--plan-timeout-s", type=float, default=20.0)
    args = parser.parse_args()
    try:
        code = asyncio.run(run(args.url, args.vehicle_id, args.token, args.plan_timeout_s))
    except ConnectionClosed as exc:  # e.g. 4001 authentication failed, 4002 unsupported version
        close = exc.rcvd
        print(
            f"closed by the server: {close.code if close else None} "
            f"{close.reason if close else ''}",
            file=sys.stderr,
        )
        code = 1
    sys.exit(code)


if __name__ == "__main__":
    main()
