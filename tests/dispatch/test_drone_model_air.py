"""The geofences adapter: a real airspace matrix feeds the drone model and a checked plan."""

from __future__ import annotations

import pytest

from dispatch.air_matrix import air_travel_matrix
from dispatch.domain import (
    UNREACHABLE,
    DeliveryOrder,
    OrderId,
    Site,
    SiteId,
    SiteKind,
    Vehicle,
    VehicleId,
    VehicleKind,
    VehicleStart,
)
from dispatch.drone_model import DroneModelParams
from dispatch.drone_plan import plan_drones
from dispatch.params import SolverParams
from dispatch.plan_check import check_drone_plan

pytest.importorskip("geofences.routing")


@pytest.mark.slow
def test_geofences_matrix_feeds_a_checked_plan() -> None:
    # Two points over Tokyo Bay off Makuhari (a legal pair in the geofences tests).
    sites = {
        SiteId("W"): Site(SiteId("W"), SiteKind.WAREHOUSE, 35.62, 140.005),
        SiteId("P"): Site(SiteId("P"), SiteKind.DRONE_PORT, 35.62, 140.045),
    }
    air = air_travel_matrix(list(sites.values()))
    assert 0 < air.dist("W", "P") < UNREACHABLE
    drone = Vehicle(
        VehicleId("D"), VehicleKind.DRONE, VehicleStart("W"), max_payload_kg=5.0, home="W"
    )
    order = DeliveryOrder(OrderId("O"), 2.0, SiteId("W"), SiteId("P"), 0, 3600)
    params = DroneModelParams()
    plan, _, _ = plan_drones(
        [drone],
        [order],
        sites,
        air,
        SolverParams(time_limit_s=None, solution_limit=20, metaheuristic="GREEDY_DESCENT"),
        params,
    )
    report = check_drone_plan(
        plan, [drone], [order], sites, air, params.energy, swap_s=params.swap_s
    )
    assert report.feasible, report.violations
    assert not plan.unserved
