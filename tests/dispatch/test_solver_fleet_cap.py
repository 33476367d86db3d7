"""Route elimination from a warm start keeps the warm start's fleet as a cap.

Found on Li & Lim lrc2_2_1: the ALNS reached the BKS fleet of 6, and OR-Tools' first
distance-only search from that plan opened a seventh route to shorten it, which the short
elimination phase then could not take back. On this small instance the elimination phase
recovers either way, so the test pins the invariant rather than reproducing the loss.
"""

from __future__ import annotations

from dispatch.params import SolverParams
from dispatch.problem import Node, Problem, Profile, Request, VehicleSpec, frozen_matrix
from dispatch.solver import solve


def test_route_elimination_never_grows_the_warm_start_fleet() -> None:
    """One route A, B, C (60) is feasible; two routes {A, C}, {B} are shorter (41), which a
    distance-only first search would open. With the hierarchical objective the warm start's
    single route must stay single (the plan may be reordered, not spread)."""
    d = [[0, 10, 10, 10], [10, 0, 20, 1], [10, 20, 0, 20], [10, 1, 20, 0]]
    profile = Profile("m", frozen_matrix(d), frozen_matrix(d))
    nodes = (
        Node("depot"),
        Node("A", tw_late_s=15),
        Node("B", tw_late_s=45),
        Node("C", tw_early_s=60, tw_late_s=70),
    )
    problem = Problem(
        nodes=nodes,
        vehicles=(VehicleSpec("v0", 0, 0, 0, 9), VehicleSpec("v1", 0, 0, 0, 9)),
        requests=(Request(1), Request(2), Request(3)),
        profiles=(profile,),
    )
    params = SolverParams(time_limit_s=None, solution_limit=20, fleet_reduction=True)
    sol = solve(problem, params, initial_routes=[[1, 2, 3], []])
    assert sol.unserved == ()
    assert sol.vehicles_used == 1
    assert not sol.routes[1].used
