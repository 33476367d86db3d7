"""A vehicle written from the protocol document alone talks to our server (real websockets)."""

from __future__ import annotations

import ast
import asyncio
import sys
from pathlib import Path

import pytest

from fleet.ground_server import GroundServer
from vehicles.ground import messages as m
from vehicles.ground.server_types import EventReceived, TelemetryReceived, VehicleConnected

EXAMPLE = Path(__file__).parents[2] / "examples" / "independent_ground_client.py"
pytestmark = pytest.mark.timeout(60)


def test_the_example_imports_none_of_our_code() -> None:
    tree = ast.parse(EXAMPLE.read_text())
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            roots.add(node.module.split(".")[0])
    assert roots <= {
        "__future__",
        "argparse",
        "asyncio",
        "sys",
        "time",
        "uuid",
        "msgpack",
        "websockets",
    }


async def test_independent_client_handshakes_streams_and_gets_a_plan() -> None:
    seen: list[object] = []
    async with GroundServer({"bus-9": "vendor-secret"}) as server:
        server.add_listener(seen.append)
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(EXAMPLE),
            "--url",
            server.url,
            "--vehicle-id",
            "bus-9",
            "--token",
            "vendor-secret",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        while not any(isinstance(e, VehicleConnected) for e in seen):
            await asyncio.sleep(0.02)
        stops = [m.PlanStop("messe", pickups=("r-1",)), m.PlanStop("aeon-mall", dropoffs=("r-1",))]
        ack = await asyncio.wait_for(server.send_plan("bus-9", stops), 20)
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    assert ack.ok and ack.seq == 1
    assert b"plan 0: ['messe', 'aeon-mall']" in out
    kinds = [e.event.kind for e in seen if isinstance(e, EventReceived)]
    assert kinds == ["at_depot", "arrived", "boarded"]
    states = [e.telemetry.state for e in seen if isinstance(e, TelemetryReceived)]
    assert states == ["idle", "en_route"]
    assert server.core.vehicle("bus-9").plan_version_acked == 0


async def test_independent_client_with_a_wrong_token_fails_cleanly() -> None:
    async with GroundServer({"bus-9": "vendor-secret"}) as server:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(EXAMPLE),
            "--url",
            server.url,
            "--vehicle-id",
            "bus-9",
            "--token",
            "guess",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode != 0
    assert b"4001" in err and b"authentication failed" in err
