"""The runner behind `python -m fleet demo`: the real service, the built-in world, a report.

Two modes, one world:

- **wire** (the default): the service runs as in production, with its operator API on a real
  HTTP port and its ground-vehicle websocket server; simulated buses and personal-mobility
  vehicles connect over websockets; orders and trips arrive through the HTTP API; everything on
  a clock sped up by `--speed`.
- **fast** (`--fast`, CI): the same service and vehicle cores joined by in-memory byte pipes
  (`MemoryGroundServer`) under a virtual clock, submissions handed to the service directly:
  deterministic for a seed (the same seed writes a byte-identical `report.json`).

The world's truth (where each vehicle really was) comes from the simulator; outcomes come from
the service's own records. The report is `report.json` and `report.html` in the report directory.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import shutil
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import shapely
import uvicorn

from fleet.api import create_app
from fleet.config import Config, parse_config
from fleet.demo.drone_faults import DroneFaultSchedule, FaultCopter
from fleet.demo.drone_world import DroneWorld
from fleet.demo.memory import MemoryGroundServer
from fleet.demo.memory_drones import MemoryDroneWorld
from fleet.demo.setup import DEMO_TOKENS, ground_fleet, service_config, tokens, trip_points
from fleet.ground_server import GroundServer
from fleet.journal import SqliteJournal
from fleet.records import OrderRecord, TripRecord
from fleet.service import FleetService
from geofences.default import load_default
from geofences.volumes import RuleKind, iter_polygons
from sim.copter.swarm import SwarmCopter
from sim.ground.fast import MemoryGround
from sim.ground.faults import GroundFaultSchedule
from sim.ground.network import RoadNetwork, load_network
from sim.ground.vehicle import GroundVehicle
from sim.ground.wire import WireFleet
from sim.scenario.demand import ParcelOrder, TripOrder, parcel_orders, trip_orders
from sim.scenario.model import Scenario
from sim.scenario.record import LinkLoss, Outcome, RunRecord, Track, TrackPoint, kpis
from sim.scenario.report_html import MapLayer, render_html
from vehicles.clock import ScaledClock, VirtualClock
from vehicles.mavlink import UdpEndpoint

DRAIN_S = 3600.0  # after the last request: at most this long for the vehicles to finish
TRACK_EVERY_S = 30.0
PROGRESS_EVERY_S = 900.0


@dataclass
class Submission:
    at_s: float
    kind: str  # "parcel" or "trip"
    order: ParcelOrder | TripOrder


def submissions(scenario: Scenario, net: RoadNetwork) -> list[Submission]:
    points, stations = trip_points(net)
    subs = [Submission(o.at_s, "parcel", o) for o in parcel_orders(scenario)]
    subs += [Submission(o.at_s, "trip", o) for o in trip_orders(scenario, points, stations)]
    return sorted(subs, key=lambda s: (s.at_s, s.kind, s.order.key))


def parcel_body(o: ParcelOrder) -> dict[str, Any]:
    return {
        "warehouse": o.warehouse,
        "drone_port": o.drone_port,
        "weight_kg": o.weight_kg,
        "ready_s": o.ready_s,
        "deadline_s": o.deadline_s,
        "medicine": o.medicine,
    }


def trip_body(o: TripOrder) -> dict[str, Any]:
    return {
        "origin": o.origin,
        "destination": o.destination,
        "riders": o.riders,
        "mode": "mobility" if o.mobility else "bus",
        "earliest_pickup_s": o.earliest_pickup_s,
        "latest_dropoff_s": o.latest_dropoff_s,
    }


class World:
    """What the run observes: submissions, the vehicles' true tracks, and the progress line."""

    def __init__(self, scenario: Scenario, mode: str, hours: float) -> None:
        self.scenario = scenario
        self.record = RunRecord(
            scenario.name, scenario.seed, mode, hours, scenario.drone.reserve_fraction, 50.0
        )
        self.keys: dict[str, str] = {}  # idempotency key -> service id
        self.next_track_s = 0.0
        self.next_progress_s = 0.0

    def sample(self, now_s: float, vehicles: Sequence[GroundVehicle]) -> None:
        if now_s < self.next_track_s:
            return
        self.next_track_s = now_s + TRACK_EVERY_S
        for v in vehicles:
            t = v.telemetry()
            kind = "bus" if v.vehicle_id.startswith("bus") else "mobility"
            track = self.record.tracks.setdefault(v.vehicle_id, Track(v.vehicle_id, kind))
            track.points.append(
                TrackPoint(round(now_s, 1), round(t.lat_deg, 6), round(t.lon_deg, 6))
            )
            if t.speed_m_s > 0.1 or t.occupancy > 0:
                self.record.busy_s[v.vehicle_id] = (
                    self.record.busy_s.get(v.vehicle_id, 0.0) + TRACK_EVERY_S
                )

    def progress(self, now_s: float, service: FleetService, total_s: float) -> None:
        if now_s < self.next_progress_s:
            return
        self.next_progress_s = now_s + PROGRESS_EVERY_S
        k = service.kpis()
        states: dict[str, int] = {}
        for v in service.records.vehicles.values():
            states[v.state] = states.get(v.state, 0) + 1
        clock = self.scenario.start_hour + now_s / 3600.0
        print(
            f"  {int(clock):02d}:{int(clock % 1 * 60):02d} ({now_s / total_s:4.0%})  vehicles "
            + " ".join(f"{s}={n}" for s, n in sorted(states.items()))
            + f" | orders {k['orders_delivered']} delivered, {k['orders_rejected']} rejected, "
            f"{k['orders_failed']} failed | trips {k['trips_completed']} done, {k['trips_open']} open, "
            f"{k['trips_rejected']} rejected",
            flush=True,
        )

    def outcomes(self, service: FleetService, subs: Sequence[Submission]) -> None:
        by_key: dict[str, OrderRecord | TripRecord] = {
            o.key: o for o in service.records.orders.values()
        }
        by_key.update({t.key: t for t in service.records.trips.values()})
        status = {
            "delivered": "completed",
            "dropped_off": "completed",
            "rejected": "rejected",
            "failed": "failed",
            "cancelled": "cancelled",
        }
        for sub in subs:
            o = sub.order
            rec = by_key.get(o.key)
            if rec is None:
                continue  # not submitted: the run ended first
            outcome = Outcome(
                o.key,
                sub.kind,
                sub.at_s,
                status.get(rec.state, "open"),
                rec.reason,
                rec.id,
                rec.vehicle_id,
            )
            if sub.kind == "parcel":
                po = cast(ParcelOrder, o)
                outcome.promised_by_s, outcome.earliest_s = po.deadline_s, po.ready_s
                outcome.completed_s = getattr(rec, "delivered_s", None)
            else:
                to = cast(TripOrder, o)
                outcome.promised_by_s, outcome.earliest_s = (
                    to.latest_dropoff_s,
                    to.earliest_pickup_s,
                )
                outcome.picked_up_s = getattr(rec, "picked_up_s", None)
                outcome.completed_s = getattr(rec, "dropped_off_s", None)
            if outcome.status == "open":  # accounted for: the run ended before it was finished
                outcome.status = "failed"
                outcome.reason = f"not finished by the end of the run (still {rec.state})"
            self.record.outcomes.append(outcome)
        losses: dict[str, int] = {}  # open link losses: vehicle -> index in the record
        for entry in service.events(100_000):
            action = entry.data.get("action")
            if entry.kind == "supervisor":
                self.record.supervisor_actions.append(
                    {"t_s": round(entry.t_s, 1), "subject": entry.subject, **dict(entry.data)}
                )
            lost = (entry.kind == "supervisor" and action == "drone link lost") or (
                entry.kind == "vehicle.state"
                and entry.actor == "supervisor"
                and entry.data.get("state") == "offline"
                and entry.subject not in losses
                and not entry.subject.startswith("drone")
            )
            if lost and entry.subject not in losses:
                how = str(entry.data.get("detail", "")).rpartition("on reconnection: ")[2]
                loss = LinkLoss(
                    entry.subject,
                    round(entry.t_s, 1),
                    None,
                    f"trust the drone's failsafe, then {how}"
                    if entry.kind == "supervisor"
                    else "waiting riders re-planned on other vehicles",
                )
                losses[entry.subject] = len(self.record.link_losses)
                self.record.link_losses.append(loss)
            elif entry.subject in losses and (
                (entry.kind == "supervisor" and action == "drone link back")
                or (entry.kind == "vehicle.state" and entry.actor != "supervisor")
            ):
                i = losses.pop(entry.subject)
                self.record.link_losses[i] = dataclasses.replace(
                    self.record.link_losses[i], restored_s=round(entry.t_s, 1)
                )


async def run_fast(
    scenario: Scenario, hours: float, workdir: Path, with_drones: bool = True
) -> tuple[World, FleetService]:
    net = load_network()
    clock = VirtualClock(0.0)
    config = parse_config(
        service_config(
            scenario, net, str(workdir / "journal.sqlite"), "127.0.0.1:0", "127.0.0.1:0", 2.0
        )
    )
    service = FleetService(config, clock=clock, journal=SqliteJournal(workdir / "journal.sqlite"))
    restarts = sorted(f.at_s for f in scenario.faults if f.kind == "backend_restart")
    ground = MemoryGround(
        tokens(service_config(scenario, net, "", "", "", 2.0)),
        clock,
        step_s=1.0,
        telemetry_period_s=2.0,
    )
    adapter = MemoryGroundServer(ground)
    await service.start(ground_server=cast(GroundServer, adapter))  # the same interface, in memory
    for vehicle in ground_fleet(scenario, net):
        ground.add(vehicle)
    faults = GroundFaultSchedule(
        scenario.faults,
        {v.vehicle_id: v for v in ground.runner.vehicles},
        cut_link=ground.cut,
        restore_link=ground.restore,
    )
    drones = MemoryDroneWorld(service, scenario, clock, 1.0)
    if with_drones:
        await drones.start()
    world = World(scenario, "fast", hours)
    subs = submissions(scenario, net)
    pending = [s for s in subs if s.at_s < hours * 3600.0]
    end_s = hours * 3600.0 + DRAIN_S
    i = 0
    try:
        while clock.now_s() < end_s:
            now = clock.now_s()
            if i == len(pending) and now >= hours * 3600.0 and _nothing_open(service):
                break
            while i < len(pending) and pending[i].at_s <= now:
                _submit_direct(service, pending[i])
                i += 1
            await clock.advance(1.0)
            if restarts and clock.now_s() >= restarts[0]:
                restarts.pop(0)
                service = await _restart_fast(service, config, workdir, adapter, drones)
            faults.apply(clock.now_s())
            ground.step()
            adapter.deliver()
            world.sample(clock.now_s(), ground.runner.vehicles)
            world.progress(clock.now_s(), service, end_s)
            drones.tick(world.record)
    finally:
        drones.violations(world.record)
        await drones.stop()
    world.record.sim_hours = clock.now_s() / 3600.0
    world.outcomes(service, pending)
    return world, service


async def _restart_fast(
    old: FleetService,
    config: Config,
    workdir: Path,
    adapter: MemoryGroundServer,
    drones: MemoryDroneWorld,
) -> FleetService:
    """The `backend_restart` fault: the service process dies and a new one starts from the
    journal, as after a crash: the vehicles' connections drop and come back, the new process
    rebuilds its records and plans from the journal (`FleetService.recover`)."""
    if drones.ops is not None:
        await drones.ops.stop()
    await old.stop()
    adapter.restart()
    service = FleetService(
        config, clock=old.clock, journal=SqliteJournal(workdir / "journal.sqlite")
    )
    await drones.restart_service(service)
    await service.start(ground_server=cast(GroundServer, adapter))
    if drones.ops is not None:
        drones.ops.start()
    return service


def _nothing_open(service: FleetService) -> bool:
    done = ("delivered", "dropped_off", "rejected", "failed", "cancelled")
    orders = all(o.state in done for o in service.records.orders.values())
    return orders and all(t.state in done for t in service.records.trips.values())


def _submit_direct(service: FleetService, sub: Submission) -> None:
    if sub.kind == "parcel":
        o = cast(ParcelOrder, sub.order)
        service.submit_order(parcel_body(o), "demand", o.key)
    else:
        t = cast(TripOrder, sub.order)
        service.submit_trip(trip_body(t), "demand", t.key)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _post(base: str, path: str, token: str, body: dict[str, Any]) -> int:
    req = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


async def run_wire(
    scenario: Scenario,
    hours: float,
    speed: float,
    workdir: Path,
    port: int | None = None,
    with_drones: bool = False,
) -> tuple[World, FleetService]:
    net = load_network()
    clock = ScaledClock(speed)
    http_port = port or _free_port()
    period = max(1.0, speed / 2.0)  # about two telemetry frames per wall second per vehicle
    data = service_config(
        scenario,
        net,
        str(workdir / "journal.sqlite"),
        f"127.0.0.1:{http_port}",
        "127.0.0.1:0",
        period,
    )
    service = FleetService(parse_config(data), clock=clock)
    await service.start()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(service),
            host="127.0.0.1",
            port=http_port,
            log_level="warning",
            lifespan="off",
            ws="websockets-sansio",
        )
    )
    server_task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    base = f"http://127.0.0.1:{http_port}"
    assert service.ground_server is not None
    print(f"  operator API  {base}/api/v1   (OpenAPI {base}/docs)")
    print(
        f"  dashboard     {base}/dashboard/   (token: {DEMO_TOKENS['viewer']} to watch, "
        f"{DEMO_TOKENS['admin']} to act)"
    )
    print(f"  live feed     ws://127.0.0.1:{http_port}/api/v1/feed?token=...")
    print(f"  vehicles      {service.ground_server.url}", flush=True)
    fleet = WireFleet(
        service.ground_server.url, clock, tokens(data), epoch_s=0.0, telemetry_period_s=period
    )
    for vehicle in ground_fleet(scenario, net):
        fleet.add(vehicle)
    await fleet.start()
    await asyncio.wait_for(fleet.wait_connected(), 30)
    drones = DroneWorld(service, scenario, clock, speed)
    if with_drones:
        await drones.start()
        mav_port = drones.endpoint.port if isinstance(drones.endpoint, UdpEndpoint) else "-"
        print(f"  drones        MAVLink UDP 127.0.0.1:{mav_port}", flush=True)
    else:
        print(
            "  drones        not simulated (add --drones); parcels are answered 'drone offline'",
            flush=True,
        )
    world = World(scenario, "wire", hours)
    faults = GroundFaultSchedule(  # link cuts are fast mode's: here each vehicle has a socket
        scenario.faults, {v.vehicle_id: v for v in fleet.runner.vehicles}
    )
    drone_faults = DroneFaultSchedule(
        scenario.faults,
        {
            vid: FaultCopter(c.autopilot, c.cut)
            for vid, c in drones.copters.items()
            if isinstance(c, SwarmCopter)
        },
        scenario.wind,
        start_s=clock.now_s(),
    )
    subs = [s for s in submissions(scenario, net) if s.at_s < hours * 3600.0]
    end_s = hours * 3600.0 + DRAIN_S
    i = 0
    try:
        while clock.now_s() < end_s:
            now = clock.now_s()
            if i == len(subs) and now >= hours * 3600.0 and _nothing_open(service):
                break
            while i < len(subs) and subs[i].at_s <= now:
                sub = subs[i]
                if sub.kind == "parcel":
                    body = {
                        **parcel_body(cast(ParcelOrder, sub.order)),
                        "idempotency_key": sub.order.key,
                    }
                    await asyncio.to_thread(
                        _post, base, "/api/v1/orders", DEMO_TOKENS["logistics"], body
                    )
                else:
                    body = {
                        **trip_body(cast(TripOrder, sub.order)),
                        "idempotency_key": sub.order.key,
                    }
                    await asyncio.to_thread(
                        _post, base, "/api/v1/trips", DEMO_TOKENS["mobility"], body
                    )
                i += 1
            faults.apply(now)
            drone_faults.apply(now)
            world.sample(now, fleet.runner.vehicles)
            world.progress(now, service, end_s)
            drones.tick(world.record)
            await asyncio.sleep(0.05)
    finally:
        drones.violations(world.record)
        await drones.stop()
        await fleet.stop()
        world.record.sim_hours = clock.now_s() / 3600.0
        world.outcomes(service, subs)
        server.should_exit = True
        await server_task
    return world, service


def _rings(geom: Any) -> list[list[tuple[float, float]]]:
    return [[(float(x), float(y)) for x, y, *_ in p.exterior.coords] for p in iter_polygons(geom)]


def map_layers() -> tuple[list[MapLayer], tuple[float, float, float, float]]:
    airspace = load_default()
    box = (139.90, 35.60, 140.10, 35.70)
    land = []
    if airspace.land is not None:
        land = _rings(airspace.land.intersection(shapely.box(*box)).simplify(0.0002))
    did = [
        r
        for v in airspace.of_kind(RuleKind.PERMISSION_REQUIRED)
        if v.id.startswith("did-")
        for r in _rings(v.footprint.simplify(0.0003))
    ]
    nofly = [
        r
        for v in airspace.of_kind(RuleKind.NO_FLY, RuleKind.OBSTACLE)
        if v.floor_amsl_m() < 150 and v.id != "ceiling-150m-agl"
        for r in _rings(v.footprint)
    ]
    corridor = _rings(airspace.by_id("hanami-river-lower").footprint)
    return [
        MapLayer("Land (MLIT N03)", land, "#f2efe6", "#9a8f74", 1.0),
        MapLayer("Densely inhabited districts (permission)", did, "#e9a23b", "#b97a1b", 0.18),
        MapLayer("No-fly volumes and obstacles below 150 m", nofly, "#c0392b", "#8e1b10", 0.35),
        MapLayer("Hanami River corridor (preferred)", corridor, "#1a7fb5", "#0d5a82", 0.5),
    ], box


def write_report(
    world: World, service: FleetService, report_dir: Path, wall_s: float
) -> dict[str, Any]:
    report_dir.mkdir(parents=True, exist_ok=True)
    record = world.record
    record.wall_s = wall_s
    report = kpis(record)
    if record.mode == "fast":
        report["wall_s"] = (
            None  # fast mode is byte-identical per seed; wall time goes to timing.json
        )
        (report_dir / "timing.json").write_text(json.dumps({"wall_s": round(wall_s, 2)}) + "\n")
    (report_dir / "report.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    layers, box = map_layers()
    sites = [
        (s.name, s.lat_deg, s.lon_deg)
        for s in service.config.sites
        if s.kind in ("warehouse", "drone_port")
    ]
    (report_dir / "report.html").write_text(
        render_html(record, report, layers, box, sites), encoding="utf-8"
    )
    return report


async def run(
    scenario: Scenario,
    *,
    fast: bool,
    hours: float,
    speed: float,
    report_dir: Path,
    port: int | None = None,
    drones: bool = False,
) -> dict[str, Any]:
    scenario = dataclasses.replace(scenario, hours=hours)  # demand for the hours asked for
    workdir = report_dir / "run"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    t0 = time.monotonic()
    if fast:
        world, service = await run_fast(scenario, hours, workdir, drones)
    else:
        world, service = await run_wire(scenario, hours, speed, workdir, port, drones)
    report = write_report(world, service, report_dir, time.monotonic() - t0)
    await service.stop()
    return report
