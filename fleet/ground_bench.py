"""Benchmark of the ground server: telemetry ingest rate and vehicle-to-operator-feed latency.

    python -m fleet.ground_bench --vehicles 1000 --json ground_bench.json

This process runs the real `GroundServer` and an operator feed (`fleet.feed.Broadcaster` served
over websockets on `/feed`); every telemetry frame the server accepts is encoded once as JSON and
published to the feed. Two more processes connect over loopback websockets: the vehicles (all
of them in one asyncio process, raw websocket connections speaking the protocol) and the
operators (`--operators` feed clients). Two phases, each with fresh connections:

1. *paced*: every vehicle sends telemetry at `--rate-hz` (1 Hz, what vehicles really do). The
   operators measure latency = receipt time - the frame's `t_s` (stamped by the vehicle right
   before sending; all processes share the machine's clock): p50/p99 of vehicle -> server ->
   feed -> operator.
2. *saturate*: every vehicle sends as fast as its connection takes frames; the server's
   accepted-telemetry count over the window gives frames per second ingested, with the server
   process's CPU use. The per-connection rate limit is raised for this phase (the default of
   20 frames/s per vehicle would otherwise refuse frames, which is not what is measured).

Figures depend on the machine and on what else runs on it; on a shared 2-core machine they are
noisy, and the vehicle and operator processes compete with the server for the same two cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any, cast

import msgpack
import websockets
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.typing import Subprotocol

from fleet.feed import Broadcaster, OverflowPolicy, serve_websocket
from fleet.ground_server import GroundServer
from vehicles.ground import messages as m
from vehicles.ground.server_types import AppEvent, TelemetryReceived

_SUB = [Subprotocol(m.SUBPROTOCOL)]


def _vid(i: int) -> str:
    return f"bench-{i:05d}"


# --- the vehicles process ----------------------------------------------------------------------


async def _vehicle(url: str, i: int, gate: asyncio.Semaphore) -> ClientConnection:
    async with gate:
        ws = await connect(url, subprotocols=_SUB, compression=None, open_timeout=60)
        hello = {"t": "hello", "v": 1, "vehicle_id": _vid(i), "token": f"t-{i}", "boot_id": "b"}
        await ws.send(msgpack.packb(hello))
        welcome = msgpack.unpackb(await ws.recv())
        assert welcome["t"] == "welcome", welcome
        return ws


def _telemetry(seq: int, i: int) -> bytes:
    return cast(
        bytes,
        msgpack.packb(
            {
                "t": "telemetry",
                "seq": seq,
                "t_s": time.time(),
                "lat_deg": 35.64 + i * 1e-5,
                "lon_deg": 140.04,
                "heading_deg": 90.0,
                "speed_m_s": 5.0,
                "battery_soc": 0.8,
                "occupancy": 1,
                "doors_open": False,
                "state": "en_route",
            }
        ),
    )


async def _drain(ws: ClientConnection) -> None:
    try:
        async for _ in ws:  # errors or pings: read them so the server is never blocked by us
            pass
    except websockets.ConnectionClosed:
        pass


async def _run_vehicle(ws: ClientConnection, i: int, mode: str, rate_hz: float, end: float) -> int:
    seq = 0
    reader = asyncio.create_task(_drain(ws))
    if mode == "paced":
        await asyncio.sleep((i * 0.6180339) % 1.0 / rate_hz)  # spread the phases
    try:
        while time.monotonic() < end:
            seq += 1
            await ws.send(_telemetry(seq, i))
            if mode == "paced":
                await asyncio.sleep(1.0 / rate_hz)
            else:
                await asyncio.sleep(0)
    except websockets.ConnectionClosed:
        pass
    reader.cancel()
    return seq


async def vehicles_main(url: str, n: int, mode: str, rate_hz: float, duration_s: float) -> None:
    gate = asyncio.Semaphore(50)
    conns = await asyncio.gather(*(_vehicle(url, i, gate) for i in range(n)))
    print("READY", flush=True)
    end = time.monotonic() + duration_s
    sent = await asyncio.gather(
        *(_run_vehicle(ws, i, mode, rate_hz, end) for i, ws in enumerate(conns))
    )
    await asyncio.gather(*(ws.close() for ws in conns), return_exceptions=True)
    print(json.dumps({"sent": sum(sent)}), flush=True)


# --- the operators process ---------------------------------------------------------------------


async def _operator(
    url: str, lat_ms: list[float], recording: list[bool], stop: asyncio.Event
) -> None:
    async with connect(url, compression=None, max_queue=None) as ws:
        print("CONNECTED", flush=True)
        while not stop.is_set():
            try:
                text = await asyncio.wait_for(ws.recv(), 0.2)
            except TimeoutError:
                continue
            if recording[0]:
                lat_ms.append((time.time() - json.loads(text)["t_s"]) * 1000.0)


async def operators_main(url: str, clients: int) -> None:
    """Feed clients: record latencies between the lines GO and STOP read from stdin."""
    lat_ms: list[float] = []
    recording = [False]
    stop = asyncio.Event()

    async def control() -> None:
        while line := await asyncio.to_thread(sys.stdin.readline):
            if line.strip() == "GO":
                recording[0] = True
            elif line.strip() == "STOP":
                break
        stop.set()

    operators = (_operator(url, lat_ms, recording, stop) for _ in range(clients))
    await asyncio.gather(control(), *operators)
    print(json.dumps(_percentiles(lat_ms)), flush=True)


def _percentiles(values: list[float]) -> dict[str, Any]:
    if len(values) < 2:
        return {"samples": len(values)}
    q = statistics.quantiles(values, n=100, method="inclusive")
    return {
        "samples": len(values),
        "p50_ms": round(q[49], 2),
        "p99_ms": round(q[98], 2),
        "max_ms": round(max(values), 2),
    }


# --- the server process (main) -----------------------------------------------------------------


async def _spawn(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "fleet.ground_bench",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=None,
    )


async def _last_json(proc: asyncio.subprocess.Process) -> dict[str, Any]:
    assert proc.stdout is not None
    out = await proc.stdout.read()
    await proc.wait()
    if proc.returncode != 0:
        raise RuntimeError(f"bench subprocess failed ({proc.returncode})")
    return dict(json.loads(out.decode().strip().splitlines()[-1]))


async def _phase(
    server: GroundServer, feed_url: str, args: argparse.Namespace, mode: str
) -> dict[str, Any]:
    warm_s, measure_s = args.warm_s, args.duration_s
    ops = await _spawn("--role", "operators", "--url", feed_url, "--clients", str(args.operators))
    assert ops.stdin is not None and ops.stdout is not None
    for _ in range(args.operators):
        if (await ops.stdout.readline()).strip() != b"CONNECTED":
            raise RuntimeError("operators did not connect")
    t_connect = time.monotonic()
    veh = await _spawn(
        *("--role", "vehicles", "--url", server.url, "--vehicles", str(args.vehicles)),
        *("--mode", mode, "--rate-hz", str(args.rate_hz)),
        *("--duration-s", str(warm_s + measure_s + 0.5)),
    )
    assert veh.stdout is not None
    line = await veh.stdout.readline()
    if line.strip() != b"READY":
        raise RuntimeError(f"vehicles did not connect: {line!r}")
    connect_s = time.monotonic() - t_connect
    connected = len(server.connected_vehicles())
    await asyncio.sleep(warm_s)
    stats = server.core.stats
    ops.stdin.write(b"GO\n")
    n0, t0, cpu0 = stats.telemetry_accepted, time.monotonic(), _cpu_s()
    await asyncio.sleep(measure_s)
    n1, t1, cpu1 = stats.telemetry_accepted, time.monotonic(), _cpu_s()
    ops.stdin.write(b"STOP\n")
    ops.stdin.close()
    sent = (await _last_json(veh))["sent"]
    latency = await asyncio.wait_for(_last_json(ops), 30)
    return {
        "mode": mode,
        "vehicles_connected": connected,
        "connect_all_s": round(connect_s, 2),
        "window_s": round(t1 - t0, 2),
        "telemetry_accepted": n1 - n0,
        "frames_per_s": round((n1 - n0) / (t1 - t0), 1),
        "server_cpu_fraction": round((cpu1 - cpu0) / (t1 - t0), 2),
        "frames_per_server_cpu_s": round((n1 - n0) / max(cpu1 - cpu0, 1e-9), 1),
        "frames_sent_by_vehicles": sent,
        "feed_latency": latency,
    }


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def server_main(args: argparse.Namespace) -> dict[str, Any]:
    creds = {_vid(i): f"t-{i}" for i in range(args.vehicles)}
    limits = m.Limits(max_frames_per_s=100_000.0, burst_frames=100_000)
    feed = Broadcaster(maxsize=4096, policy=OverflowPolicy.DROP_OLDEST)

    def on_event(event: AppEvent) -> None:
        if isinstance(event, TelemetryReceived):
            tm = event.telemetry
            feed.publish_json(
                {
                    "type": "telemetry",
                    "vehicle_id": event.vehicle_id,
                    "seq": tm.seq,
                    "t_s": tm.t_s,
                    "lat_deg": tm.lat_deg,
                    "lon_deg": tm.lon_deg,
                    "speed_m_s": tm.speed_m_s,
                    "state": tm.state.value,
                }
            )

    async def feed_handler(ws: ServerConnection) -> None:
        sub = feed.subscribe()
        try:
            await serve_websocket(ws, sub)
        finally:
            feed.unsubscribe(sub)

    results: dict[str, Any] = {}
    async with (
        GroundServer(creds, limits=limits) as server,
        serve(feed_handler, "127.0.0.1", 0, compression=None) as feed_server,
    ):
        server.add_listener(on_event)
        feed_url = f"ws://127.0.0.1:{feed_server.sockets[0].getsockname()[1]}/feed"
        for mode in args.phases.split(","):
            results[mode] = await _phase(server, feed_url, args, mode)
            await asyncio.sleep(args.warm_s)
    return {
        "benchmark": "ground_server",
        "vehicles": args.vehicles,
        "rate_hz_paced": args.rate_hz,
        "operators": args.operators,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "websockets": getattr(websockets, "__version__", "?"),
        "phases": results,
        "note": "loopback on one shared machine: vehicles, operators and server share the CPUs; "
        "figures are noisy",
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Ground server ingest and feed latency benchmark")
    p.add_argument("--vehicles", type=int, default=1000)
    p.add_argument("--operators", type=int, default=3, help="feed clients measuring latency")
    p.add_argument("--rate-hz", type=float, default=1.0, help="telemetry rate, paced phase")
    p.add_argument("--duration-s", type=float, default=10.0, help="measured window per phase")
    p.add_argument("--warm-s", type=float, default=1.0, help="unmeasured start of each phase")
    p.add_argument("--phases", default="paced,saturate")
    p.add_argument("--json", metavar="OUT", help="write the figures to this file")
    p.add_argument("--role", choices=["server", "vehicles", "operators"], default="server")
    p.add_argument("--url", default="")
    p.add_argument("--mode", default="paced")
    p.add_argument("--clients", type=int, default=3)
    args = p.parse_args(argv)
    if args.role == "vehicles":
        asyncio.run(
            vehicles_main(args.url, args.vehicles, args.mode, args.rate_hz, args.duration_s)
        )
        return
    if args.role == "operators":
        asyncio.run(operators_main(args.url, args.clients))
        return
    result = asyncio.run(server_main(args))
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
