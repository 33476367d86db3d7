"""The real service with simulated ground vehicles: trips submitted through the HTTP API are
planned at once, sent to the vehicles over the websocket protocol and carried to the end; a
vehicle that drops off the network has its waiting riders re-planned by the supervisor.

Real parts: the operator API on uvicorn, the ground server on websockets, SQLite on disk, the
simulated vehicles' protocol clients (`sim.ground.wire`, test-only), one sped-up clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from fleet.config import load_config
from sim.ground.bus import Bus
from sim.ground.mobility import PersonalMobility
from sim.ground.network import load_network
from sim.ground.wire import WireFleet
from tests.fleet.fleet_service_harness import (
    MOBILITY,
    VIEWER,
    Running,
    ground_tokens,
    running_service,
    write_config,
)
from vehicles.clock import ScaledClock
from vehicles.ground.client import Backoff

SPEED = 250.0  # clock seconds per wall second
SUPERVISOR = {"ground_lost_s": 300.0, "link_degraded_s": 60.0, "lateness_margin_s": 120.0}


async def until(condition: Callable[[], bool], wall_s: float = 60.0) -> None:
    async with asyncio.timeout(wall_s):
        while not condition():
            await asyncio.sleep(0.02)


class World:
    def __init__(self, api: Running, fleet: WireFleet) -> None:
        self.api, self.fleet = api, fleet

    def state(self, trip_id: str) -> str:
        return self.api.service.records.trips[trip_id].state


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    clock = ScaledClock(SPEED, 1_800_000_000.0)
    path = write_config(tmp_path, supervisor=SUPERVISOR)
    config = load_config(path)
    net = load_network()
    async with running_service(path, clock=clock) as api:
        assert api.service.ground_server is not None
        tokens = ground_tokens(config)
        fleet = WireFleet(api.service.ground_server.url, clock, tokens, epoch_s=0.0,
                          telemetry_period_s=10.0, backoff=Backoff(initial_s=5.0, max_s=30.0),
                          ack_timeout_s=60.0)
        fleet.add(Bus("bus-1", net, start="kaihin-makuhari"))
        fleet.add(PersonalMobility("pm-01", net, start="pm-depot"))
        fleet.add(PersonalMobility("pm-02", net, start="pm-depot"))
        await fleet.start()
        try:
            async with asyncio.timeout(10):
                await fleet.wait_connected()
            records = api.service.records.vehicles
            await until(lambda: all(records[v].link == "up" for v in ("bus-1", "pm-01", "pm-02")))
            yield World(api, fleet)
        finally:
            await fleet.stop()


@pytest.mark.slow
async def test_trips_submitted_over_http_are_carried_to_the_end(world: World) -> None:
    api = world.api
    bodies = [
        {"origin": "kaihin-makuhari", "destination": "messe", "riders": 2, "mode": "bus"},
        {"origin": "home-utase-1", "destination": "aeon-mall", "mode": "mobility"},
        {"origin": "messe", "destination": "wakaba", "riders": 1, "mode": "bus"},
    ]
    ids = []
    for i, body in enumerate(bodies):
        reply = await api.call("POST", "/api/v1/trips", MOBILITY, {**body, "idempotency_key": f"e2e-{i}"})
        assert reply.status == 201, reply.body
        assert reply.body["state"] == "assigned", reply.body  # answered at once, with a promise
        assert reply.body["promised_window"] is not None and reply.body["vehicle_id"]
        ids.append(reply.body["id"])
    bus = (await api.call("GET", "/api/v1/vehicles/bus-1", VIEWER)).body
    assert any(stop["request_id"] == ids[0] for stop in bus["plan"]["stops"])
    await until(lambda: all(world.state(t) == "dropped_off" for t in ids), wall_s=90)
    for trip_id in ids:
        kinds = [(e["kind"], e["data"].get("state")) for e in
                 (await api.call("GET", f"/api/v1/history/{trip_id}", VIEWER)).body["items"]]
        assert kinds == [("trip.submitted", None), ("trip.state", "planned"), ("trip.state", "assigned"),
                         ("trip.state", "picked_up"), ("trip.state", "dropped_off")]
    kpis = (await api.call("GET", "/api/v1/kpis", VIEWER)).body
    assert kpis["trips_completed"] == 3 and kpis["trips_open"] == 0
    snapshot = (await api.call("GET", "/api/v1/export/fleet.geojson", VIEWER)).body
    assert {"bus-1", "pm-01", "pm-02"} <= {f["id"] for f in snapshot["features"]}
