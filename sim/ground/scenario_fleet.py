"""The ground fleet a scenario describes: buses and personal mobility with the scenario's figures.

`sim.scenario` holds the fleet as data (`[bus]`: count, capacity, speed, dwell, battery, loop;
`[mobility]`: count, speed, depot, range). This turns it into simulated vehicles on the Makuhari
network, with ids `bus-01..` and `pm-01..`. Buses start spread around their loop; personal
mobility starts at its depot. Figures the scenario does not give keep the vehicle defaults.
"""

from __future__ import annotations

import dataclasses

from sim.ground.bus import BUS_DEFAULTS, Bus
from sim.ground.mobility import PersonalMobility, mobility_params
from sim.ground.network import RoadNetwork
from sim.ground.vehicle import GroundVehicle
from sim.scenario.model import Scenario


def scenario_ground_fleet(
    scenario: Scenario, network: RoadNetwork, *, t_s: float = 0.0
) -> list[GroundVehicle]:
    """Buses then personal mobility, as the scenario lists them (unknown stops raise KeyError)."""
    bus = scenario.bus
    bus_params = dataclasses.replace(
        BUS_DEFAULTS,
        capacity=bus.capacity,
        cruise_speed_m_s=bus.speed_m_s,
        dwell_s=bus.dwell_s,
        battery_wh=bus.battery_wh,
    )
    loop = bus.loop
    fleet: list[GroundVehicle] = [
        Bus(
            f"bus-{i + 1:02d}",
            network,
            bus_params,
            loop,
            start=loop[(i * len(loop)) // max(bus.count, 1)],
            t_s=t_s,
        )
        for i in range(bus.count)
    ]
    mob = scenario.mobility
    pm_params = mobility_params(
        range_km=mob.range_km, depot=mob.depot, cruise_speed_m_s=mob.speed_m_s
    )
    fleet += [
        PersonalMobility(f"pm-{i + 1:02d}", network, pm_params, t_s=t_s) for i in range(mob.count)
    ]
    return fleet
