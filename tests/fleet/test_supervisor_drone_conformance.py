"""The drone conformance look-ahead: a drone whose velocity takes it into a no-fly volume within
the look-ahead is caught before it gets there (the supervisor then holds it)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, cast

import pytest

import fleet.drones
from fleet.drones import LOOKAHEAD_S, DroneCrew, DroneOperations, no_fly_ahead
from geofences.conformance import ConformanceChecker, Violation
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


def test_the_supervisor_asks_the_look_ahead_again_only_once_the_drone_moved(
        checker: ConformanceChecker, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fast mode hears a position every 2 s and the supervisor looks every second: the second
    look reuses the answer, exactly, until the position or velocity changes."""
    volume = next(v for v in checker.airspace
                  if v.kind is RuleKind.NO_FLY and v.floor_amsl_m() <= 0.0)
    inside = volume.footprint.representative_point()
    x, y = to_local(inside.y, inside.x)
    lat, lon = to_wgs84(x, y - 3000.0)
    far = DroneState(sysid=1, lat_deg=lat, lon_deg=lon, alt_amsl_m=60.0, vel_north_m_s=0.0,
                     vel_east_m_s=0.0, vel_down_m_s=0.0)
    asked: list[DroneState] = []

    def counted(c: ConformanceChecker, s: DroneState, lookahead_s: float) -> list[Violation]:
        asked.append(s)
        return no_fly_ahead(c, s, lookahead_s)

    monkeypatch.setattr(fleet.drones, "no_fly_ahead", counted)
    ops = object.__new__(DroneOperations)
    ops.checker = checker
    crew = DroneCrew("drone-01", 1, (lat, lon), cast(Any, None))
    assert ops._no_fly_ahead(crew, far) == []
    heard_again = dataclasses.replace(far, mode="AUTO", battery_remaining_pct=80)
    assert ops._no_fly_ahead(crew, heard_again) == [] and len(asked) == 1
    rushing = dataclasses.replace(far, vel_north_m_s=3000.0 / LOOKAHEAD_S * 2.0)
    found = ops._no_fly_ahead(crew, rushing)
    assert len(asked) == 2 and any(v.volume_id == volume.id for v in found)
    assert ops._no_fly_ahead(crew, dataclasses.replace(rushing, mode="BRAKE")) == found
    assert len(asked) == 2
