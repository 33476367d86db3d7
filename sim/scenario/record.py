"""What a scenario run records, and the KPIs computed from it.

The runner fills a `RunRecord` as the day unfolds (outcomes of orders and trips, vehicle
tracks, landings, link losses); `kpis()` turns it into the `report.json` structure. Every
number in the report is computed here from the record, never typed in, and the output is
deterministic: sorted keys, rounded floats, no wall-clock values except `wall_s`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

OUTCOMES = ("completed", "rejected", "failed", "cancelled", "open")


@dataclass(slots=True)
class Outcome:
    """One delivery order or trip request and what became of it."""

    key: str
    kind: str  # "parcel" or "trip"
    submitted_s: float
    status: str = "open"  # one of OUTCOMES
    reason: str = ""
    order_id: str = ""
    vehicle: str = ""
    promised_by_s: float | None = None  # deadline or latest drop-off promised
    picked_up_s: float | None = None
    completed_s: float | None = None
    earliest_s: float | None = None  # ready time / earliest pickup

    @property
    def on_time(self) -> bool:
        return (
            self.status == "completed"
            and self.completed_s is not None
            and (self.promised_by_s is None or self.completed_s <= self.promised_by_s + 1e-6)
        )


@dataclass(frozen=True, slots=True)
class TrackPoint:
    t_s: float
    lat_deg: float
    lon_deg: float
    alt_m: float = 0.0
    soc: float | None = None
    over_water: bool | None = None


@dataclass(slots=True)
class Track:
    vehicle: str
    kind: str  # "drone", "bus", "mobility"
    points: list[TrackPoint] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Landing:
    vehicle: str
    t_s: float
    soc: float
    site: str


@dataclass(frozen=True, slots=True)
class LinkLoss:
    vehicle: str
    at_s: float
    restored_s: float | None
    action: str  # what the supervisor did


@dataclass(frozen=True, slots=True)
class Violation:
    vehicle: str
    t_s: float
    volume: str
    detail: str


@dataclass(slots=True)
class RunRecord:
    scenario: str
    seed: int
    mode: str  # "wire" or "fast"
    sim_hours: float
    reserve_soc: float
    separation_threshold_m: float
    wall_s: float = 0.0
    outcomes: list[Outcome] = field(default_factory=list)
    tracks: dict[str, Track] = field(default_factory=dict)
    landings: list[Landing] = field(default_factory=list)
    link_losses: list[LinkLoss] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    busy_s: dict[str, float] = field(default_factory=dict)
    energy_wh: dict[str, float] = field(default_factory=dict)
    min_drone_separation_m: float = math.inf
    # where the two closest airborne drones were: (time s, id, id, lat, lon, alt m of the first)
    closest_approach: tuple[float, str, str, float, float, float] | None = None
    supervisor_actions: list[dict[str, Any]] = field(default_factory=list)


def _r(value: float | None, digits: int = 3) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(value, digits)


def _quantiles(values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return {"n": 0, "mean": None, "p50": None, "p90": None, "max": None}
    ordered = sorted(values)

    def q(p: float) -> float:
        return ordered[min(len(ordered) - 1, math.ceil(p * len(ordered)) - 1)]

    return {
        "n": len(ordered),
        "mean": _r(sum(ordered) / len(ordered), 1),
        "p50": _r(q(0.5), 1),
        "p90": _r(q(0.9), 1),
        "max": _r(ordered[-1], 1),
    }


def _outcome_table(outcomes: Iterable[Outcome]) -> dict[str, Any]:
    items = list(outcomes)
    table: dict[str, Any] = {"total": len(items)}
    for status in OUTCOMES:
        table[status] = sum(1 for o in items if o.status == status)
    table["on_time"] = sum(1 for o in items if o.on_time)
    served = table["completed"]
    table["on_time_rate"] = _r(table["on_time"] / served, 4) if served else None
    reasons: dict[str, int] = {}
    for o in items:
        if o.status in ("rejected", "failed", "cancelled"):
            reasons[o.reason or "unspecified"] = reasons.get(o.reason or "unspecified", 0) + 1
    table["reasons"] = dict(sorted(reasons.items()))
    return table


def _haversine_m(a: TrackPoint, b: TrackPoint) -> float:
    r = 6_371_008.8
    p1, p2 = math.radians(a.lat_deg), math.radians(b.lat_deg)
    dp, dl = p2 - p1, math.radians(b.lon_deg - a.lon_deg)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(min(1.0, math.sqrt(h)))


def track_distance_m(track: Track) -> tuple[float, float]:
    """Horizontal distance flown and the part of it over water (where points say so)."""
    total = over_water = 0.0
    for a, b in zip(track.points, track.points[1:], strict=False):
        d = _haversine_m(a, b)
        total += d
        if a.over_water and b.over_water:
            over_water += d
    return total, over_water


def kpis(record: RunRecord) -> dict[str, Any]:
    """The report.json structure."""
    parcels = [o for o in record.outcomes if o.kind == "parcel"]
    trips = [o for o in record.outcomes if o.kind == "trip"]
    delivery_times = [o.completed_s - o.submitted_s for o in parcels if o.completed_s is not None]
    waits = [
        o.picked_up_s - (o.earliest_s if o.earliest_s is not None else o.submitted_s)
        for o in trips
        if o.picked_up_s is not None
    ]
    rides = [
        o.completed_s - o.picked_up_s
        for o in trips
        if o.completed_s is not None and o.picked_up_s is not None
    ]
    drone_m = water_m = 0.0
    by_kind: dict[str, list[str]] = {}
    for name in sorted(record.tracks):
        track = record.tracks[name]
        by_kind.setdefault(track.kind, []).append(name)
        if track.kind == "drone":
            d, w = track_distance_m(track)
            drone_m += d
            water_m += w
    sim_s = record.sim_hours * 3600.0
    utilisation = {
        kind: _r(sum(record.busy_s.get(v, 0.0) for v in names) / (len(names) * sim_s), 4)
        if names and sim_s > 0
        else None
        for kind, names in sorted(by_kind.items())
    }
    min_soc = min((landing.soc for landing in record.landings), default=None)
    orders = _outcome_table(parcels)
    orders["delivery_time_s"] = _quantiles(delivery_times)
    trips_table = _outcome_table(trips)
    trips_table["wait_s"] = _quantiles(waits)
    trips_table["ride_s"] = _quantiles(rides)
    return {
        "scenario": record.scenario,
        "seed": record.seed,
        "mode": record.mode,
        "sim_hours": _r(record.sim_hours, 4),
        "wall_s": _r(record.wall_s, 2),
        "orders": orders,
        "trips": trips_table,
        "drones": {
            "distance_km": _r(drone_m / 1000.0, 2),
            "over_water_fraction": _r(water_m / drone_m, 4) if drone_m > 0 else None,
            "energy_wh": _r(sum(record.energy_wh.values()), 1),
            "landings": len(record.landings),
        },
        "utilisation": utilisation,
        "vehicles": {kind: len(names) for kind, names in sorted(by_kind.items())},
        "link_losses": {
            "count": len(record.link_losses),
            "restored": sum(1 for loss in record.link_losses if loss.restored_s is not None),
            "actions": sorted({loss.action for loss in record.link_losses}),
        },
        "supervisor_actions": len(record.supervisor_actions),
        "supervisor_actions_by_kind": dict(
            sorted(Counter(str(a.get("action")) for a in record.supervisor_actions).items())
        ),
        "safety": {
            "airspace_violations": len(record.violations),
            "min_landing_battery_soc": _r(min_soc, 4),
            "reserve_soc": _r(record.reserve_soc, 4),
            "landing_reserve_held": min_soc is None or min_soc >= record.reserve_soc - 1e-9,
            "min_drone_separation_m": _r(record.min_drone_separation_m, 1),
            "separation_threshold_m": _r(record.separation_threshold_m, 1),
            "closest_approach": None if record.closest_approach is None else {
                "t_s": record.closest_approach[0],
                "drones": list(record.closest_approach[1:3]),
                "lat_deg": record.closest_approach[3],
                "lon_deg": record.closest_approach[4],
                "alt_m": record.closest_approach[5],
            },
        },
    }
