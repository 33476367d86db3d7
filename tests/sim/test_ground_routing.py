"""Shortest and fastest paths on the Makuhari network, snapping, and the dispatch matrices."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.ground.frame import to_local_m
from sim.ground.network import TravelMode, load_network
from sim.ground.routing import Router, shortest_path_m, snap, travel_matrices

LOOP = ["kaihin-makuhari", "messe", "zozo-marine", "aeon-mall", "makuhari-toyosuna", "wakaba"]


def _straight_m(a: str, b: str) -> float:
    net = load_network()
    pa, pb = net.place(a), net.place(b)
    return math.dist(to_local_m(pa.lat_deg, pa.lon_deg), to_local_m(pb.lat_deg, pb.lon_deg))


def test_station_to_messe_is_plausible_against_straight_line() -> None:
    net = load_network()
    straight = _straight_m("kaihin-makuhari", "messe")
    assert 600 < straight < 700  # places.csv: same latitude, 0.007 deg of longitude apart
    road = shortest_path_m(net, "kaihin-makuhari", "messe", TravelMode.ROAD)
    walk = shortest_path_m(net, "kaihin-makuhari", "messe", TravelMode.SIDEWALK)
    assert straight <= walk <= road <= 2.0 * straight
    # The pedestrian deck is a straight line: personal mobility takes it.
    assert walk == pytest.approx(straight, abs=1.0)


def test_stations_spacing_matches_the_official_figure() -> None:
    net = load_network()
    # Official spacing Makuhari-Toyosuna - Kaihin-Makuhari is 1.7 km along the railway.
    road = shortest_path_m(net, "makuhari-toyosuna", "kaihin-makuhari", TravelMode.ROAD)
    assert 1700 <= road <= 1.3 * 1720


def test_matrices_are_symmetric_integer_and_consistent_with_speed() -> None:
    net = load_network()
    dist, dur = travel_matrices(net, LOOP, TravelMode.ROAD, speed_m_s=5.0)
    assert dist.dtype == np.int64 and dur.dtype == np.int64
    assert dist.shape == (6, 6) and not dist.flags.writeable
    assert (np.diag(dist) == 0).all()
    assert (dist == dist.T).all()
    off = ~np.eye(6, dtype=bool)
    assert (dist[off] > 0).all()
    # At 5 m/s, below every road limit except 20 km/h access lanes: time >= distance / 5.
    assert (dur[off] >= np.floor(dist[off] / 5.0)).all()
    assert (dur[off] <= np.ceil(dist[off] / 5.0 * 1.2)).all()
    # Triangle inequality on network distances (within rounding).
    n = len(LOOP)
    for i in range(n):
        for j in range(n):
            for k in range(n):
                assert dist[i, j] <= dist[i, k] + dist[k, j] + 2


def test_sidewalk_matrix_uses_paths_buses_cannot() -> None:
    net = load_network()
    points = ["kaihin-makuhari", "messe", "home-utase-2", "pm-depot"]
    walk, walk_s = travel_matrices(net, points, TravelMode.SIDEWALK, speed_m_s=1.5)
    assert walk[0, 1] < travel_matrices(net, points, TravelMode.ROAD, speed_m_s=5.0)[0][0, 1]
    assert walk_s[0, 2] == pytest.approx(walk[0, 2] / 1.5, abs=2)


def test_lat_lon_points_snap_to_the_nearest_usable_edge() -> None:
    net = load_network()
    station = net.place("kaihin-makuhari")
    s = snap(net, station.lat_deg + 0.0001, station.lon_deg, TravelMode.ROAD)
    assert s.off_network_m < 15.0
    assert net.edges[s.position.edge].allows(TravelMode.ROAD)
    dist, _ = travel_matrices(
        net, [(station.lat_deg, station.lon_deg), "messe"], TravelMode.ROAD, 5.0
    )
    named, _ = travel_matrices(net, ["kaihin-makuhari", "messe"], TravelMode.ROAD, 5.0)
    assert abs(int(dist[0, 1]) - int(named[0, 1])) <= 2


def test_bad_inputs() -> None:
    net = load_network()
    with pytest.raises(ValueError, match="speed_m_s"):
        Router(net, TravelMode.ROAD, speed_m_s=0.0)
    with pytest.raises(ValueError, match="finite"):
        travel_matrices(net, [(math.nan, 140.0), "messe"], TravelMode.ROAD, 5.0)
    with pytest.raises(KeyError, match="unknown place"):
        travel_matrices(net, ["atlantis"], TravelMode.ROAD, 5.0)


def test_route_geometry_matches_its_length_and_ends_at_the_target() -> None:
    net = load_network()
    router = Router(net, TravelMode.ROAD, 5.0)
    src, dst = router.position_of("aeon-mall"), router.position_of("wakaba")
    route = router.route(src, dst)
    poly = sum(math.dist(a, b) for a, b in zip(route.points_xy, route.points_xy[1:], strict=False))
    assert route.length_m == pytest.approx(poly)
    wakaba = net.place("wakaba")
    assert math.dist(route.points_xy[-1], to_local_m(wakaba.lat_deg, wakaba.lon_deg)) < 1.0
    assert route.length_m == pytest.approx(
        shortest_path_m(net, "aeon-mall", "wakaba", TravelMode.ROAD), rel=0.05
    )


_LAT = st.floats(35.636, 35.658)
_LON = st.floats(140.022, 140.060)


@settings(max_examples=40, deadline=None)
@given(_LAT, _LON, _LAT, _LON)
def test_route_between_any_two_points_is_at_least_the_straight_line(
    lat1: float, lon1: float, lat2: float, lon2: float
) -> None:
    net = load_network()
    router = Router(net, TravelMode.SIDEWALK, 1.5)
    a = snap(net, lat1, lon1, TravelMode.SIDEWALK)
    b = snap(net, lat2, lon2, TravelMode.SIDEWALK)
    route = router.route(a.position, b.position)
    assert route.length_m >= math.dist((a.x_m, a.y_m), (b.x_m, b.y_m)) - 1e-6
    assert math.dist(route.points_xy[0], (a.x_m, a.y_m)) < 1e-6
    assert math.dist(route.points_xy[-1], (b.x_m, b.y_m)) < 1e-6
    back = router.route(b.position, a.position)
    assert back.length_m == pytest.approx(route.length_m, abs=1e-6)


def test_dijkstra_agrees_with_floyd_warshall_between_all_places() -> None:
    """An independent all-pairs computation on the raw edges gives the same distances."""
    net = load_network()
    for mode in TravelMode:
        nodes = sorted(net.nodes)
        index = {n: i for i, n in enumerate(nodes)}
        dist = np.full((len(nodes), len(nodes)), np.inf)
        np.fill_diagonal(dist, 0.0)
        for e in net.edges:
            if e.allows(mode):
                a, b = index[e.from_node], index[e.to_node]
                dist[a, b] = dist[b, a] = min(dist[a, b], e.length_m)
        for k in range(len(nodes)):
            dist = np.minimum(dist, dist[:, k : k + 1] + dist[k : k + 1, :])
        places = [p for p in net.places.values() if net.adjacency[mode][p.node]]
        for a_place in places[::3]:
            for b_place in places:
                expected = dist[index[a_place.node], index[b_place.node]]
                got = shortest_path_m(net, a_place.id, b_place.id, mode)
                assert got == pytest.approx(expected, abs=1e-6), (mode, a_place.id, b_place.id)
