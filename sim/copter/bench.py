"""`python -m sim.copter.bench`: how many simulated copters one core flies at 10 Hz telemetry.

All copters and the ground side run in one process on one asyncio loop (one core), over real
UDP sockets on loopback, in real time (ScaledClock(1.0)). Each copter is armed and flies a
square in GUIDED so the simulation does real work; its telemetry is GLOBAL_POSITION_INT at
10 Hz plus ArduPilot's usual status messages (SYS_STATUS, GPS_RAW_INT, EXTENDED_SYS_STATE,
MISSION_CURRENT at 2 Hz, BATTERY_STATUS 1 Hz, HEARTBEAT 1 Hz): about 21 packets per second per
copter. The ground side is a *tracker*:

- `link`: kaiteki's own MAVLink link (`vehicles.mavlink`) tracking every copter's state;
- `decode`: a bare pymavlink decoder (the floor: what decoding alone costs).

For each fleet size the run lasts `--window-s` seconds after a warm-up; a size is *sustained*
when every copter's positions reach the ground side at 10 Hz (within 5 %) and, once the copters
fall silent, no more than 0.2 s of positions are still queued (the ground side keeps up rather
than falling behind). The figure is the largest sustained size. The machine is shared, so
figures are noisy: run it twice.

    python -m sim.copter.bench --json bench-copter.json
    python -m sim.copter.bench --tracker decode --counts 10,50,100 --window-s 3
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import math
import os
import platform
import socket
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from sim.copter.flight import CopterConfig
from sim.copter.modes import CopterMode
from sim.copter.swarm import CopterSwarm
from vehicles.clock import ScaledClock

C = mavlink
TELEMETRY_HZ = 10.0
STREAM_RATES_HZ = {C.MAV_DATA_STREAM_EXTENDED_STATUS: 2.0, C.MAV_DATA_STREAM_POSITION: 10.0,
                   C.MAV_DATA_STREAM_EXTRA1: 0.0, C.MAV_DATA_STREAM_EXTRA2: 0.0,
                   C.MAV_DATA_STREAM_EXTRA3: 1.0}


class Tracker(Protocol):
    """The ground side under test: receives every copter's telemetry on one UDP port."""

    async def open(self) -> int: ...

    def positions_received(self) -> Counter[int]: ...

    async def close(self) -> None: ...


class _DecodeProtocol(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.parser = C.MAVLink(None)
        self.parser.robust_parsing = True
        self.counts: Counter[int] = Counter()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        for msg in self.parser.parse_buffer(data) or []:
            if msg.get_msgId() == C.MAVLINK_MSG_ID_GLOBAL_POSITION_INT:
                self.counts[msg.get_srcSystem()] += 1


class DecodeTracker:
    """The floor: pymavlink decoding of every datagram, nothing else."""

    def __init__(self) -> None:
        self._transport: asyncio.DatagramTransport | None = None
        self._protocol = _DecodeProtocol()

    async def open(self) -> int:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: self._protocol,
                                                           local_addr=("127.0.0.1", 0))
        sock = transport.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)  # as a fleet GCS would
        self._transport = transport
        return int(transport.get_extra_info("sockname")[1])

    def positions_received(self) -> Counter[int]:
        return Counter(self._protocol.counts)

    async def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


def make_tracker(kind: str) -> Tracker:
    if kind == "decode":
        return DecodeTracker()
    try:  # the link is optional for the decode floor
        module = importlib.import_module("sim.copter.bench_link")
    except ImportError as exc:
        raise SystemExit(f"the link tracker needs vehicles.mavlink: {exc}") from exc
    tracker: Tracker = module.LinkTracker()
    return tracker


def _fly_square(swarm: CopterSwarm, t_s: float) -> None:
    """Keep every copter flying a 100 m square (GUIDED targets set directly on the model)."""
    for i, copter in enumerate(swarm.copters.values()):
        fc = copter.autopilot.fc
        if not fc.armed:
            fc.set_mode(CopterMode.GUIDED)
            fc.arm(force=True)
            fc.takeoff(20.0)
            continue
        if fc.land_complete or fc.relative_alt_m < 15.0:
            continue
        corner = int((t_s / 20.0 + i) % 4)
        n, e = ((0.0, 0.0), (100.0, 0.0), (100.0, 100.0), (0.0, 100.0))[corner]
        fc.guided_goto(n, e, fc.home_up_m + 20.0)


async def run_size(count: int, tracker_kind: str, warmup_s: float, window_s: float
                   ) -> dict[str, Any]:
    tracker = make_tracker(tracker_kind)
    port = await tracker.open()
    clock = ScaledClock(1.0)
    swarm = CopterSwarm(clock, step_s=0.5 / TELEMETRY_HZ, slices=10)
    expect = getattr(tracker, "expect", None)
    if expect is not None:
        expect(list(range(1, count + 1)))
    for i in range(count):
        config = CopterConfig(home_lon_deg=140.0350 + i * 1e-4, gps_fix_delay_s=0.5)
        await swarm.add_udp(i + 1, ("127.0.0.1", port), config, stream_rates_hz=STREAM_RATES_HZ)
    swarm.start()

    async def pilot(until_s: float) -> None:
        while clock.now_s() < until_s:
            _fly_square(swarm, clock.now_s())
            await asyncio.sleep(0.5)

    await pilot(warmup_s)
    before = tracker.positions_received()
    cpu0, wall0, steps0 = time.process_time(), time.perf_counter(), swarm.steps
    await pilot(warmup_s + window_s)
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    after = tracker.positions_received()
    steps = swarm.steps - steps0
    await swarm.close()  # the copters fall silent; what still arrives was queued: lag
    await asyncio.sleep(0.5)
    backlog = sum(tracker.positions_received().values()) - sum(after.values())
    await tracker.close()
    rates = [(after[s] - before[s]) / wall for s in range(1, count + 1)]
    failures = len(swarm.failures)
    lag_s = backlog / count / TELEMETRY_HZ
    return {
        "copters": count,
        "window_s": round(wall, 3),
        "cpu_fraction_of_one_core": round(cpu / wall, 3),
        "cpu_ms_per_copter_s": round(cpu / (count * wall) * 1000.0, 3),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "position_rate_hz_min": round(min(rates), 2),
        "position_rate_hz_mean": round(sum(rates) / len(rates), 2),
        "position_rate_hz_max": round(max(rates), 2),
        "ground_side_lag_s": round(lag_s, 3),
        "sim_ticks_per_s": round(steps / wall, 2),
        "simulator_failures": failures,
        "sustained": (min(rates) >= 0.95 * TELEMETRY_HZ and max(rates) <= 1.05 * TELEMETRY_HZ
                      and lag_s <= 0.2 and failures == 0),
    }


async def run(counts: Sequence[int], tracker: str, warmup_s: float, window_s: float,
              stop_after_failures: int = 2) -> dict[str, Any]:
    results, failures = [], 0
    for count in counts:
        result = await run_size(count, tracker, warmup_s, window_s)
        results.append(result)
        print(f"{count:5d} copters: positions min {result['position_rate_hz_min']:5.2f} Hz, "
              f"mean {result['position_rate_hz_mean']:5.2f} Hz, cpu "
              f"{result['cpu_fraction_of_one_core']:.2f} core, lag "
              f"{result['ground_side_lag_s']:.2f} s "
              f"(load {result['load_average_1min']}), "
              f"{'sustained' if result['sustained'] else 'NOT sustained'}", flush=True)
        failures = 0 if result["sustained"] else failures + 1
        if failures >= stop_after_failures:
            break
    sustained = [r["copters"] for r in results if r["sustained"]]
    # the CPU per copter at the largest sustained size (smaller sizes pay fixed costs less)
    largest = max((r for r in results if r["sustained"]), key=lambda r: r["copters"],
                  default=None)
    costs = [largest["cpu_ms_per_copter_s"]] if largest is not None else []
    return {
        "benchmark": "sim.copter.bench",
        "tracker": tracker,
        "telemetry_hz": TELEMETRY_HZ,
        "max_sustained_copters": max(sustained) if sustained else 0,
        # CPU cost per copter at sustained sizes: the capacity of a whole, idle core
        "cpu_ms_per_copter_s": min(costs) if costs else None,
        "copters_per_idle_core_estimate": round(1000.0 / min(costs)) if costs else None,
        "runs": results,
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "note": "one process, one asyncio loop, real UDP on loopback, real time; shared "
                "machine (see load_average_1min), so figures are noisy. The estimate divides "
                "a core by the CPU each copter costs (simulator and ground side together)",
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.copter.bench",
                                     description="Copters one core sustains at 10 Hz.")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--tracker", choices=("link", "decode"), default="link")
    parser.add_argument("--counts", default="10,25,50,75,100,150,200,250")
    parser.add_argument("--warmup-s", type=float, default=5.0)
    parser.add_argument("--window-s", type=float, default=5.0)
    args = parser.parse_args(argv)
    counts = [int(c) for c in args.counts.split(",")]
    if any(c < 1 or c > 255 for c in counts) or not math.isfinite(args.window_s):
        parser.error("counts must be 1..255 (one system id each)")
    report = asyncio.run(run(counts, args.tracker, args.warmup_s, args.window_s))
    print(f"max sustained: {report['max_sustained_copters']} copters at "
          f"{TELEMETRY_HZ:g} Hz ({args.tracker}); CPU per copter "
          f"{report['cpu_ms_per_copter_s']} ms/s -> about "
          f"{report['copters_per_idle_core_estimate']} copters per idle core")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
