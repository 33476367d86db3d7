"""Test harness for the fleet service: a config for loopback ports, the service + API in-process on
real sockets, and a tiny blocking HTTP client run in a thread (no extra client library)."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import re
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from fleet.api import create_app
from fleet.config import Config, load_config
from fleet.service import FleetService
from sim.ground.wire import WireFleet
from vehicles.clock import Clock, ScaledClock
from vehicles.ground.client import Backoff

ROOT = Path(__file__).resolve().parents[2]
LOGISTICS = "change-me-logistics-token"
MOBILITY = "change-me-mobility-token"
VIEWER = "change-me-viewer-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(
    tmp: Path,
    *,
    http_port: int = 0,
    ws_port: int = 0,
    clock_speed: float = 1.0,
    supervisor: dict[str, float] | None = None,
    drone: dict[str, float] | None = None,
) -> Path:
    """The shipped example on loopback ports, with its journal in `tmp`."""
    text = (ROOT / "kaiteki.example.toml").read_text(encoding="utf-8")
    text = text.replace('"127.0.0.1:8080"', f'"127.0.0.1:{http_port}"')
    text = text.replace('"127.0.0.1:8765"', f'"127.0.0.1:{ws_port}"')
    text = text.replace('"127.0.0.1:14550"', f'"127.0.0.1:{free_port()}"')
    text = text.replace('journal = "kaiteki.sqlite"', f'journal = "{tmp / "journal.sqlite"}"')
    text = re.sub(r"(?m)^clock_speed = .*$", f"clock_speed = {clock_speed}", text)
    for section, values in (("supervisor", supervisor), ("drone", drone)):
        for key, value in (values or {}).items():
            text, n = re.subn(rf"(?m)^{key} = .*$", f"{key} = {value}", text)
            if n == 0:
                text = text.replace(f"[{section}]", f"[{section}]\n{key} = {value}", 1)
    path = tmp / "kaiteki.toml"
    path.write_text(text, encoding="utf-8")
    return path


def ground_tokens(config: Config) -> dict[str, str]:
    return {v.id: v.token for v in config.vehicles if v.kind != "drone"}


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any


def request(
    port: int,
    method: str,
    path: str,
    token: str | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    """One blocking HTTP request to 127.0.0.1:port (JSON in, JSON or bytes out)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    hdrs = dict(headers or {})
    if token is not None:
        hdrs["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        raw = resp.read()
        kind = resp.getheader("content-type", "")
        parsed: Any = json.loads(raw) if "json" in kind and raw else raw
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, parsed)
    finally:
        conn.close()


@dataclass
class Running:
    service: FleetService
    port: int

    async def call(
        self,
        method: str,
        path: str,
        token: str | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        return await asyncio.to_thread(request, self.port, method, path, token, body, headers)

    def journal_size(self) -> int:
        return sum(1 for _ in self.service.journal.entries())


@contextlib.asynccontextmanager
async def running_service(config_path: Path, clock: Clock | None = None) -> AsyncIterator[Running]:
    """The service and its operator API on real loopback sockets, in this event loop."""
    config = load_config(config_path)
    service = FleetService(config, clock=clock)
    await service.start()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(service),
            host="127.0.0.1",
            port=config.http.port,
            log_level="warning",
            lifespan="off",
            ws="websockets-sansio",
        )
    )
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            while not server.started:
                await asyncio.sleep(0.01)
        yield Running(service, server.servers[0].sockets[0].getsockname()[1])
    finally:
        server.should_exit = True
        await task
        await service.stop()


SUPERVISOR_FAST = {"ground_lost_s": 300.0, "link_degraded_s": 60.0, "lateness_margin_s": 120.0}


async def until(condition: Callable[[], bool], wall_s: float = 60.0) -> None:
    async with asyncio.timeout(wall_s):
        while not condition():
            await asyncio.sleep(0.02)


@dataclass
class GroundWorld:
    api: Running
    fleet: WireFleet

    def trip_state(self, trip_id: str) -> str:
        return self.api.service.records.trips[trip_id].state


@contextlib.asynccontextmanager
async def ground_world(
    tmp: Path, speed: float, vehicles: dict[str, str]
) -> AsyncIterator[GroundWorld]:
    """The service in-process plus simulated ground vehicles (id -> start place) on the wire."""
    from sim.ground.bus import Bus
    from sim.ground.mobility import PersonalMobility
    from sim.ground.network import load_network

    clock = ScaledClock(speed, 1_800_000_000.0)
    # a stalled event loop on a loaded machine must not look like a lost link: scale the
    # thresholds to a few wall seconds at this speed-up
    supervisor = {
        **SUPERVISOR_FAST,
        "ground_lost_s": max(SUPERVISOR_FAST["ground_lost_s"], 8 * speed),
        "link_degraded_s": max(SUPERVISOR_FAST["link_degraded_s"], 3 * speed),
    }
    path = write_config(tmp, supervisor=supervisor)
    net = load_network()
    async with running_service(path, clock=clock) as api:
        assert api.service.ground_server is not None
        fleet = WireFleet(
            api.service.ground_server.url,
            clock,
            ground_tokens(api.service.config),
            epoch_s=0.0,
            telemetry_period_s=10.0,
            backoff=Backoff(initial_s=5.0, max_s=30.0),
            ack_timeout_s=60.0,
        )
        for vid, start in vehicles.items():
            fleet.add(
                Bus(vid, net, start=start)
                if vid.startswith("bus")
                else PersonalMobility(vid, net, start=start)
            )
        await fleet.start()
        try:
            async with asyncio.timeout(30):
                await fleet.wait_connected()
            records = api.service.records.vehicles
            await until(lambda: all(records[v].link == "up" for v in vehicles))
            yield GroundWorld(api, fleet)
        finally:
            await fleet.stop()
