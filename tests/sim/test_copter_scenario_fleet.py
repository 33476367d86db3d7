"""The Chiba scenario's drones as simulated copters, calibrated to the scenario's figures."""

from __future__ import annotations

import pytest

from sim.copter.scenario_fleet import copters_from_scenario
from sim.scenario.model import load_scenario


def test_every_warehouse_drone_becomes_a_calibrated_copter() -> None:
    scenario = load_scenario()
    copters = copters_from_scenario(scenario, first_sysid=10)
    assert len(copters) == sum(w.count for w in scenario.warehouses)
    assert [c.sysid for c in copters] == list(range(10, 10 + len(copters)))
    assert len({(c.config.home_lat_deg, c.config.home_lon_deg) for c in copters}) == len(copters)
    fig = scenario.drone
    power = copters[0].config.power
    assert power.power_w(0.0, 0.0, 0.0) == pytest.approx(fig.hover_power_w, rel=0.01)
    assert power.power_w(0.0, fig.cruise_speed_m_s, 0.0) == pytest.approx(fig.cruise_power_w,
                                                                          rel=0.02)
    assert copters[0].config.battery.capacity_wh == pytest.approx(fig.battery_wh, rel=0.01)
    assert copters[0].config.params["WPNAV_SPEED"] == pytest.approx(fig.cruise_speed_m_s * 100)
