"""Drone model: multi-warehouse multi-trip plans, on-board parcels, locks, a checker that bites."""

from __future__ import annotations

import dataclasses

import pytest

from dispatch.domain import Committed, OrderId, SiteId, VehicleStart
from dispatch.drone_model import DroneModelParams, build_drone_problem
from dispatch.drone_plan import plan_drones
from dispatch.energy import DroneEnergyModel
from dispatch.params import SolverParams
from dispatch.plan_check import check_drone_plan
from dispatch.synthetic import drone_instance

SOLVER = SolverParams(time_limit_s=None, solution_limit=200, metaheuristic="GREEDY_DESCENT")


def test_multi_trip_plan_is_feasible_and_serves_all() -> None:
    inst = drone_instance(3, drones=3, warehouses=2, ports=4, parcels=10, horizon_s=3600)
    params = DroneModelParams(energy=inst.energy)
    plan, _, _ = plan_drones(inst.drones, inst.orders, inst.sites, inst.air, SOLVER, params)
    report = check_drone_plan(
        plan, inst.drones, inst.orders, inst.sites, inst.air, inst.energy, swap_s=params.swap_s
    )
    assert report.feasible, report.violations
    assert not plan.unserved
    assert max(len(r.orders()) for r in plan.routes) >= 2  # some drone flies several sorties


def test_checker_flags_a_smaller_battery_and_a_lost_order() -> None:
    inst = drone_instance(3, drones=2, warehouses=2, ports=4, parcels=6, horizon_s=3600)
    params = DroneModelParams(energy=inst.energy)
    plan, _, _ = plan_drones(inst.drones, inst.orders, inst.sites, inst.air, SOLVER, params)
    weak = dataclasses.replace(inst.energy, battery_wh=inst.energy.battery_wh / 4)
    report = check_drone_plan(
        plan, inst.drones, inst.orders, inst.sites, inst.air, weak, swap_s=params.swap_s
    )
    assert any("reserve" in v for v in report.violations)
    lossy = dataclasses.replace(plan, routes=plan.routes[1:])
    report = check_drone_plan(
        lossy, inst.drones, inst.orders, inst.sites, inst.air, inst.energy, swap_s=params.swap_s
    )
    assert any("silently lost" in v for v in report.violations)


def test_parcel_on_board_is_delivered_by_its_drone_first() -> None:
    inst = drone_instance(5, drones=2, warehouses=1, ports=3, parcels=4, horizon_s=1800)
    carried = inst.orders[0]
    d0 = dataclasses.replace(
        inst.drones[0],
        start=VehicleStart(
            "S0",
            t_s=0,
            onboard=(carried.id,),
            battery_soc=0.9,
            landed=False,
            committed=(Committed(carried.id, "dropoff"),),
        ),
    )
    drones = (d0, *inst.drones[1:])
    params = DroneModelParams(energy=inst.energy)
    plan, _, _ = plan_drones(drones, inst.orders, inst.sites, inst.air, SOLVER, params)
    report = check_drone_plan(
        plan, drones, inst.orders, inst.sites, inst.air, inst.energy, swap_s=params.swap_s
    )
    assert report.feasible, report.violations
    route = plan.route_of(d0.id)
    assert route is not None
    assert (route.stops[0].kind, route.stops[0].order_id) == ("delivery", carried.id)


def test_too_heavy_and_too_late_orders_are_reported_not_lost() -> None:
    inst = drone_instance(2, drones=1, warehouses=1, ports=2, parcels=2, horizon_s=600)
    heavy = dataclasses.replace(inst.orders[0], id=OrderId("heavy"), weight_kg=50.0)
    late = dataclasses.replace(
        inst.orders[1], id=OrderId("late"), deadline_s=inst.orders[1].ready_s
    )
    dp = build_drone_problem(
        inst.drones, [heavy, late], inst.sites, inst.air, DroneModelParams(energy=inst.energy)
    )
    reasons = dict(dp.excluded)
    assert "payload" in reasons["heavy"]
    assert "deadline" in reasons["late"]


def test_unknown_site_is_a_clear_error() -> None:
    inst = drone_instance(2, drones=1, warehouses=1, ports=2, parcels=1)
    bad = dataclasses.replace(inst.orders[0], drone_port=SiteId("nowhere"))
    with pytest.raises(ValueError, match="unknown site"):
        build_drone_problem(inst.drones, [bad], inst.sites, inst.air)


def test_energy_grows_with_payload() -> None:
    em = DroneEnergyModel()
    assert em.leg_energy_wh(600, 5.0) > em.leg_energy_wh(600, 1.0) > em.leg_energy_wh(600, 0.0)
    with pytest.raises(ValueError, match="reserve_fraction"):
        DroneEnergyModel(reserve_fraction=1.5)
