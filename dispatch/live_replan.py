"""Background improvement of live drone plans: a bounded OR-Tools run warm-started from them.

The insertion answers at once (`live_drone.DroneInsertion`); this re-optimises every planned
sortie together with the engine (`dispatch.solver.solve`) from the current plans as the warm
start, within a work budget (`SolverParams.solution_limit`, deterministic when
`time_limit_s` is None). The result is adopted only when the independent checker passes it,
every accepted order is still served, and every drone's new sortie list keeps the promised
windows; otherwise the current plans stay. Nothing accepted is ever dropped by a re-plan.
"""

from __future__ import annotations

from dataclasses import dataclass

from dispatch.domain import DeliveryOrder, OrderId
from dispatch.drone_model import build_drone_problem
from dispatch.drone_plan import read_drone_plan
from dispatch.live_drone import DroneInsertion
from dispatch.params import SolverParams
from dispatch.plan_check import check_drone_plan
from dispatch.solver import solve


@dataclass(frozen=True, slots=True)
class ReplanResult:
    """What a background re-plan did."""

    adopted: bool
    reason: str
    flight_s_before: int
    flight_s_after: int


def improve_drone_plans(ins: DroneInsertion, solver_params: SolverParams) -> ReplanResult:
    """Re-optimise all sorties held by `ins`; adopt the result only if it is safe and better."""
    orders = [o for did in sorted(ins.drones) for o in ins.drones[did].sorties]
    drones = [ins.drones[did].vehicle for did in sorted(ins.drones)]
    before = _flight(ins)
    if not orders:
        return ReplanResult(False, "nothing planned", before, before)
    dp = build_drone_problem(drones, orders, ins.sites, ins.air, ins.params)
    node_of = {(dp.node_order[k], dp.node_kind[k]): k for k in range(len(dp.node_kind))}
    warm = []
    for v, vid in enumerate(dp.vehicle_ids):
        route: list[int] = []
        for o in ins.drones[vid].sorties:
            route += [node_of[(o.id, "pickup")], node_of[(o.id, "delivery")]]
        del v
        warm.append(route)
    sol = solve(dp.problem, solver_params, warm)
    plan = read_drone_plan(dp, sol, orders, ins.params)
    if plan.unserved:
        return ReplanResult(False, "the re-plan would leave an accepted order out", before, before)
    report = check_drone_plan(
        plan,
        drones,
        orders,
        ins.sites,
        ins.air,
        ins.params.energy,
        swap_s=ins.params.swap_s,
        swap_at_reload=ins.params.swap_at_reload,
    )
    if not report.feasible:
        return ReplanResult(False, "checker: " + report.violations[0], before, before)
    by_id: dict[OrderId, DeliveryOrder] = {o.id: o for o in orders}
    new_lists = {r.vehicle_id: [by_id[oid] for oid in r.orders()] for r in plan.routes}
    old_lists = {did: list(ins.drones[did].sorties) for did in ins.drones}
    for did, lst in new_lists.items():
        if not ins.set_sorties(did, lst):
            for back, old in old_lists.items():
                ins.drones[back].sorties = old
            return ReplanResult(False, f"{did}: would break a promised window", before, before)
    after = _flight(ins)
    if after > before:
        for back, old in old_lists.items():
            ins.drones[back].sorties = old
        return ReplanResult(False, "no improvement", before, before)
    return ReplanResult(True, "adopted", before, after)


def _flight(ins: DroneInsertion) -> int:
    return sum(ins.flight_s(did) for did in sorted(ins.drones))
