"""Background re-plan of live drone plans: never loses an order, never breaks a promise."""

from __future__ import annotations

from dispatch.drone_model import DroneModelParams
from dispatch.live_drone import DroneInsertion
from dispatch.live_replan import improve_drone_plans
from dispatch.params import SolverParams
from dispatch.plan_check import check_drone_plan
from dispatch.synthetic import drone_instance


def test_replan_keeps_every_accepted_order_and_stays_safe() -> None:
    inst = drone_instance(8, drones=3, warehouses=2, ports=5, parcels=12, horizon_s=3600)
    params = DroneModelParams(energy=inst.energy)
    ins = DroneInsertion(inst.drones, inst.sites, inst.air, params)
    accepted = {d.request_id for d in (ins.insert(o) for o in inst.orders) if d.accepted}
    promised = dict(ins.promised_s)
    result = improve_drone_plans(
        ins, SolverParams(time_limit_s=None, solution_limit=100, metaheuristic="GREEDY_DESCENT")
    )
    assert result.flight_s_after <= result.flight_s_before
    plan = ins.plan()
    planned = {oid for r in plan.routes for oid in r.orders()}
    assert planned == accepted
    report = check_drone_plan(
        plan, inst.drones, inst.orders, inst.sites, inst.air, inst.energy, swap_s=params.swap_s
    )
    assert report.feasible, report.violations
    for r in plan.routes:
        for s in r.stops:
            if s.kind == "delivery" and s.order_id is not None:
                assert s.start_s <= promised[s.order_id]
