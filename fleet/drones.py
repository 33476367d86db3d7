"""Drone operations: dispatched parcels flown as MAVLink missions, watched by the supervisor.

For each order the dispatcher assigned to a drone, a sortie: the legs (own pad -> warehouse to
load, if not its own -> a pad at the drone port -> own pad) are routed through the airspace by
`geofences.plan_route` (eastbound legs at the cruise altitude, westbound ones `RETURN_LAYER_M`
higher, so drones meeting head-on on a shared corridor pass a layer apart) and
turned into a mission: take off, cruise waypoints, land and wait to load, land at the port,
open the gripper as the wait begins, take off, cruise back, land. The fence is fitted to the
path and to what the drone can store (`geofences.fit_fence`: an inclusion zone and every volume
within reach, as cheap covering shapes; a drone that answers MAV_MISSION_NO_SPACE gets one
fitted to half as many items). Before upload the autopilot parameters the mission relies on
are written (ArduPilot: MIS_OPTIONS "continue after land", DISARM_DELAY above the longest wait
on the ground, FENCE_TYPE altitude + zones, FENCE_ALT_MAX); then GUIDED, arm (once no other
drone climbs or descends near its pad), start. Telemetry is followed (`fleet.drone_sortie`):
past the port landing near the port delivers the order; disarmed before it, landed short.

The supervisor's drone rules live here too, checked on every telemetry pass:
- link lost (`supervisor.link_lost_s`, the link's own LOST state): the parcel aboard stays with
  the drone (its order stays in flight); orders queued for it and not yet loaded are
  re-dispatched; when the link returns, `supervisor.drone_link_lost_action` says whether to
  trust the drone's own failsafe (`wait`) or command `rtl` / `land`;
- battery: below the reserve plus `battery_margin_fraction` while flying: return to launch;
- conformance: further than `supervisor.off_path_m` from the planned path: hold (BRAKE) for
  `OFF_PATH_HOLD_S`, then on with the mission (not while the look-ahead sees restricted airspace);
Every action is journaled (kind `supervisor`) and so reaches the live feed.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import logging
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import shapely

from fleet.drone_link import link_config, open_endpoint, sped_up_stream_rates_hz
from fleet.drone_sortie import (
    DELIVERED_WITHIN_M,
    Sortie,
    distance_m,
    no_fly_ahead,
    soc_needed,
)
from fleet.drone_traffic import (
    CONFLICT_GUARD_M,
    CONFLICT_LOOKAHEAD_S,
    CONFLICT_VERTICAL_M,
    HOLD_FROM_M,
    HOLD_SPACING_M,
    TERMINAL_ALT_M,
    TERMINAL_AREA_M,
    TERMINAL_WAIT_S,
    Vector,
    area_busy,
    closing_speed,
    home_pad,
    kinematics,
    pad_occupied,
    port_pad,
    predicted_miss_m,
)
from fleet.lifecycle import MISSION, ORDER
from geofences.conformance import ConformanceChecker, Violation
from geofences.fence import FenceFitError, FittedFence, fit_fence
from geofences.frame import to_local, to_wgs84
from geofences.route import RouteOptions
from geofences.routing import plan_route, router_for
from geofences.volumes import RuleKind
from vehicles.mavlink import FlightMode, LinkState
from vehicles.mavlink import mission_plan as mp
from vehicles.mavlink.codec import C
from vehicles.mavlink.drone import Drone as DroneHandle
from vehicles.mavlink.mission import MissionRejectedError
from vehicles.mavlink.operation import LinkError
from vehicles.mavlink.params import REAL32
from vehicles.mavlink.telemetry import DroneState
from vehicles.mavlink.transport import Endpoint

if TYPE_CHECKING:
    from fleet.service import FleetService

__all__ = ["DroneCrew", "DroneOperations", "Sortie", "flight_layers", "link_config",
           "no_fly_ahead", "open_endpoint", "soc_needed", "sped_up_stream_rates_hz",
           "warm_up_routers"]

log = logging.getLogger("kaiteki.fleet.drones")
NAV_LAND = 21  # MAV_CMD_NAV_LAND
FENCE_ITEMS = 84  # fence items asked of a drone at first; halved after MAV_MISSION_NO_SPACE
MIN_FENCE_ITEMS = 8
RETURN_LAYER_M = 55.0  # legs not towards a drone port fly this much above the cruise altitude
CEILING_AGL_M = 150.0  # the legal ceiling (Japan: 150 m above ground)
MIS_OPTION_CONTINUE_AFTER_LAND = 4  # ArduPilot MIS_OPTIONS bit 2
FENCE_TYPE_ALT_MAX_AND_POLYGONS = 5  # ArduPilot FENCE_TYPE bits 0 (max altitude) and 2 (zones)
INT8, INT16 = int(C.MAV_PARAM_TYPE_INT8), int(C.MAV_PARAM_TYPE_INT16)
LOOKAHEAD_S = 15.0  # conformance: how far ahead (at the current velocity) to look for no-fly
PREFLIGHT_MARGIN = 0.05  # battery fraction a sortie starts with beyond what the supervisor needs
FRESH_BATTERY_SOC = 0.95  # a sortie starts on a swapped battery (dispatch.live plans a swap)
TRAFFIC_WAIT_S = 180.0
DEPARTURE_WAIT_S = 900.0  # a departure waits this long for its terminal area, then gives up
OFF_PATH_HOLD_S = 20.0  # an off-path hold lasts this long before the mission goes on
MIN_CLOSING_M_S = 0.5  # a conflict needs one drone flying towards the other at least this fast  # the longest a drone holds en route for another to pass
ADOPT_WAIT_S = 120.0  # after a restart, how long a drone flying a sortie has to be heard
MAX_SORTIE_ATTEMPTS = 3  # sorties that fail before take-off (upload, arming) before the order fails


class SortieWithdrawnError(LinkError):
    """The order went elsewhere (re-dispatched, cancelled) before the drone took off."""


@dataclass
class DroneCrew:
    """What the service knows about one drone beyond its record."""

    vehicle_id: str
    sysid: int
    home: tuple[float, float]
    handle: DroneHandle
    queue: list[str] = field(default_factory=list)
    sortie: Sortie | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    flags: set[str] = field(default_factory=set)
    mission: str = "planned"  # state of the current mission (fleet.lifecycle.MISSION)
    fence_items: int = FENCE_ITEMS  # fence storage assumed; halved when the drone says NO_SPACE
    hold_since_s: float | None = None  # holding short of a busy landing pad since
    hold_pad: tuple[float, float] | None = None  # the pad it holds for
    off_path_since_s: float | None = None  # held for being off the planned path since
    commands: asyncio.Lock = field(default_factory=asyncio.Lock)  # supervisor commands in turn
    paused_by: set[str] = field(default_factory=set)  # "landing", "traffic": why it holds
    yield_to: str | None = None  # holding en route for this drone to pass
    yield_since_s: float = 0.0
    yield_v: tuple[float, float, float] = (0.0, 0.0, 0.0)  # its velocity when it stopped
    landing_claim: tuple[float, float] | None = None  # the pad it lands on or leaves, in its turn
    idle_seen: tuple[Any, ...] | None = None  # what the supervisor last saw of it without a sortie
    # the look-ahead's answer for the position and velocity it was last asked about
    ahead_seen: tuple[tuple[float | None, ...], list[Violation]] | None = None

    @property
    def state(self) -> DroneState:
        return self.handle.state
    params: dict[str, float] = field(default_factory=dict)  # autopilot parameters confirmed


class DroneOperations:
    """The MAVLink side of the service (see the module docstring)."""

    def __init__(
        self, service: FleetService, endpoint: Endpoint, plan_in_thread: bool = True
    ) -> None:
        self.service = service
        self.endpoint = endpoint
        # routing a sortie takes tens of milliseconds: off the event loop in production, inline
        # under a virtual clock (fast mode), where a thread's finishing time would break the
        # same-seed-same-run promise
        self.plan_in_thread = plan_in_thread
        self.crews: dict[str, DroneCrew] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.failures: dict[str, int] = {}  # order id -> sorties that failed before take-off
        # the look-ahead acts on what a drone may not enter (permission areas are planned for)
        self.checker = ConformanceChecker(service.airspace, clearance_m=0.0,
                                          kinds=(RuleKind.NO_FLY, RuleKind.OBSTACLE))

    def warm_up(self) -> None:
        """Build the airspace routers of every flight layer now (see `warm_up_routers`)."""
        warm_up_routers(self.service)

    def start(self) -> None:
        """Follow every configured drone (the endpoint is the caller's: it opens and closes it)."""
        cfg = self.service.config
        for v in cfg.vehicles:
            if v.kind != "drone":
                continue
            site = self.service.sites[v.home]
            crew = DroneCrew(
                v.id, v.sysid, (site.lat_deg, site.lon_deg), self.endpoint.drone(v.sysid)
            )
            self.crews[v.id] = crew
            adopted = self._in_flight(crew)
            self._tasks.append(asyncio.create_task(self._fly_loop(crew, adopted)))
        self._tasks.append(asyncio.create_task(self._watch_loop()))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    # ------------------------------------------------------------------ from the service
    def assigned(self, order_id: str) -> None:
        order = self.service.records.orders[order_id]
        crew = self.crews.get(order.vehicle_id)
        if crew is not None and order_id not in crew.queue:
            crew.queue.append(order_id)
            crew.wake.set()

    def cancelled(self, order_id: str) -> None:
        for crew in self.crews.values():
            if order_id in crew.queue and (crew.sortie is None or crew.sortie.order_id != order_id):
                crew.queue.remove(order_id)

    async def command(self, vehicle_id: str, action: str) -> dict[str, Any]:
        """Operator hold / resume / return of a drone."""
        handle = self.crews[vehicle_id].handle
        try:
            if action == "hold":
                await handle.set_mode(FlightMode.BRAKE)
                self.service.record_vehicle_state(vehicle_id, "holding", "operator")
            elif action == "resume":
                await handle.set_mode(FlightMode.AUTO)
                self.service.record_vehicle_state(vehicle_id, "busy", "operator")
            else:
                await handle.return_to_launch()
                self.service.record_vehicle_state(vehicle_id, "returning", "operator")
        except LinkError as exc:
            return {
                "vehicle_id": vehicle_id,
                "action": action,
                "accepted": False,
                "detail": str(exc),
            }
        return {"vehicle_id": vehicle_id, "action": action, "accepted": True, "detail": ""}

    # ------------------------------------------------------------------ sorties
    def _in_flight(self, crew: DroneCrew) -> tuple[str, Sortie] | None:
        """After a restart: the sortie this drone was flying when the last service stopped
        (an order of its loaded or in flight, and the journaled start of that mission)."""
        svc = self.service
        flying = [o for o in svc.records.orders.values()
                  if o.vehicle_id == crew.vehicle_id and o.state in ("loaded", "in_flight")]
        if not flying:
            return None
        order_id = flying[0].id
        for entry in reversed(svc.journal.history(crew.vehicle_id)):
            data = entry.data
            if (entry.kind == "mission.state" and data.get("order_id") == order_id
                    and data.get("state") == "started" and "sortie" in data):
                sortie = Sortie.from_json(order_id, data["sortie"])
                sortie.was_armed = True  # it was flying; the restart hid part of the flight
                sortie.link_losses = 1
                return order_id, sortie
        return None

    async def _adopt(self, crew: DroneCrew, order_id: str, sortie: Sortie) -> None:
        """Follow a sortie a previous service started (see `_in_flight`), journaled."""
        crew.mission, crew.sortie = "started", sortie
        self.service.supervisor_action(
            crew.vehicle_id, "sortie adopted after restart",
            f"{order_id}: following the mission to its end (port landing is item "
            f"{sortie.land_seq})",
        )
        try:
            waited_s = 0.0
            while crew.handle.link_state is not LinkState.UP:  # its state, not a default
                if waited_s >= ADOPT_WAIT_S:
                    raise LinkError(f"no link {ADOPT_WAIT_S:.0f} s after the restart")
                await self.service.clock.sleep(1.0)
                waited_s += 1.0
            await self._follow(crew, order_id, sortie)
        except LinkError as exc:
            crew.sortie = None
            self._sortie_failed(crew, order_id, f"{crew.vehicle_id}: {exc}")

    async def _fly_loop(self, crew: DroneCrew, adopted: tuple[str, Sortie] | None = None
                        ) -> None:
        if adopted is not None:
            await self._adopt(crew, *adopted)
        while True:
            await crew.wake.wait()
            crew.wake.clear()
            while crew.queue:
                order_id = crew.queue[0]
                if self.service.records.orders[order_id].state != "assigned":
                    crew.queue.pop(0)
                    continue
                if crew.handle.link_state is not LinkState.UP or not crew.handle.readiness().ready:
                    await asyncio.sleep(0.2)  # wait for the drone (the supervisor watches links)
                    continue
                try:
                    await self._fly(crew, order_id)
                except (LinkError, ValueError) as exc:
                    log.warning("sortie of %s for %s failed: %s", crew.vehicle_id, order_id, exc)
                    crew.sortie = None
                    if order_id in crew.queue:
                        crew.queue.remove(order_id)
                    self._sortie_failed(crew, order_id, f"{crew.vehicle_id}: {exc}")

    def _sortie_failed(self, crew: DroneCrew, order_id: str, why: str) -> None:
        """A sortie that could not be flown: the order is dispatched again, or failed after
        `MAX_SORTIE_ATTEMPTS` (or at once if it was already aboard); one that has meanwhile
        reached an end (failed by a re-dispatch, cancelled) is left as it is."""
        self.failures[order_id] = self.failures.get(order_id, 0) + 1
        order = self.service.records.orders[order_id]
        state = order.state
        try:
            if state in ORDER.terminal or order.vehicle_id != crew.vehicle_id:
                pass  # ended, or already given to another drone
            elif state in ("loaded", "in_flight"):
                self.service.fail_order(order_id, f"sortie broken off; {why}", "supervisor")
            elif self.failures[order_id] >= MAX_SORTIE_ATTEMPTS:
                self.service.fail_order(
                    order_id, f"gave up after {MAX_SORTIE_ATTEMPTS} attempts; {why}", "supervisor"
                )
            else:
                self.service.redispatch_order(order_id, why)
        except ValueError:  # an order that moved on meanwhile: never let a crew's loop die
            log.exception("order %s after a failed sortie", order_id)
        self.service.record_vehicle_state(crew.vehicle_id, "idle", crew.vehicle_id)

    def _mission(self, crew: DroneCrew, order_id: str) -> tuple[mp.MissionPlan, Sortie, float]:
        """The sortie's mission (home -> warehouse to load -> drone port -> home), the sortie to
        follow, and the longest wait on the ground (the autopilot must not disarm in it)."""
        svc = self.service
        order = svc.records.orders[order_id]
        wh = svc.sites[order.warehouse]
        d = svc.config.drone
        alt, speed = d.cruise_alt_m, d.cruise_speed_m_s
        pad = home_pad(crew.handle.state, crew.home)
        port_site = svc.sites[order.drone_port]
        port = port_pad((port_site.lat_deg, port_site.lon_deg), port_site.capacity,
                        self._others(crew))
        loading = (wh.lat_deg, wh.lon_deg)
        if order.warehouse == svc.records.vehicles[crew.vehicle_id].home:
            loading = pad  # loaded on its own pad before take-off: no stop
        stops = [pad, loading, port, pad]
        steps: list[mp.Step] = [mp.Takeoff(alt)]
        line: list[tuple[float, float]] = []
        waits = [d.landing_service_s]
        layers = self._layers()
        legs = [(a, b, i) for i, (a, b) in enumerate(itertools.pairwise(stops)) if a != b]
        if legs:
            steps = [mp.Takeoff(layers[eastbound(legs[0][0], legs[0][1])][0])]
        for n, (a, b, i) in enumerate(legs):
            # the semicircular rule: eastbound legs at the cruise altitude, westbound ones a
            # layer higher, so drones meeting head-on on a shared corridor pass a layer apart
            leg_alt, options = layers[eastbound(a, b)]
            route = plan_route(svc.airspace, a, b, options)
            if not route.legal and options is not svc.route_options:
                leg_alt, options = alt, svc.route_options
                route = plan_route(svc.airspace, a, b, options)
            if not route.legal:
                raise ValueError(f"no legal route: {route.reason}")
            line += [to_local(w.lat_deg, w.lon_deg) for w in route.waypoints]
            steps += [
                mp.Waypoint(w.lat_deg, w.lon_deg, max(leg_alt, w.alt_agl_m), speed_m_s=speed)
                for w in route.waypoints[1:-1]
            ]
            nxt = legs[n + 1] if n + 1 < len(legs) else None
            next_alt = layers[eastbound(nxt[0], nxt[1])][0] if nxt is not None else alt
            if i == 0:  # at the warehouse (not home): land to load
                steps.append(mp.LandAndWait(*b, wait_s=d.loading_s, takeoff_alt_m=next_alt))
                waits.append(d.loading_s)
            elif i == 1:  # at the drone port: land, open the gripper, wait, take off
                steps.append(
                    mp.LandAndWait(*b, wait_s=d.landing_service_s, takeoff_alt_m=next_alt,
                                   release_gripper=True)
                )
            else:
                steps.append(mp.Land(*b))
        if steps[-1] != mp.Land(*pad):
            steps.append(mp.Land(*pad))
        home = crew.handle.state.home
        home_amsl = home.alt_amsl_m if home is not None else 0.0
        plan = mp.MissionPlan(tuple(steps), home=(*pad, home_amsl))
        items = mp.mission_items(plan)
        lands = [k for k, it in enumerate(items) if it.command == NAV_LAND]
        port_land = lands[-2]  # the last landing is home; the one before it is the drone port
        sortie = Sortie(order_id, port_land, lands[-1], shapely.LineString(line), port=port,
                        stale_reached=crew.handle.state.mission_reached_seq,
                        landings={k: (items[k].x / 1e7, items[k].y / 1e7) for k in lands})
        return plan, sortie, max(waits)

    def _layers(self) -> dict[bool, tuple[float, RouteOptions]]:
        return flight_layers(self.service.route_options)

    def _top_alt_m(self) -> float:
        """The highest flight layer's altitude (climbs and descents go through every layer)."""
        return max(alt for alt, _ in self._layers().values())


    def _fence(self, sortie: Sortie, max_items: int) -> FittedFence:
        """The fence for a sortie, fitted to what the drone can store (see `fit_fence`)."""
        path = [to_wgs84(x, y) for x, y in sortie.path.coords]
        top_m = self._top_alt_m()
        return fit_fence(self.service.airspace, path, self.service.route_options, max_items,
                         top_cruise_alt_m=top_m)

    def _plan_now(self, crew: DroneCrew, order_id: str
                  ) -> tuple[mp.MissionPlan, Sortie, float, FittedFence]:
        mission, sortie, wait_s = self._mission(crew, order_id)
        return mission, sortie, wait_s, self._fence(sortie, crew.fence_items)

    async def _plan(self, crew: DroneCrew, order_id: str
                    ) -> tuple[mp.MissionPlan, Sortie, float, FittedFence]:
        """Route and fence a sortie (tens of milliseconds, up to a second for the first route):
        in a thread, or inline under a virtual clock (fast mode)."""
        if self.plan_in_thread:
            return await asyncio.to_thread(self._plan_now, crew, order_id)
        return self._plan_now(crew, order_id)

    async def _set_param(self, crew: DroneCrew, name: str, value: float, kind: int) -> None:
        if crew.params.get(name) != value:
            await crew.handle.set_param(name, value, kind)
            crew.params[name] = value

    async def _configure(self, crew: DroneCrew, wait_s: float, fence: FittedFence) -> None:
        """Autopilot parameters the sortie relies on (ArduPilot names), written when they differ
        from what was last confirmed: continue the mission after a landing (MIS_OPTIONS bit 2),
        no auto-disarm during a wait on the ground (DISARM_DELAY above the longest wait, or 0
        beyond its 127 s range), and a fence of altitude and zones (no home circle, which a
        13 km sortie would leave) with the fitted ceiling."""
        handle = crew.handle
        if handle.state.autopilot != C.MAV_AUTOPILOT_ARDUPILOTMEGA:
            return  # PX4 and others: their own parameters (not modelled here)
        if "MIS_OPTIONS" not in crew.params:
            crew.params["MIS_OPTIONS"] = (await handle.get_param("MIS_OPTIONS")).value
        options = int(crew.params["MIS_OPTIONS"]) | MIS_OPTION_CONTINUE_AFTER_LAND
        await self._set_param(crew, "MIS_OPTIONS", float(options), INT16)
        delay_s = math.ceil(wait_s) + 15
        await self._set_param(crew, "DISARM_DELAY", float(delay_s if delay_s <= 127 else 0), INT8)
        await self._set_param(crew, "FENCE_TYPE", float(FENCE_TYPE_ALT_MAX_AND_POLYGONS), INT8)
        await self._set_param(crew, "FENCE_ALT_MAX", float(fence.shapes.max_alt_agl_m), REAL32)

    async def _upload_fence(self, crew: DroneCrew, sortie: Sortie, fence: FittedFence
                            ) -> FittedFence:
        """Upload the fence; a drone that has no room for it gets one fitted to half as many
        items (down to `MIN_FENCE_ITEMS`), the volumes within reach all kept."""
        while True:
            polygons = [mp.FencePolygon(p.vertices, p.inclusion) for p in fence.shapes.polygons]
            circles = [mp.FenceCircle(c.center[0], c.center[1], c.radius_m, c.inclusion)
                       for c in fence.shapes.circles]
            try:
                await crew.handle.upload_fence(mp.fence_items(polygons, circles))
                return fence
            except MissionRejectedError as exc:
                smaller = min(crew.fence_items, fence.items) // 2
                if exc.result != C.MAV_MISSION_NO_SPACE or smaller < MIN_FENCE_ITEMS:
                    raise
                crew.fence_items = smaller
                log.info("%s has no room for %d fence items: fitting %d", crew.vehicle_id,
                         fence.items, smaller)
                if self.plan_in_thread:
                    fence = await asyncio.to_thread(self._fence, sortie, smaller)
                else:
                    fence = self._fence(sortie, smaller)

    async def _fly(self, crew: DroneCrew, order_id: str) -> None:
        svc = self.service
        try:
            plan, sortie, wait_s, fence = await self._plan(crew, order_id)
        except FenceFitError as exc:
            raise ValueError(f"no fence fits the drone: {exc}") from exc
        handle = crew.handle
        crew.mission = "planned"
        await self._battery_for(crew, order_id, sortie)
        self._mission_state(
            crew,
            order_id,
            "uploading",
            f"{len(plan.steps)} steps, fence of {fence.items} items "
            f"({len(fence.volume_ids)} volumes within {fence.reach_m:.0f} m)",
        )
        try:
            await self._configure(crew, wait_s, fence)
            await handle.upload_mission(
                mp.mission_items(plan, autopilot=handle.state.autopilot or 3)
            )
            fence = await self._upload_fence(crew, sortie, fence)
            await handle.enable_fence(True)
        except (LinkError, FenceFitError) as exc:
            self._mission_state(crew, order_id, "upload_failed", str(exc))
            if isinstance(exc, FenceFitError):
                raise ValueError(f"no fence fits the drone: {exc}") from exc
            raise
        self._mission_state(crew, order_id, "uploaded")
        waited_s, pad = 0.0, home_pad(crew.handle.state, crew.home)
        # a departure climbs through every layer: it waits while any drone flies in the
        # terminal area below the top layer (one that just left, one passing over)
        below_m = self._top_alt_m() + CONFLICT_VERTICAL_M
        while area_busy(pad, self._others(crew), below_m):  # departures in turn
            if waited_s >= DEPARTURE_WAIT_S:  # never into a busy area: the order goes elsewhere
                raise SortieWithdrawnError(
                    f"the terminal area at its pad stayed busy for {waited_s:.0f} s")
            await svc.clock.sleep(2.0)
            waited_s += 2.0
            self._still_ours(crew, order_id)
        crew.landing_claim = pad  # its turn: others wait until it is armed and then climbing
        try:
            self._still_ours(crew, order_id)
            await handle.set_mode(FlightMode.GUIDED)
            await handle.arm()
            self._still_ours(crew, order_id)
            await handle.start_mission()
        except LinkError as exc:
            crew.landing_claim = None
            self._mission_state(crew, order_id, "cancelled", str(exc))
            if handle.state.armed and handle.state.landed_state == "ON_GROUND":
                with contextlib.suppress(LinkError):
                    await handle.disarm()
            raise
        self._mission_state(crew, order_id, "started", sortie=sortie.to_json())
        crew.sortie = sortie
        svc.record_order_state(order_id, "loaded", crew.vehicle_id)
        svc.record_order_state(order_id, "in_flight", crew.vehicle_id)
        svc.record_vehicle_state(crew.vehicle_id, "busy", crew.vehicle_id)
        await self._follow(crew, order_id, sortie)

    async def _follow(self, crew: DroneCrew, order_id: str, sortie: Sortie) -> None:
        """Follow a started sortie to its end: the delivery (or where it fell short), then the
        landing back home."""
        svc, handle = self.service, crew.handle
        longest_s = 6 * 3600.0

        def past_port(st: DroneState) -> bool:
            sortie.follow(st)
            return sortie.past_port or (sortie.was_armed and not st.armed)

        down = await handle.wait_for(past_port, longest_s)

        def port_seen(st: DroneState) -> bool:  # a position at the port may come a bit later
            sortie.follow(st)
            miss_m = sortie.port_miss_m
            return (miss_m is not None and miss_m <= DELIVERED_WITHIN_M) or not st.armed or (
                sortie.max_seq > sortie.land_seq + 2
            )

        if sortie.past_port:
            with contextlib.suppress(LinkError):
                await handle.wait_for(port_seen, 600.0)
        miss_m = sortie.port_miss_m
        # the autopilot passes the port's NAV_LAND only after touching down where it says; a
        # position far from the pad disproves that only if the link showed the landing
        seen = sortie.link_losses == 0
        if sortie.past_port and (miss_m is None or miss_m <= DELIVERED_WITHIN_M or not seen):
            svc.record_order_state(order_id, "delivered", crew.vehicle_id)
        elif sortie.past_port:  # the mission went on, but not at the port (a repositioned drone)
            svc.fail_order(order_id, f"{crew.vehicle_id} came down {miss_m:.0f} m from the drone "
                           "port; the parcel was released there", crew.vehicle_id)
        else:  # down (disarmed) before the drone port: the parcel is still aboard
            sites = {k: (v.lat_deg, v.lon_deg) for k, v in svc.sites.items()}
            svc.fail_order(order_id, f"{crew.vehicle_id} {sortie.short_of_port(down, sites)}",
                           crew.vehicle_id)
        sortie.delivered = True
        if order_id in crew.queue:
            crew.queue.remove(order_id)
        svc.drones.release(order_id)

        def landed(st: DroneState) -> bool:
            sortie.follow(st)
            return sortie.was_armed and not st.armed

        await handle.wait_for(landed, longest_s)
        self._mission_state(
            crew, order_id, "completed" if sortie.past_port else "aborted"
        )
        crew.sortie = None
        crew.flags.clear()
        crew.hold_since_s = crew.hold_pad = crew.yield_to = crew.off_path_since_s = None
        crew.landing_claim = None
        crew.paused_by.clear()
        svc.record_vehicle_state(crew.vehicle_id, "idle", crew.vehicle_id)

    async def _battery_for(self, crew: DroneCrew, order_id: str, sortie: Sortie) -> None:
        """Pre-flight: the battery holds the whole sortie (its path at cruise with the parcel, the
        take-off, every landing, from the top flight layer) with the reserve, the supervisor's
        margin (what it checks in flight) and `PREFLIGHT_MARGIN` more, so that wind and the
        estimate's error do not turn a normal sortie back in flight; and, as the dispatcher
        plans, a fresh battery (`FRESH_BATTERY_SOC`: a swap after every sortie). A drone back
        from a sortie waits for its battery swap (up to `battery_swap_s` and a minute more);
        a battery still short, or no battery telemetry, cancels the sortie (ValueError: the
        order is dispatched again)."""
        svc = self.service
        d, sv = svc.config.drone, svc.config.supervisor
        top = dataclasses.replace(  # climbs and descents from the top flight layer
            d, cruise_alt_m=self._top_alt_m())
        reserve = d.reserve_fraction + sv.battery_margin_fraction + PREFLIGHT_MARGIN
        port = sortie.port_along_m  # the parcel is aboard this far
        landings = max(0, len(sortie.landings) - 1)
        need = soc_needed(port, landings, top, reserve, takeoff=True,
                          payload_kg=svc.records.orders[order_id].weight_kg,
                          unloaded_m=sortie.path.length - port)
        if need > 1.0:
            raise ValueError(f"the sortie needs {need:.0%} of a battery (reserve included)")

        def soc() -> float | None:
            pct = crew.handle.state.battery_remaining_pct
            return None if pct is None else pct / 100.0

        waited_s, limit_s = 0.0, d.battery_swap_s + 60.0
        # the dispatcher plans a swap for a full battery before every sortie: wait for it
        # (quietly when the battery would do anyway: the swap is routine)
        while (now := soc()) is None or now < max(need, FRESH_BATTERY_SOC):
            if waited_s == 0.0 and (now is None or now < need):
                svc.supervisor_action(
                    crew.vehicle_id, "battery short for the sortie: wait for a swap",
                    f"{order_id}: {'unknown' if now is None else f'{now:.0%}'} left, "
                    f"the sortie needs {need:.0%} (reserve and margin included)",
                )
            if waited_s >= limit_s:
                left = "unknown" if now is None else f"{now:.0%}"
                raise ValueError(f"battery {left} after {waited_s:.0f} s on the ground; "
                                 f"the sortie needs {need:.0%}")
            await svc.clock.sleep(5.0)
            waited_s += 5.0
            self._still_ours(crew, order_id)

    def _still_ours(self, crew: DroneCrew, order_id: str) -> None:
        """Before take-off: the order is still this drone's to fly (a lost link meanwhile has
        it re-dispatched, a cancellation ends it); else the sortie stops on the ground."""
        state = self.service.records.orders[order_id].state
        if state != "assigned" or order_id not in crew.queue:
            raise SortieWithdrawnError(f"order {order_id} is {state} now; not taking off")

    def _mission_state(self, crew: DroneCrew, order_id: str, state: str, detail: str = "",
                       sortie: dict[str, Any] | None = None) -> None:
        """Move the drone's mission along the MISSION lifecycle table, journaled (a started
        one with its sortie, so a restarted service can follow it to its end)."""
        MISSION.check(crew.mission, state)
        crew.mission = state
        self.service.record_event(
            "mission.state",
            crew.vehicle_id,
            crew.vehicle_id,
            {"state": state, "order_id": order_id, **({"detail": detail} if detail else {}),
             **({"sortie": sortie} if sortie is not None else {})},
        )

    # ------------------------------------------------------------------ supervisor
    async def _watch_loop(self) -> None:
        while True:
            await self.service.clock.sleep(1.0)
            for vid in sorted(self.crews):
                try:
                    self._watch(self.crews[vid])
                except Exception:  # the supervisor must never die
                    log.exception("drone supervision of %s failed", vid)
            try:
                self._traffic()
            except Exception:
                log.exception("drone traffic supervision failed")

    def _watch(self, crew: DroneCrew) -> None:
        svc = self.service
        sv = svc.config.supervisor
        record = svc.records.vehicles[crew.vehicle_id]
        link = crew.handle.link_state
        drone = svc.drones.drones.get(crew.vehicle_id)
        if crew.sortie is None:
            # without a sortie what follows depends on the telemetry, the link and the records
            # only: a drone idle on the ground (heard every few seconds) is looked at again once
            # one of them changed
            seen = (crew.handle.link.state_version, link, record.state,
                    None if drone is None else drone.online)
            if seen == crew.idle_seen:
                return
            crew.idle_seen = seen
        else:
            crew.idle_seen = None
        s = crew.handle.state
        record.link = {LinkState.UP: "up", LinkState.DEGRADED: "degraded"}.get(link, "lost")
        if s.lat_deg is not None and s.lon_deg is not None:
            record.telemetry = {
                "lat_deg": s.lat_deg,
                "lon_deg": s.lon_deg,
                "alt_rel_m": s.alt_rel_m,
                "heading_deg": s.heading_deg,
                "speed_m_s": s.ground_speed_m_s,
                "battery_soc": None
                if s.battery_remaining_pct is None
                else s.battery_remaining_pct / 100,
                "armed": s.armed,
                "mode": s.mode,
                "mission_seq": s.mission_seq,
            }
            record.last_seen_s = s.position_t_s
            svc.feed.publish(
                {
                    "type": "vehicle",
                    "id": crew.vehicle_id,
                    "kind": "drone",
                    "state": record.state,
                    "link": record.link,
                    **record.telemetry,
                },
                kind="drone",
                lat=s.lat_deg,
                lon=s.lon_deg,
            )
        online = link is LinkState.UP and crew.handle.readiness().ready
        if drone is not None and drone.online != online and (online or link is LinkState.LOST):
            svc.drones.set_online(crew.vehicle_id, online)
        if link is LinkState.LOST and "lost" not in crew.flags:
            crew.flags.add("lost")
            self._link_lost(crew)
        elif link is LinkState.UP and "lost" in crew.flags:
            crew.flags.discard("lost")
            self._link_back(crew)
        sortie = crew.sortie
        if sortie is None or link is LinkState.LOST or not s.armed:
            return
        soc = record.telemetry.get("battery_soc")
        if (
            soc is not None
            and s.lat_deg is not None
            and s.lon_deg is not None
            and "battery" not in crew.flags
        ):
            x, y = to_local(s.lat_deg, s.lon_deg)
            d = svc.config.drone
            rest_m = sortie.rest_m(x, y, svc.clock.now_s(), d.cruise_speed_m_s)
            home_m = math.dist((x, y), to_local(*crew.home))
            reserve = d.reserve_fraction + sv.battery_margin_fraction
            landings = 0 if sortie.delivered else 1
            # the parcel is aboard as far as the drone port, not on the way back
            to_port_m = 0.0 if sortie.delivered else min(rest_m, max(
                0.0, sortie.port_along_m - (sortie.path.length - rest_m)))
            need_rest = soc_needed(
                to_port_m, landings, d, reserve, unloaded_m=rest_m - to_port_m,
                payload_kg=svc.records.orders[sortie.order_id].weight_kg,
            )
            if soc < need_rest:
                crew.flags.add("battery")
                need_home = soc_needed(home_m, 0, d, reserve)
                if soc >= need_home:
                    what, command = (
                        "battery short of the plan: return to launch",
                        crew.handle.return_to_launch(),
                    )
                else:
                    what, command = "battery short of home: land now", crew.handle.land()
                svc.supervisor_action(
                    crew.vehicle_id,
                    what,
                    f"{soc:.0%} left; the rest of the plan ({rest_m:.0f} m) needs {need_rest:.0%}, "
                    f"home ({home_m:.0f} m) {need_home:.0%}, reserve included",
                )
                self._spawn(crew, command)
        if s.lat_deg is not None and s.lon_deg is not None and not sortie.path.is_empty:
            here = to_local(s.lat_deg, s.lon_deg)
            off_m = sortie.off_path_m(*here, sv.off_path_m)  # exact beyond the limit
            now_s = svc.clock.now_s()
            returning = "battery" in crew.flags  # sent home or down: off the path by design
            if off_m > sv.off_path_m and "off_path" not in crew.flags and not returning:
                crew.flags.add("off_path")
                crew.off_path_since_s = now_s
                svc.supervisor_action(
                    crew.vehicle_id,
                    "off the planned path: hold",
                    f"{off_m:.0f} m from the path (limit {sv.off_path_m:.0f} m)",
                )
                self._spawn(crew, crew.handle.set_mode(FlightMode.BRAKE))
            elif (crew.off_path_since_s is not None and now_s - crew.off_path_since_s
                  >= OFF_PATH_HOLD_S and s.mode == "BRAKE" and not returning
                  and "no_fly" not in crew.flags):
                # a hold is a moment to look, not a place to stay: the battery drains while
                # it hovers. The mission goes on to its next waypoint; the look-ahead holds
                # it again short of restricted airspace
                crew.off_path_since_s = None
                svc.supervisor_action(
                    crew.vehicle_id, "off the planned path: resume the mission",
                    f"{sortie.off_path_m(*here):.0f} m from the path after "
                    f"{OFF_PATH_HOLD_S:.0f} s of hold; "
                    "on to the next waypoint",
                )
                self._spawn(crew, crew.handle.set_mode(FlightMode.AUTO))
            elif "off_path" in crew.flags and crew.off_path_since_s is None and (
                    off_m <= sv.off_path_m):
                crew.flags.discard("off_path")  # back on the plan: a new deviation holds again
        ahead = self._no_fly_ahead(crew, s)
        if ahead and "no_fly" not in crew.flags:
            crew.flags.add("no_fly")
            svc.supervisor_action(
                crew.vehicle_id,
                "about to enter restricted airspace: hold",
                f"within {LOOKAHEAD_S:.0f} s: " + "; ".join(v.describe() for v in ahead[:3]),
            )
            self._spawn(crew, crew.handle.set_mode(FlightMode.BRAKE))
        self._landing_turn(crew, sortie, s)

    def _no_fly_ahead(self, crew: DroneCrew, s: DroneState) -> list[Violation]:
        """`no_fly_ahead`, asked again only once the position or velocity changed (fast mode
        hears a position every 2 s; the supervisor looks every second)."""
        key = (s.lat_deg, s.lon_deg, s.alt_amsl_m, s.vel_north_m_s, s.vel_east_m_s,
               s.vel_down_m_s)
        seen = crew.ahead_seen
        if seen is not None and seen[0] == key:
            return seen[1]
        ahead = no_fly_ahead(self.checker, s, LOOKAHEAD_S)
        crew.ahead_seen = (key, ahead)
        return ahead

    def _others(self, crew: DroneCrew) -> list[DroneCrew]:
        return [c for c in self.crews.values() if c is not crew]

    def _landing_turn(self, crew: DroneCrew, sortie: Sortie, s: DroneState) -> None:
        """Landings in turn: a drone on its way in to land holds where it is
        (MAV_CMD_DO_PAUSE_CONTINUE) while the terminal area around the pad of its next NAV_LAND
        is busy (`fleet.drone_traffic.area_busy`), once within `HOLD_FROM_M` of the pad plus
        `HOLD_SPACING_M` for every drone already holding for that area (a drone coming in behind
        one that holds stops short of it, not on top of it); those holding go in the order they
        began to hold. It goes on once clear, or after
        `TERMINAL_WAIT_S` whatever happens (and then does not hold again in that sortie)."""
        if s.lat_deg is None or s.lon_deg is None or s.mode != "AUTO":
            return
        # the next landing of the mission (the current item or one after it): an arrival holds
        # on its way in, not over the pad once the NAV_LAND is current
        seq = s.mission_seq or 0
        pad = next((sortie.landings[k] for k in sorted(sortie.landings) if k >= seq), None)
        now_s = self.service.clock.now_s()
        hold_since_s = crew.hold_since_s
        held = hold_since_s is not None
        others = self._others(crew)
        near = busy = False
        if pad is not None:
            holding = [
                o for o in others if o.hold_since_s is not None and o.hold_pad is not None
                and distance_m(o.hold_pad, pad) < TERMINAL_AREA_M
            ]
            # first come, first served: the drone cleared last pass goes on, then those that
            # began to hold earlier, then newcomers
            first = -math.inf if crew.landing_claim == pad else math.inf
            mine = (crew.hold_since_s if held else first, crew.vehicle_id)
            queued = any((o.hold_since_s, o.vehicle_id) < mine for o in holding)
            # a drone already holding for this pad stays in the queue wherever it holds: the
            # queue ahead of it shrinking must not put it outside the holding distance and so
            # release it behind the one just cleared
            near = (held and crew.hold_pad == pad) or distance_m(
                (s.lat_deg, s.lon_deg), pad) < HOLD_FROM_M + HOLD_SPACING_M * len(holding)
            busy = near and (s.alt_rel_m or 0.0) > TERMINAL_ALT_M and (
                queued or area_busy(pad, others))
        # the first in turn claims the pad until its landing item is done: two drones reaching
        # it in the same pass would otherwise both go down
        crew.landing_claim = pad if pad is not None and near and not busy else None
        if busy and not held and "hold_expired" not in crew.flags:
            crew.hold_since_s, crew.hold_pad = now_s, pad
            self.service.supervisor_action(
                crew.vehicle_id, "landing pad busy: hold", "another drone is on or over the pad"
            )
            self._pause(crew, "landing")
        elif hold_since_s is not None and (not busy or now_s - hold_since_s > TERMINAL_WAIT_S):
            if busy and pad is not None and pad_occupied(pad, others):
                # the hold has run its time, but a drone is on the pad: never land onto it
                # (the battery check still sends this one home if the wait runs it short)
                if "pad_occupied" not in crew.flags:
                    crew.flags.add("pad_occupied")
                    self.service.supervisor_action(
                        crew.vehicle_id, "landing pad occupied: keep holding",
                        f"held {TERMINAL_WAIT_S:.0f} s; another drone is on the pad",
                    )
                return
            crew.flags.discard("pad_occupied")
            if busy:
                crew.flags.add("hold_expired")
            crew.hold_since_s = crew.hold_pad = None
            self.service.supervisor_action(
                crew.vehicle_id, "landing pad clear: go on",
                "" if not busy else f"held {TERMINAL_WAIT_S:.0f} s: going on",
            )
            self._resume(crew, "landing")

    def _pause(self, crew: DroneCrew, why: str) -> None:
        """Hold the mission where the drone is, for `why` (a hold may have several reasons)."""
        if not crew.paused_by:
            self._spawn(crew, crew.handle.pause_mission())
        crew.paused_by.add(why)

    def _resume(self, crew: DroneCrew, why: str) -> None:
        """Drop one reason to hold; the mission goes on once none is left."""
        crew.paused_by.discard(why)
        if not crew.paused_by and crew.handle.state.mode == "AUTO":
            self._spawn(crew, crew.handle.resume_mission())

    def _traffic(self) -> None:
        """En route conflicts (`fleet.drone_traffic.predicted_miss_m`): of two airborne drones
        whose courses bring them too close within the look-ahead, the one flying towards the
        other holds (its mission paused) until its course, resumed, clears every other drone,
        or for `TRAFFIC_WAIT_S` at most. Drones holding already (for a pad, for traffic) keep
        their place: those coming at them give way. Only drones en route (above
        `TERMINAL_ALT_M`) are considered: climbs and descents at pads go by the terminal rules
        (`_landing_turn`, departures in turn), and holding a drone over a pad would block it."""
        now_s = self.service.clock.now_s()
        flying: dict[str, tuple[DroneCrew, tuple[Vector, Vector]]] = {}
        for vid in sorted(self.crews):
            c = self.crews[vid]
            st = c.state
            k = kinematics(st)
            if (k is not None and c.sortie is not None and st.armed
                    and st.landed_state != "ON_GROUND" and (st.alt_rel_m or 0.0) > TERMINAL_ALT_M
                    and c.handle.link_state is not LinkState.LOST):  # en route: above pads
                flying[vid] = (c, k)
        for vid, (c, k) in flying.items():  # those holding for traffic: clear yet?
            if c.yield_to is None:
                continue
            resumed = (k[0], c.yield_v)  # its course if it went on now: clear of every drone?
            clear = all(
                (miss := predicted_miss_m(resumed, ok)) is None or miss >= CONFLICT_GUARD_M
                for o, (_, ok) in flying.items() if o != vid
            )
            if clear or now_s - c.yield_since_s > TRAFFIC_WAIT_S:
                self.service.supervisor_action(
                    vid, "traffic clear: go on",
                    f"{c.yield_to} passed" if clear else f"held {TRAFFIC_WAIT_S:.0f} s: going on")
                c.yield_to = None
                self._resume(c, "traffic")
        ids = sorted(flying)
        for i, a in enumerate(ids):
            for b in ids[i + 1:]:
                (ca, ka), (cb, kb) = flying[a], flying[b]
                if ca.yield_to == b or cb.yield_to == a:
                    continue  # one of them holds for the other already
                miss = predicted_miss_m(ka, kb)
                if miss is None or miss >= CONFLICT_GUARD_M:
                    continue
                if max(closing_speed(ka, kb), closing_speed(kb, ka)) < MIN_CLOSING_M_S:
                    continue  # neither flies towards the other: holding would change nothing
                # who gives way: not a drone holding (for a pad) or out of AUTO; else the one
                # flying towards the other faster (the one behind, the faster converging)
                can_a = not ca.paused_by and ca.state.mode == "AUTO"
                can_b = not cb.paused_by and cb.state.mode == "AUTO"
                if not (can_a or can_b):
                    continue
                a_yields = can_a and (not can_b or closing_speed(ka, kb) >= closing_speed(kb, ka))
                y, (yc, yk), by = (a, flying[a], b) if a_yields else (b, flying[b], a)
                yc.yield_to, yc.yield_since_s, yc.yield_v = by, now_s, yk[1]
                self.service.supervisor_action(
                    y, "traffic: hold",
                    f"{by} would pass within {miss:.0f} m in the next "
                    f"{CONFLICT_LOOKAHEAD_S:.0f} s",
                )
                self._pause(yc, "traffic")

    def _link_lost(self, crew: DroneCrew) -> None:
        svc = self.service
        aboard = (
            crew.sortie.order_id if crew.sortie is not None and not crew.sortie.delivered else None
        )
        waiting = [o for o in crew.queue if o != aboard]
        if crew.sortie is not None:
            crew.sortie.link_losses += 1
        action = svc.config.supervisor.drone_link_lost_action
        crew.params.clear()  # confirm the autopilot's parameters again (it may have rebooted)
        svc.record_vehicle_state(crew.vehicle_id, "offline", "supervisor")
        svc.supervisor_action(
            crew.vehicle_id,
            "drone link lost",
            f"parcel aboard: {aboard or 'none'} (stays with the drone); re-dispatching {len(waiting)} "
            f"queued; on reconnection: {action}",
        )
        for order_id in waiting:
            crew.queue.remove(order_id)
            svc.redispatch_order(order_id, f"drone {crew.vehicle_id} link lost")

    def _link_back(self, crew: DroneCrew) -> None:
        svc = self.service
        action = svc.config.supervisor.drone_link_lost_action
        flying = crew.sortie is not None
        svc.record_vehicle_state(crew.vehicle_id, "busy" if flying else "idle", "supervisor")
        svc.supervisor_action(crew.vehicle_id, "drone link back", f"action: {action}")
        if flying and action == "rtl":
            self._spawn(crew, crew.handle.return_to_launch())
        elif flying and action == "land":
            self._spawn(crew, crew.handle.land())

    def _spawn(self, crew: DroneCrew, command: Any) -> None:
        """Send a command without waiting for it, after the drone's earlier ones (a pause and
        the resume that follows it must reach the drone in that order: over a real link a
        resume sent beside its pause can arrive first, be refused, and leave the drone paused);
        a command the drone refused or never acknowledged is logged (the supervisor's next pass
        sees the drone's actual state)."""

        async def in_turn() -> Any:
            async with crew.commands:
                return await command

        task: asyncio.Task[Any] = asyncio.ensure_future(in_turn())

        def done(t: asyncio.Task[Any]) -> None:
            if not t.cancelled() and (exc := t.exception()) is not None:
                log.warning("supervisor command failed: %s", exc)

        task.add_done_callback(done)


def eastbound(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """The leg from `a` to `b` (lat, lon) has a course of 0-179 degrees (east of north)."""
    (xa, ya), (xb, yb) = to_local(*a), to_local(*b)
    return xb > xa or (xb == xa and yb > ya)


def flight_layers(options: RouteOptions) -> dict[bool, tuple[float, RouteOptions]]:
    """(altitude, route options) of eastbound legs (True: the cruise altitude) and of
    westbound ones (False), which fly `RETURN_LAYER_M` higher (under the ceiling, with the
    vertical clearance): the semicircular rule of crewed flight, so opposite courses on one
    corridor are a layer apart."""
    alt = options.cruise_alt_m
    high = min(alt + RETURN_LAYER_M, CEILING_AGL_M - options.vertical_clearance_m)
    if high <= alt:
        return {True: (alt, options), False: (alt, options)}
    return {True: (alt, options), False: (high, dataclasses.replace(options, cruise_alt_m=high))}


def warm_up_routers(service: FleetService) -> None:
    """Build the airspace routers of every flight layer now (a second or two of CPU each),
    before any link runs, not in the first sortie."""
    for _, options in flight_layers(service.route_options).values():
        router_for(service.airspace, options)
