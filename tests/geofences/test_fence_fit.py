"""Fitting a fence to an autopilot's storage: within the item budget, every volume the drone
could reach while flying its path still excluded, and the path itself never fenced off."""

from __future__ import annotations

import math

import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geofences.fence import FenceFitError, FittedFence, cheapest_cover, fit_fence
from geofences.frame import to_local
from geofences.route import RouteOptions
from geofences.routing import plan_route
from geofences.volumes import Airspace, RuleKind
from vehicles.mavlink import mission_plan as mp

ICHIKAWA = (35.6660, 139.9300)
CROSS_TOWER_PORT = (35.6472, 140.0486)


@pytest.fixture(scope="module")
def airspace() -> Airspace:
    return Airspace.load_default()


def sortie_path(airspace: Airspace, a: tuple[float, float], b: tuple[float, float],
                options: RouteOptions) -> list[tuple[float, float]]:
    out = plan_route(airspace, a, b, options)
    back = plan_route(airspace, b, a, options)
    assert out.legal and back.legal
    return [(w.lat_deg, w.lon_deg) for w in (*out.waypoints, *back.waypoints)]


def local_shapes(fence: FittedFence) -> tuple[shapely.Polygon, list[shapely.Polygon]]:
    """(inclusion zone, exclusions) in local metres; circles drawn circumscribed (a little
    larger than the circle) for the clearance check and inscribed for coverage (see callers)."""
    zone = None
    exclusions = []
    for c in fence.shapes.circles:
        x, y = to_local(*c.center)
        disc = shapely.Point(x, y).buffer(c.radius_m, quad_segs=64)
        if c.inclusion:
            zone = disc
        else:
            exclusions.append(disc)
    for p in fence.shapes.polygons:
        poly = shapely.Polygon([to_local(lat, lon) for lat, lon in p.vertices])
        if p.inclusion:
            zone = poly
        else:
            exclusions.append(poly)
    assert zone is not None
    return zone, exclusions


def check_fence(airspace: Airspace, fence: FittedFence, path: list[tuple[float, float]],
                options: RouteOptions, max_items: int, keep_clear_m: float = 10.0) -> None:
    # the budget, counted the way the autopilot counts (one item per vertex or circle)
    polygons = [mp.FencePolygon(p.vertices, p.inclusion) for p in fence.shapes.polygons]
    circles = [mp.FenceCircle(*c.center, c.radius_m, c.inclusion) for c in fence.shapes.circles]
    assert len(mp.fence_items(polygons, circles)) == fence.items <= max_items
    zone, exclusions = local_shapes(fence)
    line = shapely.LineString([to_local(*p) for p in path])
    assert zone.buffer(1.0).covers(line)
    for shape in exclusions:  # the path keeps its clearance from every exclusion
        assert shape.distance(line) > keep_clear_m - 0.5
    # every volume that blocks the cruise band and reaches into the zone is still excluded
    fenced = shapely.union_all([s.buffer(1.0) for s in exclusions]) if exclusions else None
    band = options.cruise_alt_m + options.vertical_clearance_m
    for v in airspace.of_kind(RuleKind.NO_FLY, RuleKind.OBSTACLE):
        floor = v.floor_amsl_m() - v.ground_amsl_m
        blocks = (floor <= band if v.kind is RuleKind.NO_FLY
                  else v.blocks_altitude(options.cruise_alt_m, options.vertical_clearance_m))
        inside = v.local.intersection(zone)
        if not blocks or inside.area < 1.0:
            continue
        assert v.id in fence.volume_ids
        assert fenced is not None and fenced.covers(inside), v.id


def test_the_demo_sortie_fits_a_small_autopilot(airspace: Airspace) -> None:
    options = RouteOptions()
    path = sortie_path(airspace, ICHIKAWA, CROSS_TOWER_PORT, options)
    fence = fit_fence(airspace, path, options, max_items=20)
    check_fence(airspace, fence, path, options, 20)
    assert "wakaba-b7-cross-tower" in fence.volume_ids  # the towers beside the port
    assert fence.shapes.max_alt_agl_m == 150.0
    # a tighter budget keeps every volume near the path: the zone shrinks, nothing is dropped
    tight = fit_fence(airspace, path, options, max_items=fence.items - 1)
    check_fence(airspace, tight, path, options, fence.items - 1)
    assert tight.reach_m < fence.reach_m


def test_near_haneda_the_approach_surfaces_stay_fenced_or_the_fit_is_refused(
    airspace: Airspace,
) -> None:
    options = RouteOptions(cruise_alt_m=30.0)
    path = sortie_path(airspace, (35.62, 139.90), (35.58, 139.81), options)
    fence = fit_fence(airspace, path, options, max_items=84)
    check_fence(airspace, fence, path, options, 84)
    assert any(i.startswith("haneda-approach") for i in fence.volume_ids)
    assert fence.shapes.max_alt_agl_m < 150.0  # the horizontal surface above: a lower ceiling
    small = max(2, fence.items // 3)
    try:
        smaller = fit_fence(airspace, path, options, max_items=small)
    except FenceFitError as exc:
        assert "no fence fits" in str(exc)
    else:
        check_fence(airspace, smaller, path, options, small)
        assert smaller.reach_m < fence.reach_m
    with pytest.raises(FenceFitError, match="no fence fits 2 items"):
        fit_fence(airspace, path, options, max_items=2)


def test_a_return_leg_flown_higher_keeps_what_blocks_either_altitude(airspace: Airspace) -> None:
    options = RouteOptions()
    path = sortie_path(airspace, ICHIKAWA, CROSS_TOWER_PORT, options)
    both = fit_fence(airspace, path, options, top_cruise_alt_m=110.0)
    check_fence(airspace, both, path, options, 84)  # everything of the 60 m band is there
    high = RouteOptions(cruise_alt_m=110.0)
    check_fence(airspace, both, path, high, 84)  # and of the 110 m band
    assert both.shapes.max_alt_agl_m >= 110.0


def test_bad_input_is_refused(airspace: Airspace) -> None:
    with pytest.raises(ValueError, match="path point 1"):
        fit_fence(airspace, [ICHIKAWA, (math.nan, 140.0)])
    with pytest.raises(ValueError, match="at least one point"):
        fit_fence(airspace, [])
    with pytest.raises(ValueError, match="max_items"):
        fit_fence(airspace, [ICHIKAWA], max_items=1)


points = st.tuples(st.floats(-500, 500), st.floats(-500, 500))


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.lists(points, min_size=3, max_size=12), points, points, st.floats(1.0, 200.0))
def test_a_cover_covers_and_keeps_clear(
    corners: list[tuple[float, float]], a: tuple[float, float], b: tuple[float, float],
    gap_m: float,
) -> None:
    hull = shapely.MultiPoint(corners).convex_hull
    if not isinstance(hull, shapely.Polygon) or hull.area < 1.0:
        return
    volume = hull.buffer(10.0)  # round it: many vertices, like a buffered footprint
    line = shapely.LineString([a, b])
    keep_clear = line.buffer(gap_m)
    shape = cheapest_cover(volume, keep_clear)
    if volume.intersects(keep_clear):
        assert shape is None or not shape.polygon.intersects(keep_clear)
        return
    assert shape is not None  # the outline itself always qualifies
    assert shape.polygon.buffer(0.01).covers(volume)
    assert not shape.polygon.intersects(keep_clear)
    assert shape.items <= len(volume.exterior.coords) - 1
    if shape.radius_m > 0:  # a circle: the exact circle clears the path too
        assert keep_clear.distance(shapely.Point(shape.centre)) > shape.radius_m
