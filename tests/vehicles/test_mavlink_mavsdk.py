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


async def test_mavsdk_autopilot_telemetry_and_arming_reach_our_link() -> None:
    """MAVSDK's TelemetryServer and ActionServer: its messages become our DroneState, and our
    COMMAND_LONG arm/disarm get its COMMAND_ACK (ACCEPTED when armable, refused when not).

    MAVSDK 4.1 quirks seen on the wire (not ours to fix): HOME_POSITION carries the relative
    altitude in `altitude`, and BATTERY_STATUS pads unused cells with 0 instead of UINT16_MAX.
    """
    from mavsdk.asyncio.plugins import telemetry_server as tserver
    from mavsdk.asyncio.plugins.action_server import ActionServerAsync

    from vehicles.mavlink.commands import CommandRejectedError

    endpoint = await UdpEndpoint.start(port=0)
    config = mavsdk.Configuration.create_with_component_type(mavsdk.ComponentType.AUTOPILOT)
    try:
        async with mavsdk.Mavsdk(config) as sdk:
            await sdk.add_any_connection(f"udpout://127.0.0.1:{endpoint.port}")
            component = await sdk.server_component(0)
            action = ActionServerAsync(component)
            telemetry = tserver.TelemetryServerAsync(component)
            arms: asyncio.Queue[tuple[bool, bool]] = asyncio.Queue()

            async def listen() -> None:
                async for _result, request in action.subscribe_arm_disarm():
                    await arms.put((request.arm, request.force))

            task = asyncio.create_task(listen())
            try:
                drone = await endpoint.wait_for_drone(config.system_id, timeout_s=15)
                await telemetry.publish_position(
                    tserver.Position(35.6481234, 140.0351234, 42.5, 37.5),
                    tserver.VelocityNed(3.0, 4.0, -0.5), tserver.Heading(90.0))
                await telemetry.publish_home(tserver.Position(35.648, 140.035, 5.0, 0.0))
                await telemetry.publish_status_text(tserver.StatusText(
                    tserver.StatusTextType.CRITICAL, "PreArm: Compass not calibrated"))
                await telemetry.publish_extended_sys_state(tserver.VtolState.MC,
                                                           tserver.LandedState.IN_AIR)
                state = await drone.wait_for(
                    lambda s: s.home is not None and s.landed_state == "IN_AIR"
                    and s.lat_deg is not None and s.prearm_message is not None, 10.0)
                assert (state.lat_deg, state.lon_deg) == (35.6481234, 140.0351234)
                assert (state.alt_amsl_m, state.alt_rel_m) == (42.5, 37.5)
                assert state.ground_speed_m_s == pytest.approx(5.0)
                assert state.heading_deg == 90.0
                assert state.home is not None
                assert (state.home.lat_deg, state.home.lon_deg) == (35.648, 140.035)
                assert "PreArm: Compass not calibrated" in drone.readiness().reasons
                assert [e.text for e in drone.link.statustexts] == [
                    "PreArm: Compass not calibrated"]

                await action.set_armable(True, True)
                assert (await drone.arm()).attempts == 1
                assert await asyncio.wait_for(arms.get(), 5) == (True, False)
                await action.set_disarmable(False, False)
                with pytest.raises(CommandRejectedError, match=r"REJECTED|DENIED|FAILED"):
                    await drone.disarm()
                assert endpoint.station.counters["bad_crc"] == 0
            finally:
                task.cancel()
                action.destroy()
                telemetry.destroy()
    finally:
        await endpoint.close()
