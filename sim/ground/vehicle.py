"""The sans-I/O core shared by simulated buses and personal mobility.

A `GroundVehicle` is a pure state machine stepped by `step(dt_s)`: it never reads a clock and
does no I/O. Inputs are method calls (a plan, hold, resume, return to depot, cancel, injected
faults and manual takeovers); outputs are `telemetry()` snapshots and the `VehicleEvent`s drained
by `events_out()`, stamped with the vehicle's own time line (`t_s`, advanced only by `step`).

The vehicle drives the fastest network route to its next target at the lower of its cruise speed
and each edge's limit, opens its doors on arrival, lets the plan's riders alight and board,
dwells, and departs. Safety rules: a plan must drop off every rider on board and never exceed the
capacity, else it is refused whole (`PlanError`) and nothing changes; cancel and return-to-depot
keep the drop-offs of riders on board, so no rider is ever stranded. Subclasses say what happens
when the targets run out (a bus rejoins its loop, personal mobility goes home to its depot).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from sim.ground.frame import heading_deg, to_wgs84
from sim.ground.lifecycle import check_transition
from sim.ground.network import RoadNetwork, TravelMode
from sim.ground.plan import (
    EventKind,
    Plan,
    PlanError,
    PlanStop,
    RiderId,
    StalePlanError,
    Telemetry,
    VehicleEvent,
    VehicleId,
    VehicleState,
)
from sim.ground.routing import EdgePosition, Route, Router, point_on_edge, snap

S = VehicleState
MAX_OFF_NETWORK_M = 250.0  # a lat/lon stop farther than this from any usable edge is refused


@dataclass(frozen=True, slots=True)
class VehicleParams:
    """Figures of a vehicle type (units in the names); validated on creation."""

    capacity: int
    cruise_speed_m_s: float
    dwell_s: float
    board_s_per_rider: float
    battery_wh: float
    drive_wh_per_m: float
    aux_w: float
    charge_w: float
    low_soc: float
    depot: str
    rescue_s: float = 1800.0  # [EST] a crew with a mobile charger reaches a stranded vehicle
    rescue_soc: float = 0.25  # [EST] what the mobile charger gives: enough to reach the depot

    def __post_init__(self) -> None:
        if self.capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {self.capacity}")
        for name in ("cruise_speed_m_s", "battery_wh"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0.0):
                raise ValueError(f"{name} must be positive, got {v!r}")
        for name in ("dwell_s", "board_s_per_rider", "drive_wh_per_m", "aux_w", "charge_w"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0.0):
                raise ValueError(f"{name} must be >= 0, got {v!r}")
        if not 0.0 <= self.low_soc < 1.0:
            raise ValueError(f"low_soc must be within 0..1, got {self.low_soc!r}")
        if not (math.isfinite(self.rescue_s) and self.rescue_s > 0.0):
            raise ValueError(f"rescue_s must be positive, got {self.rescue_s!r}")
        if not 0.0 < self.rescue_soc <= 1.0:
            raise ValueError(f"rescue_soc must be within (0, 1], got {self.rescue_soc!r}")


class TargetKind(StrEnum):
    PLAN = "plan"
    LOOP = "loop"
    DEPOT = "depot"


@dataclass(frozen=True, slots=True)
class Target:
    """Where the vehicle is heading and what happens there."""

    stop_id: str
    position: EdgePosition
    kind: TargetKind
    pickups: tuple[RiderId, ...] = ()
    dropoffs: tuple[RiderId, ...] = ()
    dwell_s: float | None = None


class GroundVehicle:
    """A simulated ground vehicle; see the module docstring."""

    mode: TravelMode = TravelMode.ROAD

    def __init__(
        self,
        vehicle_id: str,
        network: RoadNetwork,
        params: VehicleParams,
        start: str,
        *,
        t_s: float = 0.0,
        battery_soc: float = 1.0,
    ) -> None:
        if not 0.0 <= battery_soc <= 1.0:
            raise ValueError(f"battery_soc must be within 0..1, got {battery_soc!r}")
        self.vehicle_id = VehicleId(vehicle_id)
        self.network = network
        self.params = params
        self.router = Router(network, self.mode, params.cruise_speed_m_s)
        depot = self.router.position_of(params.depot)  # fails early, naming known places
        self._depot_xy = point_on_edge(network.edges[depot.edge], depot.offset_m)
        self.t_s = t_s
        self.battery_soc = battery_soc
        self.odometer_m = 0.0
        self.plan_version = -1
        self.onboard: list[RiderId] = []
        self._position = self.router.position_of(start)
        self._xy = point_on_edge(network.edges[self._position.edge], self._position.offset_m)
        self._heading_deg = 0.0
        self._base = S.IDLE
        self._held = False
        self._fault: str | None = None
        self._manual = False
        self._targets: list[Target] = []
        self._route: Route | None = None
        self._segment = 0
        self._progress_m = 0.0
        self._dwell_left_s = 0.0
        self._doors_open = False
        self._low_battery_reported = False
        self._parked = False  # told to return to depot: stay there until the next plan
        self._no_shows: set[RiderId] = set()
        self._events: list[VehicleEvent] = []
        self._stranded_s = 0.0  # time spent with an empty battery, waiting for the rescue crew

    # ------------------------------------------------------------------ outputs
    @property
    def state(self) -> VehicleState:
        """The reported state: the strongest overlay in force, else the base state."""
        if self._fault is not None:
            return S.FAULT
        if self._manual:
            return S.MANUAL
        if self._held:
            return S.HOLDING
        return self._base

    @property
    def fault_code(self) -> str | None:
        return self._fault

    @property
    def next_stop_id(self) -> str | None:
        return self._targets[0].stop_id if self._targets else None

    def events_out(self) -> list[VehicleEvent]:
        """Events since the last call, oldest first."""
        events, self._events = self._events, []
        return events

    def telemetry(self) -> Telemetry:
        lat, lon = to_wgs84(*self._xy)
        return Telemetry(
            t_s=self.t_s,
            lat_deg=lat,
            lon_deg=lon,
            heading_deg=self._heading_deg,
            speed_m_s=self._speed_now(),
            battery_soc=self.battery_soc,
            occupancy=len(self.onboard),
            capacity=self.params.capacity,
            doors_open=self._doors_open,
            state=self.state,
            plan_version=self.plan_version,
            next_stop_id=self.next_stop_id,
            odometer_m=self.odometer_m,
            charging=self.state is S.IDLE and self._at_depot() and self.battery_soc < 1.0,
        )

    def pending_stops(self) -> list[str]:
        """Stop ids still to visit, in order (the one being dwelt at first)."""
        return [t.stop_id for t in self._targets]

    # ------------------------------------------------------------------ inputs: commands
    def apply_plan(self, plan: Plan) -> None:
        """Follow `plan` from now on; `PlanError` (state unchanged) if it cannot be followed."""
        if plan.version <= self.plan_version:
            raise StalePlanError(
                f"plan version {plan.version} is not newer than current {self.plan_version}"
            )
        targets = [self._plan_target(s) for s in plan.stops]
        self._check_riders(targets, plan.version)
        self.plan_version = plan.version
        self._parked = False
        self._replace_targets(targets)

    def hold(self) -> None:
        """Stop where it is (doors as they are, dwell timer frozen) until `resume`."""
        self._set_overlay(held=True)

    def resume(self) -> None:
        """Lift a hold."""
        self._set_overlay(held=False)

    def return_to_depot(self, depot_id: str | None = None) -> None:
        """Drop off the riders on board, then drive to the depot (or `depot_id`) and stay."""
        depot_id = depot_id or self.params.depot
        try:
            position = self.router.position_of(depot_id)
        except KeyError as exc:
            raise PlanError(f"unknown depot {depot_id!r}") from exc
        keep = self._onboard_dropoffs()
        depot = Target(depot_id, position, TargetKind.DEPOT)
        self._parked = True
        self._replace_targets([*keep, depot])

    def cancel(self) -> None:
        """Drop the plan's remaining pickups; riders on board are still dropped off."""
        keep = self._onboard_dropoffs()
        self._replace_targets(keep)

    def inject_fault(self, code: str, detail: str = "") -> None:
        """The vehicle stops with a fault until `clear_fault` (an injected failure)."""
        if not code:
            raise ValueError("a fault needs a code")
        old = self.state
        self._fault = code
        check_transition(old, self.state)
        self._emit(EventKind.FAULT, stop_id=self.next_stop_id, code=code, detail=detail)

    def clear_fault(self) -> None:
        if self._fault is None:
            return
        code, old = self._fault, self.state
        self._fault = None
        check_transition(old, self.state)
        self._emit(EventKind.FAULT_CLEARED, code=code)

    def no_show(self, rider_id: str) -> None:
        """Rider `rider_id` will not be at their pickup: the vehicle reports a `no_show` fault
        event there (the vehicle itself is fine), dwells as usual and goes on without them."""
        self._no_shows.add(RiderId(rider_id))

    def take_over(self, detail: str = "") -> None:
        """A safety driver takes manual control: the simulator stops driving the vehicle."""
        if self._manual:
            return
        self._set_overlay(manual=True)
        self._emit(EventKind.MANUAL_TAKEOVER, stop_id=self.next_stop_id, detail=detail)

    def release(self) -> None:
        """The safety driver hands control back to the autonomy."""
        if self._manual:
            self._set_overlay(manual=False)
            self._emit(EventKind.MANUAL_RELEASED)

    # ------------------------------------------------------------------ inputs: time
    def step(self, dt_s: float) -> None:
        """Advance the vehicle's own time by `dt_s` seconds."""
        if not (math.isfinite(dt_s) and dt_s >= 0.0):
            raise ValueError(f"dt_s must be finite and >= 0, got {dt_s!r}")
        end_s = self.t_s + dt_s
        stalled = 0  # passes that moved no time (zero-length legs with zero dwell)
        while (left_s := end_s - self.t_s) > 1e-9:  # each pass ends a leg, a dwell or the step
            t_before = self.t_s
            state = self.state
            if state in (S.EN_ROUTE, S.RETURNING):
                if self._drive(left_s):
                    self._arrive()
            elif state is S.AT_STOP:
                if self._dwell_left_s <= left_s:
                    self._pass_time(self._dwell_left_s)
                    self._depart()
                else:
                    self._dwell_left_s -= left_s
                    self._pass_time(left_s)
            else:
                self._pass_time(left_s)
                if state is S.IDLE:
                    self._on_idle()
            stalled = stalled + 1 if self.t_s == t_before else 0
            if stalled > 1000:
                raise RuntimeError(f"{self.vehicle_id}: no progress (stops at one spot, no dwell?)")
        self.t_s = end_s

    # ------------------------------------------------------------------ subclass hooks
    def _after_last_target(self) -> None:
        """Called when the targets run out; the base vehicle just waits."""
        self._set_base(S.IDLE)

    def _on_arrival(self, target: Target) -> None:
        """Called on every arrival (e.g. a bus notes its place in the loop)."""

    def _on_idle(self) -> None:
        """Called after time passed while idle (e.g. a bus resumes service once charged)."""

    # ------------------------------------------------------------------ internals
    def _emit(
        self,
        kind: EventKind,
        *,
        stop_id: str | None = None,
        rider_id: RiderId | None = None,
        code: str | None = None,
        detail: str = "",
    ) -> None:
        lat_deg, lon_deg = to_wgs84(*self._xy)
        self._events.append(
            VehicleEvent(
                kind,
                self.t_s,
                self.plan_version,
                stop_id,
                rider_id,
                code,
                detail,
                lat_deg,
                lon_deg,
            )
        )

    def _set_base(self, new: VehicleState) -> None:
        old = self.state
        self._base = new
        check_transition(old, self.state)

    def _set_overlay(self, *, held: bool | None = None, manual: bool | None = None) -> None:
        old = self.state
        if held is not None:
            self._held = held
        if manual is not None:
            self._manual = manual
        check_transition(old, self.state)

    def _plan_target(self, stop: PlanStop) -> Target:
        if stop.lat_deg is not None and stop.lon_deg is not None:
            try:
                snapped = snap(self.network, stop.lat_deg, stop.lon_deg, self.mode)
            except ValueError as exc:
                raise PlanError(f"stop {stop.stop_id!r}: {exc}") from exc
            if snapped.off_network_m > MAX_OFF_NETWORK_M:
                raise PlanError(
                    f"stop {stop.stop_id!r} is {snapped.off_network_m:.0f} m from the nearest "
                    f"{self.mode} (at most {MAX_OFF_NETWORK_M:.0f} m)"
                )
            position = snapped.position
        else:
            try:
                position = self.router.position_of(stop.stop_id)
            except KeyError as exc:
                raise PlanError(f"unknown stop {stop.stop_id!r} and no lat/lon given") from exc
        return Target(
            stop.stop_id, position, TargetKind.PLAN, stop.pickups, stop.dropoffs, stop.dwell_s
        )

    def _check_riders(self, targets: list[Target], version: int) -> None:
        on = set(self.onboard)  # at a stop, its boarding is already done
        for t in targets:
            for rider in t.dropoffs:
                if rider not in on:
                    raise PlanError(
                        f"plan {version}: rider {rider!r} dropped off at {t.stop_id!r} "
                        "but neither on board nor picked up before"
                    )
                on.discard(rider)
            for rider in t.pickups:
                if rider in on:
                    raise PlanError(f"plan {version}: rider {rider!r} is already on board")
                on.add(rider)
            if len(on) > self.params.capacity:
                raise PlanError(
                    f"plan {version}: {len(on)} riders after {t.stop_id!r} exceed capacity "
                    f"{self.params.capacity}"
                )
        if on:
            raise PlanError(f"plan {version}: no drop-off for riders {sorted(on)}")

    def _onboard_dropoffs(self) -> list[Target]:
        """Remaining targets that drop off riders on board, stripped of their pickups."""
        on = set(self.onboard)
        keep: list[Target] = []
        for i, t in enumerate(self._targets):
            if i == 0 and self._base is S.AT_STOP:
                keep.append(t)  # the stop being served: finish the dwell
                continue
            drops = tuple(r for r in t.dropoffs if r in on)
            if drops:
                keep.append(Target(t.stop_id, t.position, t.kind, (), drops, t.dwell_s))
        return keep

    def _replace_targets(self, targets: list[Target]) -> None:
        if self._base is S.AT_STOP:
            current = self._targets[0]
            self._targets = [current, *[t for t in targets if t is not current]]
            return  # leave when the dwell ends
        self._targets = targets
        self._start_leg()

    def _start_leg(self) -> None:
        if not self._targets:
            self._route = None
            self._after_last_target()
            return
        target = self._targets[0]
        self._route = self.router.route(self._position, target.position)
        self._segment, self._progress_m = 0, 0.0
        self._set_base(S.RETURNING if target.kind is TargetKind.DEPOT else S.EN_ROUTE)

    def _speed_now(self) -> float:
        if self.state not in (S.EN_ROUTE, S.RETURNING) or self._route is None:
            return 0.0
        segments = self._route.segments
        return segments[self._segment].speed_m_s if self._segment < len(segments) else 0.0

    def _drive(self, left_s: float) -> bool:
        """Move along the route for up to `left_s`; True when the target is reached."""
        assert self._route is not None
        segments = self._route.segments
        while self._segment < len(segments):
            if self.state not in (S.EN_ROUTE, S.RETURNING):  # e.g. the battery just ran out
                return False
            seg = segments[self._segment]
            remaining_m = seg.length_m - self._progress_m
            need_s = remaining_m / seg.speed_m_s
            moved_m, used_s = (
                (remaining_m, need_s) if need_s <= left_s else (seg.speed_m_s * left_s, left_s)
            )
            self._progress_m += moved_m
            self.odometer_m += moved_m
            self._use_energy(self.params.drive_wh_per_m * moved_m)
            self._pass_time(used_s)
            left_s -= used_s
            frac = min(self._progress_m / seg.length_m, 1.0)
            ax, ay = seg.a_xy
            bx, by = seg.b_xy
            self._xy = (ax + frac * (bx - ax), ay + frac * (by - ay))
            self._heading_deg = heading_deg(bx - ax, by - ay)
            self._position = EdgePosition(seg.edge, seg.start_m + frac * (seg.end_m - seg.start_m))
            if need_s <= used_s + 1e-12:
                self._segment += 1
                self._progress_m = 0.0
            if left_s <= 1e-12:
                return self._segment >= len(segments)
        return True

    def _arrive(self) -> None:
        assert self._route is not None
        target = self._targets[0]
        self._position = target.position
        self._xy = point_on_edge(self.network.edges[target.position.edge], target.position.offset_m)
        self._route = None
        self._on_arrival(target)
        if target.kind is TargetKind.DEPOT:
            self._targets.pop(0)
            self._emit(EventKind.AT_DEPOT, stop_id=target.stop_id)
            self._set_base(S.IDLE)
            if self._targets:
                self._start_leg()
            return
        self._set_base(S.AT_STOP)
        self._emit(EventKind.ARRIVED, stop_id=target.stop_id)
        self._doors_open = True
        moves = 0
        for rider in target.dropoffs:
            if rider in self.onboard:
                self.onboard.remove(rider)
                moves += 1
                self._emit(EventKind.ALIGHTED, stop_id=target.stop_id, rider_id=rider)
        for rider in target.pickups:
            if rider in self._no_shows:
                self._no_shows.discard(rider)
                self._emit(
                    EventKind.FAULT,
                    stop_id=target.stop_id,
                    rider_id=rider,
                    code="no_show",
                    detail="rider not at the stop when the dwell began",
                )
                continue
            if len(self.onboard) >= self.params.capacity:  # plans are checked: only by a bug
                self._emit(
                    EventKind.FAULT,
                    stop_id=target.stop_id,
                    rider_id=rider,
                    code="capacity",
                    detail="rider not boarded: vehicle full",
                )
                continue
            self.onboard.append(rider)
            moves += 1
            self._emit(EventKind.BOARDED, stop_id=target.stop_id, rider_id=rider)
        base = self.params.dwell_s if target.dwell_s is None else target.dwell_s
        self._dwell_left_s = max(base, self.params.board_s_per_rider * moves)

    def _depart(self) -> None:
        target = self._targets.pop(0)
        self._doors_open = False
        self._emit(EventKind.DEPARTED, stop_id=target.stop_id)
        if target.kind is TargetKind.PLAN and not any(
            t.kind is TargetKind.PLAN for t in self._targets
        ):
            self._emit(EventKind.PLAN_COMPLETED, stop_id=target.stop_id)
        self._start_leg()

    def _pass_time(self, dt_s: float) -> None:
        """Time passes without moving: auxiliaries draw power; an idle vehicle at depot charges;
        a vehicle stranded with an empty battery is given a charge by the rescue crew after
        `rescue_s` (the fault clears and it carries on: riders aboard first, then to charge)."""
        self.t_s += dt_s
        if self._fault == "battery_empty":
            self._stranded_s += dt_s
            if self._stranded_s >= self.params.rescue_s:
                self._stranded_s = 0.0
                self.battery_soc = max(self.battery_soc, self.params.rescue_soc)
                self._low_battery_reported = False
                self.clear_fault()
            return
        self._use_energy(self.params.aux_w * dt_s / 3600.0)
        if self.state is S.IDLE and self._at_depot():
            gained = self.params.charge_w * dt_s / 3600.0 / self.params.battery_wh
            self.battery_soc = min(1.0, self.battery_soc + gained)
            if self.battery_soc > self.params.low_soc:
                self._low_battery_reported = False

    def _at_depot(self) -> bool:
        return math.dist(self._depot_xy, self._xy) < 1.0

    def _use_energy(self, wh: float) -> None:
        if wh <= 0.0:
            return
        self.battery_soc = max(0.0, self.battery_soc - wh / self.params.battery_wh)
        if self.battery_soc <= self.params.low_soc and not self._low_battery_reported:
            self._low_battery_reported = True
            self._emit(
                EventKind.FAULT,
                code="battery_low",
                detail=f"state of charge {self.battery_soc:.0%}",
            )
        if self.battery_soc <= 0.0 and self._fault is None:
            self.inject_fault("battery_empty", "battery exhausted: vehicle stopped")

    def low_battery(self) -> bool:
        return self.battery_soc <= self.params.low_soc
