"""Ground model: buses on their stops, personal mobility door to door, riders on board, checker."""

from __future__ import annotations

import dataclasses

import pytest

from dispatch.domain import Committed, TripId, VehicleKind, VehicleStart
from dispatch.ground_check import check_ground_plan
from dispatch.ground_model import GroundModelParams, build_ground_problem
from dispatch.ground_plan import plan_ground
from dispatch.params import SolverParams
from dispatch.synthetic import ground_instance

SOLVER = SolverParams(time_limit_s=None, solution_limit=100, metaheuristic="GREEDY_DESCENT")
PARAMS = GroundModelParams()


def test_heterogeneous_fleet_plan_is_feasible() -> None:
    inst = ground_instance(4, buses=2, mobility=3, trips=14, horizon_s=1800)
    plan, _, _ = plan_ground(
        inst.vehicles, inst.trips, inst.stops, inst.road, inst.sidewalk, SOLVER, PARAMS
    )
    report = check_ground_plan(
        plan, inst.vehicles, inst.trips, inst.stops, inst.road, inst.sidewalk, PARAMS
    )
    assert report.feasible, report.violations
    kinds = {v.id: v.kind for v in inst.vehicles}
    group_trips = {t.id for t in inst.trips if t.riders > 1}
    for route in plan.routes:
        if kinds[route.vehicle_id] == VehicleKind.PERSONAL_MOBILITY:
            assert not {s.trip_id for s in route.stops} & group_trips
            assert all(s.location.startswith("T") for s in route.stops)  # doors
        else:
            assert all(s.location.startswith("S") for s in route.stops)  # stops
    served = len(inst.trips) - len(plan.unserved)
    assert served >= len(inst.trips) // 2


def test_checker_flags_a_tampered_plan() -> None:
    inst = ground_instance(4, buses=2, mobility=3, trips=10, horizon_s=1800)
    plan, _, _ = plan_ground(
        inst.vehicles, inst.trips, inst.stops, inst.road, inst.sidewalk, SOLVER, PARAMS
    )
    used = next(r for r in plan.routes if r.stops)
    early = dataclasses.replace(
        used, stops=(dataclasses.replace(used.stops[0], start_s=0), *used.stops[1:])
    )
    tampered = dataclasses.replace(
        plan, routes=tuple(early if r is used else r for r in plan.routes)
    )
    report = check_ground_plan(
        tampered, inst.vehicles, inst.trips, inst.stops, inst.road, inst.sidewalk, PARAMS
    )
    assert not report.feasible
    dropped = dataclasses.replace(plan, routes=tuple(r for r in plan.routes if r is not used))
    report = check_ground_plan(
        dropped, inst.vehicles, inst.trips, inst.stops, inst.road, inst.sidewalk, PARAMS
    )
    assert any("silently lost" in v for v in report.violations)


def test_rider_on_board_is_dropped_by_its_vehicle() -> None:
    inst = ground_instance(6, buses=1, mobility=2, trips=6, horizon_s=1200)
    single = next(t for t in inst.trips if t.riders == 1)
    pm = next(v for v in inst.vehicles if v.kind == VehicleKind.PERSONAL_MOBILITY)
    carrying = dataclasses.replace(
        pm,
        start=VehicleStart(
            single.origin,
            t_s=single.earliest_pickup_s,
            onboard=(single.id,),
            boarded_s=(single.earliest_pickup_s,),
            committed=(Committed(single.id, "dropoff"),),
        ),
    )
    vehicles = tuple(carrying if v is pm else v for v in inst.vehicles)
    plan, _, _ = plan_ground(
        vehicles, inst.trips, inst.stops, inst.road, inst.sidewalk, SOLVER, PARAMS
    )
    report = check_ground_plan(
        plan, vehicles, inst.trips, inst.stops, inst.road, inst.sidewalk, PARAMS
    )
    assert report.feasible, report.violations
    route = next(r for r in plan.routes if r.vehicle_id == pm.id)
    assert (route.stops[0].trip_id, route.stops[0].action) == (single.id, "dropoff")


def test_unknown_trip_on_board_is_a_clear_error() -> None:
    inst = ground_instance(6, buses=1, mobility=1, trips=2)
    bad = dataclasses.replace(
        inst.vehicles[0], start=VehicleStart("S0_0", onboard=(TripId("ghost"),))
    )
    with pytest.raises(ValueError, match="unknown trip"):
        build_ground_problem([bad], inst.trips, inst.stops, inst.road, inst.sidewalk)
