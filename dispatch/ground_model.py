"""Ground trips (dial-a-ride) as a `Problem`: buses on their stops, personal mobility door to door.

Each trip is a pickup node and a drop-off node. Where those nodes *are* depends on who serves the
trip, and the `Problem` allows that: every vehicle moves with its own travel profile, so the same
node sits at the rider's door in the personal-mobility (sidewalk) profile and at the nearest bus
stop in a bus (road) profile. Riders walk to the stop nearest their origin and from the stop
nearest their destination (sidewalk distance; the walk is reported). A mode that cannot serve a
trip (no stop within `max_walk_m`, both ends at the same stop, a stop the bus does not serve,
more riders than a personal-mobility seat) sees its nodes as unreachable in its profile, so it
never takes the trip; buses with different stop sets get their own profiles. (The engine's
`Request.vehicles` restriction is not used: it fails on this OR-Tools build, see docs.)

Windows are the rider's: pickup not before the earliest pickup (plus the walk to the stop when a
bus may serve), drop-off by the latest drop-off (minus the walk from the stop). These hold for
both modes, so a trip both modes can serve is planned to the stricter of the two. The maximum
ride time is `max_ride_factor` x the direct trip + `max_ride_slack_s` (the longer direct trip
of the allowed modes). Riders on board at the start are drop-off-only requests that only their
vehicle can serve (nobody else has them on board); committed stops are locked prefixes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from dispatch.domain import (
    UNREACHABLE,
    Site,
    SiteId,
    TravelMatrix,
    TripId,
    TripRequest,
    Vehicle,
    VehicleId,
    VehicleKind,
)
from dispatch.drone_model import PENALTY_BY_PRIORITY
from dispatch.problem import IntMatrix, Node, Problem, Profile, Request, VehicleSpec, frozen_matrix


@dataclass(frozen=True, slots=True)
class GroundModelParams:
    """Rules of the ground service (units in the names)."""

    dwell_s: int = 30
    max_ride_factor: float = 2.0
    max_ride_slack_s: int = 300
    max_walk_m: int = 600
    walk_speed_m_s: float = 1.2


@dataclass(frozen=True, slots=True)
class TripAccess:
    """How a trip can be served: bus stops and walks, and whether personal mobility may."""

    bus_from: SiteId | None
    bus_to: SiteId | None
    walk_m: int  # origin-to-stop + stop-to-destination (0 when no bus may serve)
    pickup_early_s: int
    dropoff_late_s: int
    max_ride_s: int
    door_to_door: bool


@dataclass(frozen=True, slots=True)
class GroundProblem:
    """A `Problem` and what its nodes mean."""

    problem: Problem
    node_kind: tuple[str, ...]  # start, end, pickup, dropoff
    node_trip: tuple[TripId | None, ...]
    node_key: tuple[dict[int, str], ...]  # per node: profile -> location key
    vehicle_ids: tuple[VehicleId, ...]
    trip_ids: tuple[TripId, ...]
    access: dict[TripId, TripAccess]
    excluded: tuple[tuple[str, str], ...]


def trip_access(
    trip: TripRequest,
    stops: Mapping[SiteId, Site],
    road: TravelMatrix,
    sidewalk: TravelMatrix,
    params: GroundModelParams,
    pm_seats: int,
) -> TripAccess:
    """Nearest stops, walks, windows and ride limit of a trip."""
    usable = [s for s in sorted(stops) if s in sidewalk and s in road]

    def nearest(key: str) -> tuple[SiteId | None, int]:
        if not usable or key not in sidewalk:
            return None, UNREACHABLE
        return min(((s, sidewalk.dist(key, s)) for s in usable), key=lambda x: (x[1], x[0]))

    o_stop, o_walk = nearest(trip.origin)
    d_stop, d_walk = nearest(trip.destination)
    bus = (
        o_stop is not None
        and d_stop is not None
        and o_stop != d_stop
        and max(o_walk, d_walk) <= params.max_walk_m
    )
    door = trip.riders <= pm_seats and trip.origin in sidewalk and trip.destination in sidewalk
    direct = 0
    if door:
        direct = max(direct, sidewalk.time(trip.origin, trip.destination))
    if bus and o_stop is not None and d_stop is not None:
        direct = max(direct, road.time(o_stop, d_stop))
    walk_o = round(o_walk / params.walk_speed_m_s) if bus else 0
    walk_d = round(d_walk / params.walk_speed_m_s) if bus else 0
    return TripAccess(
        bus_from=o_stop if bus else None,
        bus_to=d_stop if bus else None,
        walk_m=o_walk + d_walk if bus else 0,
        pickup_early_s=trip.earliest_pickup_s + walk_o,
        dropoff_late_s=trip.latest_dropoff_s - walk_d,
        max_ride_s=int(params.max_ride_factor * direct) + params.max_ride_slack_s,
        door_to_door=door,
    )


def build_ground_problem(
    vehicles: Sequence[Vehicle],
    trips: Sequence[TripRequest],
    stops: Mapping[SiteId, Site],
    road: TravelMatrix,
    sidewalk: TravelMatrix,
    params: GroundModelParams | None = None,
) -> GroundProblem:
    """Build the dial-a-ride problem (see the module docstring).

    Raises:
        ValueError: duplicate ids, an unknown trip on board, a vehicle kind that is not ground.
    """
    params = params or GroundModelParams()
    by_id: dict[str, TripRequest] = {t.id: t for t in trips}
    if len(by_id) != len(trips):
        raise ValueError("trip ids must be unique")
    for v in vehicles:
        if v.kind == VehicleKind.DRONE:
            raise ValueError(f"vehicle {v.id}: drones are planned by drone_model")
        for tid in v.start.onboard:
            if tid not in by_id:
                raise ValueError(f"vehicle {v.id}: unknown trip {tid!r} on board")
    pm_seats = max((v.capacity for v in vehicles if v.kind != VehicleKind.BUS), default=0)
    # Profiles: 0 = sidewalk (personal mobility), then one road profile per bus stop set.
    stop_sets: list[frozenset[str] | None] = []
    profile_of: list[int] = []
    for v in vehicles:
        if v.kind != VehicleKind.BUS:
            profile_of.append(0)
            continue
        sset = None if v.stops is None else frozenset(str(s) for s in v.stops)
        if sset not in stop_sets:
            stop_sets.append(sset)
        profile_of.append(1 + stop_sets.index(sset))
    keys: list[dict[int, str]] = []
    kinds: list[str] = []
    owner: list[TripId | None] = []
    nodes: list[Node] = []

    def add(kind: str, where: dict[int, str], trip: TripId | None, **kw: int) -> int:
        keys.append(where)
        kinds.append(kind)
        owner.append(trip)
        nodes.append(Node(f"{kind}:{trip or ''}", **kw))
        return len(nodes) - 1

    starts = [add("start", {profile_of[k]: v.start.location}, None) for k, v in enumerate(vehicles)]
    ends = [add("end", {}, None) for _ in vehicles]
    access: dict[TripId, TripAccess] = {}
    excluded: list[tuple[str, str]] = []
    requests: list[Request] = []
    trip_ids: list[TripId] = []
    onboard_of = {t: k for k, v in enumerate(vehicles) for t in v.start.onboard}
    for trip in trips:
        acc = trip_access(trip, stops, road, sidewalk, params, pm_seats)
        access[trip.id] = acc
        where_p: dict[int, str] = {}
        where_d: dict[int, str] = {}
        if acc.door_to_door:
            where_p[0], where_d[0] = trip.origin, trip.destination
        for p, sset in enumerate(stop_sets, start=1):
            if acc.bus_from and acc.bus_to and (sset is None or {acc.bus_from, acc.bus_to} <= sset):
                where_p[p], where_d[p] = acc.bus_from, acc.bus_to
        penalty = PENALTY_BY_PRIORITY[trip.priority]
        if trip.id in onboard_of:
            k = onboard_of[trip.id]
            v = vehicles[k]
            late = acc.dropoff_late_s
            if v.start.boarded_s:
                boarded = v.start.boarded_s[v.start.onboard.index(trip.id)]
                late = min(late, boarded + acc.max_ride_s)
            late = max(late, v.start.t_s)  # a late rider is still carried: never dropped
            target = trip.destination if profile_of[k] == 0 else acc.bus_to or trip.destination
            d = add(
                "dropoff",
                {profile_of[k]: target},
                trip.id,
                load=-trip.riders,
                service_s=params.dwell_s,
                tw_late_s=late,
            )
            requests.append(Request(d, None, penalty=penalty))
            trip_ids.append(trip.id)
            continue
        if not where_p:
            excluded.append(
                (
                    trip.id,
                    "no vehicle can reach it: no stop within walking "
                    "distance and too many riders for personal mobility",
                )
            )
            continue
        if acc.pickup_early_s > acc.dropoff_late_s:
            excluded.append((trip.id, "the walk to and from the stops leaves no time"))
            continue
        pn = add(
            "pickup",
            where_p,
            trip.id,
            load=trip.riders,
            service_s=params.dwell_s,
            tw_early_s=acc.pickup_early_s,
            tw_late_s=acc.dropoff_late_s,
        )
        dn = add(
            "dropoff",
            where_d,
            trip.id,
            load=-trip.riders,
            service_s=params.dwell_s,
            tw_early_s=acc.pickup_early_s,
            tw_late_s=acc.dropoff_late_s,
        )
        requests.append(Request(dn, pn, max_ride_s=acc.max_ride_s, penalty=penalty))
        trip_ids.append(trip.id)
    profiles = [_profile("sidewalk", 0, keys, sidewalk, ends)]
    profiles += [_profile(f"road{p}", p, keys, road, ends) for p in range(1, len(stop_sets) + 1)]
    specs = tuple(
        VehicleSpec(
            name=v.id,
            start=starts[k],
            end=ends[k],
            profile=profile_of[k],
            capacity=v.capacity,
            shift_start_s=v.start.t_s,
            shift_end_s=v.shift_end_s,
            initial_load=sum(by_id[t].riders for t in v.start.onboard),
        )
        for k, v in enumerate(vehicles)
    )
    problem = Problem(
        nodes=tuple(nodes),
        vehicles=specs,
        requests=tuple(requests),
        profiles=tuple(profiles),
        locked_prefixes=_locks(vehicles, kinds, owner),
    )
    return GroundProblem(
        problem,
        tuple(kinds),
        tuple(owner),
        tuple(keys),
        tuple(v.id for v in vehicles),
        tuple(trip_ids),
        access,
        tuple(excluded),
    )


def _profile(
    name: str, p: int, keys: list[dict[int, str]], m: TravelMatrix, ends: list[int]
) -> Profile:
    n = len(keys)
    rows = np.array([m.index(k[p]) if p in k and k[p] in m else -1 for k in keys])
    ok = rows >= 0
    safe = np.where(ok, rows, 0)
    dist = np.full((n, n), UNREACHABLE, dtype=np.int64)
    dur = np.full((n, n), UNREACHABLE, dtype=np.int64)
    both = ok[:, None] & ok[None, :]
    dist[both] = m.distance_m[np.ix_(safe, safe)][both]
    dur[both] = m.duration_s[np.ix_(safe, safe)][both]
    dist[:, ends] = 0
    dur[:, ends] = 0
    np.fill_diagonal(dist, 0)
    np.fill_diagonal(dur, 0)
    d: IntMatrix = frozen_matrix(dist)
    return Profile(name, d, frozen_matrix(dur))


def _locks(
    vehicles: Sequence[Vehicle], kinds: list[str], owner: list[TripId | None]
) -> tuple[tuple[int, ...], ...]:
    if not any(v.start.committed for v in vehicles):
        return ()
    node_of = {(owner[k], kinds[k]): k for k in range(len(kinds)) if owner[k] is not None}
    out = []
    for v in vehicles:
        prefix = []
        for c in v.start.committed:
            k = node_of.get((TripId(c.request_id), c.action))
            if k is None:
                raise ValueError(f"vehicle {v.id}: committed stop {c} is not in the problem")
            prefix.append(k)
        out.append(tuple(prefix))
    return tuple(out)
