"""Airspace volumes: GeoJSON load/save round trips; invalid input names the feature and fault."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geofences.default import load_default
from geofences.volumes import Airspace, AirspaceError, RuleKind

KINDS = [k.value for k in RuleKind]


@st.composite
def features(draw: st.DrawFn) -> list[dict[str, Any]]:
    out = []
    for i in range(draw(st.integers(1, 5))):
        lon = draw(st.floats(139.8, 140.1))
        lat = draw(st.floats(35.55, 35.7))
        size = draw(st.floats(0.001, 0.02))
        floor = draw(st.floats(0, 100).map(lambda v: round(v, 2)))
        props = {
            "id": f"v{i}",
            "name": draw(st.text(min_size=1, max_size=12)),
            "kind": draw(st.sampled_from(KINDS)),
            "floor_m": floor,
            "floor_ref": draw(st.sampled_from(["AGL", "AMSL"])),
            "ceiling_m": draw(
                st.one_of(st.none(), st.floats(floor + 1, 500).map(lambda v: round(v, 2)))
            ),
            "ceiling_ref": "AMSL",
            "approximate": draw(st.booleans()),
        }
        if draw(st.booleans()):
            props["radius_m"] = round(draw(st.floats(10, 3000)), 1)
            props["floor_ref"] = "AMSL"
            geometry = {"type": "Point", "coordinates": [lon, lat]}
        else:
            ring = [
                [lon, lat],
                [lon + size, lat],
                [lon + size, lat + size],
                [lon, lat + size],
                [lon, lat],
            ]
            geometry = {"type": "Polygon", "coordinates": [ring]}
        out.append({"type": "Feature", "geometry": geometry, "properties": props})
    return out


@settings(max_examples=40, deadline=None)
@given(features())
def test_geojson_round_trip(feats: list[dict[str, Any]]) -> None:
    data = {"type": "FeatureCollection", "bbox": [139.7, 35.5, 140.2, 35.8], "features": feats}
    first = Airspace.from_geojson(data)
    again = Airspace.from_geojson(json.loads(json.dumps(first.to_geojson())))
    assert [v.to_feature() for v in again] == [v.to_feature() for v in first]
    for v, f in zip(first, feats, strict=True):
        assert v.kind.value == f["properties"]["kind"]
        assert (v.circle is not None) == ("radius_m" in f["properties"])


def _one(props: dict[str, Any], geometry: Any = None) -> dict[str, Any]:
    geometry = geometry or {
        "type": "Polygon",
        "coordinates": [[[140, 35.6], [140.01, 35.6], [140.01, 35.61], [140, 35.6]]],
    }
    return {
        "type": "FeatureCollection",
        "bbox": [139.9, 35.5, 140.1, 35.7],
        "features": [{"type": "Feature", "geometry": geometry, "properties": props}],
    }


@pytest.mark.parametrize(
    ("props", "geometry", "message"),
    [
        ({"kind": "no_fly"}, None, "feature 0: needs a string 'id'"),
        ({"id": "x", "kind": "forbidden"}, None, r"feature 0 \('x'\): 'kind' must be one of"),
        (
            {"id": "x", "kind": "no_fly", "floor_m": "low"},
            None,
            "'floor_m' must be a finite number",
        ),
        (
            {"id": "x", "kind": "no_fly", "floor_m": 50, "ceiling_m": 10, "ceiling_ref": "AGL"},
            None,
            "altitude band",
        ),
        (
            {"id": "x", "kind": "no_fly", "radius_m": -5},
            {"type": "Point", "coordinates": [140, 35.6]},
            "radius_m",
        ),
        (
            {"id": "x", "kind": "no_fly"},
            {"type": "LineString", "coordinates": [[140, 35.6], [140.1, 35.6]]},
            "footprint must be",
        ),
        (
            {"id": "x", "kind": "no_fly"},
            {
                "type": "Polygon",
                "coordinates": [[[200, 35.6], [140, 35.6], [140, 35.7], [200, 35.6]]],
            },
            "not a valid lon/lat",
        ),
        (
            {"id": "x", "kind": "no_fly"},
            {
                "type": "Polygon",
                "coordinates": [
                    [[140, 35.6], [140.1, 35.7], [140.1, 35.6], [140, 35.7], [140, 35.6]]
                ],
            },
            "invalid polygon",
        ),
        (
            {"id": "x", "kind": "no_fly"},
            {"type": "Polygon", "coordinates": "nonsense"},
            "bad geometry",
        ),
    ],
)
def test_invalid_features_are_named(props: dict[str, Any], geometry: Any, message: str) -> None:
    with pytest.raises(AirspaceError, match=message):
        Airspace.from_geojson(_one(props, geometry))


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.geojson"
    bad.write_text("{not json")
    with pytest.raises(AirspaceError, match=r"bad\.geojson: not valid JSON"):
        Airspace.load(bad)
    with pytest.raises(AirspaceError, match="cannot read"):
        Airspace.load(tmp_path / "missing.geojson")


def test_shipped_chiba_airspace_has_every_rule() -> None:
    airspace = load_default()
    ids = {v.id for v in airspace}
    assert {
        "ceiling-150m-agl",
        "haneda-horizontal",
        "narita-horizontal",
        "hanami-river-lower",
        "ichikawa-channel",
        "bay-water",
        "wakaba-b2-sky-grand-tower",
    } <= ids
    assert airspace.by_id("ceiling-150m-agl").floor_m == 150.0
    assert airspace.by_id("haneda-horizontal").floor_amsl_m() == pytest.approx(51.4)
    assert airspace.by_id("wakaba-b2-sky-grand-tower").ceiling_amsl_m() == pytest.approx(172.4)
    assert len(airspace.of_kind(RuleKind.PERMISSION_REQUIRED)) >= 20  # real DID polygons
    assert airspace.by_id("hanami-river-lower").approximate
    assert any(k.startswith("haneda-approach-") for k in ids)
