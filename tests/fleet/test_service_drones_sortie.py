"""Telling a delivered parcel from a drone that came down short, from telemetry alone."""

from __future__ import annotations

import dataclasses

import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as hs
from shapely.ops import substring

from fleet.drone_sortie import Legs, Sortie, no_fly_ahead
from geofences.conformance import ConformanceChecker
from geofences.default import load_airspace
from geofences.frame import to_local, to_wgs84
from vehicles.mavlink.telemetry import DroneState

PORT = (35.6472, 140.0486)
HOME = (35.6550, 140.0000)
SITES = {"port-cross-tower": PORT, "narashino-akanehama": HOME}


def at(point: tuple[float, float], north_m: float = 0.0, east_m: float = 0.0
       ) -> tuple[float, float]:
    x, y = to_local(*point)
    return to_wgs84(x + east_m, y + north_m)


def state(where: tuple[float, float], seq: int, armed: bool = True, mode: str = "AUTO",
          landed: str = "IN_AIR") -> DroneState:
    return DroneState(sysid=1, lat_deg=where[0], lon_deg=where[1], armed=armed, mode=mode,
                      mission_seq=seq, landed_state=landed)


def sortie() -> Sortie:
    return Sortie("ord-1", land_seq=8, last_seq=14, path=shapely.LineString([(0, 0), (1, 1)]),
                  port=PORT)


def test_past_the_port_landing_at_the_port_is_a_delivery() -> None:
    s = sortie()
    for st in (state(at(HOME), 1), state(at(PORT, 3000), 5), state(at(PORT, 5), 8),
               state(at(PORT, 3), 9, landed="ON_GROUND")):
        s.follow(st)
    assert s.past_port and s.port_miss_m is not None and s.port_miss_m < 10.0


def test_the_mission_going_on_elsewhere_is_not_a_delivery_at_the_port() -> None:
    s = sortie()
    for st in (state(at(HOME), 1), state(at(PORT, 900), 9, landed="ON_GROUND")):
        s.follow(st)
    assert s.past_port and s.port_miss_m is not None and s.port_miss_m > 800.0


def test_disarmed_before_the_port_says_where_and_how() -> None:
    s = sortie()
    s.follow(state(at(HOME), 1))
    s.follow(state(at(HOME, -1500, 1200), 5, mode="LAND"))
    down = state(at(HOME, -1510, 1200), 1, armed=False, mode="LAND", landed="ON_GROUND")
    s.follow(down)
    assert not s.past_port
    why = s.short_of_port(down, SITES)
    assert why.startswith("landed before the drone port, ")
    assert "m from narashino-akanehama" in why and "armed in LAND at mission item 5" in why
    s.link_losses = 1  # had the link been lost, the service would not claim to know
    assert s.short_of_port(down, SITES).startswith("delivery not confirmed")


def test_a_climb_to_the_return_layer_is_not_a_ceiling_breach_ahead() -> None:
    checker = ConformanceChecker(load_airspace(None), clearance_m=0.0)
    lat, lon = at(PORT, -400, 0)  # over the water south of the port
    climbing = DroneState(sysid=1, lat_deg=lat, lon_deg=lon, alt_amsl_m=110.0,
                          vel_north_m_s=0.0, vel_east_m_s=0.0, vel_down_m_s=-2.5)
    assert not no_fly_ahead(checker, climbing, 15.0)  # 4 s of climb: 120 m, under 150 m
    too_fast = dataclasses.replace(climbing, alt_amsl_m=140.0)
    assert any("ceiling" in v.volume_id for v in no_fly_ahead(checker, too_fast, 15.0))


def test_a_previous_flights_progress_is_not_this_sorties() -> None:
    s = sortie()
    s.stale_reached = 13  # the link's last MISSION_ITEM_REACHED, from the flight before
    left_over = dataclasses.replace(state(at(HOME), 13, armed=False, landed="ON_GROUND"),
                                    mission_reached_seq=13)
    s.follow(left_over)
    s.follow(dataclasses.replace(left_over, armed=True, mission_seq=1))  # armed, not yet off
    assert s.max_seq < s.land_seq and s.port_miss_m is None
    s.follow(dataclasses.replace(left_over, armed=True, mission_seq=2, mission_reached_seq=1))
    s.follow(dataclasses.replace(state(at(PORT, 4), 9, landed="ON_GROUND"),
                                 mission_reached_seq=8))
    assert s.past_port
    assert (s.port_miss_m or 1e9) < 10.0


def test_the_rest_of_a_round_trip_at_its_end_is_nothing_not_all_of_it() -> None:
    # out 2 km east and back: home is both ends of the path
    trip = Sortie("o", 5, 9, shapely.LineString([(0, 0), (2000, 0), (0, 0)]))
    assert trip.rest_m(0.0, 0.0, 0.0, 10.0) == 4000.0  # at take-off: all of it
    for t in range(1, 41):  # out and back at 100 m/s of track per second, seen every second
        x = 100.0 * t if t <= 20 else 4000.0 - 100.0 * t
        rest, true = trip.rest_m(x, 0.0, float(t), 100.0), 4000.0 - 100.0 * t
        # at the turn a point is both 100 m before it and 100 m after it: the estimate may
        # take the earlier (more left to fly), never the later
        assert true - 1.0 < rest < true + 201.0, (t, rest)
    assert trip.rest_m(0.0, 0.0, 41.0, 100.0) < 1.0  # landing home: nothing left


def test_a_sortie_survives_the_journal() -> None:
    first = Sortie("o-1", 7, 12, shapely.LineString([(0, 0), (100.04, 5.0), (300.0, -2.0)]),
                   port=(35.64, 140.05), landings={3: (35.66, 139.93), 7: (35.64, 140.05)})
    again = Sortie.from_json("o-1", first.to_json())
    assert (again.land_seq, again.last_seq, again.port, again.landings) == (
        first.land_seq, first.last_seq, first.port, first.landings)
    assert abs(again.path.length - first.path.length) < 0.5



@settings(max_examples=300, deadline=None)
@given(
    hs.lists(hs.tuples(hs.integers(-3000, 3000), hs.integers(-3000, 3000)), min_size=2,
             max_size=8),
    hs.floats(-3500, 3500), hs.floats(-3500, 3500), hs.floats(0, 1), hs.floats(0, 1),
)
def test_progress_is_the_nearest_point_of_the_window_the_drone_can_have_reached(
    vertices: list[tuple[int, int]], x: float, y: float, a: float, b: float
) -> None:
    path = shapely.LineString(vertices)
    lo, hi = sorted((a * path.length, b * path.length))
    along, off_m = Legs(list(path.coords)).nearest(x, y, lo, hi)
    assert lo - 1e-9 <= along <= hi + 1e-9
    window = substring(path, lo, hi)  # shapely's answer: the distance to the window
    if window.is_empty:  # (a window shapely finds too short to cut: its start)
        window = path.interpolate(lo)
    nearest_m = shapely.Point(x, y).distance(window)
    assert path.interpolate(along).distance(shapely.Point(x, y)) == pytest.approx(
        nearest_m, abs=1e-6)
    assert off_m == pytest.approx(nearest_m, abs=1e-6)
    exact_m, trip = shapely.Point(x, y).distance(path), Sortie("o", 1, 2, path, progress_m=lo)
    assert trip.off_path_m(x, y) == pytest.approx(exact_m, abs=1e-6)
    for limit_m in (10.0, 100.0, 1000.0):  # whether it is more than the limit off: exact
        got_m = trip.off_path_m(x, y, limit_m)
        assert (got_m > limit_m) == (exact_m > limit_m + 1e-9) or abs(exact_m - limit_m) < 1e-6
        assert got_m >= exact_m - 1e-6 and (got_m == pytest.approx(exact_m) or got_m <= limit_m)
