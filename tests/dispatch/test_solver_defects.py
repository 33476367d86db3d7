"""Engine defects found in earlier sessions, each pinned by a test that failed before its fix.

* `Request.vehicles` crashed this OR-Tools build (`SetAllowedVehiclesForIndex` wants a span
  the Python wrapper cannot build);
* after a battery-swap reset the energy cumul could restart below the true value, so a plan
  could fly more than one battery between swaps;
* pair window tightening turned an impossible deadline into a feasible one (late was clamped
  up to early), so a request was served after its deadline.
"""

from __future__ import annotations

import itertools

import numpy as np

from dispatch.params import SolverParams
from dispatch.problem import Dimension, Node, Problem, Profile, Request, VehicleSpec, frozen_matrix
from dispatch.solver import solve
from dispatch.solver.model import tightened_windows

WORK = SolverParams(time_limit_s=None, solution_limit=100)


def _line(xs: list[int]) -> Profile:
    m = frozen_matrix([[abs(a - b) for b in xs] for a in xs])
    return Profile("line", m, m)


def test_requests_restricted_to_vehicles_are_served_only_by_them() -> None:
    nodes = (Node("depot"), Node("p1", 1), Node("d1", -1), Node("p2", 1), Node("d2", -1))
    problem = Problem(
        nodes=nodes,
        vehicles=(VehicleSpec("v0", 0, 0, 0, 2), VehicleSpec("v1", 0, 0, 0, 2)),
        requests=(Request(2, 1, vehicles=(1,)), Request(4, 3, vehicles=(0,))),
        profiles=(_line([0, 10, 20, 30, 40]),),
    )
    sol = solve(problem, WORK)
    assert sol.unserved == ()
    assert set(sol.routes[1].visits) == {1, 2}
    assert set(sol.routes[0].visits) == {3, 4}


def test_energy_restarts_at_the_true_value_after_a_swap() -> None:
    """Depot and swap station at 0, a delivery 60 away: 120 Wh for the round trip.

    With a 100 Wh battery the delivery is impossible (the swap is at the depot, before the
    trip). The defect let the cumul restart 40 Wh low after the swap and served it.
    """
    profile = _line([0, 0, 60])
    energy = profile.distance_m
    problem = Problem(
        nodes=(Node("depot"), Node("swap"), Node("far")),
        vehicles=(VehicleSpec("drone", 0, 0, 0, capacity=10),),
        requests=(Request(delivery=2),),
        profiles=(profile,),
        dimensions=(Dimension("energy_wh", (energy,), (100,), reset_nodes=(1,)),),
    )
    sol = solve(problem, WORK)
    for route in sol.routes:
        used = 0
        for a, b in itertools.pairwise(route.nodes):
            used = 0 if a == 1 else used
            used += int(energy[a, b])
            assert used <= 100, route.nodes
    assert sol.unserved == (0,)


def test_an_impossible_deadline_stays_impossible() -> None:
    """The drop-off is 50 away but due at t = 20: no plan can meet it."""
    nodes = (Node("depot"), Node("p", 1, tw_late_s=10), Node("d", -1, tw_late_s=20))
    problem = Problem(
        nodes=nodes,
        vehicles=(VehicleSpec("v", 0, 0, 0, 1),),
        requests=(Request(2, 1),),
        profiles=(_line([0, 0, 50]),),
    )
    (ep, lp), (ed, ld) = tightened_windows(problem)[1:]
    assert lp < ep or ld < ed
    sol = solve(problem, WORK)
    assert sol.unserved == (0,)
    for route in sol.routes:
        for node, start in zip(route.nodes, route.start_s, strict=True):
            assert start <= problem.nodes[node].tw_late_s
    assert np.all([not r.used for r in sol.routes])
