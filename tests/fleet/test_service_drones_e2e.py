"""The real service flies parcels with simulated copters over real UDP MAVLink.

An order submitted through the HTTP API is answered at once (a drone and a promised window),
routed through the airspace, uploaded as a mission and a fence, flown, and delivered; a drone
whose radio link is cut mid-flight keeps its parcel (the order stays in flight and is delivered
when the link comes back), while the order queued behind it is re-dispatched at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fleet.drones import DroneOperations, link_config
from fleet.service import FleetService
from sim.copter.battery import BatterySpec
from sim.copter.flight import CopterConfig
from sim.copter.swarm import CopterSwarm, SwarmCopter
from tests.fleet.fleet_service_harness import (
    LOGISTICS,
    VIEWER,
    Running,
    running_service,
    until,
    write_config,
)
from vehicles.clock import ScaledClock
from vehicles.mavlink import UdpEndpoint

SPEED = 25.0  # the copter re-asks for mission items after 1 s of its clock: keep that >= 40 ms wall
ORDER = {
    "warehouse": "narashino-akanehama",
    "drone_port": "port-cross-tower",
    "weight_kg": 1.0,
    "deadline_in_s": 3 * 3600,
}


@dataclass
class Air:
    api: Running
    copters: dict[str, SwarmCopter]

    @property
    def service(self) -> FleetService:
        return self.api.service

    def order_state(self, order_id: str) -> str:
        return self.service.records.orders[order_id].state


@pytest.fixture
async def air(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Air]:
    drones: tuple[str, ...] = getattr(request, "param", ("drone-07",))
    clock = ScaledClock(SPEED, 1_800_000_000.0)
    async with running_service(
        write_config(tmp_path, drone={"landing_service_s": 5.0}), clock=clock
    ) as api:
        service = api.service
        endpoint = await UdpEndpoint.start(
            host="127.0.0.1", port=0, clock=clock, config=link_config(SPEED)
        )
        ops = DroneOperations(service, endpoint)
        service.drone_link = ops
        ops.start()
        k = SPEED / 5.0
        swarm = CopterSwarm(clock, step_s=0.05 * k)
        copters = {}
        # the pack the service plans with (6S Li-ion, 22.2 V nominal)
        battery = BatterySpec(capacity_mah=service.config.drone.battery_wh / 22.2 * 1000.0)
        for v in service.config.vehicles:
            if v.id in drones:
                home = service.sites[v.home]
                config = CopterConfig(
                    home_lat_deg=home.lat_deg,
                    home_lon_deg=home.lon_deg,
                    home_alt_amsl_m=0.0,
                    battery=battery,
                )
                copters[v.id] = await swarm.add_udp(v.sysid, ("127.0.0.1", endpoint.port), config)
        swarm.start()
        try:
            # build the airspace matrix before the first order (seconds of CPU)
            service._air_leg_s(str(ORDER["warehouse"]), str(ORDER["drone_port"]))
            await until(lambda: all(service.drones.drones[d].online for d in drones), wall_s=30)
            yield Air(api, copters)
        finally:
            await ops.stop()
            await swarm.close()
            await endpoint.close()


async def submit(air: Air) -> dict[str, object]:
    reply = await air.api.call("POST", "/api/v1/orders", LOGISTICS, ORDER)
    assert reply.status == 201 and reply.body["state"] == "assigned", reply.body
    return dict(reply.body)


async def order_moves(air: Air, order_id: str) -> list[str]:
    items = (await air.api.call("GET", f"/api/v1/history/{order_id}", VIEWER)).body["items"]
    return [e["data"]["state"] for e in items if e["kind"] == "order.state"]


@pytest.mark.slow
async def test_flown_and_delivered_through_a_cut_link_queue_redispatched(air: Air) -> None:
    first, second = await submit(air), await submit(air)
    assert first["vehicle_id"] == second["vehicle_id"] == "drone-07"
    await until(lambda: air.order_state(str(first["id"])) == "in_flight", wall_s=30)
    air.copters["drone-07"].cut.cut()
    records = air.service.records
    await until(lambda: records.vehicles["drone-07"].state == "offline", wall_s=30)
    assert air.order_state(str(first["id"])) == "in_flight"  # the parcel stays with the drone
    # the queued order is re-dispatched at once; no other drone is up, so it fails with the reason
    assert air.order_state(str(second["id"])) == "failed"
    assert "drone offline" in records.orders[str(second["id"])].reason
    air.copters["drone-07"].cut.restore()
    await until(lambda: air.order_state(str(first["id"])) == "delivered", wall_s=60)
    moves = await order_moves(air, str(first["id"]))
    # a sortie refused before take-off is re-planned (planned, assigned again), then flown
    assert moves[:2] == ["planned", "assigned"]
    assert moves[-3:] == ["loaded", "in_flight", "delivered"]
    history = (await air.api.call("GET", "/api/v1/history/drone-07", VIEWER)).body["items"]
    actions = [e["data"]["action"] for e in history if e["kind"] == "supervisor"]
    assert actions[:2] == ["drone link lost", "drone link back"]
    missions = [e["data"]["state"] for e in history if e["kind"] == "mission.state"]
    assert missions == ["uploading", "uploaded", "started"]  # "completed" once back home
