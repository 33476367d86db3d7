"""The conformance check's cheap prefilters (the floor grid, the envelopes) never hide a breach."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from geofences.conformance import ConformanceChecker
from geofences.default import load_default
from geofences.frame import to_local
from geofences.volumes import RuleKind

CHECKER = ConformanceChecker(load_default(), 30.0, kinds=(RuleKind.NO_FLY, RuleKind.OBSTACLE))
EVERYTHING = ConformanceChecker(load_default(), 30.0)
# over the Wakaba towers, the bay and the Haneda approaches (where floors come low)
X0, Y0 = to_local(35.645, 140.03)


def _unfiltered(checker: ConformanceChecker) -> ConformanceChecker:
    plain = ConformanceChecker(load_default(), checker.clearance_m)
    plain._volumes, plain._tree = checker._volumes, checker._tree
    plain._floor, plain._ceiling, plain._bounds = checker._floor, checker._ceiling, checker._bounds
    plain._by_floor, plain._floors = checker._by_floor, checker._floors
    plain._floor_grid.lowest_floor = lambda *bounds: -math.inf  # type: ignore[method-assign]
    return plain


@settings(max_examples=300, deadline=None)
@given(st.floats(-40_000, 30_000), st.floats(-30_000, 15_000), st.floats(0, 3000),
       st.floats(0, 2 * math.pi), st.floats(0, 400), st.floats(-50, 50))
def test_a_segment_is_judged_as_without_the_prefilters(
    dx: float, dy: float, length_m: float, heading: float, alt_m: float, climb_m: float
) -> None:
    x, y = X0 + dx, Y0 + dy
    xs = (x, x + length_m * math.sin(heading))
    ys = (y, y + length_m * math.cos(heading))
    zs = (alt_m, alt_m + climb_m)
    for checker in (CHECKER, EVERYTHING):
        got = checker.check_local(xs, ys, zs)
        want = _unfiltered(checker).check_local(list(xs) * 1 + [xs[1]] * 8, list(ys) + [ys[1]] * 8,
                                                list(zs) + [zs[1]] * 8)
        assert [v.volume_id for v in got[0]] == [v.volume_id for v in want[0]]
        assert got[1] == want[1]
