"""The fence check remembers a zone's answer only where it cannot have changed."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as hs

from sim.copter.fence import Zone, ZoneMemo

# a concave corridor (an L) and a circle: the shapes a fitted fence is made of
L_SHAPE = Zone(True, polygon=((0.0, 0.0), (0.0, 400.0), (100.0, 400.0), (100.0, 100.0),
                              (500.0, 100.0), (500.0, 0.0)))
CIRCLE = Zone(False, centre_ne_m=(300.0, 300.0), radius_m=80.0)


@settings(max_examples=200, deadline=None)
@given(hs.floats(-100, 600), hs.floats(-100, 500),
       hs.lists(hs.tuples(hs.floats(0, 2 * math.pi), hs.floats(0, 30)), min_size=1, max_size=60))
def test_the_remembered_answer_is_the_answer(
    north_m: float, east_m: float, moves: list[tuple[float, float]]
) -> None:
    memo, zones = ZoneMemo(), (L_SHAPE, CIRCLE)
    for heading, step_m in moves:  # a walk in steps of up to 30 m, across the edges
        north_m += step_m * math.cos(heading)
        east_m += step_m * math.sin(heading)
        outside = not L_SHAPE.contains(north_m, east_m) or CIRCLE.contains(north_m, east_m)
        assert memo.outside(zones, north_m, east_m) == outside


def test_the_edge_distance_of_a_polygon_and_a_circle() -> None:
    # (outside a polygon's envelope: the distance to the envelope)
    assert L_SHAPE.edge_distance_m(50.0, 50.0) == 50.0
    assert L_SHAPE.edge_distance_m(300.0, 50.0) == 50.0
    assert L_SHAPE.edge_distance_m(300.0, 300.0) == 200.0  # outside, beyond the inner corner
    assert L_SHAPE.edge_distance_m(-30.0, 440.0) == 50.0  # beyond a corner of the envelope
    assert CIRCLE.edge_distance_m(300.0, 300.0) == 80.0
    assert CIRCLE.edge_distance_m(300.0, 500.0) == 120.0
