"""Airspace-aware routes: the Chiba delivery route, and properties on random airspaces."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from hypothesis import event, given, settings
from hypothesis import strategies as st
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from geofences.conformance import check_path
from geofences.default import load_default
from geofences.frame import to_local, to_local_arrays
from geofences.routing import RouteError, RouteOptions, Router, plan_route
from geofences.volumes import UNLIMITED_M, Airspace, RuleKind, Volume, circle_footprint

ICHIKAWA = (35.6660, 139.9300)
WAKABA_PORT = (35.6440, 140.0565)
HANAMI_MOUTH = (35.6305, 140.0465)


def test_ichikawa_to_wakaba_goes_over_the_bay_and_up_the_hanami() -> None:
    airspace = load_default()
    route = plan_route(airspace, ICHIKAWA, WAKABA_PORT)
    assert route.legal, route.reason
    assert route.over_water_fraction > 0.8
    assert route.violations == ()
    assert check_path(airspace, route.path()) == []
    assert max(w.alt_agl_m for w in route.waypoints) < 150.0
    # it passes near the river mouth and reaches the port from the river
    xy = np.array([to_local(w.lat_deg, w.lon_deg) for w in route.waypoints])
    mouth = np.array(to_local(*HANAMI_MOUTH))
    assert np.min(np.hypot(*(xy - mouth).T)) < 600.0
    river = airspace.by_id("hanami-river-lower").local
    line = shapely.LineString(xy[1:-1])
    assert line.intersection(river).length > 1000.0
    assert 11_000 < route.horizontal_m < 16_000
    assert 15 * 60 < route.duration_s < 30 * 60


def test_no_route_into_haneda_at_cruise_altitude() -> None:
    route = plan_route(load_default(), ICHIKAWA, (35.5533, 139.7811))
    assert not route.legal
    assert "haneda" in route.reason


def test_bad_coordinates_raise() -> None:
    with pytest.raises(RouteError, match="finite"):
        plan_route(load_default(), (math.nan, 140.0), WAKABA_PORT)
    with pytest.raises(RouteError, match="cruise_alt_m"):
        RouteOptions(cruise_alt_m=-5)


# ---------------------------------------------------------------- random airspaces
LON0, LAT0, LON1, LAT1 = 140.00, 35.60, 140.05, 35.64
OPTIONS = RouteOptions(grid_m=200.0, clearance_m=30.0)


@st.composite
def airspaces(draw: st.DrawFn) -> Airspace:
    """No-fly volumes (some with a floor or ceiling that the cruise altitude clears) and
    obstacles (some lower than the cruise altitude), under a 150 m ceiling."""
    volumes = []
    for i in range(draw(st.integers(1, 7))):
        lat = draw(st.floats(LAT0, LAT1))
        lon = draw(st.floats(LON0, LON1))
        if draw(st.integers(0, 3)) == 0:
            top = draw(st.sampled_from([20.0, 35.0, 90.0, 180.0]))
            footprint = circle_footprint(lat, lon, draw(st.floats(10, 80)))
            volumes.append(
                Volume(f"ob{i}", f"obstacle {i}", RuleKind.OBSTACLE, footprint, ceiling_m=top)
            )
            continue
        if draw(st.booleans()):
            footprint = circle_footprint(lat, lon, draw(st.floats(100, 1500)))
        else:
            w, h = draw(st.floats(0.0005, 0.03)), draw(st.floats(0.0005, 0.03))
            footprint = shapely.box(lon, lat, lon + w, lat + h)
        floor, ceiling = draw(
            st.sampled_from(
                [
                    (0.0, UNLIMITED_M),
                    (0.0, UNLIMITED_M),
                    (45.0, UNLIMITED_M),
                    (100.0, UNLIMITED_M),
                    (0.0, 30.0),
                ]
            )
        )
        volumes.append(
            Volume(
                f"nf{i}",
                f"no fly {i}",
                RuleKind.NO_FLY,
                footprint,
                floor_m=floor,
                ceiling_m=ceiling,
            )
        )
    volumes.append(
        Volume(
            "ceiling", "150 m", RuleKind.NO_FLY, shapely.box(LON0, LAT0, LON1, LAT1), floor_m=150.0
        )
    )
    return Airspace(tuple(volumes), (LON0, LAT0, LON1, LAT1))


points = st.tuples(st.floats(LAT0 + 0.001, LAT1 - 0.001), st.floats(LON0 + 0.001, LON1 - 0.001))


def _blocks_cruise(v: Volume, options: RouteOptions) -> bool:
    """Does this volume reach the cruise altitude (with the vertical clearance)?"""
    alt, margin = options.cruise_alt_m, options.vertical_clearance_m
    if v.kind is RuleKind.OBSTACLE:
        return v.ceiling_amsl_m() + margin >= alt
    return (
        v.kind is RuleKind.NO_FLY
        and v.floor_amsl_m() <= alt + margin <= v.ceiling_amsl_m() + 2 * margin
    )


def _fine_grid_connected(
    router: Router, a: tuple[float, float], b: tuple[float, float], step: float = 40.0
) -> bool:
    """Independent search: is there a path on a fine grid that keeps the clearance?"""
    blocked = shapely.union_all(
        [
            v.local.buffer(router.options.clearance_m)
            for v in router.airspace
            if _blocks_cruise(v, router.options)
        ]
    )
    x0, y0, x1, y1 = router.area.bounds
    gx, gy = np.meshgrid(np.arange(x0, x1, step), np.arange(y0, y1, step), indexing="ij")
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    ends = np.array([to_local(*a), to_local(*b)])
    pts = np.concatenate([ends, pts])
    free = ~shapely.contains_xy(blocked, pts[:, 0], pts[:, 1])
    pairs = cKDTree(pts).query_pairs(step * 1.5, output_type="ndarray")
    pairs = pairs[free[pairs[:, 0]] & free[pairs[:, 1]]]
    lines = shapely.linestrings(np.stack([pts[pairs[:, 0]], pts[pairs[:, 1]]], axis=1))
    pairs = pairs[~shapely.intersects(lines, blocked)]
    n = len(pts)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return bool(free[0] and free[1] and labels[0] == labels[1])


def _cannot_climb_at(airspace: Airspace, point: tuple[float, float], options: RouteOptions) -> bool:
    """Independent check: climbing from the ground to cruise here enters a volume."""
    here = shapely.Point(to_local(*point))
    for v in airspace:
        if v.kind is RuleKind.OBSTACLE and v.local.distance(here) <= options.clearance_m:
            return True
        below_cruise = v.floor_amsl_m() <= options.cruise_alt_m
        if v.kind is RuleKind.NO_FLY and below_cruise and v.local.intersects(here):
            return True
    return False


@settings(max_examples=40, deadline=None)
@given(airspaces(), points, points)
def test_routes_never_enter_no_fly_and_no_path_claims_are_true(
    airspace: Airspace, a: tuple[float, float], b: tuple[float, float]
) -> None:
    router = Router(airspace, OPTIONS)
    route = router.route(a, b)
    event("legal" if route.legal else route.reason.split(":")[1].split(" ")[1])
    if route.legal:
        pts = np.array(route.path())
        assert check_path(airspace, route.path()) == []
        x, y = to_local_arrays(pts[:, 0], pts[:, 1])
        line = (
            shapely.LineString(np.column_stack([x, y])[1:-1])
            if len(pts) > 3
            else shapely.Point(x[0], y[0])
        )
        for v in airspace:
            if v.id != "ceiling" and _blocks_cruise(v, OPTIONS):
                assert line.distance(v.local) >= OPTIONS.clearance_m - 0.5, f"route enters {v.id}"
        assert pts[:, 2].max() < 150.0
    else:
        assert route.reason.startswith("no legal path"), route.reason
        if "cannot climb" in route.reason:
            assert _cannot_climb_at(airspace, a, OPTIONS) or _cannot_climb_at(airspace, b, OPTIONS)
        else:
            assert not _fine_grid_connected(router, a, b), route.reason


def _box_airspace(*boxes: tuple[float, float, float, float]) -> Airspace:
    volumes = [
        Volume(f"b{i}", f"box {i}", RuleKind.NO_FLY, shapely.box(*b)) for i, b in enumerate(boxes)
    ]
    return Airspace(tuple(volumes), (LON0, LAT0, LON1, LAT1))


def test_enclosed_destination_is_certified_unreachable() -> None:
    centre = (35.62, 140.025)
    ring = circle_footprint(*centre, 1200).difference(circle_footprint(*centre, 800))
    airspace = Airspace((Volume("ring", "ring", RuleKind.NO_FLY, ring),), (LON0, LAT0, LON1, LAT1))
    router = Router(airspace, OPTIONS)
    route = router.route((35.605, 140.005), centre)
    assert not route.legal
    assert "separated" in route.reason
    assert not _fine_grid_connected(router, (35.605, 140.005), centre)


@pytest.mark.parametrize("gap_lat", [35.62, 35.63])
def test_narrow_gap_coarser_than_the_lattice_is_still_found(gap_lat: float) -> None:
    # two walls across the area leave a gap ~150 m wide (90 m after the 30 m clearances); at
    # 35.63 the gap is off the straight line, so the straight segment is not legal either
    gap = 150 / 111_000
    airspace = _box_airspace(
        (140.024, LAT0, 140.026, gap_lat - gap / 2), (140.024, gap_lat + gap / 2, 140.026, LAT1)
    )
    router = Router(airspace, RouteOptions(grid_m=400.0, clearance_m=30.0))
    route = router.route((35.62, 140.005), (35.62, 140.045))
    assert route.legal, route.reason
    assert route.violations == ()
    assert check_path(airspace, route.path()) == []
    matrix = router.matrix([(35.62, 140.005), (35.62, 140.045)])
    assert matrix.legal.all()
    assert matrix.distance_m[0, 1] == pytest.approx(route.length_m, rel=0.01)


def test_take_off_beside_a_low_obstacle_is_refused_not_flown() -> None:
    # a 35 m building: the cruise at 60 m clears it, but the climb 20 m from its wall does not
    tower = circle_footprint(35.62, 140.025, 40)
    airspace = Airspace(
        (Volume("tower", "tower", RuleKind.OBSTACLE, tower, ceiling_m=35.0),),
        (LON0, LAT0, LON1, LAT1),
    )
    beside = (35.62 + 60 / 111_000, 140.025)  # 60 m from the centre, 20 m from the wall
    route = Router(airspace, OPTIONS).route(beside, (35.63, 140.04))
    assert not route.legal
    assert route.reason.startswith("no legal path: cannot climb"), route.reason
    assert "tower" in route.reason
    away = (35.62 + 120 / 111_000, 140.025)
    assert Router(airspace, OPTIONS).route(away, (35.63, 140.04)).legal


@settings(max_examples=20, deadline=None)
@given(airspaces(), st.lists(points, min_size=2, max_size=4))
def test_matrix_legality_agrees_with_single_routes(
    airspace: Airspace, sites: list[tuple[float, float]]
) -> None:
    router = Router(airspace, OPTIONS)
    matrix = router.matrix(sites)
    for i, a in enumerate(sites):
        for j, b in enumerate(sites):
            if i == j:
                continue
            route = router.route(a, b)
            assert bool(matrix.legal[i, j]) == route.legal, (i, j, route.reason)
            if route.legal:
                # lattice lengths are never shorter than the shortened route flown (these
                # airspaces have no land polygon: one cost factor, so cost ties are length ties)
                assert matrix.distance_m[i, j] >= route.length_m - 1.0


def test_a_route_asked_again_is_the_one_planned_first() -> None:
    """Routers keep the routes they planned (a fleet flies the same pads all day): asked again,
    the same route; the same as a new router plans; bad coordinates still raise."""
    airspace = load_default()
    options = RouteOptions(cruise_alt_m=115.0)
    first = plan_route(airspace, WAKABA_PORT, ICHIKAWA, options)
    again = plan_route(airspace, WAKABA_PORT, ICHIKAWA, options)
    assert again is first and first.legal
    fresh = Router(airspace, options).route(WAKABA_PORT, ICHIKAWA)
    assert fresh == first and fresh is not first
    assert plan_route(airspace, ICHIKAWA, WAKABA_PORT, options) != first  # the other way
    with pytest.raises(RouteError):
        plan_route(airspace, (math.nan, 140.0), ICHIKAWA, options)
