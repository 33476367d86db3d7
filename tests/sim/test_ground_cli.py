"""The ground simulator's command line and the trip points it gives the demand generator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sim.ground.__main__ import main
from sim.ground.demand_points import STATIONS, trip_points
from sim.ground.network import load_network


def test_trip_points_weigh_stations_and_skip_depots() -> None:
    points = {p.id: p for p in trip_points(load_network())}
    assert set(STATIONS) <= set(points)
    assert all(points[s].weight == 3.0 for s in STATIONS)
    assert "pm-depot" not in points and "bus-depot" not in points
    assert any(p.startswith("home-") for p in points)


def test_network_command_prints_the_loop(capsys: pytest.CaptureFixture[str]) -> None:
    main(["network"])
    out = capsys.readouterr().out
    assert "APPROXIMATE" in out and "lap:" in out and "kaihin-makuhari -> messe" in out


def test_run_command_serves_trips(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_file = tmp_path / "summary.json"
    main(
        ["run", "--hours", "1", "--buses", "2", "--pms", "4", "--dt", "2", "--json", str(out_file)]
    )
    summary = json.loads(out_file.read_text(encoding="utf-8"))
    events = summary["events"]
    assert summary["pm_trip_orders"] > 0
    assert 0 <= events["arrived"] - events["departed"] <= 6  # at most one dwell each at the end
    assert events.get("boarded", 0) >= events.get("alighted", 0) > 0
    assert summary["bus_km"] > 2 * 10.0  # two buses at 18 km/h for an hour, minus dwells


def test_protocol_mode_gives_the_same_day_as_direct_mode(tmp_path: Path) -> None:
    """Plans and events through the protocol's sessions and server core change nothing."""
    common = ["run", "--hours", "1", "--buses", "1", "--pms", "4", "--dt", "2"]
    main([*common, "--json", str(tmp_path / "direct.json")])
    main([*common, "--protocol", "--telemetry-s", "20", "--json", str(tmp_path / "wire.json")])
    direct = json.loads((tmp_path / "direct.json").read_text(encoding="utf-8"))
    wire = json.loads((tmp_path / "wire.json").read_text(encoding="utf-8"))
    assert wire["mode"].startswith("protocol") and direct["mode"] == "direct"
    for key in ("events", "bus_km", "pm_km", "pm_orders_unassigned"):
        assert wire[key] == direct[key], key
    assert direct["events"]["boarded"] > 0
