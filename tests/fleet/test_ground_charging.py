"""The service keeps ground vehicles in service over their batteries: the real `FleetService`
and simulated vehicles joined by the ground protocol's cores over in-memory pipes (fast mode's
`MemoryGround`), on a virtual clock.

- A bus under its charge level is taken out of dispatch, sent to its depot with the protocol's
  `return_to_depot`, charges at the simulator's rate and is put back into service with a plan;
  a trip asked for meanwhile goes to another vehicle, or is refused naming the charging.
- A vehicle that runs flat with a rider aboard (a battery-sag fault) is stranded, reported, and
  rescued: the rider is carried on, the vehicle goes to charge and comes back.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from dispatch.ground_energy import ChargeState
from fleet.config import parse_config
from fleet.demo.memory import MemoryGroundServer
from fleet.demo.setup import ground_fleet, service_config, tokens
from fleet.ground_server import GroundServer
from fleet.journal import SqliteJournal
from fleet.service import FleetService
from sim.ground.fast import MemoryGround
from sim.ground.network import load_network
from sim.ground.vehicle import GroundVehicle
from sim.scenario.model import load_scenario
from vehicles.clock import VirtualClock


@dataclass
class World:
    service: FleetService
    ground: MemoryGround
    adapter: MemoryGroundServer
    clock: VirtualClock

    def vehicle(self, vid: str) -> GroundVehicle:
        return self.ground.runner.vehicle(vid)

    async def run_until(self, done: Callable[[], bool], limit_s: float) -> float:
        """Step 1 s at a time until `done()`; the simulated seconds it took."""
        start = self.clock.now_s()
        while not done():
            assert self.clock.now_s() - start < limit_s, "not reached in time"
            await self.clock.advance(1.0)
            self.ground.step()
            self.adapter.deliver()
        return self.clock.now_s() - start

    def actions(self, subject: str) -> list[str]:
        entries = self.service.journal.entries()
        return [
            e.data["action"] for e in entries if e.kind == "supervisor" and e.subject == subject
        ]

    def trip(self, origin: str, destination: str, mode: str) -> str:
        now = self.clock.now_s()
        body = {
            "origin": origin,
            "destination": destination,
            "riders": 1,
            "mode": mode,
            "earliest_pickup_s": now,
            "latest_dropoff_s": now + 3600.0,
        }
        record, _ = self.service.submit_trip(body, "test", f"k-{now}-{origin}")
        return record.id


@asynccontextmanager
async def world(tmp_path: Path, buses: int, pms: int) -> AsyncIterator[World]:
    base = load_scenario()
    scenario = dataclasses.replace(
        base,
        bus=dataclasses.replace(base.bus, count=buses),
        mobility=dataclasses.replace(base.mobility, count=pms),
    )
    net = load_network()
    clock = VirtualClock(0.0)
    data = service_config(
        scenario, net, str(tmp_path / "j.sqlite"), "127.0.0.1:0", "127.0.0.1:0", 2.0
    )
    service = FleetService(
        parse_config(data), clock=clock, journal=SqliteJournal(tmp_path / "j.sqlite")
    )
    ground = MemoryGround(tokens(data), clock, step_s=1.0, telemetry_period_s=2.0)
    adapter = MemoryGroundServer(ground)
    await service.start(ground_server=cast(GroundServer, adapter))
    for vehicle in ground_fleet(scenario, net):
        ground.add(vehicle)
    w = World(service, ground, adapter, clock)
    await w.run_until(lambda: service.records.vehicles["bus-1"].link == "up", 30.0)
    try:
        yield w
    finally:
        await w.service.stop()


async def test_a_low_bus_charges_at_its_depot_and_returns_to_service(tmp_path: Path) -> None:
    async with world(tmp_path, buses=2, pms=0) as w:
        bus = w.vehicle("bus-1")
        bus.battery_soc = 0.29  # under the 30 % charge level: due now
        gv = w.service.ground.vehicles["bus-1"]
        await w.run_until(lambda: gv.out_of_service != "", 10.0)
        assert not gv.out_of_service.startswith("in fault")
        trip = w.trip("messe", "aeon-mall", "bus")  # while bus-1 is out: bus-2 takes it
        assert w.service.records.trips[trip].vehicle_id == "bus-2"
        await w.run_until(lambda: gv.out_of_service == "charging", 1800.0)
        assert bus.telemetry().charging and bus.state.value == "idle"
        lowest = bus.battery_soc
        assert lowest > 0.2  # never under the vehicle's own warning level
        took = await w.run_until(lambda: gv.out_of_service == "", 3 * 3600.0)
        # 22 kW into 30 kWh, with 0.8 kW of auxiliaries: (0.9 - lowest) x 30 / 21.2 h
        expected_s = (0.9 - lowest) * 30_000.0 / 21_200.0 * 3600.0
        assert abs(took - expected_s) < 120.0
        assert w.actions("bus-1") == [  # nothing to finish: due and sent at once
            "charge: to_depot",
            "charge: charging",
            "charge: in_service",
        ]
        await w.run_until(lambda: bus.state.value == "en_route", 60.0)  # back on its loop
        trip2 = w.trip("kaihin-makuhari", "wakaba", "bus")
        assert w.service.records.trips[trip2].state == "assigned"


async def test_a_charging_fleet_is_a_stated_reason(tmp_path: Path) -> None:
    async with world(tmp_path, buses=1, pms=0) as w:
        w.vehicle("bus-1").battery_soc = 0.25
        gv = w.service.ground.vehicles["bus-1"]
        await w.run_until(lambda: gv.out_of_service != "", 10.0)
        trip = w.trip("messe", "aeon-mall", "bus")
        record = w.service.records.trips[trip]
        assert record.state == "rejected" and record.reason == "vehicle going to charge"


async def test_a_flat_vehicle_with_a_rider_is_rescued_and_carries_on(tmp_path: Path) -> None:
    async with world(tmp_path, buses=1, pms=2) as w:
        trip = w.trip("kaihin-makuhari", "home-utase-1", "mobility")
        record = w.service.records.trips[trip]
        pm = w.vehicle(record.vehicle_id)
        await w.run_until(lambda: record.state == "picked_up", 1800.0)
        pm.battery_soc = 0.0005  # a battery-sag fault: flat within metres
        await w.run_until(lambda: pm.fault_code == "battery_empty", 300.0)  # after the dwell
        gv = w.service.ground.vehicles[pm.vehicle_id]
        await w.run_until(lambda: gv.out_of_service.startswith("in fault"), 10.0)
        assert "vehicle out of service" in w.actions(pm.vehicle_id)
        await w.run_until(lambda: record.state == "dropped_off", 3600.0)  # after the rescue
        await w.run_until(lambda: w.actions(pm.vehicle_id)[-1] == "charge: in_service", 6 * 3600)
        states = [
            json.loads(json.dumps(e.data)).get("state")
            for e in w.service.journal.entries()
            if e.subject == pm.vehicle_id and e.kind == "vehicle.state"
        ]
        assert "fault" in states and states[-1] != "fault"


async def test_a_restart_mid_charge_keeps_the_vehicle_charging(tmp_path: Path) -> None:
    async with world(tmp_path, buses=2, pms=0) as w:
        w.vehicle("bus-1").battery_soc = 0.29
        gv = w.service.ground.vehicles["bus-1"]
        await w.run_until(lambda: gv.out_of_service == "charging", 1800.0)
        # The backend process dies; a new one starts from the journal (as fast mode's restart).
        old = w.service
        await old.stop()
        w.adapter.restart()
        w.service = FleetService(
            old.config, clock=w.clock, journal=SqliteJournal(tmp_path / "j.sqlite")
        )
        await w.service.start(ground_server=cast(GroundServer, w.adapter))
        new_gv = w.service.ground.vehicles["bus-1"]
        assert w.service.ground_ops.charge["bus-1"].state is ChargeState.CHARGING
        assert new_gv.out_of_service == "charging"  # not dispatched off the charger
        await w.run_until(lambda: new_gv.out_of_service == "", 3 * 3600.0)
        assert w.vehicle("bus-1").battery_soc >= 0.9
        assert w.actions("bus-1")[-1] == "charge: in_service"
