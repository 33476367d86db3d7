"""The fleet service: submissions, dispatch, ground vehicles and the supervisor, around one journal.

`FleetService` is what `python -m fleet serve` runs behind the operator API. Every accepted
submission and every transition goes through `_record`: appended to the journal (on disk) first,
then folded into the records, then pushed to the live feed. On start the journal is replayed,
open requests are dispatched again, and the vehicles are reconciled as they reconnect.

Ground vehicles connect to the `GroundServer` (websocket + msgpack); their plans are the stop
sequences of the live `GroundDispatcher`. Parcels are planned by the `DroneDispatcher` on the
airspace-aware matrix of `geofences`; drones are flown by `fleet.drones` over MAVLink.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from shapely.geometry import mapping

from dispatch.live import (
    Decision,
    DroneDispatcher,
    DroneModel,
    GroundDispatcher,
    GroundParams,
    GroundVehicle,
    ParcelRequest,
    TripRequest,
)
from fleet.config import Config
from fleet.drones import PREFLIGHT_MARGIN, flight_layers
from fleet.ground_ops import GroundOperations
from fleet.ground_server import GroundServer
from fleet.journal import Entry, JournalStore, SqliteJournal
from fleet.livefeed import LiveFeed
from fleet.records import OrderRecord, Records, TripRecord, VehicleRecord
from fleet.recovery import restore_ground_plans
from geofences.default import load_airspace
from geofences.routing import RouteOptions, cost_matrix
from geofences.volumes import Airspace
from vehicles.clock import Clock, SystemClock
from vehicles.ground import messages as m

log = logging.getLogger("kaiteki.fleet")
GROUND_SPEED_M_S = {"bus": 5.0, "mobility": 1.5}
OPEN_ORDER = ("received", "planned", "assigned")
OPEN_TRIP = ("received", "planned", "assigned")


class RequestError(ValueError):
    """A submission or command the service refuses; `field` names what was wrong."""

    def __init__(self, message: str, field: str = "", status: int = 422) -> None:
        super().__init__(message)
        self.field = field
        self.status = status


class FleetService:
    def __init__(
        self,
        config: Config,
        *,
        clock: Clock | None = None,
        journal: JournalStore | None = None,
        airspace: Airspace | None = None,
    ) -> None:
        self.config = config
        self.clock: Clock = clock or SystemClock()
        self.journal: JournalStore = journal or SqliteJournal(config.journal)
        self.airspace = airspace or load_airspace(config.airspace)
        self.records = Records()
        self.feed = LiveFeed()
        self.sites = {s.id: s for s in config.sites}
        self.route_options = RouteOptions(
            cruise_alt_m=config.drone.cruise_alt_m, cruise_speed_m_s=config.drone.cruise_speed_m_s
        )
        for v in config.vehicles:
            self.records.vehicles[v.id] = VehicleRecord(v.id, v.kind, v.home)
        stops = {s.id: (s.lat_deg, s.lon_deg) for s in config.sites if s.kind == "stop"}
        self.ground = GroundDispatcher(
            stops,
            GroundParams(
                max_ride_factor=config.dispatch.bus_max_ride_factor,
                walk_speed_m_s=config.dispatch.walk_speed_m_s,
            ),
        )
        for v in config.vehicles:
            if v.kind != "drone":
                home = self.sites[v.home]
                self.ground.vehicles[v.id] = GroundVehicle(
                    v.id,
                    v.kind,
                    (home.lat_deg, home.lon_deg),
                    v.capacity,
                    GROUND_SPEED_M_S[v.kind],
                    online=False,
                )
        d = config.drone
        # plan with what a sortie must hold before it may start (`fleet.drones`: the landing
        # reserve, the supervisor's margin and the pre-flight margin; climbs and descents from
        # the top flight layer), so the dispatcher never gives a drone a sortie it will refuse
        top_m = max(alt for alt, _ in flight_layers(self.route_options).values())
        self.drone_model = DroneModel(
            d.cruise_speed_m_s,
            d.max_payload_kg,
            d.battery_wh,
            d.hover_power_w,
            d.cruise_power_w,
            d.power_per_kg_w,
            d.reserve_fraction + config.supervisor.battery_margin_fraction + PREFLIGHT_MARGIN,
            d.battery_swap_s,
            d.loading_s,
            d.landing_service_s,
            top_m / d.climb_speed_m_s + top_m / d.descent_speed_m_s,
        )
        self.drones = DroneDispatcher(self.drone_model, self._air_leg_s)
        self._air: dict[tuple[str, str], float | None] | None = None
        self.ground_server: GroundServer | None = None
        self.drone_link: Any = None  # fleet.drones.DroneOperations when drones are flown
        self._tasks: list[asyncio.Task[None]] = []
        self.ground_ops = GroundOperations(self)
        self.flags: set[tuple[str, str]] = set()
        self._airspace_view: dict[str, Any] | None = None
        self._pending_trips: list[TripRecord] = []
        self._pending_orders: list[OrderRecord] = []
        self._grace_until_s = 0.0
        for entry in self.journal.entries():
            self.records.apply(entry)

    # ------------------------------------------------------------------------ journal
    def _record(
        self, kind: str, subject: str, actor: str, data: Mapping[str, Any], publish: bool = True
    ) -> Entry:
        """Check, journal (on disk), fold into the records, then tell the live feed."""
        self.records.validate(kind, subject, data)
        entry = self.journal.append(self.clock.now_s(), kind, subject, actor, data)
        self.records.apply(entry)
        if publish:
            self._publish_entry(entry)
        return entry

    def _publish_entry(self, entry: Entry) -> None:
        kind = None
        if entry.subject in self.records.vehicles:
            kind = self.records.vehicles[entry.subject].kind
        elif entry.subject.startswith("ord-"):
            kind = "drone"
        self.feed.publish({"type": entry.kind, **entry.to_json()}, kind=kind)

    def events(self, limit: int = 200) -> list[Entry]:
        entries = list(self.journal.entries(max(0, self.records.last_seq - 5 * limit)))
        return [e for e in entries if e.kind not in ("order.submitted", "trip.submitted")][-limit:]

    # ------------------------------------------------------------------------ submissions
    def submit_order(
        self,
        body: Mapping[str, Any],
        actor: str,
        key: str,
        request: Mapping[str, Any] | None = None,
    ) -> tuple[OrderRecord, bool]:
        """Journal, then dispatch at once. Returns (order, created); a retry returns the first."""
        if body["warehouse"] not in self.sites or self.sites[body["warehouse"]].kind != "warehouse":
            raise RequestError(f"unknown warehouse {body['warehouse']!r}", "warehouse")
        if (
            body["drone_port"] not in self.sites
            or self.sites[body["drone_port"]].kind != "drone_port"
        ):
            raise RequestError(f"unknown drone port {body['drone_port']!r}", "drone_port")
        if body["deadline_s"] <= body["ready_s"]:
            raise RequestError("deadline must be after the ready time", "deadline_s")
        entry, subject = self.journal.submit(
            self.clock.now_s(), "order.submitted", "ord", actor, {**body, "key": key}, key, request
        )
        if entry is None:
            return self.records.orders[subject], False
        self.records.apply(entry)
        self._publish_entry(entry)
        self._dispatch_order(self.records.orders[subject], actor)
        return self.records.orders[subject], True

    def submit_trip(
        self,
        body: Mapping[str, Any],
        actor: str,
        key: str,
        request: Mapping[str, Any] | None = None,
    ) -> tuple[TripRecord, bool]:
        for fld in ("origin", "destination"):
            if body[fld] not in self.sites:
                raise RequestError(f"unknown place {body[fld]!r}", fld)
        if body["origin"] == body["destination"]:
            raise RequestError("origin and destination are the same place", "destination")
        if body["latest_dropoff_s"] <= body["earliest_pickup_s"]:
            raise RequestError(
                "latest drop-off must be after the earliest pickup", "latest_dropoff_s"
            )
        entry, subject = self.journal.submit(
            self.clock.now_s(), "trip.submitted", "trip", actor, {**body, "key": key}, key, request
        )
        if entry is None:
            return self.records.trips[subject], False
        self.records.apply(entry)
        self._publish_entry(entry)
        self._dispatch_trip(self.records.trips[subject], actor)
        return self.records.trips[subject], True

    def cancel(self, subject: str, actor: str, reason: str) -> OrderRecord | TripRecord:
        record: OrderRecord | TripRecord
        if subject in self.records.orders:
            record = self.records.orders[subject]
            if record.state not in OPEN_ORDER:
                raise RequestError(
                    f"order {subject} is {record.state}: it can no longer be cancelled", status=409
                )
            trip = self.drones.release(subject)
            self._record("order.state", subject, actor, {"state": "cancelled", "reason": reason})
            if trip is not None and self.drone_link is not None:
                self.drone_link.cancelled(subject)
        elif subject in self.records.trips:
            record = self.records.trips[subject]
            if record.state not in OPEN_TRIP:
                raise RequestError(
                    f"trip {subject} is {record.state}: it can no longer be cancelled", status=409
                )
            vehicle = record.vehicle_id
            self.ground.remove(subject)
            self._record("trip.state", subject, actor, {"state": "cancelled", "reason": reason})
            if vehicle:
                self._send_plan(vehicle)
        else:
            raise RequestError(f"no order or trip {subject!r}", status=404)
        return record

    # ------------------------------------------------------------------------ dispatch
    def _air_leg_s(self, a: str, b: str) -> float | None:
        if self._air is None:
            ids = sorted(s.id for s in self.config.sites if s.kind in ("warehouse", "drone_port"))
            matrix = cost_matrix(
                self.airspace,
                [(self.sites[i].lat_deg, self.sites[i].lon_deg) for i in ids],
                self.route_options,
            )
            self._air = {
                (x, y): (float(matrix.duration_s[i, j]) if matrix.legal[i, j] else None)
                for i, x in enumerate(ids)
                for j, y in enumerate(ids)
            }
        return self._air.get((a, b))

    def _dispatch_order(self, order: OrderRecord, actor: str) -> Decision:
        request = ParcelRequest(
            order.id,
            order.warehouse,
            order.drone_port,
            order.weight_kg,
            order.ready_s,
            order.deadline_s,
        )
        decision = self.drones.insert(request, self.clock.now_s())
        if not decision.accepted:
            target = "rejected" if order.state == "received" else "failed"
            self._record(
                "order.state", order.id, actor, {"state": target, "reason": decision.reason}
            )
            return decision
        window = [decision.earliest_s, decision.latest_s]
        if order.state == "received":
            self._record(
                "order.state", order.id, "dispatch", {"state": "planned", "promised_window": window}
            )
        self._record(
            "order.state",
            order.id,
            "dispatch",
            {"state": "assigned", "vehicle_id": decision.vehicle_id, "promised_window": window},
        )
        if self.drone_link is not None:
            self.drone_link.assigned(order.id)
        return decision

    def _dispatch_trip(self, trip: TripRecord, actor: str) -> Decision:
        o, d = self.sites[trip.origin], self.sites[trip.destination]
        request = TripRequest(
            trip.id,
            trip.origin,
            trip.destination,
            (o.lat_deg, o.lon_deg),
            (d.lat_deg, d.lon_deg),
            trip.riders,
            max(trip.earliest_pickup_s, self.clock.now_s()),
            trip.latest_dropoff_s,
            trip.mode,
        )
        decision = self.ground.insert(request, self.clock.now_s())
        if not decision.accepted:
            target = "rejected" if trip.state == "received" else "failed"
            self._record("trip.state", trip.id, actor, {"state": target, "reason": decision.reason})
            return decision
        window = [decision.earliest_s, decision.latest_s]
        if trip.state == "received":
            self._record(
                "trip.state",
                trip.id,
                "dispatch",
                {"state": "planned", "promised_window": window, "walk_m": decision.walk_m},
            )
        self._record(
            "trip.state",
            trip.id,
            "dispatch",
            {"state": "assigned", "vehicle_id": decision.vehicle_id, "promised_window": window},
        )
        self._send_plan(decision.vehicle_id)
        return decision

    def recover(self) -> None:
        """After a restart: rebuild the live plans from the journal (see `fleet.recovery`).

        Plans go back to their vehicles as they reconnect; requests without a vehicle wait for
        the grace period (`supervisor.ground_lost_s`) and are then dispatched.
        """
        now = self.clock.now_s()
        self._pending_trips = restore_ground_plans(self.records, self.ground)
        self._pending_orders = [
            o for o in sorted(self.records.orders.values(), key=lambda r: r.id) if o.state in OPEN_ORDER
        ]
        self._grace_until_s = now + self.config.supervisor.ground_lost_s
        for vid, gv in sorted(self.ground.vehicles.items()):
            record = self.records.vehicles[vid]
            if gv.stops or gv.picked_up_at:
                record.last_seen_s = now  # start its lost timer: it must come back within the grace
                record.link = "degraded"
                self._send_plan(vid, journal=False)
        if self._pending_trips or self._pending_orders or self.records.trips or self.records.orders:
            self._supervise_action(
                "service",
                "recovered",
                f"{len(self.records.orders)} orders, {len(self.records.trips)} trips from the journal; "
                f"{len(self._pending_trips) + len(self._pending_orders)} open requests to dispatch "
                f"after {self.config.supervisor.ground_lost_s:.0f} s",
            )

    def _dispatch_pending(self) -> None:
        """Dispatch what recovery left without a vehicle (once the grace period is over)."""
        trips, orders = self._pending_trips, self._pending_orders
        self._pending_trips, self._pending_orders = [], []
        for order in orders:
            if order.state in ("planned", "assigned"):
                self._record("order.state", order.id, "recovery", {"state": "planned", "reason": "re-planned after restart"})
            if order.state in ("received", "planned"):
                self._dispatch_order(order, "recovery")
        for trip in trips:
            if trip.state == "picked_up":  # aboard a vehicle the service no longer knows: report
                self._supervise_action(trip.id, "rider aboard unknown vehicle", f"vehicle {trip.vehicle_id!r}")
                continue
            if trip.state == "assigned":
                self._record("trip.state", trip.id, "recovery", {"state": "planned", "reason": "re-planned after restart"})
            if trip.state in ("received", "planned"):
                self._dispatch_trip(trip, "recovery")

    # ------------------------------------------------------------------------ ground vehicles
    def _send_plan(self, vehicle_id: str, journal: bool = True) -> None:
        self.ground_ops.send_plan(vehicle_id, journal)

    def on_ground_event(self, event: object) -> None:
        """Listener of the ground server: connections, telemetry and events of ground vehicles."""
        self.ground_ops.on_event(event)

    def _replan_waiting(self, vid: str, why: str) -> None:
        self.ground_ops.replan_waiting(vid, why)

    # ------------------------------------------------------------------------ commands
    async def vehicle_command(self, vid: str, action: str, actor: str) -> dict[str, Any]:
        record = self.records.vehicles.get(vid)
        if record is None:
            raise RequestError(f"no vehicle {vid!r}", status=404)
        self._record("vehicle.command", vid, actor, {"action": action})
        if record.kind == "drone":
            if self.drone_link is None:
                raise RequestError(f"drone {vid} is not connected", status=409)
            return dict(await self.drone_link.command(vid, action))
        if self.ground_server is None or record.link != "up":
            raise RequestError(f"vehicle {vid} is not connected", status=409)
        commands: dict[str, m.Command] = {
            "hold": m.Hold(0, reason=f"operator {actor}"),
            "resume": m.Resume(0),
            "return": m.ReturnToDepot(0),
        }
        command = commands[action]
        ack = await asyncio.wait_for(self.ground_server.send_command(vid, command), 10.0)
        ok = ack.ok
        if ok and action == "hold":
            self._record("vehicle.state", vid, actor, {"state": "holding"})
        elif ok and action == "resume" and record.state == "holding":
            self._record("vehicle.state", vid, actor, {"state": "busy"})
        return {"vehicle_id": vid, "action": action, "accepted": ok, "detail": ack.msg or ""}

    # ------------------------------------------------------------------------ supervisor
    def _supervise_action(self, subject: str, action: str, detail: str) -> None:
        self._record("supervisor", subject, "supervisor", {"action": action, "detail": detail})

    # ------------------------------------------------------------------------ for drone operations
    supervisor_action = _supervise_action

    def record_order_state(self, order_id: str, state: str, actor: str) -> None:
        """Journal an order's move (the lifecycle table refuses an illegal one)."""
        self._record("order.state", order_id, actor, {"state": state})

    def record_event(self, kind: str, subject: str, actor: str, data: Mapping[str, Any]) -> None:
        """Journal (and publish) an event that changes no record, e.g. a mission's progress."""
        self._record(kind, subject, actor, data)

    def fail_order(self, order_id: str, reason: str, actor: str) -> None:
        self._record("order.state", order_id, actor, {"state": "failed", "reason": reason})

    def record_vehicle_state(self, vehicle_id: str, state: str, actor: str) -> None:
        """Journal a vehicle's move if it is one; an impossible move is logged, not raised."""
        record = self.records.vehicles[vehicle_id]
        if record.state != state:
            try:
                self._record("vehicle.state", vehicle_id, actor, {"state": state})
            except ValueError as exc:
                log.warning("%s", exc)

    def redispatch_order(self, order_id: str, reason: str) -> None:
        """An order not yet loaded goes back to planning and is dispatched again at once."""
        order = self.records.orders[order_id]
        if order.state not in ("planned", "assigned"):
            return
        self.drones.release(order_id)
        if order.state == "assigned":
            self._record("order.state", order_id, "supervisor", {"state": "planned", "reason": reason})
        self._dispatch_order(order, "supervisor")

    def supervise(self) -> None:
        """One supervisor pass: link health and lateness."""
        now = self.clock.now_s()
        sv = self.config.supervisor
        if self._pending_trips or self._pending_orders:
            ground_up = all(
                self.records.vehicles[v].link == "up" for v in self.ground.vehicles
            )
            if now >= self._grace_until_s or ground_up:
                self._dispatch_pending()
        for vid in sorted(self.records.vehicles):
            record = self.records.vehicles[vid]
            if record.kind == "drone" or record.last_seen_s is None:
                continue
            silent = now - record.last_seen_s
            if record.link == "up" and silent > sv.link_degraded_s:
                record.link = "degraded"
            if record.link != "lost" and silent > sv.ground_lost_s:
                record.link = "lost"
                if record.state != "offline":
                    self._record("vehicle.state", vid, "supervisor", {"state": "offline"})
                self._replan_waiting(vid, f"link lost for {silent:.0f} s")
        for trip in list(self.records.active_trips.values()):
            window = trip.promised_window
            if window is None:
                continue
            if now > window[1] - sv.lateness_margin_s and ("late", trip.id) not in self.flags:
                self.flags.add(("late", trip.id))
                self._supervise_action(
                    trip.id, "pickup at risk", f"promised by {window[1]:.0f}, now {now:.0f}"
                )
        for order in list(self.records.active_orders.values()):
            late = now > order.deadline_s - sv.lateness_margin_s
            if late and ("late", order.id) not in self.flags:
                self.flags.add(("late", order.id))
                self._supervise_action(
                    order.id, "delivery at risk", f"deadline {order.deadline_s:.0f}, now {now:.0f}"
                )

    # ------------------------------------------------------------------------ running
    async def start(self, ground_server: GroundServer | None = None) -> None:
        credentials = {v.id: v.token for v in self.config.vehicles if v.kind != "drone"}
        self.ground_server = ground_server or GroundServer(
            credentials,
            host=self.config.vehicle_ws.host,
            port=self.config.vehicle_ws.port,
            clock=self.clock,
        )
        self.ground_server.add_listener(self.on_ground_event)
        for vid, record in sorted(self.records.vehicles.items()):
            boot_id, seq = record.last_event
            if boot_id and vid in credentials:
                self.ground_server.core.restore_vehicle(vid, boot_id=boot_id, last_event_seq=seq)
        await self.ground_server.start()
        for d in self.config.vehicles:
            if d.kind == "drone":
                home = self.sites[d.home]
                from dispatch.live import Drone

                self.drones.drones[d.id] = Drone(d.id, d.home, online=self.drone_link is not None)
                self.records.vehicles[d.id].telemetry = {
                    "lat_deg": home.lat_deg,
                    "lon_deg": home.lon_deg,
                }
        self.recover()
        self._tasks.append(asyncio.create_task(self._supervisor_loop()))

    async def _supervisor_loop(self) -> None:
        while True:
            await self.clock.sleep(1.0)
            try:
                self.supervise()
            except Exception:  # the supervisor must never die
                log.exception("supervisor pass failed")

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.ground_server is not None:
            await self.ground_server.stop()
        self.journal.close()

    # ------------------------------------------------------------------------ views
    def airspace_geojson(self) -> dict[str, Any]:
        """The volumes that matter below 150 m, simplified (~10 m) for display."""
        if self._airspace_view is None:
            features = []
            for v in self.airspace:
                if v.floor_amsl_m() >= 150.0:
                    continue
                feature = v.to_feature()
                feature["geometry"] = mapping(v.footprint.simplify(0.0001, preserve_topology=True))
                features.append(feature)
            self._airspace_view = {"type": "FeatureCollection", "features": features}
        return self._airspace_view

    def kpis(self) -> dict[str, Any]:
        orders, trips = list(self.records.orders.values()), list(self.records.trips.values())

        def count(items: list[Any], state: str) -> int:
            return sum(1 for r in items if r.state == state)

        return {
            "orders_total": len(orders),
            "orders_delivered": count(orders, "delivered"),
            "orders_on_time": sum(
                1 for o in orders if o.delivered_s is not None and o.delivered_s <= o.deadline_s
            ),
            "orders_rejected": count(orders, "rejected"),
            "orders_failed": count(orders, "failed"),
            "orders_open": sum(
                1 for o in orders if o.state in (*OPEN_ORDER, "loaded", "in_flight")
            ),
            "trips_total": len(trips),
            "trips_completed": count(trips, "dropped_off"),
            "trips_rejected": count(trips, "rejected"),
            "trips_failed": count(trips, "failed"),
            "trips_open": sum(1 for t in trips if t.state in (*OPEN_TRIP, "picked_up")),
            "vehicles_online": sum(1 for v in self.records.vehicles.values() if v.link == "up"),
            "vehicles_total": len(self.records.vehicles),
            "clock_s": round(self.clock.now_s(), 1),
        }
