"""MAVSDK (an independent C++ MAVLink implementation) as the autopilot: it receives our uploads.

MAVSDK 4.x from PyPI runs as an autopilot component (`ComponentType.AUTOPILOT`, system id 1)
whose MissionRawServer plugin implements the vehicle side of the mission protocol. It sends to
our UDP endpoint; our link finds it by its heartbeat, uploads a mission built from a plan, reads
it back (download), and clears it. What MAVSDK received must equal what we sent, field by field.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest

from vehicles.mavlink import mission_plan as mp
from vehicles.mavlink.modes import PX4
from vehicles.mavlink.transport import UdpEndpoint

mavsdk = pytest.importorskip("mavsdk.asyncio")
from mavsdk.asyncio.plugins.mission_raw_server import MissionRawServerAsync  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b)


async def test_mavsdk_autopilot_receives_downloads_and_clears_our_mission() -> None:
    endpoint = await UdpEndpoint.start(port=0)
    config = mavsdk.Configuration.create_with_component_type(mavsdk.ComponentType.AUTOPILOT)
    sysid = config.system_id
    try:
        async with mavsdk.Mavsdk(config) as sdk:
            await sdk.add_any_connection(f"udpout://127.0.0.1:{endpoint.port}")
            server = MissionRawServerAsync(await sdk.server_component(0))
            incoming: asyncio.Queue[Any] = asyncio.Queue()
            cleared: asyncio.Queue[int] = asyncio.Queue()

            async def listen() -> None:
                async for result, plan in server.subscribe_incoming_mission():
                    await incoming.put((result, plan))

            async def listen_clear() -> None:
                async for mission_type in server.subscribe_clear_all():
                    await cleared.put(mission_type)

            tasks = [asyncio.create_task(listen()), asyncio.create_task(listen_clear())]
            await asyncio.sleep(0.2)  # subscriptions registered before the upload
            try:
                drone = await endpoint.wait_for_drone(sysid, timeout_s=15)
                plan = mp.MissionPlan((
                    mp.Takeoff(20), mp.Waypoint(35.6501234, 140.0401234, 30, speed_m_s=8),
                    mp.LandAndWait(35.651, 140.041, wait_s=10, takeoff_alt_m=25),
                    mp.ReleasePayload("winch", length_m=8, rate_m_s=0.5),
                    mp.ReturnToLaunch()))
                rows = mp.mission_items(plan, autopilot=PX4)
                assert await drone.upload_mission(rows) == len(rows)
                result, received = await asyncio.wait_for(incoming.get(), 10)
                assert getattr(result, "name", "") == "SUCCESS"
                got = received.mission_items
                assert len(got) == len(rows)
                for i, (theirs, ours) in enumerate(zip(got, rows, strict=True)):
                    assert (theirs.seq, theirs.command, theirs.frame, theirs.x, theirs.y) == (
                        i, ours.command, ours.frame, ours.x, ours.y)
                    for name in ("param1", "param2", "param3", "param4", "z"):
                        assert same(getattr(theirs, name), getattr(ours, name)), (i, name)

                back = await drone.download_mission()
                assert [(r.command, r.x, r.y) for r in back] == [
                    (r.command, r.x, r.y) for r in rows]

                assert await drone.clear_mission() == 0
                assert await asyncio.wait_for(cleared.get(), 10) == 0  # MAV_MISSION_TYPE_MISSION
            finally:
                for task in tasks:
                    task.cancel()
                server.destroy()
    finally:
        await endpoint.close()
