"""The demo's drone world in wire mode: parcels flown end to end over loopback UDP MAVLink.

The service is built from the demo's own configuration (`fleet.demo.setup.service_config`),
the copters and their ground crews are the demo's `DroneWorld`, on a clock 30 times faster than
the wall. Two parcels are submitted at once from two warehouses: one copter flies its sortie
(load, fly the fitted fence, land at the drone port, release, fly home); the other is put into
LAND by its "pilot" half-way, and the service must say that parcel landed short, where.
Assertions are on outcomes, never on wall-clock speed (a loaded machine only makes it slower).
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from pathlib import Path

import pytest

from fleet.config import parse_config
from fleet.demo.drone_world import DroneWorld
from fleet.demo.setup import service_config
from fleet.service import FleetService
from sim.copter.modes import CopterMode
from sim.ground.network import load_network
from sim.scenario.model import Scenario, load_scenario
from sim.scenario.record import RunRecord
from tests.fleet.fleet_service_harness import until
from vehicles.clock import ScaledClock

SPEED = 30.0
PORT = "port-cross-tower"


def two_drone_scenario() -> Scenario:
    scenario = load_scenario()
    warehouses = tuple(
        dataclasses.replace(w, count=1 if w.id in ("narashino-akanehama", "funabashi-hinode")
                            else 0)
        for w in scenario.warehouses
    )
    drone = dataclasses.replace(scenario.drone, landing_service_s=20.0, loading_s=20.0)
    return dataclasses.replace(scenario, warehouses=warehouses, drone=drone, faults=())


async def world_tick(drones: DroneWorld, record: RunRecord, stop: asyncio.Event) -> None:
    while not stop.is_set():
        drones.tick(record)
        await asyncio.sleep(0.05)


@pytest.mark.slow
@pytest.mark.timeout(360)
async def test_a_parcel_is_delivered_and_a_short_landing_is_told_apart(tmp_path: Path) -> None:
    scenario = two_drone_scenario()
    data = service_config(scenario, load_network(), str(tmp_path / "journal.sqlite"),
                          "127.0.0.1:0", "127.0.0.1:0", SPEED / 2.0)
    clock = ScaledClock(SPEED)
    service = FleetService(parse_config(data), clock=clock)
    await service.start()
    drones = DroneWorld(service, scenario, clock, SPEED)
    record = RunRecord(scenario.name, scenario.seed, "wire", 0.0, 0.2, 50.0)
    stop = asyncio.Event()
    ticking = asyncio.create_task(world_tick(drones, record, stop))
    try:
        await drones.start()
        ids = sorted(drones.copters)
        assert len(ids) == 2
        await until(lambda: all(service.drones.drones[d].online for d in ids), wall_s=40)
        now = clock.now_s()
        orders = {}
        for wh in ("narashino-akanehama", "funabashi-hinode"):
            body = {"warehouse": wh, "drone_port": PORT, "weight_kg": 2.0, "ready_s": now,
                    "deadline_s": now + 3 * 3600.0, "medicine": False}
            order, _ = service.submit_order(body, "test", f"k-{wh}")
            assert order.state == "assigned", order.reason
            orders[wh] = order.id
        records = service.records.orders
        good, short = orders["narashino-akanehama"], orders["funabashi-hinode"]
        short_drone = records[short].vehicle_id
        fc = drones.copters[short_drone].autopilot.fc
        # the pilot of the Funabashi copter lands it where it is, 1.5 km out
        await until(lambda: records[short].state == "in_flight"
                    and math.hypot(fc.body.north_m, fc.body.east_m) > 1500.0, wall_s=60)
        assert fc.set_mode(CopterMode.LAND)
        await until(lambda: records[good].state in ("delivered", "failed")
                    and records[short].state in ("delivered", "failed"), wall_s=120)
        assert records[good].state == "delivered", records[good].reason
        assert records[short].state == "failed"
        reason = records[short].reason
        if "delivery not confirmed" not in reason:  # (that, if a loaded machine lost the link)
            assert "landed before the drone port" in reason and "armed in LAND" in reason
        assert "m from" in reason  # where it came down: not at a site
        good_drone = records[good].vehicle_id
        ops = drones.ops
        assert ops is not None
        await until(lambda: ops.crews[good_drone].sortie is None
                    and not drones.copters[good_drone].autopilot.fc.armed, wall_s=120)
        await until(lambda: sum(x.vehicle == good_drone for x in record.landings) == 2, wall_s=10)
        missions = [e.data["state"] for e in service.journal.history(good_drone)
                    if e.kind == "mission.state"]
        assert missions == ["uploading", "uploaded", "started", "completed"]
    finally:
        stop.set()
        await ticking
        drones.violations(record)
        await drones.stop()
        await service.stop()
    good_fc = drones.copters[good_drone].autopilot.fc
    assert good_fc.payload_kg == 0.0 and good_fc.mission.payload_events  # released at the port
    assert fc.payload_kg == 2.0  # the short one still carries its parcel
    sites = [landing.site for landing in record.landings if landing.vehicle == good_drone]
    assert sites == [PORT, "narashino-akanehama"]
    assert min(landing.soc for landing in record.landings) >= scenario.drone.reserve_fraction
    assert record.violations == []
