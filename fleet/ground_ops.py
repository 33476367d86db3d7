"""Ground vehicles as the service sees them: plans out, telemetry and events in.

`GroundOperations` is the service's side of the ground-vehicle protocol (`fleet.ground_server`):
it journals and sends each vehicle's plan (the live dispatcher's stop sequence), folds telemetry
into the vehicle records and the live feed, turns boarding and alighting events into trip
transitions, and, when a vehicle faults or is lost, reports the riders aboard and re-plans the
riders still waiting onto other vehicles.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from fleet.recovery import stop_to_json
from vehicles.ground import messages as m
from vehicles.ground.server_types import (
    EventReceived,
    TelemetryReceived,
    VehicleConnected,
    VehicleDisconnected,
)

if TYPE_CHECKING:
    from fleet.service import FleetService

log = logging.getLogger("kaiteki.fleet.ground")


class GroundOperations:
    """The ground-vehicle side of one `FleetService` (see the module docstring)."""

    def __init__(self, service: FleetService) -> None:
        self.service = service

    def send_plan(self, vehicle_id: str, journal: bool = True) -> None:
        """Journal the vehicle's plan (a plan change is an event), then send it over the wire."""
        v = self.service.ground.vehicles[vehicle_id]
        stops = [
            m.PlanStop(
                s.place,
                s.position[0],
                s.position[1],
                pickups=(s.request_id,) if s.action == "pickup" else (),
                dropoffs=(s.request_id,) if s.action == "dropoff" else (),
            )
            for s in v.stops
        ]
        record = self.service.records.vehicles[vehicle_id]
        plan = [stop_to_json(s) for s in v.stops]
        if journal and plan != record.plan:
            self.service._record(
                "vehicle.plan", vehicle_id, "dispatch", {"stops": plan}, publish=False
            )
        record.plan = plan
        self.service.feed.publish(
            {"type": "vehicle.plan", "vehicle_id": vehicle_id, "plan": record.plan}, kind=v.kind
        )
        if self.service.ground_server is None:
            return
        try:
            future = self.service.ground_server.send_plan(vehicle_id, stops)
        except Exception as exc:  # unknown vehicle / too many commands: keep the plan, say so
            log.warning("plan for %s not sent: %s", vehicle_id, exc)
            return
        future.add_done_callback(lambda f: self._plan_answered(vehicle_id, f))

    def _plan_answered(self, vehicle_id: str, future: asyncio.Future[m.Ack]) -> None:
        if future.cancelled() or future.exception() is not None:
            return
        ack = future.result()
        if not ack.ok:
            self.service._supervise_action(vehicle_id, "plan refused", f"{ack.code}: {ack.msg}")

    def on_event(self, event: object) -> None:
        now = self.service.clock.now_s()
        if isinstance(event, VehicleConnected):
            vid = str(event.vehicle_id)
            record = self.service.records.vehicles.get(vid)
            if record is None:
                return
            record.link, record.last_seen_s = "up", now
            self.service.ground.vehicles[vid].online = True
            if record.state in ("offline", "fault"):
                self.service._record("vehicle.state", vid, "link", {"state": "idle"})
            if self.service.ground.vehicles[vid].stops:
                self.send_plan(vid)
        elif isinstance(event, VehicleDisconnected):
            record = self.service.records.vehicles.get(str(event.vehicle_id))
            if record is not None:
                record.link = "degraded"
        elif isinstance(event, TelemetryReceived):
            self._on_telemetry(str(event.vehicle_id), event.telemetry, now)
        elif (
            isinstance(event, EventReceived)
            and str(event.vehicle_id) in self.service.records.vehicles
        ):
            ev = event.event
            # journaled with (boot_id, seq): duplicates stay recognised after a restart
            self.service._record(
                "vehicle.event",
                str(event.vehicle_id),
                str(event.vehicle_id),
                {
                    "event": str(ev.kind),
                    "boot_id": event.boot_id,
                    "seq": ev.seq,
                    "stop_id": ev.stop_id,
                    "rider_id": ev.rider_id,
                    "code": ev.code,
                    "lat_deg": ev.lat_deg,
                    "lon_deg": ev.lon_deg,
                },
            )
            self._on_vehicle_event(str(event.vehicle_id), ev)

    def _on_telemetry(self, vid: str, t: m.Telemetry, now: float) -> None:
        record = self.service.records.vehicles.get(vid)
        if record is None:
            return
        record.last_seen_s, record.link = now, "up"
        record.telemetry = {
            "t_s": t.t_s,
            "lat_deg": t.lat_deg,
            "lon_deg": t.lon_deg,
            "heading_deg": t.heading_deg,
            "speed_m_s": t.speed_m_s,
            "battery_soc": t.battery_soc,
            "occupancy": t.occupancy,
            "doors_open": t.doors_open,
            "vehicle_state": str(t.state),
        }
        gv = self.service.ground.vehicles.get(vid)
        if gv is not None:
            gv.position, gv.online = (t.lat_deg, t.lon_deg), True
        state = {
            "idle": "idle",
            "holding": "holding",
            "returning": "returning",
            "fault": "fault",
            "manual": "fault",
        }.get(str(t.state), "busy")
        if state != record.state and record.state != "offline":
            with contextlib.suppress(ValueError):
                self.service._record("vehicle.state", vid, "telemetry", {"state": state})
        self.service.feed.publish(
            {
                "type": "vehicle",
                "id": vid,
                "kind": record.kind,
                "state": record.state,
                "link": record.link,
                **record.telemetry,
            },
            kind=record.kind,
            lat=t.lat_deg,
            lon=t.lon_deg,
        )

    def _on_vehicle_event(self, vid: str, ev: m.Event) -> None:
        rider = ev.rider_id or ""
        trip = self.service.records.trips.get(rider)
        if ev.kind == m.EventKind.BOARDED and trip is not None and trip.state == "assigned":
            self.service.ground.stop_done(vid, rider, "pickup", self.service.clock.now_s())
            self.service._record(
                "trip.state", rider, vid, {"state": "picked_up", "vehicle_id": vid}
            )
        elif ev.kind == m.EventKind.ALIGHTED and trip is not None and trip.state == "picked_up":
            self.service.ground.stop_done(vid, rider, "dropoff", self.service.clock.now_s())
            self.service._record("trip.state", rider, vid, {"state": "dropped_off"})
        elif ev.kind in (m.EventKind.FAULT, m.EventKind.MANUAL_TAKEOVER):
            self.service._record(
                "vehicle.state", vid, vid, {"state": "fault", "reason": ev.code or str(ev.kind)}
            )
            self.replan_waiting(vid, f"vehicle {vid} {ev.kind}: {ev.code or ''}")
        elif ev.kind in (m.EventKind.FAULT_CLEARED, m.EventKind.MANUAL_RELEASED):
            self.service._record("vehicle.state", vid, vid, {"state": "idle"})

    def replan_waiting(self, vid: str, why: str) -> None:
        """A ground vehicle is out: report riders aboard; re-plan riders still waiting."""
        gv = self.service.ground.vehicles[vid]
        gv.online = False
        aboard = sorted(gv.picked_up_at)
        waiting = sorted({s.request_id for s in gv.stops if s.action == "pickup"})
        self.service._supervise_action(
            vid,
            "vehicle out of service",
            f"{why}; riders aboard: {aboard or 'none'}; re-planning {len(waiting)} waiting",
        )
        for rid in waiting:
            self.service.ground.remove(rid)
            gv.stops = [s for s in gv.stops if s.request_id != rid]
            trip = self.service.records.trips[rid]
            if trip.state not in ("planned", "assigned"):
                continue  # a stale stop of a trip already picked up or finished
            self.service._record(
                "trip.state", rid, "supervisor", {"state": "planned", "reason": why}
            )
            self.service._dispatch_trip(trip, "supervisor")
