"""Ground vehicles as the service sees them: plans out, telemetry and events in.

`GroundOperations` is the service's side of the ground-vehicle protocol (`fleet.ground_server`):
it journals and sends each vehicle's plan (the live dispatcher's stop sequence), folds telemetry
into the vehicle records and the live feed, turns boarding and alighting events into trip
transitions, and, when a vehicle faults or is lost, reports the riders aboard and re-plans the
riders still waiting onto other vehicles.

Energy: each vehicle's state of charge (from its telemetry) bounds what the dispatcher may plan
for it (`dispatch.ground_energy`), and a `ChargeCycle` per vehicle takes it through
`in_service -> due -> to_depot -> charging -> in_service`: below its charge level (or on a
`battery_low` warning) it takes no new work, finishes the riders it has, is sent to its depot
with the protocol's `return_to_depot`, charges there, and is put back in service with a new
plan once charged. Every step is a journaled supervisor action.

Vehicle events that are not vehicle faults are treated as what they are: `battery_low` is a
warning (the vehicle still drives), `no_show` fails that rider's trip, `capacity` (a rider not
boarded) re-plans that rider. A rider who boards a vehicle the service had already taken the
trip away from (the boarding crossed the re-plan on the wire) is moved back to that vehicle,
which will drop them off, and the other vehicle's pickup is withdrawn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from dispatch.ground_energy import (
    DEFAULT_ENERGY,
    ChargeCommand,
    ChargeCycle,
    ChargeState,
    VehicleEnergyView,
)
from dispatch.live import Stop, haversine_m
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
        self.charge: dict[str, ChargeCycle] = {}
        self._departed: dict[str, tuple[str, float]] = {}  # vehicle -> (place, event t_s)
        for vid, gv in sorted(service.ground.vehicles.items()):
            energy = DEFAULT_ENERGY.get(gv.kind)
            if energy is not None and gv.energy is None:
                gv.energy = energy
            if gv.energy is not None:
                self.charge[vid] = ChargeCycle(gv.energy, self._journaled_charge_state(vid))
                gv.out_of_service = self._charge_reason(vid)

    def _journaled_charge_state(self, vid: str) -> ChargeState:
        """After a restart: where the vehicle was in its charging cycle, from the journal (the
        last `charge: ...` supervisor action among its recent entries; else in service)."""
        for entry in reversed(self.service.journal.history(vid)):
            action = str(entry.data.get("action", "")) if entry.kind == "supervisor" else ""
            if action.startswith("charge: "):
                return ChargeState(action.removeprefix("charge: "))
        return ChargeState.IN_SERVICE

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
        future.add_done_callback(lambda f: self._plan_answered(vehicle_id, f, plan))

    def _plan_answered(
        self,
        vehicle_id: str,
        future: asyncio.Future[m.Ack],
        plan: list[dict[str, Any]] | None = None,
        what: str = "plan",
    ) -> None:
        if future.cancelled() or future.exception() is not None:
            return
        ack = future.result()
        if ack.ok:
            return
        gv = self.service.ground.vehicles.get(vehicle_id)
        if plan is not None and gv is not None and [stop_to_json(s) for s in gv.stops] != plan:
            # The refusal crossed news from the vehicle (e.g. a rider boarded just before the
            # plan arrived, so its pickup was already done): the plan has changed since; resend.
            self.service._supervise_action(
                vehicle_id, "plan resent", f"refused as out of date ({ack.code}: {ack.msg})"
            )
            self.send_plan(vehicle_id)
            return
        self.service._supervise_action(vehicle_id, f"{what} refused", f"{ack.code}: {ack.msg}")

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
        vehicle_state = str(t.state)
        record.telemetry = {
            "t_s": t.t_s,
            "lat_deg": t.lat_deg,
            "lon_deg": t.lon_deg,
            "heading_deg": t.heading_deg,
            "speed_m_s": t.speed_m_s,
            "battery_soc": t.battery_soc,
            "occupancy": t.occupancy,
            "doors_open": t.doors_open,
            "vehicle_state": vehicle_state,
        }
        gv = self.service.ground.vehicles.get(vid)
        if gv is not None:
            gv.position, gv.online, gv.soc = (t.lat_deg, t.lon_deg), True, t.battery_soc
        state = {
            "idle": "idle",
            "charging": "idle",  # idle at its depot; the charge cycle keeps it out of dispatch
            "holding": "holding",
            "returning": "returning",
            "fault": "fault",
            "manual": "fault",
        }.get(vehicle_state, "busy")
        if state != record.state and record.state != "offline":
            with contextlib.suppress(ValueError):
                self.service._record("vehicle.state", vid, "telemetry", {"state": state})
        if gv is not None:
            self._charge_step(vid, t)
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

    def _learn_leg(self, vid: str, ev: m.Event) -> None:
        """Departed from one known place, arrived at the next, nothing in between: tell the
        dispatcher how long that leg really took."""
        if ev.kind == m.EventKind.DEPARTED and ev.stop_id in self.service.sites:
            self._departed[vid] = (ev.stop_id, ev.t_s)
            return
        if ev.kind in (m.EventKind.FAULT, m.EventKind.MANUAL_TAKEOVER, m.EventKind.AT_DEPOT):
            self._departed.pop(vid, None)  # stopped or diverted on the way: not a clean leg
            return
        if ev.kind != m.EventKind.ARRIVED:
            return
        start = self._departed.pop(vid, None)
        if start is None or ev.stop_id == start[0]:
            return
        a, b = self.service.sites.get(start[0]), self.service.sites.get(ev.stop_id or "")
        if a is not None and b is not None:
            self.service.ground.observe_leg(
                self.service.ground.vehicles[vid].kind,
                (a.lat_deg, a.lon_deg),
                (b.lat_deg, b.lon_deg),
                ev.t_s - start[1],
            )

    def _on_vehicle_event(self, vid: str, ev: m.Event) -> None:
        self._learn_leg(vid, ev)
        rider = ev.rider_id or ""
        trip = self.service.records.trips.get(rider)
        now = self.service.clock.now_s()
        if ev.kind == m.EventKind.BOARDED and trip is not None:
            mine = trip.state == "assigned" and trip.vehicle_id == vid
            if not mine:
                self._adopt_rider(vid, rider)
            if trip.state == "assigned":
                self.service.ground.stop_done(vid, rider, "pickup", now)
                self.service._record(
                    "trip.state", rider, vid, {"state": "picked_up", "vehicle_id": vid}
                )
            if not mine:
                self.send_plan(vid)
        elif ev.kind == m.EventKind.ALIGHTED and trip is not None and trip.state == "picked_up":
            self.service.ground.stop_done(vid, rider, "dropoff", now)
            self.service._record("trip.state", rider, vid, {"state": "dropped_off"})
        elif ev.kind == m.EventKind.FAULT and ev.code == "battery_low":
            self._battery_low(vid, ev)
        elif ev.kind == m.EventKind.FAULT and ev.code in ("no_show", "capacity") and rider:
            self._rider_not_boarded(vid, rider, str(ev.code), ev.stop_id or "")
        elif ev.kind in (m.EventKind.FAULT, m.EventKind.MANUAL_TAKEOVER):
            self.service._record(
                "vehicle.state", vid, vid, {"state": "fault", "reason": ev.code or str(ev.kind)}
            )
            gv = self.service.ground.vehicles[vid]
            gv.out_of_service = f"in fault ({ev.code or ev.kind})"
            self.replan_waiting(vid, f"vehicle {vid} {ev.kind}: {ev.code or ''}")
        elif ev.kind in (m.EventKind.FAULT_CLEARED, m.EventKind.MANUAL_RELEASED):
            gv = self.service.ground.vehicles[vid]
            if gv.out_of_service.startswith("in fault"):
                gv.out_of_service = self._charge_reason(vid)
            self.service._record("vehicle.state", vid, vid, {"state": "idle"})

    def _adopt_rider(self, vid: str, rider: str) -> None:
        """`rider` boarded `vid` although the service had taken the trip away from it (the
        boarding crossed a re-plan on the wire): `vid` keeps the rider and drops them off; the
        other vehicle's pickup, if any, is withdrawn."""
        trip = self.service.records.trips[rider]
        ground = self.service.ground
        other = trip.vehicle_id if trip.state == "assigned" else ""
        ov = ground.vehicles.get(other) if other and other != vid else None
        if ov is not None:
            ground.remove(rider)
            self.send_plan(other)
        gv = ground.vehicles[vid]
        if not any(s.request_id == rider and s.action == "dropoff" for s in gv.stops):
            site = self.service.sites[trip.destination]
            gv.stops.append(
                Stop(
                    rider,
                    "dropoff",
                    site.id,
                    (site.lat_deg, site.lon_deg),
                    trip.riders,
                    trip.latest_dropoff_s,
                )
            )
        self.service._supervise_action(
            vid,
            "rider boarded after re-plan",
            f"{rider} ({trip.state}{' on ' + other if other else ''}) boarded {vid}, "
            "which drops them off",
        )

    def _rider_not_boarded(self, vid: str, rider: str, code: str, stop_id: str) -> None:
        trip = self.service.records.trips[rider]
        if trip.state != "assigned" or trip.vehicle_id != vid:
            return
        self.service.ground.remove(rider)
        if code == "no_show":
            self.service._record(
                "trip.state",
                rider,
                vid,
                {"state": "failed", "reason": f"rider did not show up at {stop_id or 'the stop'}"},
            )
        else:  # not boarded (vehicle full): try again elsewhere
            self.service._record(
                "trip.state",
                rider,
                "supervisor",
                {"state": "planned", "reason": f"not boarded at {stop_id}: vehicle {vid} full"},
            )
            self.service._dispatch_trip(trip, "supervisor")
        self.send_plan(vid)

    # ------------------------------------------------------------------ energy
    def _charge_reason(self, vid: str) -> str:
        cycle = self.charge.get(vid)
        if cycle is None or cycle.dispatchable:
            return ""
        return {
            ChargeState.DUE: "due for charging",
            ChargeState.TO_DEPOT: "going to charge",
            ChargeState.CHARGING: "charging",
        }[cycle.state]

    def _battery_low(self, vid: str, ev: m.Event) -> None:
        """A low-battery warning: the vehicle still drives. No new work; riders still waiting
        are re-planned (the plan's energy estimate was wrong), riders aboard are dropped off."""
        cycle = self.charge.get(vid)
        if cycle is not None:
            cycle.battery_low()
        gv = self.service.ground.vehicles[vid]
        if not gv.out_of_service.startswith("in fault"):
            gv.out_of_service = self._charge_reason(vid) or "due for charging"
        self.replan_waiting(vid, f"vehicle {vid} battery low ({ev.detail or 'warning'})")

    def _charge_step(self, vid: str, t: m.Telemetry) -> None:
        cycle = self.charge.get(vid)
        gv = self.service.ground.vehicles[vid]
        if cycle is None:
            return
        if cycle.state is ChargeState.IN_SERVICE and t.battery_soc >= cycle.energy.top_up_soc:
            return  # the common case, on every telemetry frame: nothing can change
        before = cycle.state
        state = str(t.state)
        assert gv.home is not None
        at_home = haversine_m(gv.position, gv.home) < 60.0
        view = VehicleEnergyView(
            soc=t.battery_soc,
            has_stops=bool(gv.stops),
            riders_aboard=max(t.occupancy, len(gv.picked_up_at)),
            charging=state == "charging",
            at_depot=at_home and state in ("idle", "charging"),
            stopped=state in ("fault", "manual"),
            may_top_up=self._may_top_up(vid),
        )
        command = cycle.step(view)
        if not gv.out_of_service.startswith("in fault"):
            gv.out_of_service = self._charge_reason(vid)
        if cycle.state is not before:
            due = (
                "no new work; finishing the riders it has"
                if t.battery_soc < cycle.energy.charge_below_soc
                else "idle: a top-up while the rest of its kind is in service"
            )
            detail = {
                ChargeState.DUE: due,
                ChargeState.TO_DEPOT: "sent to its depot to charge",
                ChargeState.CHARGING: "charging at its depot",
                ChargeState.IN_SERVICE: "charged: back in service",
            }[cycle.state]
            self.service._supervise_action(
                vid, f"charge: {cycle.state}", f"{detail} (battery {t.battery_soc:.0%})"
            )
        if command is ChargeCommand.RETURN_TO_DEPOT:
            self._send_command(vid, m.ReturnToDepot(0))
        elif command is ChargeCommand.RESUME_SERVICE:
            self.send_plan(vid)  # a new plan version: a parked bus rejoins its loop

    def _may_top_up(self, vid: str) -> bool:
        """Few enough vehicles of `vid`'s kind are out charging for it to top up now."""
        cycle = self.charge[vid]
        kind = self.service.ground.vehicles[vid].kind
        same = [c for v, c in self.charge.items() if self.service.ground.vehicles[v].kind == kind]
        out = sum(1 for c in same if not c.dispatchable)
        return out < cycle.energy.max_charging(len(same))

    def _send_command(self, vid: str, command: m.Command) -> None:
        if self.service.ground_server is None:
            return
        try:
            future = self.service.ground_server.send_command(vid, command)
        except Exception as exc:  # unknown vehicle / too many commands: say so, carry on
            log.warning("%s for %s not sent: %s", type(command).__name__, vid, exc)
            return
        what = "return to depot" if isinstance(command, m.ReturnToDepot) else "command"
        future.add_done_callback(lambda f: self._plan_answered(vid, f, what=what))

    # ------------------------------------------------------------------ vehicle out
    def replan_waiting(self, vid: str, why: str) -> None:
        """A ground vehicle is out (or must not take its pickups): report riders aboard,
        re-plan riders still waiting, and tell the vehicle its remaining plan (drop-offs)."""
        gv = self.service.ground.vehicles[vid]
        if not why.startswith(f"vehicle {vid} battery low"):
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
        if waiting:
            self.send_plan(vid)  # withdraw the pickups (queued while the link is down)
