"""The real service with simulated ground vehicles: trips submitted through the HTTP API are
planned at once, sent to the vehicles over the websocket protocol and carried to the end; a
vehicle that drops off the network has its waiting riders re-planned by the supervisor.

Real parts: the operator API on uvicorn, the ground server on websockets, SQLite on disk, the
simulated vehicles' protocol clients (`sim.ground.wire`, test-only), one sped-up clock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fleet.fleet_service_harness import MOBILITY, VIEWER, GroundWorld, ground_world, until

SPEED = 250.0  # clock seconds per wall second


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[GroundWorld]:
    starts = {"bus-1": "kaihin-makuhari", "pm-01": "pm-depot", "pm-02": "pm-depot"}
    async with ground_world(tmp_path, SPEED, starts) as w:
        yield w


@pytest.mark.slow
async def test_trips_submitted_over_http_are_carried_to_the_end(world: GroundWorld) -> None:
    api = world.api
    bodies = [
        {"origin": "kaihin-makuhari", "destination": "messe", "riders": 2, "mode": "bus"},
        {"origin": "home-utase-1", "destination": "aeon-mall", "mode": "mobility"},
        {"origin": "messe", "destination": "wakaba", "riders": 1, "mode": "bus"},
    ]
    ids = []
    for i, body in enumerate(bodies):
        reply = await api.call(
            "POST", "/api/v1/trips", MOBILITY, {**body, "idempotency_key": f"e2e-{i}"}
        )
        assert reply.status == 201, reply.body
        assert reply.body["state"] == "assigned", reply.body  # answered at once, with a promise
        assert reply.body["promised_window"] is not None and reply.body["vehicle_id"]
        ids.append(reply.body["id"])
    bus = (await api.call("GET", "/api/v1/vehicles/bus-1", VIEWER)).body
    assert any(stop["request_id"] == ids[0] for stop in bus["plan"]["stops"])
    hold = await api.call("POST", "/api/v1/vehicles/bus-1/hold", MOBILITY)
    assert hold.status == 200 and hold.body["accepted"] is True, hold.body
    assert api.service.records.vehicles["bus-1"].state == "holding"
    resume = await api.call("POST", "/api/v1/vehicles/bus-1/resume", MOBILITY)
    assert resume.status == 200 and resume.body["accepted"] is True, resume.body
    commands = [
        e
        for e in (await api.call("GET", "/api/v1/history/bus-1", VIEWER)).body["items"]
        if e["kind"] == "vehicle.command"
    ]
    assert [(c["actor"], c["data"]["action"]) for c in commands] == [
        ("mobility-desk", "hold"),
        ("mobility-desk", "resume"),
    ]
    await until(lambda: all(world.trip_state(t) == "dropped_off" for t in ids), wall_s=90)
    for trip_id in ids:
        kinds = [
            (e["kind"], e["data"].get("state"))
            for e in (await api.call("GET", f"/api/v1/history/{trip_id}", VIEWER)).body["items"]
        ]
        assert kinds == [
            ("trip.submitted", None),
            ("trip.state", "planned"),
            ("trip.state", "assigned"),
            ("trip.state", "picked_up"),
            ("trip.state", "dropped_off"),
        ]
    kpis = (await api.call("GET", "/api/v1/kpis", VIEWER)).body
    assert kpis["trips_completed"] == 3 and kpis["trips_open"] == 0
    snapshot = (await api.call("GET", "/api/v1/export/fleet.geojson", VIEWER)).body
    assert {"bus-1", "pm-01", "pm-02"} <= {f["id"] for f in snapshot["features"]}
