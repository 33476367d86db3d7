"""The Chiba scenario's ground fleet, built on the Makuhari network."""

from __future__ import annotations

from sim.ground.bus import Bus
from sim.ground.mobility import PersonalMobility
from sim.ground.network import load_network
from sim.ground.plan import VehicleState
from sim.ground.scenario_fleet import scenario_ground_fleet
from sim.scenario.model import load_scenario


def test_chiba_scenario_fleet_uses_the_scenario_figures() -> None:
    scenario = load_scenario()
    fleet = scenario_ground_fleet(scenario, load_network())
    buses = [v for v in fleet if isinstance(v, Bus)]
    pms = [v for v in fleet if isinstance(v, PersonalMobility)]
    assert len(buses) == scenario.bus.count and len(pms) == scenario.mobility.count
    assert len({v.vehicle_id for v in fleet}) == len(fleet)
    for b in buses:
        assert b.loop == scenario.bus.loop
        assert b.params.capacity == scenario.bus.capacity
        assert b.params.cruise_speed_m_s == scenario.bus.speed_m_s
        assert b.state is VehicleState.EN_ROUTE
    assert len({b.next_stop_id for b in buses}) == len(buses)  # spread around the loop
    for p in pms:
        assert p.params.depot == scenario.mobility.depot
        assert p.params.cruise_speed_m_s == scenario.mobility.speed_m_s
        assert p.state is VehicleState.IDLE
        full_range_m = p.params.battery_wh / p.params.drive_wh_per_m
        assert abs(full_range_m - scenario.mobility.range_km * 1000.0) < 1e-6
