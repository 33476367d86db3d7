"""The drone conformance look-ahead: a drone whose velocity takes it into a no-fly volume within
the look-ahead is caught before it gets there (the supervisor then holds it)."""

from __future__ import annotations

import dataclasses
import math

import pytest

from fleet.drones import no_fly_ahead
from geofences.conformance import ConformanceChecker
from geofences.default import load_airspace
from geofences.frame import to_local, to_wgs84
from geofences.volumes import RuleKind
from vehicles.mavlink.telemetry import DroneState


@pytest.fixture(scope="module")
def checker() -> ConformanceChecker:
    return ConformanceChecker(load_airspace(None), clearance_m=0.0)


def test_flying_towards_a_ground_no_fly_volume_is_caught_ahead(checker: ConformanceChecker) -> None:
    volumes = [v for v in checker.airspace if v.kind is RuleKind.NO_FLY and v.floor_amsl_m() <= 0.0]
    assert volumes, "the shipped airspace has ground-level no-fly volumes (the Ichikawa channel)"
    volume = volumes[0]
    inside = volume.footprint.representative_point()
    x, y = to_local(inside.y, inside.x)
    for distance_m in (600.0, 900.0, 1500.0):  # find a start outside every restricted volume
        lat, lon = to_wgs84(x, y - distance_m)
        still = DroneState(
            sysid=1,
            lat_deg=lat,
            lon_deg=lon,
            alt_amsl_m=60.0,
            vel_north_m_s=0.0,
            vel_east_m_s=0.0,
            vel_down_m_s=0.0,
        )
        if not no_fly_ahead(checker, still, 15.0):
            break
    else:
        pytest.skip("no clear start south of the volume")
    speed = 11.0
    heading = dataclasses.replace(still, vel_north_m_s=speed)
    soon = no_fly_ahead(checker, heading, math.ceil(distance_m / speed) + 30.0)
    assert any(v.volume_id == volume.id for v in soon), [v.volume_id for v in soon]
    assert not no_fly_ahead(checker, heading, 5.0)  # 55 m ahead: still clear
