"""MAVSDK (an independent C++ MAVLink implementation) flies our simulated copter over TCP.

MAVSDK connects as a ground station to a copter listening like SITL, waits until it is healthy
(3-D fix, home, pre-arm checks passed in SYS_STATUS), sets a parameter (FENCE_ENABLE), uploads a
mission with its MissionRaw plugin (with ArduPilot the mission plugin for PX4-style plans is not
the tool: item 0 is home, which MissionRaw lets us send as ArduPilot expects) and a geofence
with its Geofence plugin, arms, starts the mission, follows its progress to the last item, then
commands RTL and waits for the copter to land at home and disarm. The simulator runs ten times
faster than the wall clock, so the whole flight takes a few seconds.
"""

from __future__ import annotations

import asyncio
import math
import socket
from collections.abc import AsyncIterator

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from sim.copter.flight import CopterConfig
from sim.copter.modes import CopterMode
from sim.copter.swarm import CopterSwarm
from vehicles.clock import ScaledClock

mavsdk = pytest.importorskip("mavsdk.asyncio")
from mavsdk.asyncio.plugins.action import ActionAsync  # noqa: E402
from mavsdk.asyncio.plugins.geofence import (  # noqa: E402
    Circle,
    FenceType,
    GeofenceAsync,
    GeofenceData,
    Point,
    Polygon,
)
from mavsdk.asyncio.plugins.mission_raw import MissionItem, MissionRawAsync  # noqa: E402
from mavsdk.asyncio.plugins.param import ParamAsync  # noqa: E402
from mavsdk.asyncio.plugins.telemetry import FlightMode, LandedState, TelemetryAsync  # noqa: E402

C = mavlink
HOME = (35.6480, 140.0350)
REL = C.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT
pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def at(d_north_m: float, d_east_m: float) -> tuple[float, float]:
    return (HOME[0] + d_north_m / 110_940.0,
            HOME[1] + d_east_m / (111_320.0 * math.cos(math.radians(HOME[0]))))


def item(seq: int, frame: int, command: int, p1: float = 0.0, p2: float = 0.0, p3: float = 0.0,
         p4: float = 0.0, pos: tuple[float, float] = (0.0, 0.0), z: float = 0.0) -> object:
    return MissionItem(seq, frame, command, 1 if seq == 1 else 0, 1, p1, p2, p3, p4,
                       round(pos[0] * 1e7), round(pos[1] * 1e7), z, C.MAV_MISSION_TYPE_MISSION)


async def first(stream: AsyncIterator[object], predicate: object, timeout_s: float) -> object:
    async def scan() -> object:
        async for value in stream:
            if predicate(value):  # type: ignore[operator]
                return value
        raise AssertionError("stream ended")

    return await asyncio.wait_for(scan(), timeout_s)


async def test_mavsdk_flies_a_mission_with_a_fence_then_rtl() -> None:
    swarm = CopterSwarm(ScaledClock(10.0), step_s=0.1)
    copter = await swarm.add_tcp(1, 0, CopterConfig(params={"LAND_SPEED": 150,
                                                            "RTL_LOIT_TIME": 0}))
    fc = copter.autopilot.fc
    swarm.start()
    config = mavsdk.Configuration.create_with_component_type(mavsdk.ComponentType.GROUND_STATION)
    try:
        async with mavsdk.Mavsdk(config) as sdk:
            await sdk.add_any_connection(f"tcpout://127.0.0.1:{copter.port}")
            system = await sdk.first_autopilot(timeout_s=20.0)
            assert system is not None
            assert await system.get_system_id() == 1
            telemetry = TelemetryAsync(system)
            await first(telemetry.subscribe_health(),
                        lambda h: h.is_global_position_ok and h.is_home_position_ok
                        and h.is_armable, 30.0)

            await ParamAsync(system).set_param_int("FENCE_ENABLE", 1)
            assert fc.params["FENCE_ENABLE"] == 1
            assert await ParamAsync(system).get_param_int("RTL_ALT") == 1500
            assert await ParamAsync(system).get_param_float("WPNAV_SPEED") == 1000.0

            mission = MissionRawAsync(system)
            items = [
                item(0, C.MAV_FRAME_GLOBAL_INT, C.MAV_CMD_NAV_WAYPOINT, pos=HOME, z=5.0),
                item(1, REL, C.MAV_CMD_NAV_TAKEOFF, z=15.0),
                item(2, C.MAV_FRAME_MISSION, C.MAV_CMD_DO_CHANGE_SPEED, 1, 8, -1),
                item(3, REL, C.MAV_CMD_NAV_WAYPOINT, p4=math.nan, pos=at(60, 0), z=15.0),
                item(4, REL, C.MAV_CMD_NAV_WAYPOINT, p4=math.nan, pos=at(60, 60), z=20.0),
            ]
            await mission.upload_mission(items)
            downloaded = await mission.download_mission()
            assert [i.command for i in downloaded] == [i.command for i in items]  # type: ignore[attr-defined]
            assert downloaded[4].x == items[4].x  # type: ignore[attr-defined]

            fence = GeofenceData(
                [Polygon([Point(*at(-200, -200)), Point(*at(-200, 200)),
                          Point(*at(200, 200)), Point(*at(200, -200))], FenceType.INCLUSION)],
                [Circle(Point(*at(-100, -100)), 20.0, FenceType.EXCLUSION)])
            await GeofenceAsync(system).upload_geofence(fence)
            assert [z.inclusion for z in fc.fence_zones] == [True, False]

            action = ActionAsync(system)
            await action.arm()
            await mission.start_mission()
            await first(telemetry.subscribe_flight_mode(), lambda m: m == FlightMode.MISSION, 20.0)
            await first(mission.subscribe_mission_progress(),
                        lambda p: p.total == len(items) and p.current == p.total, 60.0)
            assert copter.autopilot.reached_log == [1, 3, 4]
            assert fc.mode == CopterMode.AUTO and fc.relative_alt_m > 15.0

            await action.return_to_launch()
            await first(telemetry.subscribe_flight_mode(),
                        lambda m: m == FlightMode.RETURN_TO_LAUNCH, 20.0)
            await first(telemetry.subscribe_armed(), lambda armed: not armed, 60.0)
            position = await first(telemetry.subscribe_position(), lambda p: True, 10.0)
            assert position.latitude_deg == pytest.approx(HOME[0], abs=2e-6)  # type: ignore[attr-defined]
            assert position.relative_altitude_m == pytest.approx(0.0, abs=0.2)  # type: ignore[attr-defined]
            assert fc.fence_breach_count == 0
            assert swarm.failures == []
    finally:
        await swarm.close()


async def test_mavsdk_over_udp_takes_off_goes_somewhere_and_lands() -> None:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    gcs_port = probe.getsockname()[1]
    probe.close()  # MAVSDK binds it next
    swarm = CopterSwarm(ScaledClock(10.0), step_s=0.1)
    config = mavsdk.Configuration.create_with_component_type(mavsdk.ComponentType.GROUND_STATION)
    try:
        async with mavsdk.Mavsdk(config) as sdk:
            await sdk.add_any_connection(f"udpin://127.0.0.1:{gcs_port}")
            copter = await swarm.add_udp(9, ("127.0.0.1", gcs_port),
                                         CopterConfig(params={"LAND_SPEED": 150}))
            swarm.start()
            system = await sdk.first_autopilot(timeout_s=20.0)
            assert system is not None and await system.get_system_id() == 9
            telemetry = TelemetryAsync(system)
            await first(telemetry.subscribe_health(), lambda h: h.is_armable, 30.0)
            action = ActionAsync(system)
            await action.arm()
            await action.set_takeoff_altitude(10.0)
            await action.takeoff()
            await first(telemetry.subscribe_position(), lambda p: p.relative_altitude_m > 9.0, 30.0)
            target = at(40.0, 30.0)
            await action.goto_location(target[0], target[1], 5.0 + 12.0, math.nan)
            await first(telemetry.subscribe_position(),
                        lambda p: abs(p.latitude_deg - target[0]) < 3e-6
                        and abs(p.longitude_deg - target[1]) < 3e-6, 40.0)
            assert copter.autopilot.fc.mode == CopterMode.GUIDED
            await action.land()
            await first(telemetry.subscribe_landed_state(),
                        lambda s: s == LandedState.ON_GROUND, 40.0)
            await first(telemetry.subscribe_armed(), lambda armed: not armed, 20.0)
            assert swarm.failures == []
    finally:
        await swarm.close()
