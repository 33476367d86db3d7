"""The independent checker catches each kind of violation, built deliberately by hand."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.checker import check_plan
from dispatch.instances import Instance, to_problem
from dispatch.params import SolverParams
from dispatch.solver import solve

# Depot 0 at the origin, nodes 1..4 on a line at x = 1..4, end depot 5 back at the origin.
LINE = Instance(
    name="line",
    kind="darp",
    x=(0.0, 1.0, 2.0, 3.0, 4.0, 0.0),
    y=(0.0,) * 6,
    demand=(0, 1, 1, -1, -1, 0),
    ready=(0.0,) * 6,
    due=(100.0,) * 6,
    service=(0.0,) * 6,
    pairs=((1, 3), (2, 4)),
    num_vehicles=2,
    capacity=2,
    start_depot=0,
    end_depot=5,
    max_ride=10.0,
    max_route_duration=20.0,
)
GOOD = [[1, 2, 3, 4]]


def _violations(instance: Instance, routes: list[list[int]], **kw: object) -> str:
    report = check_plan(instance, routes, **kw)  # type: ignore[arg-type]
    assert not report.feasible
    return " | ".join(report.violations)


def test_feasible_plan_passes_with_true_distance() -> None:
    report = check_plan(LINE, GOOD)
    assert report.feasible, report.violations
    assert report.vehicles == 1
    assert report.distance == pytest.approx(8.0)


def test_given_schedule_is_verified() -> None:
    assert check_plan(LINE, GOOD, [[0.0, 1.0, 2.0, 3.0, 4.0, 8.0]]).feasible
    assert "< arrival" in _violations(LINE, GOOD, schedules=[[0.0, 1.0, 1.5, 3.0, 4.0, 8.0]])
    assert "schedule has" in _violations(LINE, GOOD, schedules=[[0.0, 1.0]])


@pytest.mark.parametrize(
    ("routes", "changes", "expected"),
    [
        ([[1, 4, 2, 3]], {}, "delivery before pickup"),
        ([[1, 2, 3], [4]], {}, "different routes"),
        ([[1, 2, 3], [4]], {}, "negative load"),
        (GOOD, {"capacity": 1}, "load 2 > capacity 1"),
        (GOOD, {"due": (100.0, 100.0, 100.0, 100.0, 3.0, 100.0)}, "after due"),
        (GOOD, {"due": (100.0,) * 5 + (7.0,)}, "node 5 at 8.000 after due"),
        (GOOD, {"max_ride": 1.0}, "ride 2.000 > limit 1.0"),
        (GOOD, {"max_route_duration": 5.0}, "duration 8.000 > limit 5.0"),
        ([[1, 3]], {}, "unserved: 2 nodes"),
        ([[1, 2, 3, 4, 1]], {}, "node 1 visited 2 times"),
        ([[1, 2, 0, 3, 4]], {}, "depot node 0 inside a route"),
        ([[1, 3], [2, 4]], {"num_vehicles": 1}, "fleet: 2 routes but 1 vehicles"),
        ([[1, 2, 3, 4, 9]], {}, "unknown node 9"),
        (
            GOOD,
            {"ready": (0.0, 0.0, 0.0, 0.0, 0.0, 0.0), "due": (-1.0,) + (100.0,) * 5},
            "outside the depot window",
        ),
    ],
)
def test_each_violation_is_caught(
    routes: list[list[int]], changes: dict[str, object], expected: str
) -> None:
    instance = dataclasses.replace(LINE, **changes)  # type: ignore[arg-type]
    assert expected in _violations(instance, routes)


def test_waiting_for_a_window_is_allowed_and_delays_later_stops() -> None:
    instance = dataclasses.replace(LINE, ready=(0.0, 50.0, 0.0, 0.0, 0.0, 0.0))
    assert check_plan(instance, GOOD).feasible
    late = dataclasses.replace(instance, due=(100.0, 100.0, 100.0, 51.0, 100.0, 100.0))
    assert "node 3 at 52.000 after due 51.0" in _violations(late, GOOD)


@st.composite
def _instances(draw: st.DrawFn) -> Instance:
    n_pairs = draw(st.integers(1, 4))
    coords = st.floats(-10, 10, allow_nan=False, width=32)
    xs = [0.0] + [draw(coords) for _ in range(2 * n_pairs)] + [0.0]
    ys = [0.0] + [draw(coords) for _ in range(2 * n_pairs)] + [0.0]
    ready = [0.0] + [float(draw(st.integers(0, 60))) for _ in range(2 * n_pairs)] + [0.0]
    due = [500.0] + [r + 200.0 for r in ready[1:-1]] + [500.0]
    return Instance(
        name="random",
        kind="darp",
        x=tuple(xs),
        y=tuple(ys),
        demand=(0, *([1] * n_pairs), *([-1] * n_pairs), 0),
        ready=tuple(ready),
        due=tuple(due),
        service=(0.0, *([1.0] * 2 * n_pairs), 0.0),
        pairs=tuple((i, n_pairs + i) for i in range(1, n_pairs + 1)),
        num_vehicles=2,
        capacity=2,
        start_depot=0,
        end_depot=2 * n_pairs + 1,
        max_ride=60.0,
        max_route_duration=400.0,
    )


@settings(max_examples=15, deadline=None)
@given(_instances())
def test_every_plan_the_solver_returns_passes_the_checker(instance: Instance) -> None:
    solution = solve(to_problem(instance), SolverParams(time_limit_s=None, solution_limit=30))
    served = [r.visits for r in solution.routes]
    schedules = [[t / 1000 for t in r.start_s] for r in solution.routes]
    if solution.unserved:
        return  # a random instance may be unservable; dropped requests are reported
    report = check_plan(instance, served, schedules)
    assert report.feasible, report.violations
