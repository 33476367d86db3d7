"""Personal mobility: door-to-door trips on sidewalks, return to depot, faults and battery."""

from __future__ import annotations

import math

import pytest

from sim.ground.frame import to_local_m
from sim.ground.lifecycle import TRANSITIONS, mermaid
from sim.ground.mobility import MOBILITY_DEFAULTS, PersonalMobility, mobility_params
from sim.ground.network import TravelMode, load_network
from sim.ground.plan import (
    EventKind,
    Plan,
    PlanError,
    PlanStop,
    RiderId,
    VehicleEvent,
    VehicleState,
)
from sim.ground.routing import shortest_path_m, travel_matrices

R = RiderId


def run(vehicle: PersonalMobility, seconds: float, dt_s: float = 1.0) -> list[VehicleEvent]:
    events: list[VehicleEvent] = []
    for _ in range(round(seconds / dt_s)):
        vehicle.step(dt_s)
        events.extend(vehicle.events_out())
    return events


def trip(version: int = 1, rider: str = "r1", a: str = "home-utase-2", b: str = "messe") -> Plan:
    return Plan(version, (PlanStop(a, pickups=(R(rider),)), PlanStop(b, dropoffs=(R(rider),))))


def test_door_to_door_trip_then_autonomous_return_to_depot() -> None:
    net = load_network()
    pm = PersonalMobility("pm-01", net)
    assert pm.state is VehicleState.IDLE
    pm.apply_plan(trip())
    speeds = []
    events: list[VehicleEvent] = []
    for _ in range(6000):
        pm.step(1.0)
        events.extend(pm.events_out())
        speeds.append(pm.telemetry().speed_m_s)
    order = [(e.kind, e.stop_id) for e in events]
    assert order == [
        (EventKind.ARRIVED, "home-utase-2"),
        (EventKind.BOARDED, "home-utase-2"),
        (EventKind.DEPARTED, "home-utase-2"),
        (EventKind.ARRIVED, "messe"),
        (EventKind.ALIGHTED, "messe"),
        (EventKind.DEPARTED, "messe"),
        (EventKind.PLAN_COMPLETED, "messe"),
        (EventKind.AT_DEPOT, "pm-depot"),
    ]
    assert max(speeds) <= 6.0 / 3.6 + 1e-9  # never above the sidewalk cap
    for e in events:  # every event says where it happened: arrivals at the place's door
        assert e.lat_deg is not None and e.lon_deg is not None
        if e.kind is EventKind.ARRIVED:
            place = net.place(str(e.stop_id))
            here = to_local_m(e.lat_deg, e.lon_deg)
            assert math.dist(here, to_local_m(place.lat_deg, place.lon_deg)) < 1.0
    assert pm.state is VehicleState.IDLE and pm.onboard == []
    # Odometer = the sidewalk paths depot -> home -> Messe -> depot.
    # It drives the fastest paths (the Messe deck is slow: 4 km/h), as the matrices say.
    dist, _ = travel_matrices(net, ["pm-depot", "home-utase-2", "messe"], TravelMode.SIDEWALK, 1.5)
    expected = int(dist[0, 1] + dist[1, 2] + dist[2, 0])
    assert pm.odometer_m == pytest.approx(expected, abs=3.0)
    shortest = sum(
        shortest_path_m(net, a, b, TravelMode.SIDEWALK)
        for a, b in [("pm-depot", "home-utase-2"), ("home-utase-2", "messe"), ("messe", "pm-depot")]
    )
    assert shortest <= pm.odometer_m
    # The ride time is at least the path over the cruise speed.
    t_board = next(e.t_s for e in events if e.kind is EventKind.DEPARTED)
    t_drop = next(e.t_s for e in events if e.kind is EventKind.ALIGHTED)
    ride_m = shortest_path_m(net, "home-utase-2", "messe", TravelMode.SIDEWALK)
    assert t_drop - t_board >= ride_m / MOBILITY_DEFAULTS.cruise_speed_m_s - 1.0


def test_one_rider_only() -> None:
    pm = PersonalMobility("pm-01", load_network())
    two = Plan(
        1,
        (
            PlanStop("messe", pickups=(R("a"),)),
            PlanStop("bay-town", pickups=(R("b"),)),
            PlanStop("wakaba", dropoffs=(R("a"), R("b"))),
        ),
    )
    with pytest.raises(PlanError, match="exceed capacity 1"):
        pm.apply_plan(two)
    with pytest.raises(ValueError, match="6 km/h"):
        mobility_params(cruise_speed_m_s=2.5)


def test_cancel_with_rider_on_board_still_drops_them_off() -> None:
    pm = PersonalMobility("pm-01", load_network(), start="home-utase-1")
    pm.apply_plan(trip(a="home-utase-1", b="wakaba"))
    run(pm, 120.0)
    assert pm.onboard == ["r1"]
    pm.cancel()
    assert pm.pending_stops() == ["wakaba"]
    events = run(pm, 3000.0)
    assert [e.kind for e in events if e.kind in (EventKind.ALIGHTED, EventKind.AT_DEPOT)] == [
        EventKind.ALIGHTED,
        EventKind.AT_DEPOT,
    ]


def test_cancel_before_pickup_goes_home() -> None:
    pm = PersonalMobility("pm-01", load_network())
    pm.apply_plan(trip())
    run(pm, 100.0)
    pm.cancel()
    assert pm.pending_stops() == ["pm-depot"] and pm.state is VehicleState.RETURNING
    events = run(pm, 600.0)
    assert [e.kind for e in events] == [EventKind.AT_DEPOT]


def test_fault_stops_the_vehicle_until_cleared_and_survives_a_hold() -> None:
    pm = PersonalMobility("pm-01", load_network())
    pm.apply_plan(trip())
    run(pm, 100.0)
    pm.hold()
    pm.inject_fault("lidar", "front lidar blinded")
    assert pm.state is VehicleState.FAULT
    assert [(e.kind, e.code) for e in pm.events_out()] == [(EventKind.FAULT, "lidar")]
    where = pm.telemetry()
    events = run(pm, 300.0)
    assert pm.telemetry().lat_deg == where.lat_deg and pm.telemetry().speed_m_s == 0.0
    assert events == []
    pm.clear_fault()
    assert pm.state is VehicleState.HOLDING  # the hold still stands
    pm.resume()
    assert pm.state is VehicleState.EN_ROUTE
    pm.take_over("safety driver")
    pm.take_over("safety driver")  # idempotent: one event
    assert pm.state is VehicleState.MANUAL
    assert [e.kind for e in pm.events_out()] == [EventKind.FAULT_CLEARED, EventKind.MANUAL_TAKEOVER]
    pm.release()
    events = run(pm, 3000.0)
    assert EventKind.BOARDED in [e.kind for e in events]


def test_battery_low_warning_then_empty_fault_then_roadside_rescue() -> None:
    params = mobility_params(range_km=1.0)
    pm = PersonalMobility("pm-01", load_network(), params, battery_soc=0.5)
    pm.apply_plan(trip())
    events = run(pm, 1000.0)
    faults = [e.code for e in events if e.kind is EventKind.FAULT]
    assert faults == ["battery_low", "battery_empty"]
    assert pm.state is VehicleState.FAULT and pm.battery_soc == 0.0
    assert pm.odometer_m == pytest.approx(500.0, rel=0.01)  # half of a 1 km range
    t = pm.telemetry()
    events = run(pm, params.rescue_s - 700.0)  # stranded until the crew arrives
    assert pm.telemetry().lat_deg == t.lat_deg and events == []
    events = run(pm, 400.0)
    cleared = [e for e in events if e.kind is EventKind.FAULT_CLEARED]
    assert [e.code for e in cleared] == ["battery_empty"]
    # it drives on with the crew's charge (a quarter of this tiny 1 km pack: about 250 m)
    assert pm.odometer_m == pytest.approx(750.0, rel=0.02)


def test_lifecycle_table_is_complete_and_renders() -> None:
    assert set(TRANSITIONS) == set(VehicleState)
    diagram = mermaid()
    assert diagram.startswith("stateDiagram-v2") and "en_route --> at_stop" in diagram


def test_a_no_show_is_reported_and_the_vehicle_carries_on() -> None:
    pm = PersonalMobility("pm-01", load_network())
    pm.apply_plan(trip())
    pm.no_show("r1")
    events = run(pm, 6000.0)
    assert [(e.kind, e.code) for e in events if e.kind is EventKind.FAULT] == [
        (EventKind.FAULT, "no_show")
    ]
    assert not [e for e in events if e.kind in (EventKind.BOARDED, EventKind.ALIGHTED)]
    assert events[-1].kind is EventKind.AT_DEPOT and pm.state is VehicleState.IDLE
