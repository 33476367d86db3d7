"""Command line for the ground simulator (fast mode, no network I/O).

    python -m sim.ground network            # the Makuhari network: size, places, loop matrix
    python -m sim.ground run --hours 2      # buses on the loop + personal mobility serving the
                                            # scenario's door-to-door trips, on a virtual clock
    python -m sim.ground connect --url ws://127.0.0.1:8765/v1/vehicle --tokens tokens.json
                                            # wire mode: vehicles connect to a running fleet
                                            # server and follow the plans it sends

`run` hands each personal-mobility trip of the Chiba scenario's demand to the first idle vehicle
at its depot (a stand-in for `dispatch`, which is not used here), steps every vehicle by `--dt`
seconds and prints what happened. Deterministic for the scenario's seed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter
from pathlib import Path

from sim.ground.bus import BUS_DEFAULTS, DEFAULT_LOOP, Bus
from sim.ground.demand_points import STATIONS, trip_points
from sim.ground.fast import MemoryGround
from sim.ground.mobility import PersonalMobility
from sim.ground.network import TravelMode, load_network
from sim.ground.plan import Plan, PlanStop, RiderId, VehicleState
from sim.ground.routing import travel_matrices
from sim.ground.vehicle import GroundVehicle
from sim.ground.wire import WireFleet
from sim.scenario.demand import trip_orders
from sim.scenario.model import load_scenario
from vehicles.clock import ScaledClock, VirtualClock
from vehicles.ground import messages as m
from vehicles.ground.server_types import EventReceived


def _network(_: argparse.Namespace) -> None:
    net = load_network()
    modes = Counter(e.mode.value for e in net.edges)
    total_km = sum(e.length_m for e in net.edges) / 1000.0
    print(
        f"{net.source}: {len(net.nodes)} nodes, {len(net.edges)} edges ({dict(modes)}), "
        f"{total_km:.1f} km; ALL GEOMETRY APPROXIMATE"
    )
    for kind in ("bus_stop", "landmark", "home", "depot"):
        print(f"  {kind}: " + ", ".join(p.id for p in net.places_of_kind(kind)))
    dist, dur = travel_matrices(
        net, list(DEFAULT_LOOP), TravelMode.ROAD, BUS_DEFAULTS.cruise_speed_m_s
    )
    print("bus loop legs (road, 18 km/h):")
    n = len(DEFAULT_LOOP)
    for i in range(n):
        j = (i + 1) % n
        print(
            f"  {DEFAULT_LOOP[i]:>18} -> {DEFAULT_LOOP[j]:<18} {dist[i, j]:>5} m {dur[i, j]:>4} s"
        )
    lap_s = sum(int(dur[i, (i + 1) % n]) for i in range(n)) + n * BUS_DEFAULTS.dwell_s
    print(
        f"  lap: {sum(int(dist[i, (i + 1) % n]) for i in range(n))} m, {lap_s / 60:.1f} min "
        "with 30 s dwells"
    )


def _run(args: argparse.Namespace) -> None:
    summary = asyncio.run(_run_async(args))
    print(json.dumps(summary, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")


async def _run_async(args: argparse.Namespace) -> dict[str, object]:
    net = load_network()
    scenario = load_scenario()
    buses = [
        Bus(f"bus-{i + 1:02d}", net, start=DEFAULT_LOOP[(2 * i) % len(DEFAULT_LOOP)])
        for i in range(args.buses)
    ]
    pms = [PersonalMobility(f"pm-{i + 1:02d}", net) for i in range(args.pms)]
    fleet: list[GroundVehicle] = [*buses, *pms]
    world: MemoryGround | None = None
    if args.protocol:  # every plan and event goes through the protocol's sessions and server core
        world = MemoryGround(
            {v.vehicle_id: f"sim-{v.vehicle_id}" for v in fleet},
            VirtualClock(),
            step_s=args.dt,
            telemetry_period_s=args.telemetry_s,
        )
        for v in fleet:
            world.add(v)
        world.step()
    orders = [o for o in trip_orders(scenario, trip_points(net), STATIONS) if o.mobility]
    horizon_s = args.hours * 3600.0
    orders = [o for o in orders if o.at_s < horizon_s]
    counts: Counter[str] = Counter()
    waiting = list(orders)
    versions = Counter[str]()
    t_s = 0.0
    wall0 = time.perf_counter()
    steps = 0
    while t_s < horizon_s:
        assigned: set[str] = set()  # a plan sent over the protocol lands on the next step
        while waiting and waiting[0].at_s <= t_s:
            order = waiting[0]
            pm = next(
                (
                    p
                    for p in pms
                    if p.state is VehicleState.IDLE
                    and not p.onboard
                    and p.vehicle_id not in assigned
                ),
                None,
            )
            if pm is None:
                break  # every vehicle busy: the order waits
            waiting.pop(0)
            assigned.add(pm.vehicle_id)
            rider = RiderId(order.key)
            if world is not None:
                world.send_plan(
                    pm.vehicle_id,
                    [
                        m.PlanStop(order.origin, pickups=(rider,)),
                        m.PlanStop(order.destination, dropoffs=(rider,)),
                    ],
                )
                continue
            versions[pm.vehicle_id] += 1
            stops = (
                PlanStop(order.origin, pickups=(rider,)),
                PlanStop(order.destination, dropoffs=(rider,)),
            )
            pm.apply_plan(Plan(versions[pm.vehicle_id], stops))
        if world is not None:
            await world.clock.advance(args.dt)
            world.step()
            counts.update(
                e.event.kind.value for e in world.app_events if isinstance(e, EventReceived)
            )
            world.app_events.clear()
        else:
            for v in fleet:
                v.step(args.dt)
                counts.update(e.kind.value for e in v.events_out())
        steps += len(fleet)
        t_s += args.dt
    wall_s = time.perf_counter() - wall0
    return {
        "mode": "protocol (in-memory sessions + server core)" if world else "direct",
        "simulated_s": horizon_s,
        "buses": len(buses),
        "personal_mobility": len(pms),
        "pm_trip_orders": len(orders),
        "pm_orders_unassigned": len(waiting),
        "events": dict(sorted(counts.items())),
        "bus_km": round(sum(b.odometer_m for b in buses) / 1000.0, 1),
        "pm_km": round(sum(p.odometer_m for p in pms) / 1000.0, 1),
        "wall_s": round(wall_s, 2),
        "simulated_s_per_wall_s": round(horizon_s / wall_s) if wall_s > 0 else None,
        "vehicle_steps_per_wall_s": round(steps / wall_s) if wall_s > 0 else None,
    }


def _connect(args: argparse.Namespace) -> None:
    tokens = json.loads(Path(args.tokens).read_text(encoding="utf-8"))
    if not isinstance(tokens, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in tokens.items()
    ):
        raise SystemExit(f"{args.tokens}: expected a JSON object of vehicle id -> token")
    asyncio.run(_connect_async(args, tokens))


async def _connect_async(args: argparse.Namespace, tokens: dict[str, str]) -> None:
    net = load_network()
    clock = ScaledClock(args.speed)
    # The server's frame budget is per second of *its* clock (usually the wall clock): at a
    # speed-up, one telemetry frame per wall second per vehicle stays well inside it.
    period_s = args.telemetry_s if args.telemetry_s is not None else max(1.0, args.speed)
    fleet = WireFleet(args.url, clock, tokens, telemetry_period_s=period_s)
    for vid in sorted(tokens):
        if vid.startswith("bus"):
            fleet.add(Bus(vid, net, start=DEFAULT_LOOP[len(fleet.clients) % len(DEFAULT_LOOP)]))
        elif vid.startswith("pm"):
            fleet.add(PersonalMobility(vid, net))
        else:
            print(f"skipping {vid!r}: ids must start with 'bus' or 'pm'")
    print(f"{len(fleet.clients)} vehicles -> {args.url} at {args.speed}x (Ctrl-C stops)")
    await fleet.start()
    try:
        while True:
            await asyncio.sleep(10.0)
            online = sum(c.connected for c in fleet.clients.values())
            sent = sum(link.events_sent for link in fleet.links.values())
            print(
                f"t={clock.now_s():8.0f} s  online {online}/{len(fleet.clients)}  "
                f"events {sent} (unacked {fleet.unacked_events()})"
            )
    finally:
        await fleet.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m sim.ground",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("network", help="summarise the Makuhari network").set_defaults(func=_network)
    run = sub.add_parser("run", help="run buses and personal mobility in fast mode")
    run.add_argument("--hours", type=float, default=1.0)
    run.add_argument("--buses", type=int, default=3)
    run.add_argument("--pms", type=int, default=10)
    run.add_argument("--dt", type=float, default=1.0, help="step in simulated seconds")
    run.add_argument("--json", help="also write the summary to this file")
    run.add_argument(
        "--protocol",
        action="store_true",
        help="go through the ground protocol's sessions and server core (in memory)",
    )
    run.add_argument("--telemetry-s", type=float, default=1.0, help="with --protocol")
    run.set_defaults(func=_run)
    con = sub.add_parser("connect", help="wire mode: connect vehicles to a fleet server")
    con.add_argument("--url", required=True, help="ws://host:port/v1/vehicle")
    con.add_argument("--tokens", required=True, help="JSON file: vehicle id -> token")
    con.add_argument("--speed", type=float, default=1.0, help="clock speed-up (ScaledClock)")
    con.add_argument(
        "--telemetry-s",
        type=float,
        default=None,
        help="telemetry period in simulated s (default: the speed-up, i.e. 1 per wall second)",
    )
    con.set_defaults(func=_connect)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
