"""The local frame matches independent transverse-Mercator values and round-trips under 1 mm."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geofences.frame import to_local, to_wgs84

# chiba.md §3.6: EPSG:6677 X (northing) and Y (easting), from an independent Krüger series.
REFERENCE = [
    ("Kaihin-Makuhari", 35.648330, 140.041861, -38_996, 18_883),
    ("Makuhari-Toyosuna", 35.657991, 140.027061, -37_927, 17_541),
    ("Ichikawa-Shiohama", 35.666670, 139.923556, -36_977, 8_168),
    ("Chiba City Hall", 35.607280, 140.106360, -43_536, 24_736),
    ("Haneda", 35.553330, 139.781110, -49_554, -4_735),
]


@pytest.mark.parametrize(("name", "lat", "lon", "x_north", "y_east"), REFERENCE)
def test_matches_reference_values(
    name: str, lat: float, lon: float, x_north: int, y_east: int
) -> None:
    east, north = to_local(lat, lon)
    assert east == pytest.approx(y_east, abs=1.0), name
    assert north == pytest.approx(x_north, abs=1.0), name


@given(st.floats(35.3, 35.9), st.floats(139.6, 140.4))
def test_round_trip_under_a_millimetre(lat: float, lon: float) -> None:
    back_lat, back_lon = to_wgs84(*to_local(lat, lon))
    east0, north0 = to_local(lat, lon)
    east1, north1 = to_local(back_lat, back_lon)
    assert abs(east0 - east1) < 1e-3 and abs(north0 - north1) < 1e-3
    assert abs(back_lat - lat) < 1e-8 and abs(back_lon - lon) < 1e-8
