"""The runner steps many vehicles under an injected clock and wires them to their links.

These are unit tests of the runner alone, with an in-memory link; the wire tests connect the
same runner to the real server over websockets.
"""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from sim.ground.bus import BUS_DEFAULTS, Bus
from sim.ground.mobility import PersonalMobility
from sim.ground.network import load_network
from sim.ground.plan import (
    EventKind,
    Plan,
    PlanStop,
    RiderId,
    Telemetry,
    VehicleEvent,
    VehicleState,
)
from sim.ground.runner import Command, CommandKind, GroundRunner, Refusal, RefusalCode
from vehicles.clock import VirtualClock


class MemoryLink:
    """Records what the runner sends; commands are pushed by the test."""

    def __init__(self) -> None:
        self.telemetry: list[Telemetry] = []
        self.events: list[VehicleEvent] = []
        self.inbox: list[Command] = []
        self.replies: list[tuple[Command, Refusal | None]] = []

    def send_telemetry(self, telemetry: Telemetry) -> None:
        self.telemetry.append(telemetry)

    def send_event(self, event: VehicleEvent) -> None:
        self.events.append(event)

    def take_commands(self) -> list[Command]:
        commands, self.inbox = self.inbox, []
        return commands

    def reply(self, command: Command, refusal: Refusal | None) -> None:
        self.replies.append((command, refusal))


def trip(version: int) -> Plan:
    r = RiderId("r1")
    return Plan(
        version, (PlanStop("home-utase-1", pickups=(r,)), PlanStop("bay-town", dropoffs=(r,)))
    )


async def test_many_vehicles_step_with_the_virtual_clock() -> None:
    clock = VirtualClock(start_s=1000.0)
    net = load_network()
    runner = GroundRunner(clock, step_s=1.0, telemetry_period_s=5.0)
    links = {}
    for i in range(20):
        vehicle = Bus(f"bus-{i:02d}", net) if i < 5 else PersonalMobility(f"pm-{i:02d}", net)
        links[vehicle.vehicle_id] = MemoryLink()
        runner.add(vehicle, links[vehicle.vehicle_id])
    task = asyncio.create_task(runner.run(600.0))
    for _ in range(700):  # VirtualClock.advance only yields to woken sleepers: yield too
        if task.done():
            break
        await asyncio.sleep(0)
        await clock.advance(1.0)
    await asyncio.wait_for(task, timeout=5.0)
    assert clock.now_s() >= 1600.0
    for vehicle in runner.vehicles:
        assert vehicle.t_s == pytest.approx(1600.0, abs=1.0)
        link = links[vehicle.vehicle_id]
        assert 110 <= len(link.telemetry) <= 125  # every 5 s of clock time
        stamps = [t.t_s for t in link.telemetry]
        assert stamps == sorted(stamps)
    bus_link = links["bus-00"]
    assert [e.stop_id for e in bus_link.events if e.kind is EventKind.ARRIVED][:2] == [
        "kaihin-makuhari",
        "messe",
    ]
    assert bus_link.events[0].t_s == pytest.approx(1000.0)


async def test_commands_are_applied_and_answered() -> None:
    clock = VirtualClock()
    runner = GroundRunner(clock)
    link = MemoryLink()
    pm = PersonalMobility("pm-01", load_network())
    runner.add(pm, link)
    link.inbox += [
        Command(CommandKind.PLAN, trip(1), ref=1),
        Command(CommandKind.PLAN, trip(1), ref=2),
        Command(CommandKind.PLAN, None, ref=3),
    ]
    runner.tick()
    assert (link.replies[0][0].ref, link.replies[0][1]) == (1, None)
    stale, empty = link.replies[1][1], link.replies[2][1]
    assert (
        stale is not None and stale.code is RefusalCode.STALE_PLAN and "not newer" in stale.message
    )
    assert empty == Refusal(RefusalCode.REFUSED, "a plan command needs a plan")
    assert len(runner.refused("pm-01")) == 2
    link.inbox.append(Command(CommandKind.HOLD, ref=4))
    await clock.advance(10.0)
    runner.tick()
    assert pm.state is VehicleState.HOLDING
    link.inbox += [Command(CommandKind.RESUME), Command(CommandKind.CANCEL)]
    await clock.advance(1.0)
    runner.tick()
    assert pm.state is VehicleState.RETURNING
    link.inbox.append(Command(CommandKind.RETURN_TO_DEPOT, depot_id="atlantis"))
    await clock.advance(1.0)
    runner.tick()
    assert link.replies[-1][1] == Refusal(RefusalCode.REFUSED, "unknown depot 'atlantis'")
    link.inbox.append(Command(CommandKind.RETURN_TO_DEPOT))
    for _ in range(600):
        await clock.advance(1.0)
        runner.tick()
    assert [e.kind for e in link.events][-1] is EventKind.AT_DEPOT


def test_runner_rejects_bad_setup() -> None:
    runner = GroundRunner(VirtualClock())
    with pytest.raises(ValueError, match="already running"):
        pm = PersonalMobility("pm-01", load_network())
        runner.add(pm, MemoryLink())
        runner.add(pm, MemoryLink())
    with pytest.raises(ValueError, match="step_s"):
        GroundRunner(VirtualClock(), step_s=0.0)


async def test_one_vehicle_failing_does_not_stop_the_others() -> None:
    clock = VirtualClock()
    runner = GroundRunner(clock)
    net = load_network()
    params = dataclasses.replace(BUS_DEFAULTS, dwell_s=0.0, board_s_per_rider=0.0)
    broken = Bus("bus-bad", net, params, loop=["messe", "messe"])  # stalls: no dwell, no travel
    good = Bus("bus-ok", net)
    links = {"bus-bad": MemoryLink(), "bus-ok": MemoryLink()}
    runner.add(broken, links["bus-bad"])
    runner.add(good, links["bus-ok"])
    await clock.advance(10.0)
    runner.tick()
    assert [vid for vid, _ in runner.errors] == ["bus-bad"] and "no progress" in runner.errors[0][1]
    assert broken.state is VehicleState.FAULT and broken.fault_code == "simulator_error"
    assert any(e.code == "simulator_error" for e in links["bus-bad"].events)
    assert good.t_s == 10.0 and links["bus-ok"].events
