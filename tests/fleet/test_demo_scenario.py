"""The Chiba scenario runner: fast mode is deterministic and accounts for every request; wire
mode runs the real service over sockets. Thresholds are in docs/scenario.md."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from fleet.demo.runner import run
from sim.scenario.model import load_scenario

# Thresholds the CI run holds a scenario to (justified in docs/scenario.md).
MIN_TRIP_ON_TIME_RATE = 0.9  # of completed trips


def _check(report: dict[str, Any], on_time_rate: float = MIN_TRIP_ON_TIME_RATE) -> None:
    for kind in ("orders", "trips"):
        table = report[kind]
        accounted = table["completed"] + table["rejected"] + table["failed"] + table["cancelled"]
        assert accounted + table["open"] == table["total"]
        assert table["open"] == 0, f"{kind} left open: {table}"
        unexplained = table["rejected"] + table["failed"] - sum(table["reasons"].values())
        assert unexplained == 0 and "unspecified" not in table["reasons"]
    assert report["safety"]["airspace_violations"] == 0
    assert report["safety"]["landing_reserve_held"] is True
    trips = report["trips"]
    assert trips["completed"] > 0
    assert trips["on_time"] / trips["completed"] >= on_time_rate


@pytest.mark.slow
def test_fast_mode_day_is_byte_identical_per_seed_and_accounts_for_everything(
    tmp_path: Path,
) -> None:
    scenario = dataclasses.replace(load_scenario(), seed=7)
    first = asyncio.run(run(scenario, fast=True, hours=1.5, speed=1.0, report_dir=tmp_path / "a"))
    asyncio.run(run(scenario, fast=True, hours=1.5, speed=1.0, report_dir=tmp_path / "b"))
    assert (tmp_path / "a" / "report.json").read_bytes() == (
        tmp_path / "b" / "report.json"
    ).read_bytes()
    _check(first)
    html = (tmp_path / "a" / "report.html").read_text(encoding="utf-8")
    assert "<svg" in html and "Safety" in html
    assert json.loads((tmp_path / "a" / "timing.json").read_text())["wall_s"] > 0


@pytest.mark.slow
def test_wire_mode_runs_the_real_service_over_sockets(tmp_path: Path) -> None:
    report = asyncio.run(
        run(load_scenario(), fast=False, hours=0.25, speed=150.0, report_dir=tmp_path)
    )
    assert report["mode"] == "wire" and report["wall_s"] > 0
    # a handful of trips on a wall clock sped up 150x: one late trip (a loaded machine stalls
    # the loop) is 15 %; the on-time rate is held in fast mode, where it is reproducible
    _check(report, on_time_rate=0.5)
    assert report["trips"]["total"] > 0
