"""`python -m vehicles.mavlink`: watch drones over MAVLink from the command line.

    python -m vehicles.mavlink --udp 127.0.0.1:14550            # listen where drones send
    python -m vehicles.mavlink --tcp 127.0.0.1:5760             # connect to SITL / a simulator
    python -m vehicles.mavlink --udp 127.0.0.1:14550 --signing-key HEX --sysid 1

Prints every event (discovery, link state, mode, arming, STATUSTEXT, mission progress) and,
every `--status-s` seconds, one line per drone (position, altitude, battery, readiness), then the
counters of refused input on exit. Read-only: it sends heartbeats and stream-rate requests, no
commands.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Sequence

from vehicles.mavlink.signing import SigningConfig
from vehicles.mavlink.transport import Endpoint, TcpClient, UdpEndpoint


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def _key(text: str) -> bytes:
    try:
        key = bytes.fromhex(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError("the signing key is 64 hex digits") from exc
    if len(key) != 32:
        raise argparse.ArgumentTypeError("the signing key is 64 hex digits")
    return key


def _status_line(endpoint: Endpoint) -> list[str]:
    lines = []
    for sysid, link in sorted(endpoint.station.drones.items()):
        s = link.state
        position = ("no position" if s.lat_deg is None else
                    f"{s.lat_deg:.6f},{s.lon_deg:.6f} rel {s.alt_rel_m:.1f} m")
        battery = "" if s.battery_remaining_pct is None else f" battery {s.battery_remaining_pct}%"
        ready = link.readiness()
        lines.append(f"drone {sysid}: {link.link_state.value} "
                     f"(loss {100 * link.loss.loss:.0f}%) {s.mode} "
                     f"{'ARMED' if s.armed else 'disarmed'} {position}{battery} "
                     f"{'ready' if ready.ready else 'not ready: ' + '; '.join(ready.reasons)}")
    return lines


async def run(args: argparse.Namespace) -> int:
    signing = {args.sysid: SigningConfig(args.signing_key)} if args.signing_key else None
    endpoint: Endpoint
    if args.tcp:
        endpoint = await TcpClient.connect(*args.tcp, signing=signing)
    else:
        endpoint = await UdpEndpoint.start(*args.udp, signing=signing)
    events = endpoint.subscribe()
    loop = asyncio.get_running_loop()
    deadline = None if not args.duration else loop.time() + args.duration
    next_status = loop.time() + args.status_s
    try:
        while deadline is None or loop.time() < deadline:
            with contextlib.suppress(TimeoutError):
                event = await asyncio.wait_for(events.get(), 0.2)
                print(event, flush=True)
            if loop.time() >= next_status:
                next_status = loop.time() + args.status_s
                for line in _status_line(endpoint):
                    print(line, flush=True)
    finally:
        refused = {k: v for k, v in endpoint.station.counters.items()
                   if k not in ("bytes", "messages")}
        print(f"counters: {dict(endpoint.station.counters)}; refused: {refused or 'none'}")
        await endpoint.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vehicles.mavlink",
                                     description="Watch drones over MAVLink 2.")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--udp", type=_address, default=("127.0.0.1", 14550),
                       help="listen on HOST:PORT (default 127.0.0.1:14550)")
    where.add_argument("--tcp", type=_address, help="connect to HOST:PORT (SITL: 5760)")
    parser.add_argument("--signing-key", type=_key, help="64 hex digits, for --sysid")
    parser.add_argument("--sysid", type=int, default=1, help="the drone the key belongs to")
    parser.add_argument("--status-s", type=float, default=5.0, help="status line period")
    parser.add_argument("--duration", type=float, default=0.0, help="stop after (0: never), s")
    args = parser.parse_args(argv)
    if not 1 <= args.sysid <= 255 or not args.status_s > 0 or not args.duration >= 0:
        parser.error("sysid is 1..255, status-s > 0, duration >= 0")
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
