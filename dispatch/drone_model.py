"""Drone deliveries as a `Problem`: several warehouses, multi-trip sorties, payload and energy.

The shape of a drone's plan: from where it is, fly to a warehouse, load one parcel (and swap the
battery), fly it to its drone port, release it (landing or winch, hovering at payload), fly to a
warehouse for the next parcel, ... and end at its home site with at least the landing reserve.

How the constraints are carried (all integer, all in the solver's model):

* each parcel is a pickup node at its warehouse and a delivery node at its port (a PD pair);
  payload is the "load" dimension in grams against the drone's payload limit;
* one parcel per sortie: the only arc leaving a parcel's pickup goes to its own port (every
  other arc costs more energy than any battery holds, so it can never be used). This makes the
  payload of every leg a property of the arc, so consumption can depend on it exactly;
* energy is an extra dimension in mWh: arc transit = the leg flown at the payload it carries,
  plus the hover of a winch release at the node left; the cumul (energy used since the last swap)
  must stay within the usable part of the battery, so *every* arrival keeps the landing reserve;
* multi-trip: every warehouse pickup is a reset node (the battery is swapped while loading;
  service = loading + swap). The engine's reset (slack up to the capacity) lets the cumul after
  a reset node start anywhere from 0, so the energy of the leg out of a reset node would be
  forgotten; since a pickup's only arc goes to its own port, that leg's energy is charged on
  the port's outbound arcs instead (exact, and the leg alone is checked against the battery).
  Optional swap visits (`swap_copies`) have arbitrary successors, so they stay off by default
  until the engine pins the post-reset cumul; a drone landed under the reserve at a warehouse
  is swapped on the spot before its plan starts;
* ready times and deadlines are node time windows; service times are node service times;
* parcels on board at the start are delivery-only requests locked to their drone; committed
  stops are locked prefixes; start SoC is the dimension's start value;
* an order that cannot be served is dropped at a penalty by priority and reported with a reason.

Drone-port pad capacity is not modelled (deliveries are short winch releases); `plan_check`
reports overlapping releases at a port as a warning figure, not a violation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from dispatch.domain import (
    UNREACHABLE,
    DeliveryOrder,
    OrderId,
    Priority,
    Site,
    SiteId,
    TravelMatrix,
    Vehicle,
    VehicleId,
)
from dispatch.energy import DroneEnergyModel, to_mwh
from dispatch.problem import Dimension, Node, Problem, Profile, Request, VehicleSpec, frozen_matrix

PENALTY_BY_PRIORITY = {
    Priority.NORMAL: 10_000_000,
    Priority.URGENT: 100_000_000,
    Priority.MEDICINE: 1_000_000_000,
}


SWAP_VISIT_COST_M = 100


@dataclass(frozen=True, slots=True)
class DroneModelParams:
    """Rules of the drone operation (units in the names).

    Attributes:
        swap_s: battery swap time at a warehouse or swap station.
        swap_at_reload: swap the battery at every loading (service = loading + swap).
        swap_copies: optional swap visits per swap-capable site. Keep 0: the engine's reset
            under-counts the leg flown out of a swap visit (see the module docstring).
        energy: the drone energy model (reserve included).
    """

    swap_s: int = 240
    swap_at_reload: bool = True
    swap_copies: int = 0
    energy: DroneEnergyModel = field(default_factory=DroneEnergyModel)


@dataclass(frozen=True, slots=True)
class DroneProblem:
    """A `Problem` and what its nodes, vehicles and requests mean in the domain."""

    problem: Problem
    node_kind: tuple[str, ...]  # start, end, pickup, delivery, swap
    node_key: tuple[str, ...]  # location key of each node
    node_order: tuple[OrderId | None, ...]
    vehicle_ids: tuple[VehicleId, ...]
    order_ids: tuple[OrderId, ...]  # order of each request
    start_soc: tuple[float, ...]  # per planned vehicle, after any swap on the spot
    start_s: tuple[int, ...]
    start_payload_kg: tuple[float, ...]
    excluded: tuple[tuple[str, str], ...]  # (vehicle or order id, reason)


def payload_g(weight_kg: float) -> int:
    """Parcel weight in grams, rounded up."""
    return math.ceil(weight_kg * 1000 - 1e-9)


def payload_limit_g(drone: Vehicle, energy: DroneEnergyModel) -> int:
    """A drone's payload limit in grams, rounded down."""
    return math.floor(min(drone.max_payload_kg, energy.max_payload_kg) * 1000 + 1e-9)


def build_drone_problem(
    drones: Sequence[Vehicle],
    orders: Sequence[DeliveryOrder],
    sites: Mapping[SiteId, Site],
    air: TravelMatrix,
    params: DroneModelParams | None = None,
) -> DroneProblem:
    """Build the routing problem for `drones` and `orders` (see the module docstring).

    Raises:
        ValueError: an unknown site or location, an order of the wrong site kind, a drone with
            more than one parcel on board or an unknown order on board.
    """
    params = params or DroneModelParams()
    em = params.energy
    by_id: dict[str, DeliveryOrder] = {o.id: o for o in orders}
    if len(by_id) != len(orders):
        raise ValueError("order ids must be unique")
    for o in orders:
        for sid in (o.warehouse, o.drone_port):
            if sid not in sites:
                raise ValueError(f"order {o.id}: unknown site {sid!r}")
            if sid not in air:
                raise ValueError(f"order {o.id}: site {sid!r} is not in the air matrix")
        if not sites[o.warehouse].swaps_batteries:
            raise ValueError(f"order {o.id}: {o.warehouse!r} is not a warehouse")
    b = _Builder(air)
    excluded: list[tuple[str, str]] = []
    planned: list[Vehicle] = []
    start_soc: list[float] = []
    start_s: list[int] = []
    onboard_of: dict[str, int] = {}
    for d in drones:
        if len(d.start.onboard) > 1:
            raise ValueError(f"drone {d.id}: more than one parcel on board")
        for oid in d.start.onboard:
            if oid not in by_id:
                raise ValueError(f"drone {d.id}: unknown order {oid!r} on board")
        soc, t0 = d.start.battery_soc, d.start.t_s
        if em.needs_swap(soc):
            at = sites.get(SiteId(d.start.location))
            if d.start.landed and at is not None and at.swaps_batteries:
                soc, t0 = 1.0, t0 + params.swap_s  # swap on the spot before anything else
            else:
                excluded.append((d.id, f"battery {soc:.0%} is under the reserve: land it now"))
                excluded.extend(
                    (oid, f"on board drone {d.id}, which is under the reserve")
                    for oid in d.start.onboard
                )
                continue
        for oid in d.start.onboard:
            onboard_of[oid] = len(planned)
        planned.append(d)
        start_soc.append(soc)
        start_s.append(t0)
    starts = [b.node("start", d.start.location) for d in planned]
    ends = [b.node("end", d.home or d.start.location) for d in planned]
    requests: list[Request] = []
    request_orders: list[OrderId] = []
    weight: dict[int, float] = {}  # payload on arcs leaving a node
    hover: dict[int, float] = {}  # hover energy (Wh) spent at a node before leaving
    only_to: dict[int, int] = {}  # node -> the one node it may fly to
    limits = [payload_limit_g(d, em) for d in planned]
    for o in orders:
        if o.id in onboard_of:
            v = onboard_of[o.id]
            dn = b.node(
                "delivery",
                o.drone_port,
                o,
                -payload_g(o.weight_kg),
                o.drop_s,
                (o.ready_s, o.deadline_s),
            )
            weight[starts[v]] = o.weight_kg
            only_to[starts[v]] = dn
            hover[dn] = em.hover_energy_wh(o.drop_s, o.weight_kg)
            # Locked to drone v without `Request.vehicles` (the engine's SetAllowedVehicles
            # call fails on this OR-Tools): the start's only arc leads here, and any other
            # drone would arrive with a load under the parcel's weight.
            requests.append(Request(dn, None, penalty=PENALTY_BY_PRIORITY[o.priority]))
            request_orders.append(o.id)
            continue
        if not any(payload_g(o.weight_kg) <= lim for lim in limits):
            excluded.append((o.id, f"{o.weight_kg} kg is over the payload limit of every drone"))
            continue
        service = o.load_s + (params.swap_s if params.swap_at_reload else 0)
        out_s = air.time(o.warehouse, o.drone_port)
        first_leg_wh = em.leg_energy_wh(out_s, o.weight_kg)
        if params.swap_at_reload and to_mwh(first_leg_wh) > em.usable_mwh:
            excluded.append((o.id, "its port is beyond a full battery's reach"))
            continue
        if o.ready_s + service + out_s > o.deadline_s:
            # Never servable; also keeps the engine's window tightening from widening it.
            excluded.append((o.id, "the deadline is earlier than loading and flying allow"))
            continue
        pn = b.node(
            "pickup", o.warehouse, o, payload_g(o.weight_kg), service, (o.ready_s, o.deadline_s)
        )
        dn = b.node(
            "delivery",
            o.drone_port,
            o,
            -payload_g(o.weight_kg),
            o.drop_s,
            (o.ready_s, o.deadline_s),
        )
        weight[pn] = o.weight_kg
        only_to[pn] = dn
        hover[dn] = em.hover_energy_wh(o.drop_s, o.weight_kg)
        requests.append(Request(dn, pn, penalty=PENALTY_BY_PRIORITY[o.priority]))
        request_orders.append(o.id)
    resets = (
        [k for k, kind in enumerate(b.kind) if kind == "pickup"] if params.swap_at_reload else []
    )
    for sid in sorted(sites):
        if sites[sid].swaps_batteries and sid in air:
            for _ in range(params.swap_copies):
                resets.append(b.node("swap", sid, service=params.swap_s))
    dist, dur = air.sub(b.key)
    swaps = [k for k, kind in enumerate(b.kind) if kind == "swap"]
    if swaps:  # a small cost so that a swap is only planned when it is needed
        bumped = np.array(dist)
        bumped[:, swaps] += SWAP_VISIT_COST_M
        dist = frozen_matrix(bumped)
    energy = _energy_matrix(dur, weight, hover, only_to, frozenset(resets), em)
    n = len(b.key)
    vehicles = tuple(
        VehicleSpec(
            name=d.id,
            start=starts[v],
            end=ends[v],
            profile=0,
            capacity=limits[v],
            shift_start_s=start_s[v],
            shift_end_s=d.shift_end_s,
            initial_load=sum(payload_g(by_id[o].weight_kg) for o in d.start.onboard),
        )
        for v, d in enumerate(planned)
    )
    dim = Dimension(
        name="energy_mwh",
        transit=(energy,),
        capacity=tuple(em.usable_mwh for _ in planned),
        reset_nodes=tuple(resets),
        start_value=tuple(em.used_mwh(s) for s in start_soc),
    )
    locks = _locked_prefixes(planned, b, starts)
    problem = Problem(
        nodes=tuple(b.nodes),
        vehicles=vehicles,
        requests=tuple(requests),
        profiles=(Profile("air", dist, dur),),
        locked_prefixes=locks,
        dimensions=(dim,) if n else (),
    )
    return DroneProblem(
        problem=problem,
        node_kind=tuple(b.kind),
        node_key=tuple(b.key),
        node_order=tuple(b.order),
        vehicle_ids=tuple(d.id for d in planned),
        order_ids=tuple(request_orders),
        start_soc=tuple(start_soc),
        start_s=tuple(start_s),
        start_payload_kg=tuple(sum(by_id[o].weight_kg for o in d.start.onboard) for d in planned),
        excluded=tuple(excluded),
    )


def _energy_matrix(
    dur: np.ndarray,
    weight: Mapping[int, float],
    hover: Mapping[int, float],
    only_to: Mapping[int, int],
    resets: frozenset[int],
    em: DroneEnergyModel,
) -> np.ndarray:
    n = dur.shape[0]
    forbidden = 2 * em.usable_mwh + 1
    t = dur.astype(np.float64)
    w = np.array([weight.get(i, 0.0) for i in range(n)])
    hover_w = np.array([em.hover_power_w(x) for x in w])[:, None]
    cruise_w = np.array([em.cruise_power_w(x) for x in w])[:, None]
    extra = np.array([hover.get(i, 0.0) for i in range(n)])[:, None]
    vertical = np.minimum(t, em.vertical_s)
    wh = (hover_w * vertical + cruise_w * (t - vertical)) / 3600.0 + extra
    out = np.ceil(wh * 1000 - 1e-9).astype(np.int64)
    out[dur >= UNREACHABLE] = forbidden
    for i, j in only_to.items():
        first_leg = out[i, j]
        out[i, :] = forbidden
        out[i, i] = 0
        if i in resets:
            # The engine's reset lets the cumul after a reset node fall below the leg's energy,
            # so the leg out of a pickup (always to its own port) is charged on the port's
            # outbound arcs instead; `build_drone_problem` checks it alone fits the battery.
            out[i, j] = 0
            out[j, :] = np.where(out[j, :] >= forbidden, forbidden, out[j, :] + first_leg)
        else:
            out[i, j] = first_leg
    return frozen_matrix(out)


def _locked_prefixes(
    planned: Sequence[Vehicle], b: _Builder, starts: Sequence[int]
) -> tuple[tuple[int, ...], ...]:
    if not any(d.start.committed for d in planned):
        return ()
    node_of = {(b.order[k], b.kind[k]): k for k in range(len(b.key)) if b.order[k] is not None}
    locks: list[tuple[int, ...]] = []
    for d in planned:
        prefix: list[int] = []
        for c in d.start.committed:
            kind = "pickup" if c.action == "pickup" else "delivery"
            k = node_of.get((OrderId(c.request_id), kind))
            if k is None:
                raise ValueError(f"drone {d.id}: committed stop {c} is not in the problem")
            prefix.append(k)
        locks.append(tuple(prefix))
    del starts
    return tuple(locks)


class _Builder:
    """Accumulates nodes with their meaning."""

    def __init__(self, air: TravelMatrix) -> None:
        self.air = air
        self.nodes: list[Node] = []
        self.kind: list[str] = []
        self.key: list[str] = []
        self.order: list[OrderId | None] = []

    def node(
        self,
        kind: str,
        key: str,
        order: DeliveryOrder | None = None,
        load: int = 0,
        service: int = 0,
        window: tuple[int, int] | None = None,
    ) -> int:
        if key not in self.air:
            raise ValueError(f"location {key!r} is not in the air matrix")
        early, late = window if window is not None else (0, 2**31 - 1)
        self.nodes.append(
            Node(f"{kind}:{key}:{order.id if order else ''}", load, service, early, late)
        )
        self.kind.append(kind)
        self.key.append(key)
        self.order.append(order.id if order else None)
        return len(self.nodes) - 1
