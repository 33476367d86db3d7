"""The scenario as validated data: places, fleets, demand rates, wind and faults.

A scenario is one TOML file (`sim/scenario/chiba.toml` is the default). Loading validates every
key and raises `ScenarioError` naming the key and the fault, so an operator editing a scenario
learns at once what is wrong. Everything here is plain immutable data; the demand generator
and the runner read it.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any


class ScenarioError(ValueError):
    """A scenario file is invalid; the message names the key and the fault."""


@dataclass(frozen=True, slots=True)
class Place:
    id: str
    name: str
    name_ja: str
    lat_deg: float
    lon_deg: float
    approximate: bool
    count: int  # drones based at a warehouse, or pads at a drone port


@dataclass(frozen=True, slots=True)
class Wind:
    speed_m_s: float
    from_deg: float
    gust_m_s: float


@dataclass(frozen=True, slots=True)
class DroneFigures:
    cruise_speed_m_s: float
    climb_speed_m_s: float
    descent_speed_m_s: float
    cruise_alt_m: float
    max_payload_kg: float
    battery_wh: float
    hover_power_w: float
    cruise_power_w: float
    power_per_kg_w: float
    reserve_fraction: float
    battery_swap_s: float
    loading_s: float
    landing_service_s: float


@dataclass(frozen=True, slots=True)
class ParcelDemand:
    per_hour: Mapping[int, float]
    medicine_fraction: float
    goods_deadline_s: float
    medicine_deadline_s: float
    weight_kg: tuple[float, float]


@dataclass(frozen=True, slots=True)
class BusFleet:
    count: int
    capacity: int
    speed_m_s: float
    dwell_s: float
    battery_wh: float
    loop: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MobilityFleet:
    count: int
    speed_m_s: float
    depot: str
    range_km: float


@dataclass(frozen=True, slots=True)
class TripDemand:
    per_hour: Mapping[int, float]
    mobility_fraction: float
    max_ride_factor: float
    pickup_window_s: float


@dataclass(frozen=True, slots=True)
class EventDay:
    enabled: bool
    venue: str
    start_hour: float
    end_hour: float
    extra_trips_per_hour: float


@dataclass(frozen=True, slots=True)
class Fault:
    """One switched-on fault: `kind` is link_loss, battery_sag, gust_front, ground_fault or
    backend_restart; `params` holds its own keys (vehicle, at_s, for_s, ...)."""

    kind: str
    at_s: float
    params: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    seed: int
    start_hour: float
    hours: float
    wind: Wind
    warehouses: tuple[Place, ...]
    drone_ports: tuple[Place, ...]
    drone: DroneFigures
    parcels: ParcelDemand
    bus: BusFleet
    mobility: MobilityFleet
    trips: TripDemand
    event: EventDay
    faults: tuple[Fault, ...]


FAULT_KINDS = ("link_loss", "battery_sag", "gust_front", "ground_fault", "backend_restart")


class _Table:
    """A TOML table read with key paths in every error message."""

    def __init__(self, data: Mapping[str, Any], path: str) -> None:
        if not isinstance(data, Mapping):
            raise ScenarioError(f"{path or 'scenario'}: expected a table")
        self.data = data
        self.path = path

    def _key(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def raw(self, key: str) -> Any:
        if key not in self.data:
            raise ScenarioError(f"{self._key(key)}: missing")
        return self.data[key]

    def number(self, key: str, lo: float = -math.inf, hi: float = math.inf) -> float:
        value = self.raw(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ScenarioError(f"{self._key(key)}: expected a number, got {value!r}")
        if not math.isfinite(value) or not lo <= value <= hi:
            raise ScenarioError(f"{self._key(key)}: {value!r} is outside [{lo}, {hi}]")
        return float(value)

    def integer(self, key: str, lo: int = 0, hi: int = 10**9) -> int:
        value = self.raw(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ScenarioError(f"{self._key(key)}: expected an integer, got {value!r}")
        if not lo <= value <= hi:
            raise ScenarioError(f"{self._key(key)}: {value} is outside [{lo}, {hi}]")
        return value

    def text(self, key: str) -> str:
        value = self.raw(key)
        if not isinstance(value, str) or not value:
            raise ScenarioError(f"{self._key(key)}: expected a non-empty string, got {value!r}")
        return value

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise ScenarioError(f"{self._key(key)}: expected true or false, got {value!r}")
        return value

    def table(self, key: str) -> _Table:
        return _Table(self.raw(key), self._key(key))

    def tables(self, key: str) -> list[_Table]:
        value = self.data.get(key, [])
        if not isinstance(value, list):
            raise ScenarioError(f"{self._key(key)}: expected an array of tables")
        return [_Table(item, f"{self._key(key)}[{i}]") for i, item in enumerate(value)]

    def hourly(self, key: str) -> dict[int, float]:
        table = self.table(key)
        rates: dict[int, float] = {}
        for hour in table.data:
            if not hour.isdigit() or not 0 <= int(hour) <= 23:
                raise ScenarioError(f"{table._key(hour)}: hour keys must be 0..23")
            rates[int(hour)] = table.number(hour, 0.0, 10_000.0)
        return dict(sorted(rates.items()))


def _place(t: _Table, count_key: str) -> Place:
    return Place(
        id=t.text("id"),
        name=t.text("name"),
        name_ja=t.text("name_ja"),
        lat_deg=t.number("lat_deg", 20.0, 46.0),
        lon_deg=t.number("lon_deg", 122.0, 154.0),
        approximate=t.flag("approximate"),
        count=t.integer(count_key, 0, 1000),
    )


def _fault(kind: str, t: _Table) -> Fault:
    at_s = t.number("at_s", 0.0, 7 * 86_400.0)
    params = {k: v for k, v in t.data.items() if k != "at_s"}
    if kind in ("link_loss", "battery_sag", "ground_fault"):
        t.text("vehicle")
    return Fault(kind=kind, at_s=at_s, params=params)


def parse_scenario(data: Mapping[str, Any]) -> Scenario:
    """Validate a scenario mapping (as read from TOML)."""
    root = _Table(data, "")
    drone, parcels = root.table("drone"), root.table("parcels")
    bus, mobility, trips = root.table("bus"), root.table("mobility"), root.table("trips")
    weight = parcels.raw("weight_kg")
    if not (isinstance(weight, list) and len(weight) == 2 and 0 < weight[0] <= weight[1]):
        raise ScenarioError(
            f"parcels.weight_kg: expected [min, max] with 0 < min <= max, got {weight!r}"
        )
    faults_table = root.table("faults") if "faults" in root.data else _Table({}, "faults")
    faults = [_fault(kind, t) for kind in FAULT_KINDS for t in faults_table.tables(kind)]
    unknown = sorted(set(faults_table.data) - set(FAULT_KINDS))
    if unknown:
        raise ScenarioError(
            f"faults.{unknown[0]}: unknown fault kind (known: {', '.join(FAULT_KINDS)})"
        )
    event = root.table("event") if "event" in root.data else None
    loop = bus.raw("loop")
    if not (isinstance(loop, list) and len(loop) >= 2 and all(isinstance(s, str) for s in loop)):
        raise ScenarioError("bus.loop: expected a list of at least two stop ids")
    scenario = Scenario(
        name=root.text("name"),
        seed=root.integer("seed", 0, 2**31 - 1),
        start_hour=root.number("start_hour", 0.0, 23.99),
        hours=root.number("hours", 0.01, 24.0),
        wind=Wind(
            speed_m_s=root.table("wind").number("speed_m_s", 0.0, 40.0),
            from_deg=root.table("wind").number("from_deg", 0.0, 360.0),
            gust_m_s=root.table("wind").number("gust_m_s", 0.0, 40.0),
        ),
        warehouses=tuple(_place(t, "drones") for t in root.tables("warehouses")),
        drone_ports=tuple(_place(t, "pads") for t in root.tables("drone_ports")),
        drone=DroneFigures(
            cruise_speed_m_s=drone.number("cruise_speed_m_s", 1.0, 40.0),
            climb_speed_m_s=drone.number("climb_speed_m_s", 0.5, 10.0),
            descent_speed_m_s=drone.number("descent_speed_m_s", 0.5, 10.0),
            cruise_alt_m=drone.number("cruise_alt_m", 10.0, 150.0),
            max_payload_kg=drone.number("max_payload_kg", 0.1, 50.0),
            battery_wh=drone.number("battery_wh", 10.0, 100_000.0),
            hover_power_w=drone.number("hover_power_w", 10.0, 100_000.0),
            cruise_power_w=drone.number("cruise_power_w", 10.0, 100_000.0),
            power_per_kg_w=drone.number("power_per_kg_w", 0.0, 10_000.0),
            reserve_fraction=drone.number("reserve_fraction", 0.05, 0.9),
            battery_swap_s=drone.number("battery_swap_s", 0.0, 7200.0),
            loading_s=drone.number("loading_s", 0.0, 7200.0),
            landing_service_s=drone.number("landing_service_s", 0.0, 7200.0),
        ),
        parcels=ParcelDemand(
            per_hour=parcels.hourly("per_hour"),
            medicine_fraction=parcels.number("medicine_fraction", 0.0, 1.0),
            goods_deadline_s=parcels.number("goods_deadline_s", 60.0, 86_400.0),
            medicine_deadline_s=parcels.number("medicine_deadline_s", 60.0, 86_400.0),
            weight_kg=(float(weight[0]), float(weight[1])),
        ),
        bus=BusFleet(
            count=bus.integer("count", 0, 1000),
            capacity=bus.integer("capacity", 1, 100),
            speed_m_s=bus.number("speed_m_s", 0.5, 30.0),
            dwell_s=bus.number("dwell_s", 0.0, 3600.0),
            battery_wh=bus.number("battery_wh", 100.0, 1e7),
            loop=tuple(loop),
        ),
        mobility=MobilityFleet(
            count=mobility.integer("count", 0, 10_000),
            speed_m_s=mobility.number("speed_m_s", 0.2, 5.0),
            depot=mobility.text("depot"),
            range_km=mobility.number("range_km", 0.5, 500.0),
        ),
        trips=TripDemand(
            per_hour=trips.hourly("per_hour"),
            mobility_fraction=trips.number("mobility_fraction", 0.0, 1.0),
            max_ride_factor=trips.number("max_ride_factor", 1.0, 10.0),
            pickup_window_s=trips.number("pickup_window_s", 0.0, 86_400.0),
        ),
        event=EventDay(
            enabled=event.flag("enabled") if event else False,
            venue=event.text("venue") if event else "messe",
            start_hour=event.number("start_hour", 0.0, 24.0) if event else 0.0,
            end_hour=event.number("end_hour", 0.0, 24.0) if event else 0.0,
            extra_trips_per_hour=event.number("extra_trips_per_hour", 0.0, 10_000.0)
            if event
            else 0.0,
        ),
        faults=tuple(sorted(faults, key=lambda f: (f.at_s, f.kind))),
    )
    if not scenario.warehouses or not scenario.drone_ports:
        raise ScenarioError("warehouses / drone_ports: at least one of each is needed")
    ids = [p.id for p in (*scenario.warehouses, *scenario.drone_ports)]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ScenarioError(f"warehouses/drone_ports: duplicate id {duplicates[0]!r}")
    return scenario


def load_scenario(path: str | Path | None = None) -> Scenario:
    """Load and validate a scenario file; `None` loads the shipped Chiba scenario."""
    if path is None:
        text = resources.files("sim.scenario").joinpath("chiba.toml").read_text(encoding="utf-8")
        where = "chiba.toml"
    else:
        where = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ScenarioError(f"{where}: cannot read ({exc.strerror})") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{where}: not valid TOML ({exc})") from exc
    try:
        return parse_scenario(data)
    except ScenarioError as exc:
        raise ScenarioError(f"{where}: {exc}") from exc
