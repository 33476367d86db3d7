"""The public API other packages use: load, matrix, check, fences."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import geofences
from geofences import Airspace, RouteOptions, check_path, cost_matrix, fence_shapes, plan_route

SITES = [
    (35.6660, 139.9300),  # Ichikawa-Shiohama warehouse
    (35.6860, 139.9790),  # Funabashi port
    (35.6550, 140.0000),  # Akanehama
    (35.6472, 140.0486),  # Bay Park Cross Tower port
    (35.6440, 140.0565),  # Hanami riverside port
]
HANEDA = (35.5533, 139.7811)


def test_load_default_is_the_cached_shipped_airspace() -> None:
    assert Airspace.load_default() is geofences.load_default()
    assert Airspace.load_default().name == "chiba"


def test_cost_matrix_agrees_with_single_routes() -> None:
    airspace = Airspace.load_default()
    options = RouteOptions()
    matrix = cost_matrix(airspace, SITES, options)
    assert matrix.legal.all()
    assert np.allclose(np.diag(matrix.distance_m), 0.0)
    assert np.allclose(matrix.distance_m, matrix.distance_m.T)
    for i in range(len(SITES)):
        for j in range(i + 1, len(SITES)):
            route = plan_route(airspace, SITES[i], SITES[j], options)
            assert route.legal, route.reason
            # lattice paths before shortening: a little longer than what is flown, never much
            assert route.length_m - 50.0 <= matrix.distance_m[i, j] <= 1.25 * route.length_m
            assert matrix.duration_s[i, j] == pytest.approx(
                options.cruise_alt_m / options.climb_speed_m_s
                + (matrix.distance_m[i, j] - 2 * options.cruise_alt_m) / options.cruise_speed_m_s
                + options.cruise_alt_m / options.descent_speed_m_s
            )
            assert 0.0 <= matrix.over_water_fraction[i, j] <= 1.0
    ints = matrix.distance_int_m()
    assert ints.dtype == np.int64 and (ints >= matrix.distance_m - 1e-6).all()


def test_unreachable_site_is_marked_in_the_matrix() -> None:
    matrix = cost_matrix(Airspace.load_default(), [SITES[0], HANEDA, SITES[3]])
    assert matrix.legal.tolist() == [
        [True, False, True],
        [False, False, False],
        [True, False, True],
    ]
    assert math.isinf(matrix.duration_s[0, 1])
    assert matrix.duration_int_s(unreachable=-1)[0, 1] == -1


def test_check_path_takes_agl_and_rejects_bad_points() -> None:
    airspace = Airspace.load_default()
    high = [(35.62, 139.98, 0.0), (35.62, 139.98, 170.0)]
    assert [v.volume_id for v in check_path(airspace, high)] == ["ceiling-150m-agl"]
    assert check_path(airspace, high, alt_ref="AGL", ground_amsl_m=-40.0) == []
    with pytest.raises(ValueError, match="point 1"):
        check_path(airspace, [(35.62, 139.98, 0.0), (math.nan, 139.98, 10.0)])
    with pytest.raises(ValueError, match="point 0"):
        check_path(airspace, [(35.62, 139.98)])  # type: ignore[list-item]


def test_fence_near_haneda_has_a_lower_ceiling_and_exclusions() -> None:
    airspace = Airspace.load_default()
    near = fence_shapes(airspace, around=(35.60, 139.86), radius_m=4000)
    assert near.max_alt_agl_m < 150.0
    assert near.polygons and all(not p.inclusion for p in near.polygons)
    far = fence_shapes(airspace, around=(35.645, 140.05), radius_m=1500)
    assert far.max_alt_agl_m == 150.0
    assert far.circles[0].center == (35.645, 140.05) and far.circles[0].inclusion
    with pytest.raises(geofences.RouteError):
        fence_shapes(airspace, around=(35.645, 140.05), radius_m=-1)


def test_lower_cruise_altitude_passes_under_the_haneda_horizontal_surface() -> None:
    airspace = Airspace.load_default()
    bay, near_haneda = (35.62, 139.90), (35.58, 139.81)  # 3 km from Haneda, off the runways
    assert not plan_route(airspace, bay, near_haneda).legal
    tried = plan_route(airspace, bay, near_haneda, RouteOptions(min_cruise_alt_m=50.0))
    assert not tried.legal and "cruise altitudes tried: 60, 50 m" in tried.reason
    route = plan_route(airspace, bay, near_haneda, RouteOptions(min_cruise_alt_m=30.0))
    assert route.legal, route.reason
    assert route.cruise_alt_m == 30.0
    assert max(w.alt_amsl_m for w in route.waypoints) == 30.0
    assert check_path(airspace, route.path()) == []
    with pytest.raises(geofences.RouteError, match="min_cruise_alt_m"):
        RouteOptions(cruise_alt_m=60.0, min_cruise_alt_m=70.0)


def test_routes_from_worker_threads_match_serial_ones() -> None:
    # fleet plans missions in asyncio.to_thread workers: the shared router must hold up
    airspace = Airspace.load_default()
    pairs = [(a, b) for a in SITES for b in SITES if a != b]
    serial = [plan_route(airspace, a, b).path() for a, b in pairs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(lambda ab: plan_route(airspace, *ab).path(), pairs))
    assert threaded == serial
