"""The supervisor with real simulated ground vehicles: a vehicle that faults or falls silent has
its waiting riders re-planned onto another vehicle (and carried), riders aboard reported, every
action journaled and visible in the history."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.fleet.fleet_service_harness import MOBILITY, VIEWER, GroundWorld, ground_world, until

SPEED = 250.0
STARTS = {"pm-01": "pm-depot", "pm-02": "pm-depot"}
TRIP = {"origin": "home-utase-1", "destination": "aeon-mall", "mode": "mobility"}


async def submit(world: GroundWorld) -> tuple[str, str]:
    now_s = (await world.api.call("GET", "/api/v1/clock", VIEWER)).body["now_s"]
    body = {**TRIP, "latest_dropoff_s": now_s + 3 * 3600.0}
    reply = await world.api.call("POST", "/api/v1/trips", MOBILITY, body)
    assert reply.status == 201 and reply.body["state"] == "assigned", reply.body
    return reply.body["id"], reply.body["vehicle_id"]


async def supervisor_actions(world: GroundWorld, subject: str) -> list[str]:
    items = (await world.api.call("GET", f"/api/v1/history/{subject}", VIEWER)).body["items"]
    return [e["data"]["action"] for e in items if e["kind"] == "supervisor"]


@pytest.mark.slow
async def test_faulted_vehicle_hands_its_waiting_rider_to_another(tmp_path: Path) -> None:
    async with ground_world(tmp_path, SPEED, STARTS) as world:
        trip_id, first = await submit(world)
        world.fleet.runner.vehicle(first).inject_fault("motor_overheat", "test")
        other = "pm-02" if first == "pm-01" else "pm-01"
        records = world.api.service.records
        await until(lambda: records.vehicles[first].state == "fault", wall_s=20)
        await until(lambda: records.trips[trip_id].vehicle_id == other, wall_s=20)
        assert "vehicle out of service" in await supervisor_actions(world, first)
        await until(lambda: world.trip_state(trip_id) == "dropped_off", wall_s=60)
        history = (await world.api.call("GET", f"/api/v1/history/{trip_id}", VIEWER)).body["items"]
        states = [e["data"].get("state") for e in history if e["kind"] == "trip.state"]
        assert states == ["planned", "assigned", "planned", "assigned", "picked_up", "dropped_off"]
        assert history[-1]["actor"] == other


@pytest.mark.slow
async def test_silent_vehicle_is_declared_lost_and_its_rider_replanned(tmp_path: Path) -> None:
    async with ground_world(tmp_path, SPEED, STARTS) as world:
        trip_id, first = await submit(world)
        await world.fleet.clients[first].close()  # the radio goes quiet, no reconnect
        records = world.api.service.records
        await until(lambda: records.vehicles[first].link in ("degraded", "lost"), wall_s=20)
        assert records.trips[trip_id].vehicle_id == first  # not before ground_lost_s
        await until(lambda: records.vehicles[first].state == "offline", wall_s=20)
        await until(lambda: records.trips[trip_id].vehicle_id != first, wall_s=20)
        assert "vehicle out of service" in await supervisor_actions(world, first)
        await until(lambda: world.trip_state(trip_id) == "dropped_off", wall_s=60)
        await asyncio.sleep(0)
