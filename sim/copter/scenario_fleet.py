"""The scenario's drone fleet as simulated copters: one `CopterConfig` per drone.

Each warehouse in the scenario (`sim/scenario/chiba.toml`) bases `drones` copters; they stand
a few metres apart at the warehouse. The scenario's drone figures become ArduPilot parameters
and airframe figures: cruise, climb and descent speeds become WPNAV_SPEED / _UP / _DN, the
cruise altitude RTL_ALT, the reserve fraction the low-battery failsafe (BATT_LOW_MAH, half of
it BATT_CRT_MAH), and the power model is calibrated so the copter, empty, draws the scenario's
hover power hovering and its cruise power cruising. Scenario wind blows on every copter.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from sim.copter.battery import BatterySpec, PowerModel
from sim.copter.flight import CopterConfig
from sim.copter.physics import Wind
from sim.scenario.model import DroneFigures, Scenario

SPACING_M = 6.0


@dataclass(frozen=True, slots=True)
class ScenarioCopter:
    """One drone of the scenario's fleet."""

    sysid: int
    name: str  # drone-01, drone-02, ... in warehouse order
    warehouse_id: str
    config: CopterConfig


def calibrated_power(figures: DroneFigures, base: PowerModel | None = None) -> PowerModel:
    """A power model drawing the scenario's hover and cruise power with no payload."""
    base = base or PowerModel()
    weight_n = base.empty_mass_kg * 9.80665
    two_rho_a = 2.0 * base.air_density_kg_m3 * base.rotor_disc_area_m2
    rotor_hover_w = max(figures.hover_power_w - base.avionics_w, 1.0)
    fm = weight_n**1.5 / (rotor_hover_w * math.sqrt(two_rho_a))
    model = PowerModel(base.empty_mass_kg, base.rotor_disc_area_m2, fm, 0.0,
                       base.climb_efficiency, base.avionics_w, base.air_density_kg_m3)
    without_drag_w = model.power_w(0.0, figures.cruise_speed_m_s, 0.0)
    drag_w = max(figures.cruise_power_w - without_drag_w, 0.0)
    drag_area_m2 = max(2.0 * drag_w / (base.air_density_kg_m3 * figures.cruise_speed_m_s**3), 0.01)
    return PowerModel(base.empty_mass_kg, base.rotor_disc_area_m2, fm, drag_area_m2,
                      base.climb_efficiency, base.avionics_w, base.air_density_kg_m3)


def copters_from_scenario(scenario: Scenario, first_sysid: int = 1) -> list[ScenarioCopter]:
    """Every drone of the scenario, with system ids counting up from `first_sysid`."""
    fig = scenario.drone
    spec = BatterySpec()
    battery = BatterySpec(cells=spec.cells, internal_resistance_ohm=spec.internal_resistance_ohm,
                          capacity_mah=fig.battery_wh / (spec.cells * 3.7) * 1000.0)
    reserve_mah = fig.reserve_fraction * battery.capacity_mah
    params = {
        "WPNAV_SPEED": min(fig.cruise_speed_m_s * 100.0, 2000.0),
        "WPNAV_SPEED_UP": min(fig.climb_speed_m_s * 100.0, 1000.0),
        "WPNAV_SPEED_DN": min(fig.descent_speed_m_s * 100.0, 500.0),
        "RTL_ALT": fig.cruise_alt_m * 100.0,
        "BATT_CAPACITY": round(battery.capacity_mah),
        "BATT_LOW_MAH": reserve_mah,
        "BATT_CRT_MAH": reserve_mah / 2.0,
    }
    power = calibrated_power(fig)
    wind = Wind.from_direction(scenario.wind.speed_m_s, scenario.wind.from_deg,
                               scenario.wind.gust_m_s)
    copters: list[ScenarioCopter] = []
    for warehouse in scenario.warehouses:
        m_per_deg_lon = 111_320.0 * math.cos(math.radians(warehouse.lat_deg))
        for i in range(warehouse.count):
            sysid = first_sysid + len(copters)
            if sysid > 255:
                raise ValueError("more drones than MAVLink system ids (255)")
            config = CopterConfig(
                home_lat_deg=warehouse.lat_deg,
                home_lon_deg=warehouse.lon_deg + i * SPACING_M / m_per_deg_lon,
                home_alt_amsl_m=5.0, battery=battery, power=power,
                wind=dataclasses.replace(wind, seed=sysid),
                params=dict(params))
            copters.append(ScenarioCopter(sysid, f"drone-{len(copters) + 1:02d}", warehouse.id,
                                          config))
    return copters
