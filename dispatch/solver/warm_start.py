"""A warm start from PyVRP (hybrid genetic search), for problems that fit PyVRP's model.

PyVRP finds strong VRPTW / PDPTW plans fast but cannot carry our side constraints (ride-time
limits, extra dimensions such as energy, locked prefixes, per-request vehicle restrictions,
route duration limits). When the problem has none of them, its plan seeds OR-Tools, which then
keeps improving under the full model. The PyVRP budget is a share of ours: seconds in time
mode, iterations in deterministic mode (PyVRP is deterministic for a seed).

PyVRP is an optional dependency (the `bench` extra); without it `pyvrp_routes` returns None.
The same conversion serves the benchmark harness, which runs PyVRP alone as a peer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from dispatch.params import SolverParams
from dispatch.problem import Problem
from dispatch.solver import route_min
from dispatch.solver.model import prohibitive_penalty

ITERATIONS_PER_SOLUTION = 20


def fits_pyvrp(problem: Problem) -> bool:
    """True when PyVRP's model holds every constraint of `problem`."""
    return (
        not problem.dimensions
        and not problem.locked_prefixes
        and all(r.max_ride_s is None and r.vehicles is None for r in problem.requests)
        and all(r.penalty is None for r in problem.requests)
        and all(v.max_route_s is None and v.initial_load == 0 for v in problem.vehicles)
        and not problem.optional_nodes()
    )


@dataclass(frozen=True, slots=True)
class PyvrpModel:
    """PyVRP `ProblemData` and how to map its routes back to our nodes and vehicles."""

    data: Any
    client_node: tuple[int, ...]
    shipment_nodes: tuple[tuple[int, int], ...]
    vehicles_of_type: tuple[tuple[int, ...], ...]


def to_pyvrp(problem: Problem, vehicle_cost: int = 0) -> PyvrpModel:
    """Convert a problem that `fits_pyvrp` into PyVRP data (one location per node).

    `vehicle_cost` is added to every vehicle's fixed cost (PyVRP handles a large one well,
    which gives the hierarchical objective: fewest vehicles, then distance).
    """
    import pyvrp

    depot_nodes = sorted({n for v in problem.vehicles for n in (v.start, v.end)})
    depot_of = {node: k for k, node in enumerate(depot_nodes)}
    locations = [pyvrp.Location(0.0, 0.0, name=nd.name) for nd in problem.nodes]
    depots = [
        pyvrp.Depot(n, tw_early=problem.nodes[n].tw_early_s, tw_late=problem.nodes[n].tw_late_s)
        for n in depot_nodes
    ]
    clients, client_node, shipments, shipment_nodes = [], [], [], []
    for r in problem.requests:
        node = problem.nodes[r.delivery]
        if r.pickup is None:
            load = node.load
            clients.append(
                pyvrp.Client(
                    r.delivery,
                    delivery=[max(0, -load)],
                    pickup=[max(0, load)],
                    service_duration=node.service_s,
                    tw_early=node.tw_early_s,
                    tw_late=node.tw_late_s,
                )
            )
            client_node.append(r.delivery)
        else:
            pick = problem.nodes[r.pickup]
            shipments.append(
                pyvrp.Shipment(
                    r.pickup,
                    r.delivery,
                    pickup_tw_early=pick.tw_early_s,
                    pickup_tw_late=pick.tw_late_s,
                    pickup_service_duration=pick.service_s,
                    delivery_tw_early=node.tw_early_s,
                    delivery_tw_late=node.tw_late_s,
                    delivery_service_duration=node.service_s,
                    amount=[max(0, pick.load)],
                )
            )
            shipment_nodes.append((r.pickup, r.delivery))
    groups: dict[tuple[int, ...], list[int]] = {}
    for v, spec in enumerate(problem.vehicles):
        key = (
            spec.start,
            spec.end,
            spec.profile,
            spec.capacity,
            spec.shift_start_s,
            spec.shift_end_s,
            spec.fixed_cost,
        )
        groups.setdefault(key, []).append(v)
    vehicle_types = [
        pyvrp.VehicleType(
            num_available=len(members),
            capacity=[key[3]],
            start_depot=depot_of[key[0]],
            end_depot=depot_of[key[1]],
            profile=key[2],
            tw_early=key[4],
            tw_late=key[5],
            fixed_cost=key[6] + vehicle_cost,
        )
        for key, members in groups.items()
    ]
    distances: list[Any] = [p.distance_m for p in problem.profiles]
    durations: list[Any] = [p.duration_s for p in problem.profiles]
    data = pyvrp.ProblemData(
        locations=locations,
        clients=clients,
        depots=depots,
        vehicle_types=vehicle_types,
        distance_matrices=distances,
        duration_matrices=durations,
        shipments=shipments,
    )
    return PyvrpModel(
        data=data,
        client_node=tuple(client_node),
        shipment_nodes=tuple(shipment_nodes),
        vehicles_of_type=tuple(tuple(m) for m in groups.values()),
    )


def run_pyvrp(
    problem: Problem, stop: Any, seed: int, vehicle_cost: int = 0
) -> list[list[int]] | None:
    """Solve with PyVRP; per-vehicle visit lists, or None when it found no feasible plan."""
    import pyvrp

    model = to_pyvrp(problem, vehicle_cost)
    result = pyvrp.solve(model.data, stop=stop, seed=seed, collect_stats=False)
    return _decode(problem, model, result.best) if result.is_feasible() else None


def _decode(problem: Problem, model: PyvrpModel, solution: Any) -> list[list[int]]:
    from pyvrp import ActivityType

    routes: list[list[int]] = [[] for _ in problem.vehicles]
    free = [list(members) for members in model.vehicles_of_type]
    for route in solution.routes():
        vehicle = free[route.vehicle_type()].pop(0)
        visits: list[int] = []
        for activity in route:
            if activity.type == ActivityType.CLIENT:
                visits.append(model.client_node[activity.idx])
            elif activity.type == ActivityType.PICKUP:
                visits.append(model.shipment_nodes[activity.idx][0])
            elif activity.type == ActivityType.DELIVERY:
                visits.append(model.shipment_nodes[activity.idx][1])
        routes[vehicle] = visits
    return routes


FIRST_SHARE = 0.3  # of the warm start budget, with the whole fleet
ATTEMPT_SHARE = 0.4  # of what is left, per attempt with one vehicle less


def pyvrp_routes(problem: Problem, params: SolverParams, share: float) -> list[list[int]] | None:
    """A warm start for OR-Tools from PyVRP, or None if not applicable or not feasible.

    With `params.fleet_reduction` (the hierarchical objective) and a fleet of one vehicle type:
    a first run with the whole fleet and a large fixed vehicle cost gives k routes; then runs
    with the fleet capped at k - 1, k - 2, ... (route elimination by fleet restriction: PyVRP
    searches through penalised infeasible plans towards ones that fit) while they succeed.
    With `params.route_min_share` > 0 and single visits only (`route_min.fits_route_min`),
    these attempts are shorter and the ejection-pool route minimisation then continues from
    PyVRP's best plan for up to that share of the budget (it empties routes PyVRP's capped
    search cannot, e.g. Solomon R110's eleventh). The rest of the budget improves the best
    plan from where it is, with the fleet capped at its route count.
    """
    if not fits_pyvrp(problem) or share <= 0:
        return None
    try:
        import pyvrp
        from pyvrp.stop import MaxIterations, MaxRuntime
    except ImportError:
        return None
    t0 = time.perf_counter()

    def stop_for(fraction: float) -> Any:
        if params.time_limit_s is not None:
            return MaxRuntime(max(0.01, params.time_limit_s * share * fraction))
        limit = params.solution_limit or 1
        return MaxIterations(max(1, int(limit * share * fraction * ITERATIONS_PER_SOLUTION)))

    vehicle_cost = params.vehicle_fixed_cost
    if not params.fleet_reduction:
        return run_pyvrp(problem, stop_for(1.0), params.seed, vehicle_cost)
    vehicle_cost = max(vehicle_cost, prohibitive_penalty(problem) // 10)
    model = to_pyvrp(problem, vehicle_cost)
    homogeneous = len(model.vehicles_of_type) == 1
    use_route_min = homogeneous and params.route_min_share > 0 and route_min.fits_route_min(problem)
    first = (ROUTE_MIN_FIRST_SHARE if use_route_min else FIRST_SHARE) if homogeneous else 1.0
    result = pyvrp.solve(model.data, stop=stop_for(first), seed=params.seed, collect_stats=False)
    if not result.is_feasible():
        return None
    best, best_data, left, attempt = result.best, model.data, 1.0 - first, 0
    capacity = max(1, problem.vehicles[0].capacity)
    picked = sum(max(0, n.load) for n in problem.nodes)
    single_visits = all(r.pickup is None for r in problem.requests)
    # Without pairs, a vehicle never unloads on the way: total load / capacity routes at least.
    fewest = max(1, -(-picked // capacity)) if single_visits else 1
    attempt_share = ROUTE_MIN_ATTEMPT_SHARE if use_route_min else ATTEMPT_SHARE
    while homogeneous and left > 0.15 and best.num_routes() > fewest:
        attempt += 1
        fraction = attempt_share * left
        left -= fraction
        (vehicle_type,) = model.data.vehicle_types()
        capped = model.data.replace(
            vehicle_types=[vehicle_type.replace(num_available=best.num_routes() - 1)]
        )
        trial = pyvrp.solve(
            capped, stop=stop_for(fraction), seed=params.seed + attempt, collect_stats=False
        )
        if not trial.is_feasible():
            break
        best, best_data = trial.best, capped
    if use_route_min and best.num_routes() > fewest:
        best, best_data = _route_min(problem, params, model, best_data, best)
        if params.time_limit_s is not None:
            left = max(0.0, 1.0 - (time.perf_counter() - t0) / (params.time_limit_s * share))
        else:
            left = max(0.0, left - params.route_min_share / share)
    if left > 0.01:
        polish = pyvrp.solve(
            best_data,
            stop=stop_for(left),
            seed=params.seed,
            collect_stats=False,
            initial_solution=best,
        )
        if polish.is_feasible() and polish.best.num_routes() <= best.num_routes():
            best = polish.best
    return _decode(problem, model, best)


ROUTE_MIN_FIRST_SHARE = 0.2  # of the warm start budget, before route minimisation
ROUTE_MIN_ATTEMPT_SHARE = 0.2  # of what is left, per capped PyVRP attempt before it
POPS_PER_SOLUTION = 500  # deterministic mode: pool pops per unit of `solution_limit`


def _route_min(
    problem: Problem, params: SolverParams, model: PyvrpModel, data: Any, best: Any
) -> tuple[Any, Any]:
    """Route minimisation from PyVRP's plan `best` (for `data`); the (solution, data) pair
    to polish: the fewer routes reached with the fleet capped at their count, or the pair
    as it was."""
    import pyvrp

    routes = _decode(problem, model, best)
    secs = None if params.time_limit_s is None else params.time_limit_s * params.route_min_share
    pops = (
        None
        if params.time_limit_s is not None
        else max(1, int((params.solution_limit or 1) * params.route_min_share * POPS_PER_SOLUTION))
    )
    reduced = route_min.minimise_routes(problem, params.seed, routes, secs, pops)
    if reduced.removed == 0:
        return best, data
    count = sum(1 for r in reduced.routes if r)
    (vehicle_type,) = model.data.vehicle_types()
    capped = model.data.replace(vehicle_types=[vehicle_type.replace(num_available=count)])
    index = {node: i for i, node in enumerate(model.client_node)}
    solution = pyvrp.Solution(
        capped, [pyvrp.Route(capped, [index[n] for n in r], 0) for r in reduced.routes if r]
    )
    if not solution.is_feasible():  # cannot happen: the kernels check the same constraints
        return best, data
    return solution, capped
