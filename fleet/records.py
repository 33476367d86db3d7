"""The service's records of orders, trips and vehicles, rebuilt by folding the journal.

Every change to a record is a journal entry first; `Records.apply(entry)` is the only code that
changes them, both live and on replay after a restart, so the two can never disagree.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from fleet.journal import Entry
from fleet.lifecycle import ORDER, TRIP, VEHICLE


@dataclass
class OrderRecord:
    id: str
    key: str
    warehouse: str
    drone_port: str
    weight_kg: float
    ready_s: float
    deadline_s: float
    medicine: bool
    submitted_s: float
    submitted_by: str
    state: str = "received"
    vehicle_id: str = ""
    promised_window: tuple[float, float] | None = None
    reason: str = ""
    updated_s: float = 0.0
    delivered_s: float | None = None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["promised_window"] = list(self.promised_window) if self.promised_window else None
        out["late"] = self.delivered_s is not None and self.delivered_s > self.deadline_s
        return out


@dataclass
class TripRecord:
    id: str
    key: str
    origin: str
    destination: str
    riders: int
    mode: str
    earliest_pickup_s: float
    latest_dropoff_s: float
    submitted_s: float
    submitted_by: str
    state: str = "received"
    vehicle_id: str = ""
    promised_window: tuple[float, float] | None = None
    walk_m: float = 0.0
    reason: str = ""
    updated_s: float = 0.0
    picked_up_s: float | None = None
    dropped_off_s: float | None = None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["promised_window"] = list(self.promised_window) if self.promised_window else None
        return out


@dataclass
class VehicleRecord:
    id: str
    kind: str
    home: str
    state: str = "offline"
    link: str = "lost"  # connecting | up | degraded | lost
    last_seen_s: float | None = None
    telemetry: dict[str, Any] = field(default_factory=dict)
    plan: list[dict[str, Any]] = field(default_factory=list)
    held: bool = False
    last_event: tuple[str, int] = ("", 0)  # ground vehicles: (boot_id, seq) of the last event taken

    def position(self) -> tuple[float, float] | None:
        t = self.telemetry
        if "lat_deg" in t and "lon_deg" in t:
            return float(t["lat_deg"]), float(t["lon_deg"])
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "home": self.home,
            "state": self.state,
            "link": {"state": self.link, "last_seen_s": self.last_seen_s},
            "telemetry": self.telemetry,
            "plan": {"stops": self.plan},
        }


ACTIVE_ORDER_STATES = frozenset({"assigned", "loaded", "in_flight"})


class Records:
    """Orders, trips and vehicles, as folded from the journal."""

    def __init__(self) -> None:
        self.orders: dict[str, OrderRecord] = {}
        self.trips: dict[str, TripRecord] = {}
        self.vehicles: dict[str, VehicleRecord] = {}
        # orders and trips a vehicle holds now (what the supervisor watches for lateness)
        self.active_orders: dict[str, OrderRecord] = {}
        self.active_trips: dict[str, TripRecord] = {}
        self.last_seq = 0

    def validate(self, kind: str, subject: str, data: Any) -> None:
        """Raise `IllegalTransitionError` for a transition `apply` would refuse, before it is
        journaled (a refused entry in the journal would stop every later replay)."""
        if kind == "order.state":
            ORDER.check(self.orders[subject].state, data["state"])
        elif kind == "trip.state":
            TRIP.check(self.trips[subject].state, data["state"])
        elif kind == "vehicle.state":
            current = self.vehicles[subject].state
            if current != data["state"]:
                VEHICLE.check(current, data["state"])

    def apply(self, entry: Entry) -> None:
        d = entry.data
        if entry.kind == "order.submitted":
            self.orders[entry.subject] = OrderRecord(
                id=entry.subject,
                key=d["key"],
                warehouse=d["warehouse"],
                drone_port=d["drone_port"],
                weight_kg=d["weight_kg"],
                ready_s=d["ready_s"],
                deadline_s=d["deadline_s"],
                medicine=d.get("medicine", False),
                submitted_s=entry.t_s,
                submitted_by=entry.actor,
                updated_s=entry.t_s,
            )
        elif entry.kind == "trip.submitted":
            self.trips[entry.subject] = TripRecord(
                id=entry.subject,
                key=d["key"],
                origin=d["origin"],
                destination=d["destination"],
                riders=d["riders"],
                mode=d.get("mode", "any"),
                earliest_pickup_s=d["earliest_pickup_s"],
                latest_dropoff_s=d["latest_dropoff_s"],
                submitted_s=entry.t_s,
                submitted_by=entry.actor,
                updated_s=entry.t_s,
            )
        elif entry.kind == "order.state":
            order = self.orders[entry.subject]
            ORDER.check(order.state, d["state"])
            self._update(order, d, entry.t_s)
            if d["state"] == "delivered":
                order.delivered_s = entry.t_s
            if order.state in ACTIVE_ORDER_STATES:
                self.active_orders[order.id] = order
            else:
                self.active_orders.pop(order.id, None)
        elif entry.kind == "trip.state":
            trip = self.trips[entry.subject]
            TRIP.check(trip.state, d["state"])
            self._update(trip, d, entry.t_s)
            if trip.state == "assigned":
                self.active_trips[trip.id] = trip
            else:
                self.active_trips.pop(trip.id, None)
            if d["state"] == "picked_up":
                trip.picked_up_s = entry.t_s
            elif d["state"] == "dropped_off":
                trip.dropped_off_s = entry.t_s
        elif entry.kind == "vehicle.plan":
            self.vehicles[entry.subject].plan = list(d["stops"])
        elif entry.kind == "vehicle.event":
            self.vehicles[entry.subject].last_event = (str(d["boot_id"]), int(d["seq"]))
        elif entry.kind == "vehicle.state":
            vehicle = self.vehicles[entry.subject]
            if vehicle.state != d["state"]:
                VEHICLE.check(vehicle.state, d["state"])
                vehicle.state = d["state"]
        self.last_seq = entry.seq

    @staticmethod
    def _update(record: OrderRecord | TripRecord, d: dict[str, Any] | Any, t_s: float) -> None:
        record.state = d["state"]
        record.updated_s = t_s
        if "reason" in d:
            record.reason = d["reason"]
        if "vehicle_id" in d:
            record.vehicle_id = d["vehicle_id"]
        if d.get("promised_window") is not None:
            record.promised_window = (
                float(d["promised_window"][0]),
                float(d["promised_window"][1]),
            )
        if isinstance(record, TripRecord) and "walk_m" in d:
            record.walk_m = float(d["walk_m"])
