"""The OR-Tools routing model built from a `Problem`: whole matrices in, no per-arc callbacks.

What carries which constraint:

* arc cost: the vehicle's profile distance matrix (`RegisterTransitMatrix`), plus fixed costs;
* dimension "time": travel time + service time at the origin node; slack is waiting; node time
  windows and vehicle shifts bound the cumul (= start of service); `max_route_s` bounds the span;
* dimension "load": unary node loads against per-vehicle capacities, starting at `initial_load`;
* pickup-and-delivery pairs: same vehicle, pickup first; ride time as a cumul difference;
* extra `Dimension`s (energy, ...): per-profile transit matrices; at reset nodes the slack
  trick (transit - R, slack up to R) brings the cumul back to 0;
* droppable requests and optional visits: disjunctions with the request's penalty (0 for
  optional reload/swap copies);
* locked prefixes (live re-planning): `ApplyLocksToAllVehicles` after closing the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from dispatch.params import SolverParams
from dispatch.problem import Dimension, Problem

HORIZON_CAP_S = 2**31 - 1


@dataclass(slots=True)
class RoutingModel:
    """An OR-Tools model and the handles we need to read solutions from it."""

    manager: Any
    routing: Any
    time_dim: Any
    problem: Problem

    def index(self, node: int) -> int:
        """Routing index of a non-depot node."""
        return int(self.manager.NodeToIndex(node))


def validate_for_solver(problem: Problem) -> None:
    """Reject problems the model cannot represent, with a clear reason."""
    depots = problem.depot_nodes()
    for i, r in enumerate(problem.requests):
        for node in (r.pickup, r.delivery):
            if node is not None and node in depots:
                raise ValueError(f"request {i}: node {node} is a vehicle start/end node")
        if r.vehicles is not None and any(not 0 <= v < len(problem.vehicles) for v in r.vehicles):
            raise ValueError(f"request {i}: unknown vehicle in {r.vehicles}")
    seen: set[int] = set()
    for r in problem.requests:
        for node in (r.pickup, r.delivery):
            if node is None:
                continue
            if node in seen:
                raise ValueError(f"node {node} belongs to more than one request")
            seen.add(node)


def build_model(problem: Problem, params: SolverParams) -> RoutingModel:
    """Build (but do not close) the OR-Tools model for `problem`."""
    from ortools.constraint_solver import pywrapcp

    validate_for_solver(problem)
    n = problem.num_nodes
    vehicles = problem.vehicles
    manager = pywrapcp.RoutingIndexManager(
        n, len(vehicles), [v.start for v in vehicles], [v.end for v in vehicles]
    )
    routing = pywrapcp.RoutingModel(manager)
    service = np.array([node.service_s for node in problem.nodes], dtype=np.int64)

    # Costs and travel times, one registered matrix per profile.
    dist_cb = [routing.RegisterTransitMatrix(p.distance_m.tolist()) for p in problem.profiles]
    time_cb = [
        routing.RegisterTransitMatrix((p.duration_s + service[:, None]).tolist())
        for p in problem.profiles
    ]
    for v, spec in enumerate(vehicles):
        routing.SetArcCostEvaluatorOfVehicle(dist_cb[spec.profile], v)
        routing.SetFixedCostOfVehicle(spec.fixed_cost + params.vehicle_fixed_cost, v)

    horizon = min(
        HORIZON_CAP_S,
        max([v.shift_end_s for v in vehicles] + [nd.tw_late_s for nd in problem.nodes] + [0]),
    )
    routing.AddDimensionWithVehicleTransitAndCapacity(
        [time_cb[v.profile] for v in vehicles], horizon, [horizon] * len(vehicles), False, "time"
    )
    time_dim = routing.GetDimensionOrDie("time")
    depots = problem.depot_nodes()
    windows = tightened_windows(problem)
    for node_id in range(n):
        if node_id in depots:
            continue
        early, late = windows[node_id]
        index = manager.NodeToIndex(node_id)
        if early > min(late, horizon):
            # No start time fits (e.g. a deadline the pickup cannot meet): never performed.
            # Must-serve nodes then leave no plan (strict) or are dropped at their penalty.
            routing.solver().Add(routing.ActiveVar(index) == 0)
            continue
        time_dim.CumulVar(index).SetRange(early, min(late, horizon))
    for v, spec in enumerate(vehicles):
        start_node, end_node = problem.nodes[spec.start], problem.nodes[spec.end]
        time_dim.CumulVar(routing.Start(v)).SetRange(
            max(spec.shift_start_s, start_node.tw_early_s),
            min(spec.shift_end_s, start_node.tw_late_s, horizon),
        )
        time_dim.CumulVar(routing.End(v)).SetRange(
            max(spec.shift_start_s, end_node.tw_early_s),
            min(spec.shift_end_s, end_node.tw_late_s, horizon),
        )
        if spec.max_route_s is not None:
            time_dim.SetSpanUpperBoundForVehicle(spec.max_route_s, v)
        routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(routing.End(v)))
        routing.AddVariableMaximizedByFinalizer(time_dim.CumulVar(routing.Start(v)))

    _add_load(problem, routing)
    for dim in problem.dimensions:
        _add_extra_dimension(problem, manager, routing, dim)
    _add_requests(problem, params, manager, routing, time_dim)
    for node_id in problem.optional_nodes():
        routing.AddDisjunction([manager.NodeToIndex(node_id)], 0)
    return RoutingModel(manager=manager, routing=routing, time_dim=time_dim, problem=problem)


def tightened_windows(problem: Problem) -> list[tuple[int, int]]:
    """Node time windows narrowed by what pairs imply (valid for every feasible plan).

    For a pair p -> d with fastest travel t, service s_p and ride limit L:
    d cannot start before p's opening + s_p + t, p must start by d's closing - s_p - t, and
    with a ride limit p cannot start before d's opening - s_p - L and d must start by p's
    closing + s_p + L. This is the classic DARP window tightening (Cordeau 2006); it lets
    constructive heuristics and propagation see what the ride limit implies. A window may come
    out empty (late < early): then no plan serves that pair in time.
    """
    windows = [(nd.tw_early_s, nd.tw_late_s) for nd in problem.nodes]
    fastest = np.minimum.reduce([p.duration_s for p in problem.profiles])
    for r in problem.requests:
        if r.pickup is None:
            continue
        p, d = r.pickup, r.delivery
        s_p = problem.nodes[p].service_s
        t = int(fastest[p, d])
        (ep, lp), (ed, ld) = windows[p], windows[d]
        ed = max(ed, ep + s_p + t)
        lp = min(lp, ld - s_p - t)
        if r.max_ride_s is not None:
            ep = max(ep, ed - s_p - r.max_ride_s)
            ld = min(ld, lp + s_p + r.max_ride_s)
        # An empty window (late < early) stays empty: the pair cannot be served in time.
        windows[p], windows[d] = (ep, lp), (ed, ld)
    return windows


def _add_load(problem: Problem, routing: Any) -> None:
    loads = [node.load for node in problem.nodes]
    if not any(loads) and not any(v.initial_load for v in problem.vehicles):
        return
    cb = routing.RegisterUnaryTransitVector(loads)
    routing.AddDimensionWithVehicleCapacity(
        cb, 0, [v.capacity for v in problem.vehicles], False, "load"
    )
    load_dim = routing.GetDimensionOrDie("load")
    for v, spec in enumerate(problem.vehicles):
        load_dim.CumulVar(routing.Start(v)).SetValue(spec.initial_load)


def _add_extra_dimension(problem: Problem, manager: Any, routing: Any, dim: Dimension) -> None:
    reset_r = max(dim.capacity, default=0)
    resets = np.zeros(problem.num_nodes, dtype=np.int64)
    resets[list(dim.reset_nodes)] = reset_r
    callbacks = [
        routing.RegisterTransitMatrix((matrix - resets[:, None]).tolist()) for matrix in dim.transit
    ]
    routing.AddDimensionWithVehicleTransitAndCapacity(
        [callbacks[v.profile] for v in problem.vehicles],
        reset_r,
        list(dim.capacity),
        False,
        dim.name,
    )
    rdim = routing.GetDimensionOrDie(dim.name)
    reset_set = set(dim.reset_nodes)
    for index in range(routing.Size()):
        if int(manager.IndexToNode(index)) not in reset_set:
            rdim.SlackVar(index).SetValue(0)
        else:
            # The slack must top the cumul up to exactly R, so that the value leaving the
            # reset node restarts at 0 (plus the next leg's transit). A free slack could
            # restart it below the true value: a plan could then fly more than one battery.
            routing.solver().Add(rdim.CumulVar(index) + rdim.SlackVar(index) == reset_r)
    for v in range(len(problem.vehicles)):
        start_value = dim.start_value[v] if dim.start_value else 0
        rdim.CumulVar(routing.Start(v)).SetValue(start_value)


def prohibitive_penalty(problem: Problem) -> int:
    """A drop penalty larger than any plan's total distance (n+1 times the longest arc, x10)."""
    longest = max((int(p.distance_m.max()) for p in problem.profiles), default=1)
    return max(1, longest) * (problem.num_nodes + 1) * 10


def _constant_limit(limit: int) -> Any:
    def limit_fn(pickup_alternative: int, delivery_alternative: int) -> int:
        del pickup_alternative, delivery_alternative
        return limit

    return limit_fn


def _add_requests(
    problem: Problem, params: SolverParams, manager: Any, routing: Any, time_dim: Any
) -> None:
    solver = routing.solver()
    must_serve_penalty = params.fallback_drop_penalty
    if must_serve_penalty is None and not params.strict_must_serve:
        must_serve_penalty = prohibitive_penalty(problem)
    for pair_index, r in enumerate(r for r in problem.requests if r.pickup is not None):
        if r.max_ride_s is not None and r.pickup is not None:
            limit = r.max_ride_s + problem.nodes[r.pickup].service_s
            # Known to the dimension's path filter, so local search sees it (a plain CP
            # constraint would only reject moves after the fact).
            time_dim.SetPickupToDeliveryLimitFunctionForPair(_constant_limit(limit), pair_index)
    for r in problem.requests:
        penalty = r.penalty if r.penalty is not None else must_serve_penalty
        d_idx = manager.NodeToIndex(r.delivery)
        if r.pickup is None:
            if penalty is not None:
                routing.AddDisjunction([d_idx], penalty)
            if r.vehicles is not None:
                _allow_vehicles(routing, d_idx, r.vehicles, len(problem.vehicles))
            continue
        p_idx = manager.NodeToIndex(r.pickup)
        routing.AddPickupAndDelivery(p_idx, d_idx)
        solver.Add(routing.VehicleVar(p_idx) == routing.VehicleVar(d_idx))
        solver.Add(time_dim.CumulVar(p_idx) <= time_dim.CumulVar(d_idx))
        if r.max_ride_s is not None:
            service_p = problem.nodes[r.pickup].service_s
            solver.Add(
                time_dim.CumulVar(d_idx) - time_dim.CumulVar(p_idx) <= r.max_ride_s + service_p
            )
        if penalty is not None:
            routing.AddDisjunction([p_idx], penalty)
            routing.AddDisjunction([d_idx], 0)
        if r.vehicles is not None:
            _allow_vehicles(routing, p_idx, r.vehicles, len(problem.vehicles))
            _allow_vehicles(routing, d_idx, r.vehicles, len(problem.vehicles))


def _allow_vehicles(routing: Any, index: int, allowed: tuple[int, ...], n_vehicles: int) -> None:
    """Only `allowed` vehicles may visit `index` (it may still be dropped if droppable).

    `SetAllowedVehiclesForIndex` takes an `absl::Span` this OR-Tools build's Python wrapper
    cannot build from a list (TypeError), so the other vehicles are removed from the node's
    vehicle variable instead, which is what that call does.
    """
    others = [v for v in range(n_vehicles) if v not in allowed]
    if others:
        routing.VehicleVar(index).RemoveValues(others)
