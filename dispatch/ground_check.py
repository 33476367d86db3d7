"""An independent checker for ground plans (dial-a-ride), from the domain objects alone.

It re-derives, from the trips, vehicles, stops and matrices: nearest stops and walks (its own
search), travel times, loads and ride times, and checks: each trip picked up and dropped off
once, by one vehicle, pickup first; buses only at the stops nearest the rider's ends and within
their stop set; personal mobility at the doors; capacity; pickup not before the rider is there;
drop-off (plus the walk) by the latest drop-off; ride time within the factor of the direct trip;
riders on board at the start dropped by their vehicle; committed stops first; every trip served
or listed unserved with a reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from dispatch.domain import Site, SiteId, TravelMatrix, TripRequest, Vehicle, VehicleKind
from dispatch.ground_model import GroundModelParams
from dispatch.ground_plan import GroundPlan
from dispatch.plan_check import PlanReport


def check_ground_plan(
    plan: GroundPlan,
    vehicles: Sequence[Vehicle],
    trips: Sequence[TripRequest],
    stops: Mapping[SiteId, Site],
    road: TravelMatrix,
    sidewalk: TravelMatrix,
    params: GroundModelParams,
) -> PlanReport:
    """Judge a ground plan (see the module docstring)."""
    out: list[str] = []
    by_trip: dict[str, TripRequest] = {t.id: t for t in trips}
    by_vehicle = {v.id: v for v in vehicles}
    stop_keys = sorted(s for s in stops if s in sidewalk and s in road)
    pm_seats = max((v.capacity for v in vehicles if v.kind != VehicleKind.BUS), default=0)
    picked: dict[str, tuple[str, int]] = {}
    dropped: dict[str, str] = {}

    def nearest(key: str) -> tuple[str, int]:
        return min(((s, sidewalk.dist(key, s)) for s in stop_keys), key=lambda x: (x[1], x[0]))

    for route in plan.routes:
        v = by_vehicle.get(route.vehicle_id)
        if v is None:
            out.append(f"route for unknown vehicle {route.vehicle_id}")
            continue
        bus = v.kind == VehicleKind.BUS
        m = road if bus else sidewalk
        load = sum(by_trip[t].riders for t in v.start.onboard if t in by_trip)
        for t, when in zip(
            v.start.onboard, v.start.boarded_s or [None] * len(v.start.onboard), strict=True
        ):
            picked[t] = (v.id, when if when is not None else -1)
        here, t_s = route.start_location, max(route.start_s, v.start.t_s)
        for k, c in enumerate(v.start.committed):
            if k >= len(route.stops) or (route.stops[k].trip_id, route.stops[k].action) != (
                c.request_id,
                c.action,
            ):
                out.append(f"{v.id}: committed {c.action} {c.request_id} is not stop {k + 1}")
        for stop in route.stops:
            trip = by_trip.get(stop.trip_id)
            if trip is None:
                out.append(f"{v.id}: unknown trip {stop.trip_id}")
                continue
            arrive = t_s + m.time(here, stop.location)
            if stop.start_s < arrive:
                out.append(f"{v.id}: {stop.action} {trip.id} at {stop.start_s} < arrival {arrive}")
            end = trip.origin if stop.action == "pickup" else trip.destination
            walk_s = 0
            if bus:
                s, walk = nearest(end)
                walk_s = round(walk / params.walk_speed_m_s)
                if stop.location != s or walk > params.max_walk_m:
                    out.append(f"{v.id}: {trip.id} {stop.action} at {stop.location}, not {s}")
                if v.stops is not None and stop.location not in v.stops:
                    out.append(f"{v.id}: stop {stop.location} is not on its line")
            elif stop.location != end:
                out.append(f"{v.id}: {trip.id} {stop.action} at {stop.location}, not the door")
            if stop.action == "pickup":
                load += trip.riders
                if trip.id in picked:
                    out.append(f"trip {trip.id}: picked up twice")
                picked[trip.id] = (v.id, stop.start_s)
                if stop.start_s < trip.earliest_pickup_s + walk_s:
                    out.append(f"trip {trip.id}: picked up before the riders are there")
            else:
                load -= trip.riders
                who, since = picked.get(trip.id, ("", -1))
                if who != v.id:
                    out.append(f"trip {trip.id}: dropped by {v.id} but not on board")
                if trip.id in dropped:
                    out.append(f"trip {trip.id}: dropped twice")
                dropped[trip.id] = v.id
                late = stop.start_s + walk_s > trip.latest_dropoff_s
                if late and trip.id not in v.start.onboard:
                    out.append(f"trip {trip.id}: arrives after its latest drop-off")
                if since >= 0 and trip.id not in v.start.onboard:
                    limit = _max_ride(trip, road, sidewalk, params, nearest, pm_seats)
                    ride = stop.start_s - since - params.dwell_s
                    if ride > limit:
                        out.append(f"trip {trip.id}: ride {ride} s > limit {limit} s")
            if load > v.capacity or load < 0:
                out.append(f"{v.id}: load {load} outside 0..{v.capacity}")
            here, t_s = stop.location, stop.start_s + params.dwell_s
    unserved = {u[0] for u in plan.unserved}
    for trip in trips:
        if trip.id not in dropped and trip.id not in unserved:
            out.append(f"trip {trip.id}: neither served nor listed unserved (silently lost)")
        if trip.id in picked and trip.id not in dropped:
            out.append(f"trip {trip.id}: picked up but never dropped off")
    return PlanReport(tuple(out))


def _max_ride(
    trip: TripRequest,
    road: TravelMatrix,
    sidewalk: TravelMatrix,
    params: GroundModelParams,
    nearest: Callable[[str], tuple[str, int]],
    pm_seats: int,
) -> int:
    """The ride limit: factor x the longer direct trip of the modes allowed, plus slack."""
    direct = sidewalk.time(trip.origin, trip.destination) if trip.riders <= pm_seats else 0
    (o, wo), (d, wd) = nearest(trip.origin), nearest(trip.destination)
    if o != d and max(wo, wd) <= params.max_walk_m:
        direct = max(direct, road.time(o, d))
    return int(params.max_ride_factor * direct) + params.max_ride_slack_s
