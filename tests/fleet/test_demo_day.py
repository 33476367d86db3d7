"""A full simulated day (12 h) of Chiba in fast mode, drones and ground fleet, checked as CI checks.

The real service, the real protocol cores over in-memory pipes (MAVLink bytes to 14 simulated
copters, msgpack frames to the buses and personal-mobility vehicles), the virtual clock. The
ground fleet must last the day (charging when due, never planned past its energy reserve); the
drones must deliver the day's parcels without an airspace violation, a landing under the
reserve or two drones closer than the separation threshold; every order and trip must be
accounted for with a reason, and the rates must hold the thresholds justified in
docs/scenario.md (sections "Ground mobility over a full day" and "Drone deliveries over a full
day").
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from fleet.demo.runner import run
from sim.scenario.model import Fault, load_scenario

HOURS = 12.0
# Thresholds (docs/scenario.md, "Ground mobility over a full day").
MIN_TRIP_ON_TIME_RATE = 0.9  # of completed trips
MIN_TRIP_SERVED_RATE = 0.6  # completed of all trip requests
MAX_TRIP_FAILED_RATE = 0.02  # accepted, then not carried out
# Thresholds (docs/scenario.md, "Drone deliveries over a full day").
MIN_PARCEL_DELIVERED_RATE = 0.9  # delivered of all parcels ordered
MIN_PARCEL_ON_TIME_RATE = 0.85  # of delivered parcels
MAX_PARCEL_FAILED_RATE = 0.02  # accepted, then not delivered


def _check_accounting(table: dict[str, Any]) -> None:
    accounted = table["completed"] + table["rejected"] + table["failed"] + table["cancelled"]
    assert accounted == table["total"] and table["open"] == 0, table
    unexplained = table["rejected"] + table["failed"] - sum(table["reasons"].values())
    assert unexplained == 0 and "unspecified" not in table["reasons"], table["reasons"]


def _check_ground(report: dict[str, Any]) -> None:
    trips = report["trips"]
    _check_accounting(trips)
    total = trips["total"]
    assert total > 250, "a 12 h Chiba day asks for about 330 trips"
    assert trips["on_time"] / trips["completed"] >= MIN_TRIP_ON_TIME_RATE, trips
    assert trips["completed"] / total >= MIN_TRIP_SERVED_RATE, trips
    assert trips["failed"] / total <= MAX_TRIP_FAILED_RATE, trips


def _check_drones(report: dict[str, Any]) -> None:
    orders = report["orders"]
    _check_accounting(orders)
    total = orders["total"]
    assert total > 150, "a 12 h Chiba day asks for about 190 parcels"
    assert orders["completed"] / total >= MIN_PARCEL_DELIVERED_RATE, orders
    assert orders["on_time"] / orders["completed"] >= MIN_PARCEL_ON_TIME_RATE, orders
    assert orders["failed"] / total <= MAX_PARCEL_FAILED_RATE, orders
    safety = report["safety"]
    assert safety["airspace_violations"] == 0, safety
    assert safety["landing_reserve_held"] and safety["min_landing_battery_soc"] >= (
        safety["reserve_soc"]), safety
    assert safety["min_drone_separation_m"] >= safety["separation_threshold_m"], safety


def _journal_rows(report_dir: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(report_dir / "run" / "journal.sqlite") as db:
        return list(db.execute(sql))


# The scenario's ground fault switches, on: a bus stops with a sensor fault for 20 min in the
# morning, a personal-mobility vehicle loses its radio for 2 min, another's battery sags by 60 %.
FAULTS = (
    Fault("ground_fault", 3 * 3600.0, {"vehicle": "bus-2", "for_s": 1200.0}),
    Fault("link_loss", 4 * 3600.0, {"vehicle": "pm-02", "for_s": 120.0}),
    Fault("battery_sag", 5 * 3600.0, {"vehicle": "pm-04", "drop_fraction": 0.6}),
)


@pytest.mark.slow
@pytest.mark.timeout(1200)  # 2-3 min of CPU; more wall time on a loaded 2-core machine
def test_a_full_fast_day_delivers_the_parcels_and_keeps_the_fleet_in_service(
    tmp_path: Path,
) -> None:
    scenario = dataclasses.replace(load_scenario(), faults=FAULTS)
    report = asyncio.run(run(scenario, fast=True, hours=HOURS, speed=1.0, report_dir=tmp_path,
                             drones=True))
    assert report["mode"] == "fast" and report["sim_hours"] >= HOURS
    _check_ground(report)
    _check_drones(report)
    # Never planned past the reserve: no vehicle ran its battery flat over the day (the one
    # whose battery the scenario sagged may; it is then rescued).
    flat = _journal_rows(
        tmp_path,
        "select subject from journal where kind = 'vehicle.event' "
        "and data like '%battery_empty%' and data like '%\"fault\"%'",
    )
    assert {s for (s,) in flat} <= {"pm-04"}
    # The faults happened, were handled and reported, and every vehicle ends the day in service.
    states: dict[str, list[str]] = {}
    for subject, data in _journal_rows(
        tmp_path, "select subject, data from journal where kind = 'vehicle.state' order by seq"
    ):
        states.setdefault(subject, []).append(json.loads(data)["state"])
    assert "fault" in states["bus-2"] and "offline" in states["pm-02"]
    ground = [v for v in states if not v.startswith("drone")]
    assert len(ground) == 13 and all(states[v][-1] not in ("fault", "offline") for v in ground)
    # The fleet charged and came back: every bus went through a charge and back into service.
    actions = _journal_rows(tmp_path, "select subject, data from journal where kind = 'supervisor'")
    back = {s for s, d in actions if json.loads(d)["action"] == "charge: in_service"}
    assert {"bus-1", "bus-2", "bus-3"} <= back
    wall_s = json.loads((tmp_path / "timing.json").read_text())["wall_s"]
    print(f"\nfull day: parcels {report['orders']['completed']}/{report['orders']['total']} "
          f"({report['orders']['on_time']} on time), trips {report['trips']['completed']}/"
          f"{report['trips']['total']}, safety {json.dumps(report['safety'])}, wall {wall_s} s")
