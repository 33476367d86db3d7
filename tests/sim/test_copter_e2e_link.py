"""End to end over real UDP: kaiteki's MAVLink link flies three simulated copters at once.

The ground side is `vehicles.mavlink.UdpEndpoint` (one socket, every drone told apart by system
id); the copters are `sim.copter` autopilots on their own UDP ports. Both run on one
ScaledClock, ten times faster than the wall clock. Each copter gets a fence and a delivery
mission built with `vehicles.mavlink.mission_plan` (take off, waypoint, land and wait at the
drop-off, release the parcel, take off, waypoint, land), is put in GUIDED, armed, takes off,
starts the mission and flies it to the landing. Mid-flight the radio link of copter 2 is cut in
both directions for longer than the link's LOST timeout, then restored: the link must report it
lost and up again, and the copter, which (FS_GCS_ENABLE off, ArduPilot's default) keeps flying
its mission, must finish like the others.
"""

from __future__ import annotations

import asyncio
import math

import pytest

from sim.copter.flight import CopterConfig
from sim.copter.swarm import CopterSwarm, SwarmCopter
from vehicles.clock import ScaledClock
from vehicles.mavlink import FlightMode, LinkState, SigningConfig, UdpEndpoint
from vehicles.mavlink.drone import Drone
from vehicles.mavlink.events import LinkStateChanged
from vehicles.mavlink.mission import MissionItem
from vehicles.mavlink.mission_plan import (
    FenceCircle,
    FencePolygon,
    Land,
    LandAndWait,
    MissionPlan,
    ReleasePayload,
    Takeoff,
    Waypoint,
    fence_items,
    mission_items,
)
from vehicles.mavlink.telemetry import readiness

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
SYSIDS = (21, 22, 23)
CUT_SYSID = 22
BASE = (35.6480, 140.0350)
ALT_AMSL_M = 5.0


def offset(origin: tuple[float, float], d_north_m: float, d_east_m: float) -> tuple[float, float]:
    return (origin[0] + d_north_m / 110_940.0,
            origin[1] + d_east_m / (111_320.0 * math.cos(math.radians(origin[0]))))


def home_of(i: int) -> tuple[float, float]:
    return offset(BASE, 0.0, 30.0 * i)


def plan_for(i: int) -> tuple[MissionPlan, tuple[float, float]]:
    home = home_of(i)
    a, drop, c, end = (offset(home, 80, 0), offset(home, 80, 60), offset(home, 20, 60),
                       offset(home, 0, 15))
    plan = MissionPlan((
        Takeoff(20.0),
        Waypoint(*a, 25.0, speed_m_s=10.0),
        LandAndWait(*drop, wait_s=2.0, takeoff_alt_m=15.0),
        ReleasePayload("gripper"),
        Waypoint(*c, 20.0),
        Land(*end),
    ), home=(*home, ALT_AMSL_M))
    return plan, end


def fence_for(i: int) -> list[MissionItem]:
    home = home_of(i)
    square = tuple(offset(home, n, e) for n, e in ((-150, -150), (-150, 250), (250, 250),
                                                  (250, -150)))
    return fence_items([FencePolygon(square)],
                       [FenceCircle(*offset(home, -100, -100), 20.0, inclusion=False)])


async def fly(drone: Drone, copter: SwarmCopter, i: int) -> None:
    state = await drone.wait_for(lambda s: readiness(s).ready, 30.0)
    assert state.home is not None
    plan, _ = plan_for(i)
    items = mission_items(plan)
    assert await drone.upload_fence(fence_for(i)) > 0
    assert await drone.upload_mission(items) == len(items)
    assert [it.command for it in await drone.download_mission()][1:] == (
        [it.command for it in items][1:])
    await drone.set_mode(FlightMode.GUIDED)
    await drone.arm()
    await drone.takeoff(20.0)
    await drone.wait_for(lambda s: (s.alt_rel_m or 0.0) > 18.0, 60.0)
    await drone.start_mission()
    # the final landing disarms the copter (ArduCopter's verify_land): the item before it is the
    # last one reported reached
    last_seq = len(items) - 2
    await drone.wait_for(lambda s: s.mission_reached_seq == last_seq and not s.armed
                         and s.landed_state == "ON_GROUND", 400.0)


def link_state(drone: Drone) -> LinkState:
    return drone.link_state  # read afresh each time (the link changes it under us)


async def cut_mid_flight(drone: Drone, copter: SwarmCopter, clock: ScaledClock) -> list[str]:
    """Cut copter 2's link once it flies its mission; restore after the link saw it lost."""
    await drone.wait_for(lambda s: (s.mission_seq or 0) >= 3, 120.0)
    copter.cut.cut()
    seen = []
    cut_at_s = clock.now_s()
    while link_state(drone) is not LinkState.LOST:
        assert clock.now_s() - cut_at_s < 30.0, "the link never noticed the cut"
        await clock.sleep(0.2)
    seen.append(drone.link_state.value)
    fc = copter.autopilot.fc
    assert fc.armed and not fc.land_complete and fc.mode.name == "AUTO"  # flies on
    await clock.sleep(3.0)
    copter.cut.restore()
    await drone.wait_for(lambda s: True, 1.0)
    restored_at_s = clock.now_s()
    while link_state(drone) is not LinkState.UP:
        assert clock.now_s() - restored_at_s < 30.0, "the link never came back"
        await clock.sleep(0.2)
    seen.append(drone.link_state.value)
    return seen


async def test_link_flies_three_copters_with_one_link_cut_and_recovered() -> None:
    clock = ScaledClock(10.0)
    endpoint = await UdpEndpoint.start(port=0, clock=clock)
    swarm = CopterSwarm(clock, step_s=0.05)
    events = endpoint.subscribe()
    try:
        copters = {}
        for i, sysid in enumerate(SYSIDS):
            lat, lon = home_of(i)
            config = CopterConfig(home_lat_deg=lat, home_lon_deg=lon,
                                  home_alt_amsl_m=ALT_AMSL_M, payload_kg=2.0,
                                  params={"FENCE_ENABLE": 1, "LAND_SPEED": 150,
                                          "MIS_OPTIONS": 4})
            copters[sysid] = await swarm.add_udp(sysid, ("127.0.0.1", endpoint.port), config)
        swarm.start()
        drones = {sysid: await endpoint.wait_for_drone(sysid, 30.0) for sysid in SYSIDS}
        flights = [fly(drones[s], copters[s], i) for i, s in enumerate(SYSIDS)]
        results = await asyncio.wait_for(
            asyncio.gather(*flights, cut_mid_flight(drones[CUT_SYSID], copters[CUT_SYSID],
                                                    clock)), 110.0)
        assert results[-1] == ["lost", "up"]
        for i, sysid in enumerate(SYSIDS):
            fc = copters[sysid].autopilot.fc
            _, end = plan_for(i)
            end_n, end_e = fc.frame.to_ne_m(*end)
            assert math.hypot(fc.body.north_m - end_n, fc.body.east_m - end_e) < 1.5
            assert fc.payload_kg == 0.0 and fc.fence_breach_count == 0
            assert copters[sysid].autopilot.reached_log == [1, 3, 4, 5, 6, 8]
            assert drones[sysid].link_state is LinkState.UP
        changes = []
        while not events.empty():
            event = events.get_nowait()
            if isinstance(event, LinkStateChanged):
                changes.append((event.sysid, event.new))
        lost = [sysid for sysid, new in changes if new is LinkState.LOST]
        # only the cut link is expected lost (a starved test machine may add others)
        assert CUT_SYSID in lost
        assert copters[CUT_SYSID].cut.dropped > 0
        assert swarm.failures == []
    finally:
        await swarm.close()
        await endpoint.close()


async def test_gcs_failsafe_over_the_link_returns_the_copter_home() -> None:
    """FS_GCS_ENABLE=1: the link's heartbeats stop reaching the copter, which returns home."""
    clock = ScaledClock(10.0)
    endpoint = await UdpEndpoint.start(port=0, clock=clock)
    swarm = CopterSwarm(clock, step_s=0.05)
    try:
        copter = await swarm.add_udp(31, ("127.0.0.1", endpoint.port), CopterConfig(
            params={"FS_GCS_ENABLE": 1, "LAND_SPEED": 150, "RTL_LOIT_TIME": 0}))
        swarm.start()
        drone = await endpoint.wait_for_drone(31, 30.0)
        await drone.wait_for(lambda s: readiness(s).ready, 30.0)
        await drone.set_mode(FlightMode.GUIDED)
        await drone.arm()
        await drone.takeoff(15.0)
        await drone.wait_for(lambda s: (s.alt_rel_m or 0.0) > 13.0, 60.0)
        await drone.goto(*offset(BASE, 150.0, 0.0), 15.0)
        await drone.wait_for(lambda s: (s.ground_speed_m_s or 0.0) > 5.0, 30.0)
        copter.cut.cut()
        cut_at_s = clock.now_s()
        while copter.autopilot.fc.mode.name != "RTL":
            assert clock.now_s() - cut_at_s < 30.0, "no GCS failsafe"
            await clock.sleep(0.2)
        last_heartbeat_s = copter.autopilot.fc.gcs_last_heartbeat_s
        assert last_heartbeat_s is not None and last_heartbeat_s <= cut_at_s + 0.1
        assert 5.0 <= clock.now_s() - last_heartbeat_s < 10.0  # FS_GCS_TIMEOUT after the last
        copter.cut.restore()
        state = await drone.wait_for(lambda s: s.mode == "RTL", 30.0)
        assert state.system_status is not None
        await drone.wait_for(lambda s: not s.armed and s.landed_state == "ON_GROUND", 120.0)
        texts = [t.text for t in drone.link.statustexts]
        assert "GCS Failsafe Cleared" in texts
        fc = copter.autopilot.fc
        assert math.hypot(fc.body.north_m, fc.body.east_m) < 1.5
        assert swarm.failures == []
    finally:
        await swarm.close()
        await endpoint.close()


async def test_signed_link_with_a_signing_copter_and_an_impostor_refused() -> None:
    """MAVLink 2 signing end to end: the link requires signatures from drone 41; the copter
    signs with the shared secret and is flown; a copter claiming id 42 without the secret is
    never accepted."""
    key = bytes(range(32))
    clock = ScaledClock(10.0)
    endpoint = await UdpEndpoint.start(port=0, clock=clock,
                                       signing={41: SigningConfig(key), 42: SigningConfig(key)})
    swarm = CopterSwarm(clock, step_s=0.05)
    try:
        await swarm.add_udp(41, ("127.0.0.1", endpoint.port), signing_key=key)
        await swarm.add_udp(42, ("127.0.0.1", endpoint.port))  # unsigned
        swarm.start()
        drone = await endpoint.wait_for_drone(41, 30.0)
        await drone.wait_for(lambda s: readiness(s).ready, 30.0)
        await drone.set_mode(FlightMode.GUIDED)
        await drone.arm()
        await drone.wait_for(lambda s: s.armed, 5.0)
        impostor = endpoint.drone(42)
        await clock.sleep(3.0)
        assert impostor.state.autopilot is None  # its unsigned heartbeats were dropped
        assert swarm.failures == []
    finally:
        await swarm.close()
        await endpoint.close()
