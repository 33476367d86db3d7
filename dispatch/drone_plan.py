"""Drone plans in domain terms, read back from a `Solution` of a `DroneProblem`.

A `DronePlan` says, per drone, which stops it makes (load a parcel and swap at a warehouse,
release a parcel at a port, swap at a swap station, land at home), when, with what payload, and
the state of charge it arrives with (recomputed in floats from the energy model). Orders the plan
does not serve are listed with a reason: nothing is silently lost.

`plan_drones` is the one call for a static problem: build, solve with the engine, read back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dispatch.domain import DeliveryOrder, OrderId, Site, SiteId, TravelMatrix, Vehicle, VehicleId
from dispatch.drone_model import DroneModelParams, DroneProblem, build_drone_problem
from dispatch.params import SolverParams
from dispatch.solution import Solution
from dispatch.solver import solve


@dataclass(frozen=True, slots=True)
class DroneStop:
    """One stop: `kind` is pickup (load + swap), delivery (release), swap or end."""

    kind: str
    location: str
    order_id: OrderId | None
    arrive_s: int
    start_s: int
    depart_s: int
    payload_kg: float  # on board when arriving
    soc_arrive: float  # state of charge on arrival (>= reserve in every valid plan)


@dataclass(frozen=True, slots=True)
class DroneRoute:
    """One drone's plan from its start state."""

    vehicle_id: VehicleId
    start_location: str
    start_s: int
    start_soc: float
    stops: tuple[DroneStop, ...]

    def orders(self) -> tuple[OrderId, ...]:
        """Orders it delivers, in order."""
        return tuple(s.order_id for s in self.stops if s.kind == "delivery" and s.order_id)


@dataclass(frozen=True, slots=True)
class DronePlan:
    """Routes for every planned drone and the orders left out, with reasons."""

    routes: tuple[DroneRoute, ...]
    unserved: tuple[tuple[str, str], ...]
    status: str = "SUCCESS"
    objective: int = 0

    def route_of(self, vehicle_id: str) -> DroneRoute | None:
        """The route of one drone (None when it is not planned)."""
        return next((r for r in self.routes if r.vehicle_id == vehicle_id), None)


def read_drone_plan(
    dp: DroneProblem,
    solution: Solution,
    orders: Sequence[DeliveryOrder],
    params: DroneModelParams,
) -> DronePlan:
    """Translate the solver's answer into a `DronePlan`."""
    em = params.energy
    weight = {o.id: o.weight_kg for o in orders}
    problem = dp.problem
    routes: list[DroneRoute] = []
    served: set[OrderId] = set()
    for route in solution.routes:
        v = route.vehicle
        soc = dp.start_soc[v]
        payload = dp.start_payload_kg[v]
        stops: list[DroneStop] = []
        for pos in range(1, len(route.nodes)):
            a, k = route.nodes[pos - 1], route.nodes[pos]
            leg_s = int(problem.profiles[0].duration_s[a, k])
            soc -= em.leg_energy_wh(leg_s, payload) / em.battery_wh
            kind, order = dp.node_kind[k], dp.node_order[k]
            arrive, start = route.arrival_s[pos], route.start_s[pos]
            depart = start + problem.nodes[k].service_s
            stops.append(
                DroneStop(kind, dp.node_key[k], order, arrive, start, depart, payload, soc)
            )
            if kind == "pickup" and order is not None:
                payload = weight[order]
                if params.swap_at_reload:
                    soc = 1.0
            elif kind == "delivery" and order is not None:
                soc -= em.hover_energy_wh(problem.nodes[k].service_s, payload) / em.battery_wh
                payload = 0.0
                served.add(order)
            elif kind == "swap":
                soc = 1.0
        routes.append(
            DroneRoute(
                dp.vehicle_ids[v],
                dp.node_key[route.nodes[0]],
                route.start_s[0] if route.start_s else dp.start_s[v],
                dp.start_soc[v],
                tuple(stops),
            )
        )
    unserved = list(dp.excluded)
    reason = "no drone can serve it within its window, payload and energy"
    if not solution.routes:
        reason = f"no plan found ({solution.status})"
    unserved.extend((oid, reason) for oid in dp.order_ids if oid not in served)
    listed = {u[0] for u in unserved}
    unserved.extend((o.id, reason) for o in orders if o.id not in served and o.id not in listed)
    return DronePlan(tuple(routes), tuple(unserved), solution.status, solution.objective)


def plan_drones(
    drones: Sequence[Vehicle],
    orders: Sequence[DeliveryOrder],
    sites: Mapping[SiteId, Site],
    air: TravelMatrix,
    solver_params: SolverParams,
    params: DroneModelParams | None = None,
    initial_routes: Sequence[Sequence[int]] | None = None,
) -> tuple[DronePlan, DroneProblem, Solution]:
    """Build, solve and read back a drone problem (static planning or a re-plan)."""
    params = params or DroneModelParams()
    dp = build_drone_problem(drones, orders, sites, air, params)
    if not dp.problem.vehicles:
        sol = Solution((), tuple(range(len(dp.problem.requests))), 0, "NO_VEHICLE")
    else:
        sol = solve(dp.problem, solver_params, initial_routes)
    return read_drone_plan(dp, sol, orders, params), dp, sol
