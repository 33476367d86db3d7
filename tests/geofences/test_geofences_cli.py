"""The geofences command line: route as GeoJSON, check with exit codes, clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from geofences.__main__ import main
from geofences.default import load_default
from geofences.fence import fence_shapes


def test_route_json_is_a_geojson_feature(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["route", "--from", "35.666,139.930", "--to", "35.644,140.0565", "--json"]) == 0
    feature = json.loads(capsys.readouterr().out)
    assert feature["type"] == "Feature" and feature["geometry"]["type"] == "LineString"
    assert all(len(c) == 3 for c in feature["geometry"]["coordinates"])
    props = feature["properties"]
    assert props["legal"] is True and props["violations"] == []
    assert (
        props["length_m"] > 10_000
        and props["duration_s"] > 0
        and props["over_water_fraction"] > 0.8
    )


def test_route_not_legal_exits_1_unless_a_lower_cruise_is_allowed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    near_haneda = ["route", "--from", "35.62,139.90", "--to", "35.58,139.81", "--json"]
    assert main(near_haneda) == 1
    refused = json.loads(capsys.readouterr().out)
    assert refused["properties"]["legal"] is False
    assert "haneda-horizontal" in refused["properties"]["reason"]
    assert main([*near_haneda, "--min-cruise-alt", "30"]) == 0
    feature = json.loads(capsys.readouterr().out)
    assert feature["properties"]["legal"] is True
    assert max(c[2] for c in feature["geometry"]["coordinates"]) == 30.0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["route", "--from", "nan,140", "--to", "35.6,140"], "not a valid"),
        (["route", "--from", "35.6", "--to", "35.6,140"], "LAT,LON"),
        (["route", "--from", "10,10", "--to", "35.6,140"], "outside the planning area"),
        (
            ["route", "--from", "35.66,139.93", "--to", "35.64,140.05", "--cruise-alt", "200"],
            "ceiling",
        ),
        (["check", "/nonexistent.geojson"], "cannot read"),
        (
            ["route", "--from", "35.66,139.93", "--to", "35.64,140.05", "--min-cruise-alt", "90"],
            "min_cruise_alt_m",
        ),
    ],
)
def test_bad_input_exits_2_with_a_message(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_check_reports_violations_and_exits_non_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # straight through the Sky Grand Tower at 60 m, then a climb to 200 m over the bay
    bad = {
        "type": "Feature",
        "properties": {},
        "geometry": {
            "type": "LineString",
            "coordinates": [
                [140.0480, 35.6455, 60.0],
                [140.0560, 35.6455, 60.0],
                [140.02, 35.62, 200.0],
            ],
        },
    }
    path = tmp_path / "bad.geojson"
    path.write_text(json.dumps(bad))
    assert main(["check", str(path), "--json"]) == 1
    found = {v["volume"] for v in json.loads(capsys.readouterr().out)["violations"]}
    assert "wakaba-b2-sky-grand-tower" in found and "ceiling-150m-agl" in found
    good = {
        "type": "LineString",
        "coordinates": [[140.02, 35.62, 0.0], [140.02, 35.62, 60.0], [140.03, 35.625, 60.0]],
    }
    path.write_text(json.dumps(good))
    assert main(["check", str(path)]) == 0
    # the same path given above ground, on ground at 100 m AMSL, reaches the 150 m ceiling
    assert main(["check", str(path), "--agl", "--ground-amsl", "100"]) == 1


def test_module_entry_point_runs() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "geofences",
            "route",
            "--from",
            "35.655,140.0",
            "--to",
            "35.6472,140.0486",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "legal route" in out.stdout


def test_fence_excludes_blocked_areas_inside_an_inclusion_circle() -> None:
    fence = fence_shapes(load_default(), (35.645, 140.05), 3000)
    assert [c.inclusion for c in fence.circles] == [True]
    assert fence.polygons and all(not p.inclusion for p in fence.polygons)
    assert all(3 <= len(p.vertices) <= 60 for p in fence.polygons)
    assert fence.max_alt_agl_m == 150.0
