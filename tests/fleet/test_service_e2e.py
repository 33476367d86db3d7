"""The real service (real sockets, real SQLite) with simulated ground vehicles over websockets:
trips submitted through the HTTP API are carried out; bad requests and wrong roles change nothing.
"""

from __future__ import annotations

import asyncio
import json
import socket
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from fleet.api import create_app
from fleet.config import parse_config
from fleet.service import FleetService
from sim.ground.mobility import PersonalMobility
from sim.ground.network import load_network
from sim.ground.wire import WireFleet
from vehicles.clock import ScaledClock

SPEED = 40.0
TOKENS = {"logistics": "tok-logistics-1", "mobility": "tok-mobility-1", "viewer": "tok-viewer-1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def config_data(journal: Path, http_port: int) -> dict[str, Any]:
    return {
        "service": {"journal": str(journal), "name": "test"},
        # telemetry comes once per wall second, i.e. every SPEED seconds of the sped-up clock
        "supervisor": {"link_degraded_s": 3 * SPEED, "ground_lost_s": 6 * SPEED},
        "listen": {"http": f"127.0.0.1:{http_port}", "vehicle_ws": "127.0.0.1:0"},
        "operators": [
            {"name": f"{role}-op", "token": tok, "role": role} for role, tok in TOKENS.items()
        ],
        "sites": [
            {
                "id": "ichikawa-shiohama",
                "kind": "warehouse",
                "lat_deg": 35.6660,
                "lon_deg": 139.9300,
            },
            {
                "id": "port-cross-tower",
                "kind": "drone_port",
                "lat_deg": 35.6472,
                "lon_deg": 140.0486,
            },
            {"id": "pm-depot", "kind": "depot", "lat_deg": 35.646247, "lon_deg": 140.041516},
            {"id": "home-utase-1", "kind": "home", "lat_deg": 35.642727, "lon_deg": 140.045138},
            {"id": "messe", "kind": "stop", "lat_deg": 35.64833, "lon_deg": 140.03472},
            {"id": "kaihin-makuhari", "kind": "stop", "lat_deg": 35.64833, "lon_deg": 140.041861},
        ],
        "vehicles": [
            {"id": "pm-01", "kind": "mobility", "home": "pm-depot", "token": "pm-01-secret-token"},
            {"id": "pm-02", "kind": "mobility", "home": "pm-depot", "token": "pm-02-secret-token"},
            {"id": "drone-01", "kind": "drone", "home": "ichikawa-shiohama", "sysid": 1},
        ],
    }


class Api:
    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"

    def _call(self, method: str, path: str, token: str | None, body: Any) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as err:
            assert err.headers.get("Content-Type", "").startswith("application/problem+json")
            return err.code, json.loads(err.read())

    async def call(
        self, method: str, path: str, token: str | None = None, body: Any = None
    ) -> tuple[int, Any]:
        return await asyncio.to_thread(self._call, method, path, token, body)


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[tuple[FleetService, Api, ScaledClock]]:
    clock = ScaledClock(SPEED)
    port = free_port()
    config = parse_config(config_data(tmp_path / "journal.sqlite", port))
    service = FleetService(config, clock=clock)
    await service.start()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(service),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
            ws="websockets-sansio",
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    try:
        yield service, Api(port), clock
    finally:
        server.should_exit = True
        await task
        await service.stop()


@pytest.mark.slow
async def test_trip_through_the_api_is_carried_out_by_a_simulated_vehicle(
    running: tuple[FleetService, Api, ScaledClock],
) -> None:
    service, api, clock = running
    assert service.ground_server is not None
    fleet = WireFleet(
        service.ground_server.url,
        clock,
        {"pm-01": "pm-01-secret-token", "pm-02": "pm-02-secret-token"},
        telemetry_period_s=SPEED,
    )
    net = load_network()
    for vid in ("pm-01", "pm-02"):
        fleet.add(PersonalMobility(vid, net, start="pm-depot"))
    await fleet.start()
    try:
        await asyncio.wait_for(fleet.wait_connected(), 15)
        status, trip = await api.call(
            "POST",
            "/api/v1/trips",
            TOKENS["mobility"],
            {
                "origin": "home-utase-1",
                "destination": "messe",
                "mode": "mobility",
                "idempotency_key": "rider-42",
            },
        )
        assert status == 201, trip
        assert trip["state"] == "assigned" and trip["vehicle_id"] in ("pm-01", "pm-02")
        assert trip["promised_window"] is not None
        # a retried submission gives the same trip, not a second one
        status, again = await api.call(
            "POST",
            "/api/v1/trips",
            TOKENS["mobility"],
            {
                "origin": "home-utase-1",
                "destination": "messe",
                "mode": "mobility",
                "idempotency_key": "rider-42",
            },
        )
        assert status == 200 and again["id"] == trip["id"]
        for _ in range(600):
            _, now = await api.call("GET", f"/api/v1/trips/{trip['id']}", TOKENS["viewer"])
            if now["state"] in ("dropped_off", "failed"):
                break
            await asyncio.sleep(0.1)
        events = "\n".join(str(e.to_json()) for e in service.events(50))
        assert now["state"] == "dropped_off", events
        _, history = await api.call("GET", f"/api/v1/history/{trip['id']}", TOKENS["viewer"])
        states = [e["data"].get("state") for e in history["items"] if e["kind"] == "trip.state"]
        assert states == ["planned", "assigned", "picked_up", "dropped_off"]
        _, vehicles = await api.call("GET", "/api/v1/vehicles?kind=mobility", TOKENS["viewer"])
        assert all(v["link"]["state"] == "up" for v in vehicles["items"])
    finally:
        await fleet.stop()


async def test_bad_requests_and_wrong_roles_are_refused_and_change_nothing(
    running: tuple[FleetService, Api, ScaledClock],
) -> None:
    service, api, _ = running
    seq = service.records.last_seq
    order = {
        "warehouse": "ichikawa-shiohama",
        "drone_port": "port-cross-tower",
        "weight_kg": 1.0,
        "deadline_in_s": 3600,
    }
    cases = [
        ("POST", "/api/v1/orders", None, order, 401),
        ("POST", "/api/v1/orders", "not-a-token", order, 401),
        ("POST", "/api/v1/orders", TOKENS["viewer"], order, 403),
        ("POST", "/api/v1/orders", TOKENS["mobility"], order, 403),
        (
            "POST",
            "/api/v1/trips",
            TOKENS["logistics"],
            {"origin": "messe", "destination": "pm-depot"},
            403,
        ),
        ("POST", "/api/v1/orders", TOKENS["logistics"], {**order, "weight_kg": "heavy"}, 422),
        ("POST", "/api/v1/orders", TOKENS["logistics"], {**order, "weight_kg": -1}, 422),
        ("POST", "/api/v1/orders", TOKENS["logistics"], {**order, "warehouse": "atlantis"}, 422),
        (
            "POST",
            "/api/v1/orders",
            TOKENS["logistics"],
            {k: v for k, v in order.items() if k != "deadline_in_s"},
            422,
        ),
        (
            "POST",
            "/api/v1/trips",
            TOKENS["mobility"],
            {"origin": "messe", "destination": "messe"},
            422,
        ),
        (
            "POST",
            "/api/v1/trips",
            TOKENS["mobility"],
            {"origin": "messe", "destination": "pm-depot", "riders": 99},
            422,
        ),
        ("GET", "/api/v1/orders/ord-999999", TOKENS["viewer"], None, 404),
        ("POST", "/api/v1/vehicles/pm-01/hold", TOKENS["viewer"], {}, 403),
        ("POST", "/api/v1/vehicles/pm-01/hold", TOKENS["logistics"], {}, 403),
        ("POST", "/api/v1/vehicles/pm-01/explode", TOKENS["mobility"], {}, 422),
    ]
    for method, path, token, body, expected in cases:
        status, problem = await api.call(method, path, token, body)
        assert status == expected, (path, body, problem)
        assert problem["status"] == expected and problem["title"]
        if expected == 422:
            assert problem.get("errors") or problem.get("detail")
    assert service.records.last_seq == seq
    assert service.records.orders == {} and service.records.trips == {}
    # a field error names the field
    _, problem = await api.call(
        "POST", "/api/v1/orders", TOKENS["logistics"], {**order, "weight_kg": "heavy"}
    )
    assert problem["errors"][0]["field"] == "weight_kg"
    # the same idempotency key with another body is a conflict
    status, _ = await api.call(
        "POST", "/api/v1/orders", TOKENS["logistics"], {**order, "idempotency_key": "k"}
    )
    assert status == 201
    status, problem = await api.call(
        "POST",
        "/api/v1/orders",
        TOKENS["logistics"],
        {**order, "weight_kg": 2.0, "idempotency_key": "k"},
    )
    assert status == 409 and problem["errors"][0]["field"] == "idempotency_key"
