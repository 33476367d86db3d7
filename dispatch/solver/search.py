"""Turn `SolverParams` into OR-Tools search parameters, and read an assignment back.

Budgets: `time_limit_s` becomes the OR-Tools time limit; `solution_limit` its solution limit.
In deterministic mode (no time limit) the LNS sub-search time cap is raised far above what a
sub-search needs, so no result depends on the wall clock.

In deterministic mode a wall-clock cap of `DETERMINISTIC_SAFETY_CAP_S` still applies: a
search in which no move is ever feasible finds no further solution, so a solution count alone
would never end it. A run that hits the cap is no longer guaranteed to be reproducible.

(OR-Tools 9.15's iterated local search with ruin-and-recreate was tried through
`use_iterated_local_search`; from Python it stopped at the first local optimum on our models,
so it is not offered.)
"""

from __future__ import annotations

from typing import Any

from dispatch.params import SolverParams
from dispatch.problem import Problem
from dispatch.solution import Route, Solution
from dispatch.solver.model import RoutingModel

DETERMINISTIC_SAFETY_CAP_S = 20


def search_parameters(params: SolverParams, time_limit_s: float | None = None) -> Any:
    """OR-Tools `RoutingSearchParameters` for `params` (optionally with another time budget)."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    sp = pywrapcp.DefaultRoutingSearchParameters()
    sp.first_solution_strategy = getattr(
        routing_enums_pb2.FirstSolutionStrategy, params.first_solution
    )
    limit_s = params.time_limit_s if time_limit_s is None else time_limit_s
    if limit_s is not None:
        sp.time_limit.FromMilliseconds(max(1, int(limit_s * 1000)))
    else:
        sp.lns_time_limit.FromSeconds(60)
        # Safety cap only: when no move is ever feasible, OR-Tools never finds another
        # solution and `solution_limit` alone would never stop guided local search.
        sp.time_limit.FromSeconds(DETERMINISTIC_SAFETY_CAP_S)
    if params.solution_limit is not None:
        sp.solution_limit = params.solution_limit
    sp.log_search = params.log_search
    ls = routing_enums_pb2.LocalSearchMetaheuristic
    sp.local_search_metaheuristic = getattr(ls, params.metaheuristic)
    sp.guided_local_search_lambda_coefficient = params.gls_lambda
    return sp


def status_name(model: RoutingModel) -> str:
    """The routing model's status as a word, e.g. "SUCCESS" or "INFEASIBLE"."""
    from ortools.constraint_solver import routing_enums_pb2

    code = int(model.routing.status())
    name = routing_enums_pb2.RoutingSearchStatus.Value.Name(code)
    return str(name).removeprefix("ROUTING_")


def read_solution(model: RoutingModel, assignment: Any, status: str) -> Solution:
    """Turn an OR-Tools assignment into a `Solution` (times from the time cumuls)."""
    problem = model.problem
    routing, manager, time_dim = model.routing, model.manager, model.time_dim
    routes: list[Route] = []
    visited: set[int] = set()
    for v, spec in enumerate(problem.vehicles):
        matrix_d = problem.profiles[spec.profile].distance_m
        matrix_t = problem.profiles[spec.profile].duration_s
        nodes: list[int] = []
        starts: list[int] = []
        index = routing.Start(v)
        while True:
            node = int(manager.IndexToNode(index))
            nodes.append(node)
            starts.append(int(assignment.Min(time_dim.CumulVar(index))))
            if routing.IsEnd(index):
                break
            index = assignment.Value(routing.NextVar(index))
        visited.update(nodes[1:-1])
        routes.append(route_from_schedule(problem, v, nodes, starts, matrix_d, matrix_t))
    return Solution(
        routes=tuple(routes),
        unserved=unserved_requests(problem, visited),
        objective=int(assignment.ObjectiveValue()),
        status=status,
        dropped_optional=tuple(n for n in problem.optional_nodes() if n not in visited),
    )


def route_from_schedule(
    problem: Problem, v: int, nodes: list[int], starts: list[int], matrix_d: Any, matrix_t: Any
) -> Route:
    """A `Route` for vehicle v from its nodes and start-of-service times."""
    arrivals = [starts[0]]
    distance = 0
    for a, b, start_a in zip(nodes, nodes[1:], starts, strict=False):
        arrivals.append(start_a + problem.nodes[a].service_s + int(matrix_t[a, b]))
        distance += int(matrix_d[a, b])
    return Route(
        vehicle=v,
        nodes=tuple(nodes),
        arrival_s=tuple(arrivals),
        start_s=tuple(starts),
        distance_m=distance,
    )


def unserved_requests(problem: Problem, visited: set[int]) -> tuple[int, ...]:
    """Indices of requests whose delivery node is not visited."""
    return tuple(i for i, r in enumerate(problem.requests) if r.delivery not in visited)


def empty_solution(problem: Problem, status: str) -> Solution:
    """No plan: every vehicle idle, every request unserved."""
    return Solution(
        routes=(), unserved=tuple(range(len(problem.requests))), objective=0, status=status
    )
