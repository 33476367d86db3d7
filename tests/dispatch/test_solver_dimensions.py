"""Extra dimensions (energy) with reset nodes (battery swaps), and locked prefixes."""

from __future__ import annotations

import itertools

import numpy as np

from dispatch.params import SolverParams
from dispatch.problem import Dimension, Node, Problem, Profile, Request, VehicleSpec, frozen_matrix
from dispatch.solver import solve

WORK = SolverParams(time_limit_s=None, solution_limit=200)


def _energy_problem(capacity_wh: int, with_swap: bool) -> Problem:
    """Depot 0, optional swap station 1 100 m north, two far deliveries at +-500 m east/west."""
    xy = np.array([(0, 0), (0, 100), (500, 0), (-500, 0)], dtype=float)
    d = frozen_matrix(np.rint(np.hypot(*(xy[:, None] - xy[None, :]).transpose(2, 0, 1))))
    nodes = (Node("depot"), Node("swap"), Node("east"), Node("west"))
    energy = frozen_matrix(d // 10)  # 1 Wh per 10 m
    resets = (1,) if with_swap else ()
    return Problem(
        nodes=nodes,
        vehicles=(VehicleSpec("drone", 0, 0, 0, capacity=10),),
        requests=(Request(delivery=2), Request(delivery=3)),
        profiles=(Profile("air", d, d),),
        dimensions=(Dimension("energy_wh", (energy,), (capacity_wh,), reset_nodes=resets),),
    )


def _energy_between_resets(problem: Problem, nodes: tuple[int, ...]) -> list[int]:
    energy = problem.dimensions[0].transit[0]
    used, legs = 0, []
    for a, b in itertools.pairwise(nodes):
        if a in problem.dimensions[0].reset_nodes:
            legs.append(used)
            used = 0
        used += int(energy[a, b])
    legs.append(used)
    return legs


def test_battery_limit_forces_a_swap_between_trips() -> None:
    problem = _energy_problem(capacity_wh=120, with_swap=True)  # one round trip is 100 Wh
    sol = solve(problem, WORK)
    assert sol.unserved == ()
    (route,) = sol.routes
    assert 1 in route.nodes
    assert max(_energy_between_resets(problem, route.nodes)) <= 120


def test_without_swap_the_battery_limit_drops_a_delivery_and_says_so() -> None:
    problem = _energy_problem(capacity_wh=120, with_swap=False)
    sol = solve(problem, WORK)
    assert len(sol.unserved) == 1
    assert max(_energy_between_resets(problem, sol.routes[0].nodes)) <= 120


def test_a_large_battery_needs_no_swap() -> None:
    problem = _energy_problem(capacity_wh=500, with_swap=True)
    sol = solve(problem, WORK)
    assert sol.unserved == ()
    assert 1 not in sol.routes[0].nodes
    assert sol.dropped_optional == (1,)


def test_locked_prefix_is_kept_first() -> None:
    base = _energy_problem(capacity_wh=500, with_swap=False)
    locked = Problem(
        base.nodes, base.vehicles, base.requests, base.profiles, locked_prefixes=((3,),)
    )
    for first in (2, 3):
        prefix = ((first,),)
        problem = Problem(locked.nodes, locked.vehicles, locked.requests, locked.profiles, prefix)
        sol = solve(problem, WORK)
        assert sol.routes[0].nodes[1] == first
        assert sol.unserved == ()
