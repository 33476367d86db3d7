"""The scenario file: the shipped Chiba scenario loads; bad files are refused by key."""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Any

import pytest

from sim.scenario.demand import TripPoint, parcel_orders, trip_orders
from sim.scenario.model import ScenarioError, load_scenario, parse_scenario


def _chiba() -> dict[str, Any]:
    text = resources.files("sim.scenario").joinpath("chiba.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def test_shipped_chiba_scenario_loads() -> None:
    scenario = load_scenario()
    assert {w.id for w in scenario.warehouses} >= {"ichikawa-shiohama", "narashino-akanehama"}
    assert 10.0 <= scenario.drone.cruise_speed_m_s <= 12.0
    assert scenario.drone.reserve_fraction == pytest.approx(0.2)
    assert scenario.faults == ()


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("drone", "cruise_speed_m_s"), "fast", "drone.cruise_speed_m_s: expected a number"),
        (("drone", "cruise_alt_m"), 400.0, "drone.cruise_alt_m: 400.0 is outside"),
        (("seed",), -1, "seed: -1 is outside"),
        (("parcels", "weight_kg"), [3.0, 1.0], "parcels.weight_kg"),
        (("bus", "loop"), ["messe"], "bus.loop"),
    ],
)
def test_bad_values_are_refused_naming_the_key(
    path: tuple[str, ...], value: Any, message: str
) -> None:
    data = _chiba()
    table = data
    for key in path[:-1]:
        table = table[key]
    table[path[-1]] = value
    with pytest.raises(ScenarioError, match=message.replace("[", r"\[").replace(".", r"\.")):
        parse_scenario(data)


def test_missing_key_and_unknown_fault_are_named() -> None:
    data = _chiba()
    del data["wind"]["gust_m_s"]
    with pytest.raises(ScenarioError, match=r"wind\.gust_m_s: missing"):
        parse_scenario(data)
    data = _chiba()
    data["faults"]["meteor"] = []
    with pytest.raises(ScenarioError, match=r"faults\.meteor: unknown fault kind"):
        parse_scenario(data)


def test_demand_is_deterministic_per_seed_and_follows_the_rates() -> None:
    scenario = load_scenario()
    first, second = parcel_orders(scenario), parcel_orders(scenario)
    assert first == second
    expected = sum(scenario.parcels.per_hour.get(8 + h, 0.0) for h in range(3))
    assert 0.6 * expected <= len(first) <= 1.4 * expected
    assert all(o.deadline_s > o.ready_s >= o.at_s for o in first)
    assert len({o.key for o in first}) == len(first)
    points = [
        TripPoint("a", 35.64, 140.04),
        TripPoint("b", 35.65, 140.03),
        TripPoint("c", 35.66, 140.02),
    ]
    trips = trip_orders(scenario, points, stations=["a"])
    assert trips == trip_orders(scenario, points, stations=["a"])
    assert all(t.origin != t.destination for t in trips)
    assert all(t.riders == 1 for t in trips if t.mobility)
