"""One plan per (instance, solver): ours (two recipes), VROOM and PyVRP as peers.

Every runner gets the same scaled integer `Problem` (see `dispatch.instances.convert`) and the
same time budget, and returns visit lists (plus a schedule when the solver gives one); the
checker then judges all of them the same way, from the instance file.

Solvers:
* `ours`: our dispatcher as shipped for these sets. Li & Lim: a PyVRP warm start (50 % of
  the budget: large fixed vehicle cost, route elimination by fleet restriction, polish),
  then ALNS route elimination from its plan for up to 35 % (`alns.eliminate_routes`), then
  OR-Tools with route elimination and guided local search. Solomon: a PyVRP warm start for
  92 % (its first plan, shorter capped-fleet attempts, then ejection-pool route
  minimisation, `route_min`, for up to 20 % of the budget, then PyVRP again with the fleet
  capped at the count reached), then OR-Tools as for Li & Lim.
  DARP (ride times PyVRP cannot hold): our pickup-and-delivery ALNS (`dispatch.solver.alns`,
  exact ride-time scheduling) for 95 % of the budget, then OR-Tools guided local search from
  its plan.
* `ortools`: our OR-Tools model alone (no warm start): route elimination + GLS; on DARP
  local cheapest insertion, guided local search, then OR-Tools ruin-and-recreate rounds for
  half the budget (the previous recipe).

Compilation of the ALNS and route-minimisation kernels (numba, cached on disk after the first
run) happens before the clock starts (`alns.warm_up`, `route_min.warm_up`), like an import.
* `vroom`: pyvroom, exploration level 5, one thread.
* `pyvrp`: PyVRP's hybrid genetic search alone, with a large vehicle fixed cost.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dispatch.params import SolverParams
from dispatch.problem import Problem
from dispatch.solver import alns, route_min, solve

SCALE_TIMES = 1000.0
DARP_ALNS_SHARE = 0.95
PYVRP_SHARE = 0.5  # Li & Lim: PyVRP warm start, then
ALNS_FLEET_SHARE = 0.35  # ALNS route elimination, then OR-Tools
VRPTW_PYVRP_SHARE = 0.92  # Solomon: PyVRP warm start (first plan, route minimisation,
VRPTW_ROUTE_MIN_SHARE = 0.2  # polish with the fleet capped), then OR-Tools


@dataclass(frozen=True, slots=True)
class Plan:
    """What a solver returned, in node indices of the instance."""

    routes: tuple[tuple[int, ...], ...]
    schedules: tuple[tuple[float, ...], ...] | None
    wall_s: float
    note: str = ""


def ours_params(kind: str, time_limit_s: float, seed: int, warm: bool) -> SolverParams:
    """The recipe per benchmark kind (see the module docstring)."""
    hierarchical = kind in ("vrptw", "pdptw")
    if not hierarchical and warm:  # DARP: distance only; ALNS, then OR-Tools
        return SolverParams(
            time_limit_s=time_limit_s,
            first_solution="LOCAL_CHEAPEST_INSERTION",
            metaheuristic="GUIDED_LOCAL_SEARCH",
            seed=seed,
            warm_start="alns",
            warm_start_share=DARP_ALNS_SHARE,
        )
    if not hierarchical:  # DARP, OR-Tools alone
        return SolverParams(
            time_limit_s=time_limit_s,
            first_solution="LOCAL_CHEAPEST_INSERTION",
            metaheuristic="GUIDED_LOCAL_SEARCH",
            seed=seed,
            lns_share=0.5,
        )
    vrptw = kind == "vrptw"
    return SolverParams(
        time_limit_s=time_limit_s,
        first_solution="PARALLEL_CHEAPEST_INSERTION",
        metaheuristic="GUIDED_LOCAL_SEARCH",
        seed=seed,
        fleet_reduction=True,
        warm_start="pyvrp" if warm else "none",
        warm_start_share=VRPTW_PYVRP_SHARE if vrptw else PYVRP_SHARE,
        alns_fleet_share=ALNS_FLEET_SHARE if warm and not vrptw else 0.0,
        route_min_share=VRPTW_ROUTE_MIN_SHARE if warm and vrptw else 0.0,
    )


def _run_ours(problem: Problem, kind: str, time_limit_s: float, seed: int, warm: bool) -> Plan:
    params = ours_params(kind, time_limit_s, seed, warm)
    if params.warm_start == "alns":
        alns.warm_up()
    if params.route_min_share > 0:
        route_min.warm_up()
    t0 = time.perf_counter()
    sol = solve(problem, params)
    wall = time.perf_counter() - t0
    if not sol.routes:
        return Plan((), None, wall, f"no plan ({sol.status})")
    routes = tuple(r.visits for r in sol.routes)
    schedules = tuple(tuple(t / SCALE_TIMES for t in r.start_s) for r in sol.routes)
    note = f"{len(sol.unserved)} unserved" if sol.unserved else ""
    return Plan(routes, schedules, wall, note)


def run_ours(problem: Problem, kind: str, time_limit_s: float, seed: int) -> Plan:
    """Our dispatcher with its benchmark recipe."""
    return _run_ours(problem, kind, time_limit_s, seed, warm=True)


def run_ortools(problem: Problem, kind: str, time_limit_s: float, seed: int) -> Plan:
    """Our OR-Tools model alone."""
    return _run_ours(problem, kind, time_limit_s, seed, warm=False)


def run_pyvrp(problem: Problem, kind: str, time_limit_s: float, seed: int) -> Plan:
    """PyVRP alone (hierarchical objective through a large fixed vehicle cost)."""
    from pyvrp.stop import MaxRuntime

    from dispatch.solver.model import prohibitive_penalty
    from dispatch.solver.warm_start import fits_pyvrp
    from dispatch.solver.warm_start import run_pyvrp as pyvrp_solve

    if not fits_pyvrp(problem):
        return Plan((), None, 0.0, "not applicable (constraints PyVRP cannot hold)")
    cost = prohibitive_penalty(problem) // 10 if kind in ("vrptw", "pdptw") else 0
    t0 = time.perf_counter()
    routes = pyvrp_solve(problem, MaxRuntime(time_limit_s), seed, cost)
    wall = time.perf_counter() - t0
    if routes is None:
        return Plan((), None, wall, "no feasible plan")
    return Plan(tuple(tuple(r) for r in routes), None, wall)


def run_vroom(problem: Problem, kind: str, time_limit_s: float, seed: int) -> Plan:
    """VROOM through pyvroom, on the same integer matrices."""
    import datetime

    import numpy as np
    import vroom

    del seed
    if kind == "darp":
        return Plan((), None, 0.0, "not applicable (VROOM has no ride-time limit)")
    vin: Any = vroom.Input()
    duration = np.asarray(problem.profiles[0].duration_s, dtype=np.uint32)
    vin.set_durations_matrix("car", duration)
    vin.set_costs_matrix("car", np.asarray(problem.profiles[0].distance_m, dtype=np.uint32))
    for v, spec in enumerate(problem.vehicles):
        vin.add_vehicle(
            vroom.Vehicle(
                id=v + 1,
                start=spec.start,
                end=spec.end,
                capacity=[spec.capacity],
                time_window=vroom.TimeWindow(spec.shift_start_s, spec.shift_end_s),
                costs=vroom.VehicleCosts(fixed=prohibitive_fixed_cost(problem)),
            )
        )
    for i, r in enumerate(problem.requests):
        node = problem.nodes[r.delivery]
        tw = [vroom.TimeWindow(node.tw_early_s, node.tw_late_s)]
        if r.pickup is None:
            vin.add_job(
                vroom.Job(
                    id=r.delivery,
                    location=r.delivery,
                    default_service=node.service_s,
                    pickup=[max(0, node.load)],
                    time_windows=tw,
                )
            )
            continue
        pick = problem.nodes[r.pickup]
        vin.add_shipment(
            vroom.ShipmentStep(
                id=r.pickup,
                location=r.pickup,
                default_service=pick.service_s,
                time_windows=[vroom.TimeWindow(pick.tw_early_s, pick.tw_late_s)],
            ),
            vroom.ShipmentStep(
                id=r.delivery, location=r.delivery, default_service=node.service_s, time_windows=tw
            ),
            amount=vroom.Amount([max(0, pick.load)]),
        )
        del i
    t0 = time.perf_counter()
    sol = vin.solve(
        exploration_level=5, nb_threads=1, timeout=datetime.timedelta(seconds=time_limit_s)
    )
    wall = time.perf_counter() - t0
    out: dict[int, list[int]] = {}
    for route in sol.to_dict().get("routes", []):
        steps = [s for s in route["steps"] if s["type"] in ("job", "pickup", "delivery")]
        out[int(route["vehicle"])] = [int(s["id"]) for s in steps]
    unassigned = len(sol.to_dict().get("unassigned", []))
    note = f"{unassigned} unassigned" if unassigned else ""
    return Plan(tuple(tuple(r) for r in out.values()), None, wall, note)


def prohibitive_fixed_cost(problem: Problem) -> int:
    """A per-vehicle fixed cost above any route length, within VROOM's cost range."""
    longest = max(int(p.distance_m.max()) for p in problem.profiles)
    return min(longest * (problem.num_nodes + 1), 2**31 // 4)


RUNNERS: dict[str, Callable[[Problem, str, float, int], Plan]] = {
    "ours": run_ours,
    "ortools": run_ortools,
    "vroom": run_vroom,
    "pyvrp": run_pyvrp,
}
