"""Fast mode: 50 vehicles and the protocol's server core over in-memory pipes, virtual time."""

from __future__ import annotations

from collections import Counter, defaultdict

from sim.ground.bus import DEFAULT_LOOP, Bus
from sim.ground.fast import MemoryGround
from sim.ground.mobility import PersonalMobility
from sim.ground.network import load_network
from vehicles.clock import VirtualClock
from vehicles.ground import messages as m
from vehicles.ground.server_types import CommandAnswered, EventReceived

PM_TRIPS = [
    ("home-utase-1", "bay-town"),
    ("kaihin-makuhari", "messe"),
    ("home-utase-2", "bay-town"),
    ("messe", "kaihin-makuhari"),
    ("home-wakaba-b3", "bay-park-cross-tower"),
    ("bay-town", "home-utase-1"),
    ("wakaba", "home-wakaba-b2"),
    ("makuhari-beach", "bay-town"),
]


def _world(n_buses: int, n_pms: int) -> MemoryGround:
    net = load_network()
    ids = [f"bus-{i:02d}" for i in range(n_buses)] + [f"pm-{i:02d}" for i in range(n_pms)]
    world = MemoryGround(
        {v: f"token-{v}" for v in ids},
        VirtualClock(),
        step_s=2.0,
        telemetry_period_s=10.0,
        epoch_s=1_764_000_000.0,
    )
    for i, vid in enumerate(ids):
        if vid.startswith("bus"):
            world.add(Bus(vid, net, start=DEFAULT_LOOP[i % len(DEFAULT_LOOP)]))
        else:
            world.add(PersonalMobility(vid, net))
    return world


async def _scenario(
    n_buses: int = 10, n_pms: int = 40
) -> tuple[MemoryGround, list[tuple[str, int, str, float]]]:
    world = _world(n_buses, n_pms)
    world.step()
    assert len(world.server.connected_vehicles()) == n_buses + n_pms
    for i in range(n_pms):
        a, b = PM_TRIPS[i % len(PM_TRIPS)]
        rider = f"rider-{i:02d}"
        world.send_plan(
            f"pm-{i:02d}", [m.PlanStop(a, pickups=(rider,)), m.PlanStop(b, dropoffs=(rider,))]
        )
    for i in range(0, n_buses, 2):
        riders = (f"bus-rider-{i}a", f"bus-rider-{i}b")
        world.send_plan(
            f"bus-{i:02d}",
            [
                m.PlanStop("messe", pickups=riders),
                m.PlanStop("bay-town", dropoffs=riders[:1]),
                m.PlanStop("wakaba", dropoffs=riders[1:]),
            ],
        )
    await world.run_for(300.0)
    cut = ["bus-00", "bus-03", "pm-01", "pm-07", f"pm-{n_pms // 2:02d}"]
    for vid in cut:
        world.cut(vid)
    await world.run_for(120.0)
    assert not set(cut) & set(world.server.connected_vehicles())
    for vid in cut:
        world.restore(vid)
    for _ in range(60):
        await world.run_for(60.0)
        done = {
            e.vehicle_id
            for e in world.app_events
            if isinstance(e, EventReceived) and e.event.kind is m.EventKind.PLAN_COMPLETED
        }
        if len(done) == n_pms + (n_buses + 1) // 2:
            break
    trace = [
        (e.vehicle_id, e.event.seq, e.event.kind.value, e.event.t_s)
        for e in world.app_events
        if isinstance(e, EventReceived)
    ]
    return world, trace


async def test_fifty_vehicles_complete_plans_through_link_cuts_exactly_once() -> None:
    world, trace = await _scenario()
    events = [e for e in world.app_events if isinstance(e, EventReceived)]
    completed = {e.vehicle_id for e in events if e.event.kind is m.EventKind.PLAN_COMPLETED}
    assert len(completed) == 45  # all 40 PMs and the 5 buses that got a plan
    answers = [e for e in world.app_events if isinstance(e, CommandAnswered)]
    assert len(answers) == 45 and all(a.ack.ok for a in answers)
    # Every rider boarded once and alighted once.
    boarded = Counter(e.event.rider_id for e in events if e.event.kind is m.EventKind.BOARDED)
    alighted = Counter(e.event.rider_id for e in events if e.event.kind is m.EventKind.ALIGHTED)
    assert boarded == alighted and len(boarded) == 50 and set(boarded.values()) == {1}
    # Exactly once, in order, per vehicle: after a last exchange nothing is left unacknowledged.
    world.step()
    assert all(s.unacked_events == 0 for s in world.sessions.values())
    seqs: dict[str, list[int]] = defaultdict(list)
    for vid, seq, _, _ in trace:
        seqs[vid].append(seq)
    for vid, link in world.links.items():
        assert seqs[vid] == list(range(1, link.events_sent + 1)), vid
    assert world.runner.errors == []


async def test_fast_mode_is_deterministic() -> None:
    _, first = await _scenario(4, 12)
    _, second = await _scenario(4, 12)
    assert first == second and len(first) > 100
