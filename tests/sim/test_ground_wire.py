"""Simulated buses and personal mobility over real websockets on loopback to the fleet server.

The vehicles use the protocol's own client (`vehicles.ground.client`), the server is
`fleet.ground_server.GroundServer`, and a cuttable TCP relay between them drops every connection
mid-run: the plans must still be completed with every event delivered exactly once.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable

import pytest

from fleet.ground_server import GroundServer
from sim.ground.bus import DEFAULT_LOOP, Bus
from sim.ground.link_faults import CuttableRelay
from sim.ground.mobility import PersonalMobility
from sim.ground.network import load_network
from sim.ground.wire import WireFleet
from vehicles.clock import ScaledClock
from vehicles.ground import messages as m
from vehicles.ground.client import Backoff
from vehicles.ground.server_types import AppEvent, EventReceived, TelemetryReceived

SPEED = 300.0  # clock seconds per wall second
EPOCH_S = 1_764_000_000.0
TOKENS = {"bus-01": "tok-b1", "bus-02": "tok-b2", "pm-01": "tok-p1", "pm-02": "tok-p2"}


class Harness:
    def __init__(self, server: GroundServer, relay: CuttableRelay, fleet: WireFleet) -> None:
        self.server, self.relay, self.fleet = server, relay, fleet
        self.events: dict[str, list[m.Event]] = defaultdict(list)
        self.telemetry: Counter[str] = Counter()
        server.add_listener(self._on)

    def _on(self, event: AppEvent) -> None:
        if isinstance(event, EventReceived):
            self.events[event.vehicle_id].append(event.event)
        elif isinstance(event, TelemetryReceived):
            self.telemetry[event.vehicle_id] += 1

    def kinds(self, vehicle_id: str, kind: m.EventKind) -> list[m.Event]:
        return [e for e in self.events[vehicle_id] if e.kind is kind]

    async def until(self, condition: Callable[[], bool], wall_s: float = 60.0) -> None:
        async with asyncio.timeout(wall_s):
            while not condition():
                await asyncio.sleep(0.01)


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    clock = ScaledClock(SPEED)
    net = load_network()
    async with GroundServer(TOKENS, clock=clock, ping_interval_s=None) as server:
        relay = CuttableRelay(server.host, server.port)
        await relay.start()
        url = f"ws://127.0.0.1:{relay.port}{m.PATH}"
        fleet = WireFleet(
            url,
            clock,
            TOKENS,
            epoch_s=EPOCH_S,
            telemetry_period_s=5.0,
            backoff=Backoff(initial_s=2.0, max_s=10.0),
            ack_timeout_s=60.0,
        )
        fleet.add(Bus("bus-01", net))
        fleet.add(Bus("bus-02", net, start="aeon-mall"))
        fleet.add(PersonalMobility("pm-01", net, start="home-utase-2"))
        fleet.add(PersonalMobility("pm-02", net))
        h = Harness(server, relay, fleet)
        await fleet.start()
        try:
            async with asyncio.timeout(10.0):
                await fleet.wait_connected()
            yield h
        finally:
            await fleet.stop()
            await relay.stop()


def stop(stop_id: str, up: tuple[str, ...] = (), down: tuple[str, ...] = ()) -> m.PlanStop:
    return m.PlanStop(stop_id, pickups=up, dropoffs=down)


@pytest.mark.slow
async def test_vehicles_complete_plans_over_websockets_through_a_link_drop(
    harness: Harness,
) -> None:
    h = harness
    assert sorted(h.server.connected_vehicles()) == sorted(TOKENS)
    acks = await asyncio.wait_for(
        asyncio.gather(
            h.server.send_plan(
                "bus-01",
                [
                    stop("messe", up=("ann", "bob")),
                    stop("bay-town", down=("ann",)),
                    stop("wakaba", down=("bob",)),
                ],
            ),
            h.server.send_plan(
                "pm-01", [stop("home-utase-1", up=("cy",)), stop("bay-town", down=("cy",))]
            ),
            h.server.send_plan(
                "pm-02", [stop("kaihin-makuhari", up=("dee",)), stop("messe", down=("dee",))]
            ),
            # Twelve riders on an eleven-seat bus: the vehicle refuses the plan, nothing changes.
            h.server.send_plan(
                "bus-02",
                [
                    stop("aeon-mall", up=tuple(f"r{i}" for i in range(12))),
                    stop("messe", down=tuple(f"r{i}" for i in range(12))),
                ],
            ),
        ),
        timeout=10.0,
    )
    assert [a.ok for a in acks] == [True, True, True, False]
    assert acks[3].code is m.ErrorCode.REFUSED and "exceed capacity" in (acks[3].msg or "")

    # Let some events flow, then cut every connection and keep the link down for a while.
    await h.until(lambda: len(h.kinds("pm-01", m.EventKind.BOARDED)) == 1)
    h.relay.down = True
    assert h.relay.cut() == 4
    await asyncio.sleep(60.0 / SPEED)  # a minute of vehicle time without a link
    assert not any(c.connected for c in h.fleet.clients.values())
    h.relay.down = False

    done = ("bus-01", "pm-01", "pm-02")
    await h.until(lambda: all(h.kinds(v, m.EventKind.PLAN_COMPLETED) for v in done))
    await h.until(lambda: all(h.kinds(v, m.EventKind.AT_DEPOT) for v in ("pm-01", "pm-02")))
    assert all(c.connects >= 2 for c in h.fleet.clients.values())

    # Riders: each boarded and alighted once, where the plan said.
    def riders(vid: str, kind: m.EventKind) -> list[tuple[str | None, str | None]]:
        return [(e.rider_id, e.stop_id) for e in h.kinds(vid, kind)]

    assert riders("bus-01", m.EventKind.BOARDED) == [("ann", "messe"), ("bob", "messe")]
    assert riders("bus-01", m.EventKind.ALIGHTED) == [("ann", "bay-town"), ("bob", "wakaba")]
    assert riders("pm-01", m.EventKind.ALIGHTED) == [("cy", "bay-town")]
    assert riders("pm-02", m.EventKind.BOARDED) == [("dee", "kaihin-makuhari")]
    assert riders("bus-02", m.EventKind.BOARDED) == []

    def charging() -> bool:  # the server's latest-wins view of pm-01
        latest = h.server.core.vehicle("pm-01").telemetry
        return latest is not None and latest.state is m.VehicleState.CHARGING

    await h.until(charging)
    assert h.fleet.runner.errors == []
    # Stop the simulation, let the last events be acknowledged, then check exactly-once delivery.
    await h.fleet.stop_vehicles()
    await h.until(lambda: h.fleet.unacked_events() == 0)
    for vid, link in h.fleet.links.items():
        seqs = [e.seq for e in h.events[vid]]
        assert seqs == list(range(1, link.events_sent + 1)), vid  # none lost, none twice
        times = [e.t_s for e in h.events[vid]]
        assert times == sorted(times) and times[0] >= EPOCH_S
        assert h.telemetry[vid] > 5


@pytest.mark.slow
async def test_hold_resume_and_return_to_depot_commands(harness: Harness) -> None:
    h = harness
    hold = await asyncio.wait_for(h.server.send_command("bus-02", m.Hold(0, "test")), 10.0)
    assert hold.ok
    vehicle = h.fleet.runner.vehicle("bus-02")
    await h.until(lambda: vehicle.state.value == "holding")
    t0 = vehicle.telemetry()
    await asyncio.sleep(20.0 / SPEED)
    assert vehicle.telemetry().lat_deg == t0.lat_deg
    assert (await asyncio.wait_for(h.server.send_command("bus-02", m.Resume(0)), 10.0)).ok
    back = await asyncio.wait_for(
        h.server.send_command("pm-01", m.ReturnToDepot(0, depot_id="nowhere")), 10.0
    )
    assert not back.ok and back.code is m.ErrorCode.REFUSED and "unknown depot" in (back.msg or "")
    back = await asyncio.wait_for(h.server.send_command("pm-01", m.ReturnToDepot(0)), 10.0)
    assert back.ok
    await h.until(lambda: bool(h.kinds("pm-01", m.EventKind.AT_DEPOT)))
    assert h.kinds("pm-01", m.EventKind.AT_DEPOT)[0].stop_id == "pm-depot"


PM_TRIPS = [
    ("home-utase-1", "bay-town"),
    ("kaihin-makuhari", "messe"),
    ("home-utase-2", "bay-town"),
    ("messe", "kaihin-makuhari"),
    ("home-wakaba-b3", "bay-park-cross-tower"),
]


@pytest.mark.slow
async def test_fifty_vehicles_over_websockets_with_a_mass_reconnect() -> None:
    speed = 200.0
    clock = ScaledClock(speed)
    net = load_network()
    ids = [f"bus-{i:02d}" for i in range(10)] + [f"pm-{i:02d}" for i in range(40)]
    tokens = {v: f"secret-{v}" for v in ids}
    async with GroundServer(tokens, clock=clock, ping_interval_s=None) as server:
        relay = CuttableRelay(server.host, server.port)
        await relay.start()
        fleet = WireFleet(
            f"ws://127.0.0.1:{relay.port}{m.PATH}",
            clock,
            tokens,
            epoch_s=EPOCH_S,
            step_s=2.0,
            telemetry_period_s=20.0,
            backoff=Backoff(initial_s=5.0, max_s=20.0),
            ack_timeout_s=120.0,
            client_tick_s=10.0,
        )
        for i, vid in enumerate(ids):
            fleet.add(
                Bus(vid, net, start=DEFAULT_LOOP[i % 6])
                if vid.startswith("bus")
                else PersonalMobility(vid, net)
            )
        h = Harness(server, relay, fleet)
        await fleet.start()
        try:
            async with asyncio.timeout(60.0):
                await fleet.wait_connected()
            # the server registers each vehicle after its hello: wait for all of them
            await h.until(lambda: len(server.connected_vehicles()) == 50, 60.0)
            acks = await asyncio.wait_for(
                asyncio.gather(
                    *(
                        server.send_plan(
                            f"pm-{i:02d}", [stop(a, up=(f"r{i}",)), stop(b, down=(f"r{i}",))]
                        )
                        for i, (a, b) in ((i, PM_TRIPS[i % len(PM_TRIPS)]) for i in range(40))
                    )
                ),
                timeout=20.0,
            )
            assert all(a.ok for a in acks)
            await h.until(lambda: sum(len(h.kinds(v, m.EventKind.BOARDED)) for v in ids) >= 10)
            assert relay.cut() == 50  # every link drops at once; reconnects stampede back
            pms = [v for v in ids if v.startswith("pm")]
            await h.until(lambda: all(h.kinds(v, m.EventKind.AT_DEPOT) for v in pms), 90.0)
            await fleet.stop_vehicles()
            await h.until(lambda: fleet.unacked_events() == 0)
            for vid, link in fleet.links.items():
                assert [e.seq for e in h.events[vid]] == list(range(1, link.events_sent + 1)), vid
                assert h.telemetry[vid] >= 2
            boarded = Counter(e.rider_id for v in ids for e in h.kinds(v, m.EventKind.BOARDED))
            alighted = Counter(e.rider_id for v in ids for e in h.kinds(v, m.EventKind.ALIGHTED))
            assert boarded == alighted == Counter({f"r{i}": 1 for i in range(40)})
            assert all(c.connects >= 2 for c in fleet.clients.values())
            assert fleet.runner.errors == []
        finally:
            await fleet.stop()
            await relay.stop()
