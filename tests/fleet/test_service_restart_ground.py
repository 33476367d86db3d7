"""kill -9 the real service (a child process) while simulated vehicles carry riders, restart it,
and see every acknowledged trip, with the same id, carried to the end: plans restored from the
journal, vehicles reconnecting, events resent by the vehicles taken exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fleet.config import load_config
from sim.ground.bus import Bus
from sim.ground.mobility import PersonalMobility
from sim.ground.network import load_network
from sim.ground.wire import WireFleet
from tests.fleet.fleet_service_harness import (
    MOBILITY,
    VIEWER,
    free_port,
    ground_tokens,
    request,
    write_config,
)
from vehicles.clock import ScaledClock
from vehicles.ground.client import Backoff

SPEED = 200.0
ROOT = Path(__file__).resolve().parents[2]
BODIES = [
    {"origin": "home-utase-1", "destination": "aeon-mall", "mode": "mobility"},
    {"origin": "kaihin-makuhari", "destination": "messe", "riders": 2, "mode": "bus"},
    {"origin": "messe", "destination": "wakaba", "mode": "bus"},
]


class Service:
    """`python -m fleet serve` as a child process."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.log = config.parent / "service.log"  # stderr of every run, for a failure's story
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fleet", "serve", "--config", str(self.config)],
            stdout=subprocess.PIPE,
            stderr=self.log.open("a"),
            text=True,
            env=env,
            cwd=ROOT,
        )
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if "ground vehicles" in line:
                break
        else:
            raise AssertionError("the service did not start")
        stdout = self.proc.stdout  # keep draining so the child never blocks on a full pipe
        threading.Thread(target=lambda: [None for _ in stdout], daemon=True).start()

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        assert self.proc.returncode == -signal.SIGKILL

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(20)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    config = write_config(
        tmp_path,
        http_port=free_port(),
        ws_port=free_port(),
        clock_speed=SPEED,
        supervisor={"ground_lost_s": 1500.0, "link_degraded_s": 60.0},
    )
    svc = Service(config)
    svc.start()
    yield svc
    svc.stop()


async def call(port: int, method: str, path: str, token: str, body: Any = None) -> Any:
    return await asyncio.to_thread(request, port, method, path, token, body)


@pytest.mark.slow
async def test_sigkill_mid_ride_and_restart_carries_every_trip(service: Service) -> None:
    config = load_config(service.config)
    port = config.http.port
    net = load_network()
    clock = ScaledClock(SPEED)
    fleet = WireFleet(
        f"ws://127.0.0.1:{config.vehicle_ws.port}/v1/vehicle",
        clock,
        ground_tokens(config),
        epoch_s=0.0,
        telemetry_period_s=10.0,
        backoff=Backoff(initial_s=5.0, max_s=40.0),
        ack_timeout_s=60.0,
    )
    fleet.add(Bus("bus-1", net, start="kaihin-makuhari"))
    fleet.add(PersonalMobility("pm-01", net, start="pm-depot"))
    await fleet.start()
    trips: dict[str, dict[str, Any]] = {}

    async def states() -> dict[str, str]:
        items = (await call(port, "GET", "/api/v1/trips", VIEWER)).body["items"]
        return {t["id"]: t["state"] for t in items}

    try:
        await asyncio.wait_for(fleet.wait_connected(), 30)
        vehicles = {}
        while {vehicles.get("bus-1"), vehicles.get("pm-01")} != {"up"}:
            items = (await call(port, "GET", "/api/v1/vehicles", VIEWER)).body["items"]
            vehicles = {v["id"]: v["link"]["state"] for v in items}
            await asyncio.sleep(0.05)
        for i, body in enumerate(BODIES):
            reply = await call(
                port, "POST", "/api/v1/trips", MOBILITY, {**body, "idempotency_key": f"r-{i}"}
            )
            assert reply.status == 201 and reply.body["state"] == "assigned", reply.body
            trips[reply.body["id"]] = reply.body
        seen: dict[str, str] = {}

        async def someone_aboard() -> None:
            nonlocal seen
            while "picked_up" not in seen.values():
                seen = await states()
                await asyncio.sleep(0.05)

        try:
            await asyncio.wait_for(someone_aboard(), 60)
        except TimeoutError:
            raise AssertionError(f"nobody boarded: {seen}; log {service.log}") from None
        service.kill()  # mid-ride: riders aboard, riders waiting, events in flight
        await asyncio.sleep(0.5)
        service.start()
        events = (await call(port, "GET", "/api/v1/events?limit=2000", VIEWER)).body["items"]
        recovered = [e for e in events if e["data"].get("action") == "recovered"]
        # every trip was with a vehicle at the kill: all stay with it, none waits for re-dispatch
        assert (
            len(recovered) == 1 and "0 open requests to dispatch" in recovered[0]["data"]["detail"]
        )
        await asyncio.wait_for(fleet.wait_connected(), 40)
        finished: dict[str, str] = {}

        async def all_done() -> None:
            nonlocal finished
            while set(finished.values()) != {"dropped_off"} or set(finished) != set(trips):
                finished = await states()
                await asyncio.sleep(0.1)

        try:
            await asyncio.wait_for(all_done(), 150)  # generous: a loaded CI machine
        except TimeoutError:
            raise AssertionError(f"not carried to the end: {finished}; log {service.log}") from None
        for trip_id, before in trips.items():
            history = (await call(port, "GET", f"/api/v1/history/{trip_id}", VIEWER)).body["items"]
            moves = [e["data"]["state"] for e in history if e["kind"] == "trip.state"]
            # promises kept across the restart: no re-planning, each step exactly once
            assert moves == ["planned", "assigned", "picked_up", "dropped_off"], moves
            assert {e["actor"] for e in history if e["data"].get("state") == "picked_up"} == {
                before["vehicle_id"]
            }
        retry = await call(
            port, "POST", "/api/v1/trips", MOBILITY, {**BODIES[0], "idempotency_key": "r-0"}
        )
        assert retry.status == 200 and retry.body["id"] in trips
    finally:
        await fleet.stop()
