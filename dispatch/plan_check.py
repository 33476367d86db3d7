"""An independent checker for domain plans (drones and ground trips).

It shares nothing with the model builders or the solver: it reads the domain objects (vehicles,
orders, trips, sites, travel matrices, the energy model in floats) and a plan as lists of stops
with times, and re-derives payloads, states of charge, loads and ride times from scratch.

Drone plans (`check_drone_plan`): every stop at the right site; each order loaded and released
at most once, by one drone, load before release; parcels on board at the start released by that
drone; payload never above the limit on any leg; the state of charge at every arrival at or above
the landing reserve (energy per leg at the payload actually carried, winch hover at payload,
batteries swapped at reloads and swap stops); times consistent with the matrix and service
times; loading not before ready time, release not after the deadline; end at home within shift;
committed stops first; every order either served or listed unserved with a reason.

Ground plans are checked by `ground_check.check_ground_plan` (same principles).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from dispatch.domain import DeliveryOrder, Site, SiteId, TravelMatrix, Vehicle
from dispatch.drone_plan import DronePlan, DroneRoute
from dispatch.energy import DroneEnergyModel

EPS_WH = 1e-6


@dataclass(frozen=True, slots=True)
class PlanReport:
    """The verdict: feasible when there are no violations."""

    violations: tuple[str, ...] = field(default=())
    min_soc: float = 1.0  # lowest state of charge at any arrival (drones)

    @property
    def feasible(self) -> bool:
        """True when the plan keeps every rule checked."""
        return not self.violations


def check_drone_plan(
    plan: DronePlan,
    drones: Sequence[Vehicle],
    orders: Sequence[DeliveryOrder],
    sites: Mapping[SiteId, Site],
    air: TravelMatrix,
    energy: DroneEnergyModel,
    *,
    swap_s: int,
    swap_at_reload: bool = True,
) -> PlanReport:
    """Judge a drone plan against the domain rules (see the module docstring)."""
    out: list[str] = []
    by_order: dict[str, DeliveryOrder] = {o.id: o for o in orders}
    by_drone = {d.id: d for d in drones}
    loaded: dict[str, str] = {}
    released: dict[str, str] = {}
    min_soc = 1.0
    for route in plan.routes:
        drone = by_drone.get(route.vehicle_id)
        if drone is None:
            out.append(f"route for unknown drone {route.vehicle_id}")
            continue
        soc = _check_route(
            route,
            drone,
            by_order,
            sites,
            air,
            energy,
            swap_s,
            swap_at_reload,
            loaded,
            released,
            out,
        )
        min_soc = min(min_soc, soc)
    unserved = {u[0] for u in plan.unserved}
    for o in orders:
        if o.id not in released and o.id not in unserved:
            out.append(f"order {o.id}: neither delivered nor listed unserved (silently lost)")
        if o.id in released and o.id in unserved:
            out.append(f"order {o.id}: delivered and listed unserved")
    for oid, vid in sorted(loaded.items()):
        if released.get(oid) != vid:
            out.append(f"order {oid}: loaded by {vid} but not released by it")
    return PlanReport(tuple(out), min_soc)


def _check_route(
    route: DroneRoute,
    drone: Vehicle,
    by_order: Mapping[str, DeliveryOrder],
    sites: Mapping[SiteId, Site],
    air: TravelMatrix,
    em: DroneEnergyModel,
    swap_s: int,
    swap_at_reload: bool,
    loaded: dict[str, str],
    released: dict[str, str],
    out: list[str],
) -> float:
    vid = drone.id
    limit_kg = min(drone.max_payload_kg, em.max_payload_kg)
    reserve = em.reserve_fraction
    start = drone.start
    if route.start_location != start.location:
        out.append(f"{vid}: starts at {route.start_location}, not at {start.location}")
    on_board: dict[str, float] = {o: by_order[o].weight_kg for o in start.onboard if o in by_order}
    soc = start.battery_soc
    t = route.start_s
    if t < start.t_s:
        out.append(f"{vid}: leaves at {t} before it is free at {start.t_s}")
    if em.needs_swap(soc):
        at = sites.get(SiteId(start.location))
        if start.landed and at is not None and at.swaps_batteries:
            soc, t = 1.0, max(t, start.t_s + swap_s)
        else:
            out.append(f"{vid}: planned although under the reserve in flight")
    min_soc = soc
    here = start.location
    for k, c in enumerate(start.committed):
        want = "pickup" if c.action == "pickup" else "delivery"
        if k >= len(route.stops) or (route.stops[k].kind, route.stops[k].order_id) != (
            want,
            c.request_id,
        ):
            out.append(f"{vid}: committed stop {c.action} {c.request_id} is not stop {k + 1}")
    for stop in route.stops:
        if stop.location not in air:
            out.append(f"{vid}: unknown location {stop.location}")
            return min_soc
        payload = sum(on_board.values())
        if payload > limit_kg + 1e-9:
            out.append(f"{vid}: {payload:.3f} kg on board over the {limit_kg} kg limit")
        leg_s = air.time(here, stop.location)
        if leg_s >= 10**9:
            out.append(f"{vid}: no legal air route {here} -> {stop.location}")
        soc -= em.leg_energy_wh(leg_s, payload) / em.battery_wh
        min_soc = min(min_soc, soc)
        if em.battery_wh * (soc - reserve) < -EPS_WH:
            out.append(f"{vid}: arrives at {stop.location} with {soc:.1%} < reserve {reserve:.0%}")
        if stop.arrive_s < t + leg_s or stop.start_s < stop.arrive_s:
            out.append(f"{vid}: at {stop.location} at {stop.start_s}, before {t + leg_s}")
        service = 0
        oid = stop.order_id
        order = by_order.get(oid) if oid is not None else None
        if stop.kind in ("pickup", "delivery"):
            if order is None:
                out.append(f"{vid}: {stop.kind} of unknown order {oid}")
                return min_soc
            site = order.warehouse if stop.kind == "pickup" else order.drone_port
            if stop.location != site:
                out.append(f"{vid}: {stop.kind} of {order.id} at {stop.location}, not {site}")
        if stop.kind == "pickup" and order is not None:
            if order.id in loaded or order.id in start.onboard:
                out.append(f"order {order.id}: loaded twice")
            loaded[order.id] = vid
            if stop.start_s < order.ready_s:
                out.append(f"order {order.id}: loaded at {stop.start_s} < ready {order.ready_s}")
            on_board[order.id] = order.weight_kg
            if sum(on_board.values()) > limit_kg + 1e-9:
                out.append(f"{vid}: loading {order.id} exceeds the {limit_kg} kg payload")
            service = order.load_s
            if swap_at_reload:
                service += swap_s
                soc = 1.0
        elif stop.kind == "delivery" and order is not None:
            if order.id not in on_board:
                out.append(f"order {order.id}: released by {vid} without being on board")
            if order.id in released:
                out.append(f"order {order.id}: released twice")
            released[order.id] = vid
            if stop.start_s > order.deadline_s:
                out.append(f"order {order.id}: released at {stop.start_s} after {order.deadline_s}")
            soc -= em.hover_energy_wh(order.drop_s, sum(on_board.values())) / em.battery_wh
            on_board.pop(order.id, None)
            service = order.drop_s
        elif stop.kind == "swap":
            at = sites.get(SiteId(stop.location))
            if at is None or not at.swaps_batteries:
                out.append(f"{vid}: battery swap at {stop.location}, which cannot swap")
            soc, service = 1.0, swap_s
        elif stop.kind != "end":
            out.append(f"{vid}: unknown stop kind {stop.kind}")
        t = stop.start_s + service
        here = stop.location
    if on_board:
        out.append(f"{vid}: ends with {sorted(on_board)} still on board")
    if drone.home is not None and here != drone.home and route.stops:
        out.append(f"{vid}: ends at {here}, not at home {drone.home}")
    if t > drone.shift_end_s:
        out.append(f"{vid}: ends at {t} after its shift end {drone.shift_end_s}")
    return min_soc
