"""`python -m sim.copter`: run N simulated ArduPilot copters for a ground station to fly.

    python -m sim.copter --count 3 --udp 127.0.0.1:14550     # send to a GCS listening there
    python -m sim.copter --count 2 --tcp 5760                # listen on 5760, 5770 (SITL style)
    python -m sim.copter --count 5 --udp 127.0.0.1:14550 --speed 10 --duration 600
    python -m sim.copter --scenario --udp 127.0.0.1:14550   # the Chiba scenario's 14 drones

Copters get system ids `--sysid`, `--sysid`+1, ...; their homes are spread `--spacing-m`
metres apart eastwards from `--home LAT,LON,ALT_AMSL`. `--param NAME=VALUE` sets an ArduPilot
parameter on every copter (e.g. FS_GCS_ENABLE=1); `--signing-key HEX` makes them sign and
require MAVLink 2 signatures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import math
import sys
from collections.abc import Sequence

from sim.copter.flight import CopterConfig
from sim.copter.physics import Wind
from sim.copter.swarm import CopterSwarm
from vehicles.clock import ScaledClock


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def _param(text: str) -> tuple[str, float]:
    name, _, value = text.partition("=")
    try:
        return name.strip().upper(), float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}") from None


def _key(text: str) -> bytes:
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise argparse.ArgumentTypeError("expected 64 hex digits (a 32-byte key)")
    return key


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sim.copter",
                                     description="Run simulated ArduPilot copters.")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--udp", type=_address, help="ground station address HOST:PORT")
    where.add_argument("--tcp", type=int, help="first TCP port to listen on (then +10 each)")
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--scenario", nargs="?", const="", default=None, metavar="TOML",
                        help="fly the scenario's drone fleet (default: the Chiba scenario)")
    parser.add_argument("--sysid", type=int, default=1, help="system id of the first copter")
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per second")
    parser.add_argument("--duration", type=float, default=0.0, help="stop after (0: never), s")
    parser.add_argument("--home", default="35.6480,140.0350,5.0", help="LAT,LON,ALT_AMSL")
    parser.add_argument("--spacing-m", type=float, default=10.0)
    parser.add_argument("--wind", default="0,0", help="SPEED_M_S,FROM_DEG")
    parser.add_argument("--payload-kg", type=float, default=0.0)
    parser.add_argument("--param", type=_param, action="append", default=[])
    parser.add_argument("--signing-key", type=_key, default=None,
                        help="MAVLink 2 signing secret, 64 hex digits (same for every copter)")
    parser.add_argument("--request-int", action="store_true",
                        help="ask for mission items with MISSION_REQUEST_INT")
    args = parser.parse_args(argv)
    if not 1 <= args.count <= 250 or not 1 <= args.sysid <= 256 - args.count:
        parser.error("--count and --sysid must keep system ids within 1..255")
    return args


def _configs(args: argparse.Namespace) -> list[tuple[int, str, CopterConfig]]:
    if args.scenario is not None:
        from sim.copter.scenario_fleet import copters_from_scenario
        from sim.scenario.model import load_scenario

        scenario = load_scenario(args.scenario or None)
        return [(c.sysid, f"{c.name} at {c.warehouse_id}",
                 dataclasses.replace(c.config, payload_kg=args.payload_kg,
                                     params={**c.config.params, **dict(args.param)}))
                for c in copters_from_scenario(scenario, args.sysid)]
    lat, lon, alt = (float(v) for v in args.home.split(","))
    wind_speed, wind_from = (float(v) for v in args.wind.split(","))
    m_per_deg_lon = 111_320.0 * math.cos(math.radians(lat))
    return [(args.sysid + i, f"copter {i + 1}", CopterConfig(
        home_lat_deg=lat, home_lon_deg=lon + i * args.spacing_m / m_per_deg_lon,
        home_alt_amsl_m=alt, payload_kg=args.payload_kg,
        wind=Wind.from_direction(wind_speed, wind_from), params=dict(args.param)))
        for i in range(args.count)]


async def run(args: argparse.Namespace) -> None:
    clock = ScaledClock(args.speed)
    swarm = CopterSwarm(clock)
    for i, (sysid, name, config) in enumerate(_configs(args)):
        if args.udp is not None:
            copter = await swarm.add_udp(sysid, args.udp, config, request_int=args.request_int,
                                         signing_key=args.signing_key)
            print(f"{name}: sysid {sysid}, udp 127.0.0.1:{copter.port} -> "
                  f"{args.udp[0]}:{args.udp[1]}", flush=True)
        else:
            port = args.tcp + 10 * i if args.tcp else 0
            copter = await swarm.add_tcp(sysid, port, config, request_int=args.request_int,
                                         signing_key=args.signing_key)
            print(f"{name}: sysid {sysid}, tcp listening on 127.0.0.1:{copter.port}",
                  flush=True)
    swarm.start()
    try:
        if args.duration > 0:
            await asyncio.sleep(args.duration / args.speed)
        else:
            await asyncio.Event().wait()
    finally:
        await swarm.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
