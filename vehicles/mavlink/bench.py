"""`python -m vehicles.mavlink.bench`: MAVLink messages decoded per second by the link.

A recorded-style stream of N drones' telemetry (ArduPilot's usual mix: GLOBAL_POSITION_INT,
ATTITUDE, SYS_STATUS, GPS_RAW_INT, BATTERY_STATUS, EXTENDED_SYS_STATE, MISSION_CURRENT,
VFR_HUD, HEARTBEAT), one packet per datagram, is packed once, then fed to a `GroundStation`
(the whole receive path: flood guard, parse, signature check, routing, typed state, events)
with time advancing 10 ms per round. Three figures:

- `decode_floor`: pymavlink `parse_buffer` alone (what decoding costs with no link);
- `link`: the ground station, unsigned;
- `link_signed`: the ground station with every drone signing (SHA-256 per packet).

One process, one core; the machine is shared, so figures are noisy: run it twice.

    python -m vehicles.mavlink.bench --json bench-mavlink.json
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vehicles.mavlink.codec import C, new_parser, signing_timestamp
from vehicles.mavlink.link import LinkConfig
from vehicles.mavlink.signing import SigningConfig
from vehicles.mavlink.station import GroundStation

UNIX_T0 = 1.8e9


def _stream(drones: int, rounds: int, keys: dict[int, bytes] | None) -> list[tuple[bytes, int]]:
    out: list[tuple[bytes, int]] = []
    mavs = {}
    for sysid in range(1, drones + 1):
        mav = C.MAVLink(None, srcSystem=sysid, srcComponent=1)
        if keys:
            mav.signing.secret_key = keys[sysid]
            mav.signing.sign_outgoing = True
            mav.signing.timestamp = signing_timestamp(UNIX_T0)
        mavs[sysid] = mav
    for r in range(rounds):
        for sysid, mav in mavs.items():
            lat, lon = 356480000 + r * 10 + sysid * 1000, 1400350000 + r * 10
            msgs = [mav.global_position_int_encode(r * 100, lat, lon, 35000, 30000, 300, -400,
                                                   -50, 9000),
                    mav.attitude_encode(r * 100, 0.01, 0.02, 1.5, 0.0, 0.0, 0.0)]
            if r % 5 == 0:
                msgs += [mav.vfr_hud_encode(5.0, 5.0, 90, 40, 35.0, -0.5),
                         mav.gps_raw_int_encode(r, 3, lat, lon, 35000, 80, 120, 500, 9000, 14),
                         mav.sys_status_encode(0, 0, 0, 300, 15800, 1200, 80, 0, 0, 0, 0, 0, 0),
                         mav.mission_current_encode(2)]
            if r % 10 == 0:
                msgs += [mav.heartbeat_encode(C.MAV_TYPE_QUADROTOR,
                                              C.MAV_AUTOPILOT_ARDUPILOTMEGA,
                                              C.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED
                                              | C.MAV_MODE_FLAG_SAFETY_ARMED, 3, 4),
                         mav.battery_status_encode(0, 0, 0, 2500, [3950] * 4 + [65535] * 6,
                                                   1200, 3000 + r, -1, 70),
                         mav.extended_sys_state_encode(0, C.MAV_LANDED_STATE_IN_AIR)]
            for msg in msgs:
                out.append((bytes(msg.pack(mav)), sysid))
                mav.seq = (mav.seq + 1) % 256
    return out


def _prime(station: GroundStation, drones: int, keys: dict[int, bytes] | None) -> None:
    for sysid in range(1, drones + 1):  # first heartbeats: the drones exist before timing
        mav = C.MAVLink(None, srcSystem=sysid, srcComponent=1)
        if keys:
            mav.signing.secret_key = keys[sysid]
            mav.signing.sign_outgoing = True
            mav.signing.timestamp = signing_timestamp(UNIX_T0) - 1_000
        hb = mav.heartbeat_encode(C.MAV_TYPE_QUADROTOR, C.MAV_AUTOPILOT_ARDUPILOTMEGA, 1, 3, 4)
        station.receive(bytes(hb.pack(mav)), ("127.0.0.1", 20000 + sysid), 0.0)


def run_case(name: str, drones: int, rounds: int, signed: bool) -> dict[str, Any]:
    keys = {s: bytes([s]) * 32 for s in range(1, drones + 1)} if signed else None
    stream = _stream(drones, rounds, keys)
    per_round = len(stream) / rounds
    t0 = time.perf_counter()
    if name == "decode_floor":
        parsers = {s: new_parser() for s in range(1, drones + 1)}
        decoded = 0
        for data, sysid in stream:
            decoded += len(parsers[sysid].parse_buffer(data) or [])
    else:
        config = LinkConfig(stream_rates_hz={}, unix_time_at_zero_s=UNIX_T0)
        signing = {s: SigningConfig(k) for s, k in keys.items()} if keys else None
        station = GroundStation(config, signing)
        _prime(station, drones, keys)
        station.events()
        t0 = time.perf_counter()
        for i, (data, sysid) in enumerate(stream):
            now_s = 0.01 * (i // per_round)
            station.receive(data, ("127.0.0.1", 20000 + sysid), now_s)
            station.datagrams_to_send()  # what the asyncio edge does after every datagram
            station.events()
            if i % 200 == 0:
                station.poll(now_s)
        refused = sum(v for k, v in station.counters.items()
                      if k not in ("bytes", "messages"))
        decoded = station.counters["messages"]
        if refused or sum(d.messages_received for d in station.drones.values()) < len(stream):
            raise SystemExit(f"{name}: the link refused packets: {dict(station.counters)}")
    wall = time.perf_counter() - t0
    return {"case": name, "drones": drones, "messages": decoded, "wall_s": round(wall, 3),
            "messages_per_s": round(decoded / wall)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vehicles.mavlink.bench",
                                     description="MAVLink messages decoded per second by the link.")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--drones", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=400, help="10 ms rounds of telemetry")
    args = parser.parse_args(argv)
    if not 1 <= args.drones <= 255 or args.rounds < 1:
        parser.error("drones is 1..255, rounds >= 1")
    results = []
    for name, signed in (("decode_floor", False), ("link", False), ("link_signed", True)):
        result = run_case(name, args.drones, args.rounds, signed)
        results.append(result)
        print(f"{name:13s} {result['messages']:8d} messages in {result['wall_s']:6.2f} s: "
              f"{result['messages_per_s']:8d} messages/s", flush=True)
    report = {"benchmark": "vehicles.mavlink.bench", "runs": results,
              "python": sys.version.split()[0], "machine": platform.machine(),
              "note": "one core, in-process (no sockets); shared machine, figures are noisy"}
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
