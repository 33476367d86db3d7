"""The shipped Makuhari network loads, is marked approximate, and bad data gets clear errors."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import pytest

from sim.ground.network import DEFAULT_PATH, NetworkError, TravelMode, load_network, parse_network

REQUIRED_PLACES = (
    "kaihin-makuhari",
    "makuhari-toyosuna",
    "messe",
    "aeon-mall",
    "zozo-marine",
    "bay-town",
    "wakaba",
    "yurari",
)


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
    return data


def test_shipped_network_covers_makuhari_and_is_marked_approximate(raw: dict[str, Any]) -> None:
    network = load_network()
    for place_id in REQUIRED_PLACES:
        place = network.place(place_id)
        assert place.name and place.name_ja
    assert len(network.places_of_kind("home")) >= 5
    assert len(network.places_of_kind("bus_stop")) >= 6
    assert 30 <= len(network.edges) <= 150
    assert any(e.bridge and "Hanami" in e.name for e in network.edges)
    assert {e.mode.value for e in network.edges} == {"road", "sidewalk", "both"}
    for feature in raw["features"]:
        props = feature["properties"]
        assert props["approximate"] is True, props["id"]
        assert props["source"], props["id"]


def test_every_place_reachable_by_its_modes() -> None:
    network = load_network()
    for mode in TravelMode:
        assert any(network.adjacency[mode][p.node] for p in network.places.values())
    for stop in network.places_of_kind("bus_stop"):
        assert network.adjacency[TravelMode.ROAD][stop.node], stop.id
    for home in network.places_of_kind("home"):
        assert network.adjacency[TravelMode.SIDEWALK][home.node], home.id


def test_unknown_place_error_lists_known_places() -> None:
    with pytest.raises(KeyError, match=r"known places: .*messe"):
        load_network().place("nowhere")


def _first(data: dict[str, Any], kind: str) -> dict[str, Any]:
    feature: dict[str, Any] = next(f for f in data["features"] if f["properties"]["kind"] == kind)
    return feature


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: _first(d, "edge")["properties"].update(length_m=1.0), "disagrees with"),
        (lambda d: _first(d, "edge")["properties"].update(mode="rail"), "'mode' must be"),
        (lambda d: _first(d, "edge")["properties"].update(to="g999"), "unknown node"),
        (lambda d: _first(d, "edge")["properties"].update(length_m=math.nan), "finite number"),
        (lambda d: _first(d, "node")["properties"].pop("approximate"), "approximate"),
        (lambda d: _first(d, "node")["properties"].update(source=""), "'source'"),
        (lambda d: _first(d, "node")["geometry"].update(coordinates=[0.0, 0.0]), "EPSG:6677"),
        (lambda d: _first(d, "bus_stop")["properties"].update(node="nope"), "unknown node"),
        (lambda d: _first(d, "bus_stop")["properties"].update(name_ja=""), "'name_ja'"),
        (lambda d: _first(d, "home")["properties"].update(kind="castle"), "unknown kind"),
        (lambda d: d["features"].append(copy.deepcopy(_first(d, "node"))), "duplicate id"),
        (lambda d: d.update(type="Feature"), "FeatureCollection"),
    ],
)
def test_bad_data_is_rejected_with_a_clear_message(
    raw: dict[str, Any], mutate: Any, message: str
) -> None:
    data = copy.deepcopy(raw)
    mutate(data)
    with pytest.raises(NetworkError, match=message):
        parse_network(data, source="test")


def test_disconnected_sidewalk_graph_is_rejected(raw: dict[str, Any]) -> None:
    data = copy.deepcopy(raw)
    # Cut the Messe pedestrian deck and every access to the beach promenade: the beach
    # landmark's sidewalk island is then cut off.
    beach = next(f for f in data["features"] if f["properties"]["id"] == "makuhari-beach")
    node = beach["properties"]["node"]
    data["features"] = [
        f
        for f in data["features"]
        if not (
            f["properties"]["kind"] == "edge"
            and node in (f["properties"]["from"], f["properties"]["to"])
        )
    ]
    with pytest.raises(NetworkError, match="nodes without any edge"):
        parse_network(data, source="test")


def test_unreadable_or_invalid_json_file(tmp_path: Path) -> None:
    with pytest.raises(NetworkError, match="cannot read"):
        load_network(tmp_path / "missing.geojson")
    bad = tmp_path / "bad.geojson"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(NetworkError, match="not valid JSON"):
        load_network(bad)


def test_network_cut_by_the_river_is_rejected(raw: dict[str, Any]) -> None:
    data = copy.deepcopy(raw)
    data["features"] = [f for f in data["features"] if not f["properties"].get("bridge")]
    with pytest.raises(NetworkError, match="graph is not connected"):
        parse_network(data, source="test")
