"""The run report: KPIs are computed from the record, and the page renders them."""

from __future__ import annotations

import json

from sim.scenario.record import (
    Landing,
    LinkLoss,
    Outcome,
    RunRecord,
    Track,
    TrackPoint,
    Violation,
    kpis,
)
from sim.scenario.report_html import MapLayer, render_html


def _record() -> RunRecord:
    record = RunRecord(
        scenario="t",
        seed=3,
        mode="fast",
        sim_hours=1.0,
        reserve_soc=0.2,
        separation_threshold_m=50.0,
    )
    record.outcomes = [
        Outcome("p1", "parcel", 0.0, "completed", promised_by_s=600.0, completed_s=500.0),
        Outcome("p2", "parcel", 0.0, "completed", promised_by_s=600.0, completed_s=700.0),
        Outcome("p3", "parcel", 10.0, "rejected", reason="payload over limit"),
        Outcome(
            "t1",
            "trip",
            0.0,
            "completed",
            earliest_s=60.0,
            picked_up_s=360.0,
            completed_s=960.0,
            promised_by_s=1000.0,
        ),
        Outcome("t2", "trip", 0.0, "failed", reason="vehicle fault"),
    ]
    record.tracks["d1"] = Track(
        "d1",
        "drone",
        [
            TrackPoint(0, 35.60, 140.00, over_water=True),
            TrackPoint(60, 35.61, 140.00, over_water=True),
            TrackPoint(120, 35.62, 140.00, over_water=False),
        ],
    )
    record.busy_s["d1"] = 1800.0
    record.landings = [Landing("d1", 120, 0.41, "port"), Landing("d1", 900, 0.33, "home")]
    record.link_losses = [LinkLoss("d1", 300, 330, "waited: drone continued its mission")]
    record.min_drone_separation_m = 120.0
    return record


def test_kpis_count_every_outcome_and_safety_figure() -> None:
    report = kpis(_record())
    assert report["orders"]["total"] == 3
    assert report["orders"]["completed"] == 2
    assert report["orders"]["on_time"] == 1
    assert report["orders"]["rejected"] == 1
    assert report["orders"]["reasons"] == {"payload over limit": 1}
    assert report["trips"]["failed"] == 1
    assert report["trips"]["wait_s"]["max"] == 300.0
    assert report["trips"]["ride_s"]["p50"] == 600.0
    # two equal legs, the first wholly over water
    assert report["drones"]["over_water_fraction"] == 0.5
    assert report["utilisation"] == {"drone": 0.5}
    assert report["safety"]["min_landing_battery_soc"] == 0.33
    assert report["safety"]["landing_reserve_held"] is True
    assert report["safety"]["airspace_violations"] == 0
    assert report["link_losses"] == {
        "count": 1,
        "restored": 1,
        "actions": ["waited: drone continued its mission"],
    }
    json.dumps(report)  # serialisable


def test_violations_and_low_landings_are_reported_as_not_met() -> None:
    record = _record()
    record.violations.append(Violation("d1", 50.0, "no-fly: channel", "12 m inside"))
    record.landings.append(Landing("d1", 1000, 0.12, "ditch"))
    report = kpis(record)
    assert report["safety"]["airspace_violations"] == 1
    assert report["safety"]["landing_reserve_held"] is False
    page = render_html(record, report, [], (139.9, 35.55, 140.1, 35.7), [("port", 35.62, 140.0)])
    assert page.count("NOT MET") == 2
    assert "<polyline" in page and "d1" in page


def test_page_draws_layers_and_sites() -> None:
    record = _record()
    layer = MapLayer(
        "land", [[(139.95, 35.6), (140.0, 35.6), (140.0, 35.65), (139.95, 35.6)]], "#eee", "#999"
    )
    page = render_html(
        record, kpis(record), [layer], (139.9, 35.55, 140.1, 35.7), [("Port 港", 35.62, 140.0)]
    )
    assert "<polygon" in page and "Port 港" in page and page.count("NOT MET") == 0
