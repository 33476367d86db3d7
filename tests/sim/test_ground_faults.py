"""The scenario's ground faults applied on schedule: stop and resume, battery sag, link loss."""

from __future__ import annotations

import pytest

from sim.ground.bus import Bus
from sim.ground.fast import MemoryGround
from sim.ground.faults import GroundFaultSchedule
from sim.ground.mobility import PersonalMobility
from sim.ground.network import load_network
from sim.ground.plan import EventKind, VehicleState
from sim.scenario.model import Fault
from vehicles.clock import VirtualClock
from vehicles.ground import messages as m
from vehicles.ground.server_types import EventReceived


async def test_scenario_faults_hit_the_named_ground_vehicles_on_time() -> None:
    net = load_network()
    world = MemoryGround(
        {"bus-02": "a", "pm-01": "b"}, VirtualClock(), step_s=1.0, telemetry_period_s=30.0
    )
    bus, pm = Bus("bus-02", net), PersonalMobility("pm-01", net)
    world.add(bus)
    world.add(pm)
    faults = [
        Fault("ground_fault", 100.0, {"vehicle": "bus-02", "for_s": 300.0}),
        Fault("battery_sag", 50.0, {"vehicle": "pm-01", "drop_fraction": 0.5}),
        Fault("link_loss", 200.0, {"vehicle": "pm-01", "for_s": 120.0}),
        Fault("link_loss", 10.0, {"vehicle": "drone-03", "for_s": 30.0}),  # not ours: ignored
        Fault("gust_front", 10.0, {"for_s": 30.0}),
    ]
    schedule = GroundFaultSchedule(
        faults, {"bus-02": bus, "pm-01": pm}, cut_link=world.cut, restore_link=world.restore
    )
    assert schedule.pending == 5
    states: dict[float, VehicleState] = {}
    connected: dict[float, bool] = {}
    for _ in range(600):
        await world.clock.advance(1.0)
        schedule.apply(world.clock.now_s())
        world.step()
        t = world.clock.now_s()
        states[t] = bus.state
        connected[t] = "pm-01" in world.server.connected_vehicles()
    assert states[99.0] is not VehicleState.FAULT and states[100.0] is VehicleState.FAULT
    assert states[399.0] is VehicleState.FAULT and states[400.0] is not VehicleState.FAULT
    # Idle at its depot: 50 % after the sag (applied before the tick that steps 49 -> 50 s),
    # then 551 s on the 60 W charger (300 Wh).
    assert pm.battery_soc == pytest.approx(0.5 + 60.0 * 551.0 / 3600.0 / 300.0, abs=1e-6)
    assert connected[199.0] and not connected[200.0] and not connected[319.0] and connected[321.0]
    got = [
        (e.event.kind, e.event.code)
        for e in world.app_events
        if isinstance(e, EventReceived)
        and e.vehicle_id == "bus-02"
        and e.event.kind in (m.EventKind.FAULT, m.EventKind.FAULT_CLEARED)
    ]
    assert got == [(m.EventKind.FAULT, "sensor_fault"), (m.EventKind.FAULT_CLEARED, "sensor_fault")]
    assert schedule.pending == 0 and len(schedule.applied) == 5


def test_bad_fault_parameters() -> None:
    pm = PersonalMobility("pm-01", load_network())
    with pytest.raises(ValueError, match="for_s"):
        GroundFaultSchedule(
            [Fault("ground_fault", 1.0, {"vehicle": "pm-01", "for_s": 0})], {"pm-01": pm}
        )
    with pytest.raises(ValueError, match="drop_fraction"):
        GroundFaultSchedule(
            [Fault("battery_sag", 1.0, {"vehicle": "pm-01", "drop_fraction": 2})], {"pm-01": pm}
        )
    assert EventKind.FAULT.value == m.EventKind.FAULT.value  # the simulator's words are the wire's
