"""The vendor conformance checker passes our own vehicle client and fails a broken vehicle."""

from __future__ import annotations

import asyncio
import time

import msgpack
import pytest
from websockets.asyncio.client import connect

from vehicles.ground import conformance
from vehicles.ground import messages as m
from vehicles.ground.client import Backoff, GroundVehicleClient

pytestmark = pytest.mark.timeout(60)


def _tm() -> m.Telemetry:
    return m.Telemetry(0, time.time(), 35.65, 140.04, 0.0, 0.0, 0.9, 0, False, m.VehicleState.IDLE)


async def test_our_vehicle_client_is_conformant() -> None:
    ready: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    checker = asyncio.create_task(
        conformance.run("127.0.0.1", 0, "bus-1", "s3cret", timeout_s=5.0, ready=ready)
    )
    port = await ready
    client = GroundVehicleClient(
        f"ws://127.0.0.1:{port}{m.PATH}",
        m.VehicleId("bus-1"),
        "s3cret",
        backoff=Backoff(initial_s=0.05, max_s=0.2),
    )
    task = asyncio.create_task(client.run())
    client.send_event(m.Event(0, time.time(), m.EventKind.AT_DEPOT, stop_id="depot"))
    while not checker.done():
        client.send_telemetry(_tm())
        for command in client.take_commands():
            client.reply(command.seq)
        await asyncio.sleep(0.05)
    report = checker.result()
    await client.close()
    await asyncio.wait_for(task, 5)
    assert report.passed, report.text()
    names = [c.name for c in report.checks]
    assert "stale plan refused" in names and "reconnect keeps counters" in names


async def test_a_vehicle_that_ignores_pings_fails() -> None:
    ready: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    checker = asyncio.create_task(
        conformance.run("127.0.0.1", 0, "bus-1", "s3cret", timeout_s=1.0, ready=ready)
    )
    port = await ready
    async with connect(f"ws://127.0.0.1:{port}{m.PATH}", subprotocols=[m.SUBPROTOCOL]) as ws:  # type: ignore[list-item]
        await ws.send(
            msgpack.packb(
                {"t": "hello", "v": 1, "vehicle_id": "bus-1", "token": "s3cret", "boot_id": "b"}
            )
        )
        for seq in (1, 2):
            frame = {
                "t": "telemetry",
                "seq": seq,
                "t_s": 1.0,
                "lat_deg": 35.6,
                "lon_deg": 140.0,
                "heading_deg": 0.0,
                "speed_m_s": 0.0,
                "battery_soc": 0.5,
                "occupancy": 0,
                "doors_open": False,
                "state": "idle",
            }
            await ws.send(msgpack.packb(frame))
        report = await asyncio.wait_for(checker, 20)
    assert not report.passed
    assert report.checks[-1].name == "protocol" and "pong" in report.checks[-1].detail
    assert "NOT conformant" in report.text()
