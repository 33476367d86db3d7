"""Live dispatch: an answer at once for each new request, by cheap insertion into current plans.

Two dispatchers, both pure (no I/O, time passed in):

- `GroundDispatcher`: dial-a-ride for buses and personal mobility. A request is inserted into the
  stop sequence of the vehicle where it adds least time, trying every pickup and drop-off
  position, keeping capacity, every promised window already given, and the maximum ride time
  (a factor of the direct trip). Buses only serve their stops (riders walk to the nearest stop;
  the walk is reported); personal mobility goes door to door with one rider. A pickup may be
  offered later than the first promise width (up to `max_wait_s`, and never so late that the
  rider's drop-off limit breaks); the promise given then binds later insertions. With an energy
  model (`dispatch.ground_energy`) no plan may leave a vehicle under its reserve after the drive
  back to its depot, and a vehicle marked `out_of_service` (charging, in fault) takes no work;
  equal offers go to the fullest battery. Legs are straight lines stretched by a detour factor,
  or the time seen when that leg was last driven (`observe_leg`).
- `DroneDispatcher`: parcels from warehouses to drone ports. A drone flies one parcel per trip,
  out and back to its warehouse, and swaps its battery there between trips. A trip is accepted
  only if the energy it needs (per-leg power depending on payload, plus the landing reserve)
  fits the battery, the payload fits, and the deadline holds; otherwise the request is refused
  with the reason. Air legs come from `geofences` (airspace-aware distances), given as a matrix.

A request that cannot be served is rejected with a reason, never dropped silently.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from dispatch.ground_energy import GroundEnergy

EARTH_M = 6_371_008.8


@lru_cache(maxsize=1 << 18)
def haversine_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in metres between two (lat, lon) points (cached: the live path
    evaluates the same stop pairs many times)."""
    p1, p2 = math.radians(a[0]), math.radians(b[0])
    h = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(b[1] - a[1]) / 2) ** 2
    )
    return 2 * EARTH_M * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer to a request: accepted with a promise, or rejected with the reason."""

    accepted: bool
    request_id: str
    vehicle_id: str = ""
    earliest_s: float = 0.0  # promised window: pickup (trips) or delivery (parcels)
    latest_s: float = 0.0
    reason: str = ""
    walk_m: float = 0.0  # rider's walk to and from bus stops


# ------------------------------------------------------------------------------------ ground
@dataclass(frozen=True, slots=True)
class Stop:
    """A stop in a ground vehicle's plan: pick up or drop off one request's riders."""

    request_id: str
    action: str  # "pickup" or "dropoff"
    place: str
    position: tuple[float, float]
    riders: int
    latest_s: float  # promised latest time of this stop
    max_ride_s: float = math.inf  # for a dropoff: the latest ride time allowed
    earliest_s: float = 0.0  # a pickup is not made before the rider is there (the vehicle waits)


@dataclass
class GroundVehicle:
    """A ground vehicle as the dispatcher plans it.

    With `energy` set, no plan is accepted that would leave the vehicle under its reserve after
    driving back to `home` (its depot; the starting position unless given); `out_of_service`
    names why it takes no new work (e.g. "charging"), empty when it does.
    """

    id: str
    kind: str  # "bus" or "mobility"
    position: tuple[float, float]
    capacity: int
    speed_m_s: float
    available_s: float = 0.0
    onboard: int = 0
    stops: list[Stop] = field(default_factory=list)
    picked_up_at: dict[str, float] = field(default_factory=dict)
    locked: int = 0  # the first `locked` stops are committed and cannot be moved
    online: bool = True
    soc: float = 1.0  # state of charge, from the vehicle's telemetry
    energy: GroundEnergy | None = None  # None: energy is not checked
    home: tuple[float, float] | None = None  # the depot it charges at
    out_of_service: str = ""

    def __post_init__(self) -> None:
        if self.home is None:
            self.home = self.position


@dataclass(frozen=True, slots=True)
class TripRequest:
    id: str
    origin: str
    destination: str
    origin_pos: tuple[float, float]
    destination_pos: tuple[float, float]
    riders: int
    earliest_s: float
    latest_dropoff_s: float
    mode: str = "any"  # "bus", "mobility" or "any"


@dataclass(frozen=True, slots=True)
class GroundParams:
    detour_factor: float = 1.35  # road distance over straight-line distance
    dwell_s: float = 30.0
    max_ride_factor: float = 2.0
    max_ride_slack_s: float = 300.0
    pickup_window_s: float = 600.0  # width of the promised pickup window
    max_wait_s: float = 1800.0  # latest pickup after the earliest (also bounded by the drop-off)
    walk_speed_m_s: float = 1.2
    max_walk_m: float = 600.0


class GroundDispatcher:
    """Cheap insertion for ground trips (see the module docstring)."""

    def __init__(
        self, stops: Mapping[str, tuple[float, float]], params: GroundParams | None = None
    ) -> None:
        self.bus_stops = dict(stops)
        self.params = params or GroundParams()
        self.vehicles: dict[str, GroundVehicle] = {}
        #: driving times seen between two places, by vehicle kind (see `observe_leg`)
        self.observed_s: dict[tuple[str, tuple[float, float], tuple[float, float]], float] = {}

    def travel_s(
        self, vehicle: GroundVehicle, a: tuple[float, float], b: tuple[float, float]
    ) -> float:
        """Straight line stretched by the detour factor, or longer where a leg between the same
        two places was seen to take longer (`observe_leg`)."""
        estimate = haversine_m(a, b) * self.params.detour_factor / vehicle.speed_m_s
        if self.observed_s:
            seen = self.observed_s.get((vehicle.kind, a, b))
            if seen is not None and seen > estimate:
                return seen
        return estimate

    def observe_leg(
        self, kind: str, a: tuple[float, float], b: tuple[float, float], duration_s: float
    ) -> None:
        """A vehicle of `kind` drove from place `a` to place `b` in `duration_s` (departure to
        arrival): later plans use it where the straight-line estimate is shorter (a street
        network's detours, e.g. around a railway, that no single factor captures). Smoothed:
        half the new observation, half the old."""
        if not (math.isfinite(duration_s) and duration_s > 0.0):
            return
        key = (kind, a, b)
        old = self.observed_s.get(key)
        self.observed_s[key] = duration_s if old is None else 0.5 * (old + duration_s)

    def nearest_stop(self, point: tuple[float, float]) -> tuple[str, float]:
        return min(
            ((s, haversine_m(point, p)) for s, p in sorted(self.bus_stops.items())),
            key=lambda x: x[1],
        )

    def _schedule(
        self, v: GroundVehicle, stops: Sequence[Stop], now_s: float
    ) -> list[float] | None:
        """Arrival times of `stops`, or None when capacity, a window or a ride limit breaks."""
        t, pos, load = max(now_s, v.available_s), v.position, v.onboard
        times: list[float] = []
        picked = dict(v.picked_up_at)
        for stop in stops:
            visited = self._visit(v, stop, t, pos, load, picked)
            if visited is None:
                return None
            arrival, load = visited
            times.append(arrival)
            t = arrival + self.params.dwell_s
            pos = stop.position
        return times

    def _visit(
        self,
        v: GroundVehicle,
        stop: Stop,
        t: float,
        pos: tuple[float, float],
        load: int,
        picked: dict[str, float],
    ) -> tuple[float, int] | None:
        """Arrive at `stop` from `pos` leaving at `t`: (arrival, load after), or None when
        capacity, the stop's window or a ride limit breaks. Records pickups in `picked`."""
        t = max(t + self.travel_s(v, pos, stop.position), stop.earliest_s)
        if stop.action == "pickup":
            load += stop.riders
            picked[stop.request_id] = t
            if load > v.capacity:
                return None
        else:
            load -= stop.riders
            start = picked.get(stop.request_id)
            if start is not None and t - start > stop.max_ride_s:
                return None
        if t > stop.latest_s:
            return None
        return t, load

    def _best_insertion(
        self,
        v: GroundVehicle,
        base: Sequence[Stop],
        base_times: Sequence[float],
        pickup: Stop,
        dropoff: Stop,
        now_s: float,
    ) -> tuple[float, int, int, float, float] | None:
        """Cheapest feasible (pickup position i, drop-off position j), same rules as
        `_schedule` on the whole trial plan, evaluated incrementally: the prefix before i is the
        base schedule, and the walk after the drop-off stops as soon as the trial catches up
        with the base schedule (the rest is then the feasible base plan, unchanged)."""
        dwell = self.params.dwell_s
        n = len(base)
        base_end = base_times[-1] if n else now_s
        picked0 = dict(v.picked_up_at)
        loads: list[int] = []
        load = v.onboard
        for k, stop in enumerate(base):
            if stop.action == "pickup":
                load += stop.riders
                picked0[stop.request_id] = base_times[k]
            else:
                load -= stop.riders
            loads.append(load)
        best: tuple[float, int, int, float, float] | None = None

        def visit(
            stop: Stop, t: float, pos: tuple[float, float], load: int, picked: dict[str, float]
        ) -> tuple[float, int] | None:
            return self._visit(v, stop, t, pos, load, picked)

        for i in range(v.locked, n + 1):
            if i == 0:
                t, pos, load = max(now_s, v.available_s), v.position, v.onboard
            else:
                if base_times[i - 1] > pickup.latest_s:
                    break  # every later position reaches the pickup later still
                t, pos, load = base_times[i - 1] + dwell, base[i - 1].position, loads[i - 1]
            picked = dict(picked0)
            got = visit(pickup, t, pos, load, picked)
            if got is None:
                continue
            t_pick, load = got
            t, pos = t_pick + dwell, pickup.position
            for j in range(i, n + 1):
                # Try the drop-off before base[j] (j == n: at the end).
                got = visit(dropoff, t, pos, load, dict(picked))
                if got is not None:
                    t_drop, load_d = got
                    end = self._finish(
                        v, base, base_times, j, t_drop + dwell, dropoff.position, load_d, picked
                    )
                    if end is not None:
                        added = end - base_end
                        if best is None or added < best[0]:
                            best = (added, i, j, t_pick, t_drop)
                if j == n:
                    break
                got = visit(base[j], t, pos, load, picked)
                if got is None or got[0] > dropoff.latest_s:
                    break  # the drop-off can only come later from here on
                t, load = got
                t, pos = t + dwell, base[j].position
        return best

    def _finish(
        self,
        v: GroundVehicle,
        base: Sequence[Stop],
        base_times: Sequence[float],
        j: int,
        t: float,
        pos: tuple[float, float],
        load: int,
        picked: dict[str, float],
    ) -> float | None:
        """Walk base[j:] from state (t, pos, load); the trial's end time, or None if it breaks.
        Stops early once a stop is reached no later than in the base schedule."""
        picked = dict(picked)
        end = t - self.params.dwell_s
        for k in range(j, len(base)):
            stop = base[k]
            nt = max(t + self.travel_s(v, pos, stop.position), stop.earliest_s)
            if nt <= base_times[k]:
                return base_times[-1]  # caught up: the rest is the (feasible) base plan
            if stop.action == "pickup":
                load += stop.riders
                picked[stop.request_id] = nt
                if load > v.capacity:
                    return None
            else:
                load -= stop.riders
                start = picked.get(stop.request_id)
                if start is not None and nt - start > stop.max_ride_s:
                    return None
            if nt > stop.latest_s:
                return None
            end = nt
            t, pos = nt + self.params.dwell_s, stop.position
        return end

    def insert(self, request: TripRequest, now_s: float) -> Decision:
        """Accept the request into the best vehicle's plan, or reject it with the reason."""
        p = self.params
        candidates: list[tuple[float, str, list[Stop], float, float]] = []
        reasons: set[str] = set()
        for vid in sorted(self.vehicles):
            v = self.vehicles[vid]
            if not v.online:
                reasons.add("vehicle offline")
                continue
            if v.out_of_service:
                reasons.add(f"vehicle {v.out_of_service}")
                continue
            if request.mode not in ("any", v.kind):
                continue
            if v.kind == "bus":
                o_stop, o_walk = self.nearest_stop(request.origin_pos)
                d_stop, d_walk = self.nearest_stop(request.destination_pos)
                if o_stop == d_stop or max(o_walk, d_walk) > p.max_walk_m:
                    reasons.add("no bus stop within walking distance of both ends")
                    continue
                a, b = self.bus_stops[o_stop], self.bus_stops[d_stop]
                walk = o_walk + d_walk
                a_name, b_name = o_stop, d_stop
            else:
                if request.riders > v.capacity:
                    reasons.add("too many riders for personal mobility")
                    continue
                a, b, walk = request.origin_pos, request.destination_pos, 0.0
                a_name, b_name = request.origin, request.destination
            direct = self.travel_s(v, a, b)
            max_ride = p.max_ride_factor * direct + p.max_ride_slack_s
            earliest = request.earliest_s + (o_walk / p.walk_speed_m_s if v.kind == "bus" else 0.0)
            if earliest + direct > request.latest_dropoff_s:
                reasons.add(f"the {v.kind} ride alone ends after the requested drop-off time")
                continue
            # The rider's own limit is the latest drop-off: a later pickup than the first
            # promise width is offered (as a taxi would say "25 min"), up to `max_wait_s`.
            latest_pickup = max(
                earliest + p.pickup_window_s,
                min(earliest + p.max_wait_s, request.latest_dropoff_s - direct),
            )
            pickup = Stop(
                request.id, "pickup", a_name, a, request.riders, latest_pickup, earliest_s=earliest
            )
            dropoff = Stop(
                request.id, "dropoff", b_name, b, request.riders, request.latest_dropoff_s, max_ride
            )
            base = v.stops
            base_times = self._schedule(v, base, now_s)
            base_end = base_times[-1] if base_times else now_s
            t_free = max(now_s, v.available_s)
            if t_free + self.travel_s(v, v.position, a) > latest_pickup:
                reasons.add("no vehicle can reach the pickup in time")
                continue  # even straight there it would be late: skip the vehicle
            best: tuple[float, list[Stop], float, float] | None = None
            if base_times is not None:
                found = self._best_insertion(v, base, base_times, pickup, dropoff, now_s)
                if found is not None:
                    added, i, j, t_pick, t_drop = found
                    trial = [*base[:i], pickup, *base[i:j], dropoff, *base[j:]]
                    best = (added, trial, t_pick, t_drop)
            for i in range(v.locked, len(base) + 1 if base_times is None else 0):
                for j in range(i, len(base) + 1):
                    trial = [*base[:i], pickup, *base[i:j], dropoff, *base[j:]]
                    times = self._schedule(v, trial, now_s)
                    if times is None:
                        continue
                    added = (times[-1] if times else now_s) - base_end
                    if best is None or added < best[0]:
                        best = (added, trial, times[i], times[j + 1])
            if best is None:
                reasons.add("no room in any plan within the promised windows")
                continue
            short = self.energy_shortfall(v, best[1], now_s)
            if short is not None:
                reasons.add(short)
                continue
            candidates.append((best[0], vid, best[1], best[2], walk))
        if not candidates:
            why = "; ".join(sorted(reasons)) or f"no {request.mode} vehicle in service"
            return Decision(False, request.id, reason=why)
        # Equal cost (e.g. vehicles waiting at one depot): the fullest battery takes the trip,
        # so a shared fleet wears evenly instead of draining the first vehicle by id.
        added, vid, plan, pickup_t, walk = min(
            candidates, key=lambda c: (round(c[0], 3), -self.vehicles[c[1]].soc, c[1])
        )
        promised = pickup_t + p.pickup_window_s
        # Later insertions must keep this promise, not just the request's own limit.
        self.vehicles[vid].stops = [
            dataclasses.replace(s, latest_s=min(s.latest_s, promised))
            if s.request_id == request.id and s.action == "pickup"
            else s
            for s in plan
        ]
        return Decision(True, request.id, vid, pickup_t, promised, walk_m=walk)

    def energy_shortfall(self, v: GroundVehicle, stops: Sequence[Stop], now_s: float) -> str | None:
        """None if `stops` and the drive home after them leave `v` at or above its reserve;
        else the reason (vehicles without an energy model always pass)."""
        e = v.energy
        if e is None:
            return None
        assert v.home is not None
        points = [v.position, *(s.position for s in stops), v.home]
        straight = sum(haversine_m(a, b) for a, b in itertools.pairwise(points))
        times = self._schedule(v, stops, now_s) or [now_s]
        home_s = haversine_m(points[-2], v.home) * self.params.detour_factor / v.speed_m_s
        dwell_s = self.params.dwell_s if stops else 0.0
        duration_s = max(0.0, times[-1] - now_s) + dwell_s + home_s
        left = e.soc_after(v.soc, straight, duration_s)
        if left >= e.reserve_soc:
            return None
        return "not enough charge (the plan and the drive to the depot would go under the reserve)"

    def remove(self, request_id: str) -> None:
        """Drop a request's stops that have not happened (cancelled or re-planned)."""
        for v in self.vehicles.values():
            v.stops = [
                s
                for s in v.stops
                if s.request_id != request_id
                or (s.action == "dropoff" and request_id in v.picked_up_at)
            ]

    def stop_done(self, vehicle_id: str, request_id: str, action: str, t_s: float) -> None:
        v = self.vehicles[vehicle_id]
        for k, s in enumerate(v.stops):
            if s.request_id == request_id and s.action == action:
                del v.stops[k]
                v.locked = max(0, v.locked - 1) if k < v.locked else v.locked
                break
        if action == "pickup":
            v.picked_up_at[request_id] = t_s
            v.onboard += next((s.riders for s in v.stops if s.request_id == request_id), 1)
        else:
            v.picked_up_at.pop(request_id, None)
            v.onboard = max(0, v.onboard - 1)


# ------------------------------------------------------------------------------------ drones
@dataclass(frozen=True, slots=True)
class DroneModel:
    cruise_speed_m_s: float = 11.0
    max_payload_kg: float = 5.0
    battery_wh: float = 700.0
    hover_power_w: float = 1100.0
    cruise_power_w: float = 950.0
    power_per_kg_w: float = 90.0
    reserve_fraction: float = 0.20
    battery_swap_s: float = 240.0
    loading_s: float = 60.0
    landing_service_s: float = 90.0
    climb_descent_s: float = 50.0  # time in vertical flight per leg (climb + descent)

    def leg_energy_wh(self, duration_s: float, payload_kg: float) -> float:
        """Energy of one leg: cruise power plus payload, vertical phases at hover power."""
        vertical = min(duration_s, self.climb_descent_s)
        cruise = duration_s - vertical
        per_kg = self.power_per_kg_w * payload_kg
        return (
            (self.cruise_power_w + per_kg) * cruise + (self.hover_power_w + per_kg) * vertical
        ) / 3600.0


@dataclass
class Drone:
    id: str
    home: str  # warehouse id
    available_s: float = 0.0
    soc: float = 1.0
    online: bool = True
    queue: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ParcelRequest:
    id: str
    warehouse: str
    drone_port: str
    weight_kg: float
    ready_s: float
    deadline_s: float


@dataclass(frozen=True, slots=True)
class DroneTrip:
    """One planned sortie: leave the warehouse, land at the port, come back."""

    order_id: str
    drone_id: str
    depart_s: float
    arrive_s: float
    return_s: float
    energy_wh: float
    landing_soc: float  # state of charge at the last landing (back home), >= reserve


LegTime = Callable[[str, str], float | None]


class DroneDispatcher:
    """Cheap insertion for parcels (see the module docstring). `leg_s(a, b)` gives the flight
    time between two sites from the airspace-aware matrix (None: no legal route)."""

    def __init__(self, model: DroneModel, leg_s: LegTime) -> None:
        self.model = model
        self.leg_s = leg_s
        self.drones: dict[str, Drone] = {}
        self.trips: dict[str, DroneTrip] = {}

    def plan_trip(self, drone: Drone, request: ParcelRequest, now_s: float) -> DroneTrip | str:
        m = self.model
        if request.weight_kg > m.max_payload_kg:
            return f"parcel {request.weight_kg} kg is over the {m.max_payload_kg} kg payload limit"
        out = self.leg_s(request.warehouse, request.drone_port)
        back = self.leg_s(request.drone_port, drone.home)
        if out is None or back is None:
            return f"no legal air route between {request.warehouse} and {request.drone_port}"
        reposition = (
            0.0 if drone.home == request.warehouse else self.leg_s(drone.home, request.warehouse)
        )
        if reposition is None:
            return f"no legal air route from {drone.home} to {request.warehouse}"
        energy = (
            m.leg_energy_wh(reposition, 0.0)
            + m.leg_energy_wh(out, request.weight_kg)
            + m.leg_energy_wh(back, 0.0)
        )
        energy += (m.hover_power_w * 30.0) / 3600.0  # 30 s of hover for the landing approach
        full_swap = drone.soc < 0.999
        start_soc = 1.0  # the battery is swapped for a full one before every sortie
        landing_soc = start_soc - energy / m.battery_wh
        if landing_soc < m.reserve_fraction:
            return (
                f"the trip needs {energy:.0f} Wh: it would land at {landing_soc:.0%}, "
                f"under the {m.reserve_fraction:.0%} reserve"
            )
        ready = max(now_s, drone.available_s, request.ready_s - reposition)
        depart = ready + (m.battery_swap_s if full_swap else 0.0) + reposition + m.loading_s
        arrive = depart + out
        return_s = arrive + m.landing_service_s + back
        if arrive > request.deadline_s:
            return (
                f"earliest delivery {arrive:.0f} s is after the deadline {request.deadline_s:.0f} s"
            )
        return DroneTrip(request.id, drone.id, depart, arrive, return_s, energy, landing_soc)

    def insert(self, request: ParcelRequest, now_s: float) -> Decision:
        best: DroneTrip | None = None
        reasons: set[str] = set()
        for did in sorted(self.drones):
            drone = self.drones[did]
            if not drone.online:
                reasons.add("drone offline")
                continue
            trip = self.plan_trip(drone, request, now_s)
            if isinstance(trip, str):
                reasons.add(trip)
                continue
            if best is None or (trip.arrive_s, trip.drone_id) < (best.arrive_s, best.drone_id):
                best = trip
        if best is None:
            return Decision(
                False, request.id, reason="; ".join(sorted(reasons)) or "no drone in service"
            )
        drone = self.drones[best.drone_id]
        drone.available_s = best.return_s
        drone.soc = best.landing_soc
        drone.queue.append(request.id)
        self.trips[request.id] = best
        return Decision(True, request.id, best.drone_id, best.arrive_s, best.arrive_s + 300.0)

    def release(self, order_id: str) -> DroneTrip | None:
        """Forget a planned trip (delivered, cancelled, or to be re-dispatched)."""
        trip = self.trips.pop(order_id, None)
        if trip is not None:
            drone = self.drones[trip.drone_id]
            drone.queue = [o for o in drone.queue if o != order_id]
        return trip

    def set_online(self, drone_id: str, online: bool) -> None:
        self.drones[drone_id].online = online
