"""The dashboard benchmark's synthetic fleet: the rates it promises, inside its box, repeatable."""

from __future__ import annotations

import math
from itertools import pairwise

import pytest

from fleet.dashboard.bench_fleet import MAKUHARI_BOX, SyntheticFleet


def run(fleet: SyntheticFleet, seconds: float, step_s: float = 0.05) -> dict[str, list[float]]:
    """Times at which each vehicle reported, stepping like the benchmark's publisher."""
    seen: dict[str, list[float]] = {}
    for k in range(round(seconds / step_s) + 1):
        now = k * step_s
        for r in fleet.due(now):
            seen.setdefault(r.message["id"], []).append(now)
            lat0, lon0, lat1, lon1 = MAKUHARI_BOX
            assert lat0 <= r.lat_deg <= lat1 and lon0 <= r.lon_deg <= lon1
            assert r.message["lat_deg"] == round(r.lat_deg, 7) and r.kind == r.message["kind"]
            assert r.message["type"] == "vehicle" and math.isfinite(r.message["heading_deg"])
    return seen


def test_drones_report_at_4_hz_ground_every_one_to_two_seconds_everyone_in_the_box() -> None:
    fleet = SyntheticFleet(200, drone_share=0.25, seed=3)
    seen = run(fleet, 60.0)
    kinds = {m.id: m.kind for m in fleet.movers}
    assert len(seen) == 200 and sum(k == "drone" for k in kinds.values()) == 50
    assert {"bus", "mobility"} <= set(kinds.values())
    for vid, times in seen.items():
        gaps = [b - a for a, b in pairwise(times)]
        mean_gap = sum(gaps) / len(gaps)
        if kinds[vid] == "drone":
            assert mean_gap == pytest.approx(0.25, abs=0.02)
        else:
            assert 0.95 <= mean_gap <= 2.05
    total = sum(len(t) for t in seen.values())
    assert total / 60.0 == pytest.approx(fleet.reports_per_s, rel=0.05)


def test_vehicles_move_and_the_same_seed_gives_the_same_fleet() -> None:
    a, b = SyntheticFleet(50, seed=7), SyntheticFleet(50, seed=7)
    first = {r.message["id"]: (r.lat_deg, r.lon_deg) for r in a.due(2.0)}
    assert first == {r.message["id"]: (r.lat_deg, r.lon_deg) for r in b.due(2.0)}
    later = {r.message["id"]: (r.lat_deg, r.lon_deg) for r in a.due(30.0)}
    assert sum(later[v] != first[v] for v in first) == len(first)  # all moved
    assert SyntheticFleet(50, seed=8).movers[0].lat_deg != a.movers[0].lat_deg
    with pytest.raises(ValueError):
        SyntheticFleet(10, drone_share=0.9, bus_share=0.2)
