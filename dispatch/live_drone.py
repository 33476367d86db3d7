"""Live drone dispatch: answer a new parcel at once by cheap insertion of one sortie.

Each drone's plan is a list of sorties (fly to the order's warehouse, load and swap the battery,
fly to its port, release at payload), then the flight home. A new order is tried as a new sortie
at every position of every drone's list; a position is feasible when the whole plan stays
feasible under the same rules as `drone_model` (and `plan_check`): payload, the landing reserve
at every arrival (energy at the payload carried; a swap at every reload), loading not before
ready, release not after the deadline nor after any window already promised. The cheapest
feasible position (least added flying time, then earliest release, then drone id) wins; the
answer is an acceptance with the promised release window, or a rejection with the reason.

Every plan it holds can be exported as a `DronePlan` (`plan()`) for the independent checker and
as warm-start routes for the background re-optimisation (`dispatch.live_replan`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from dispatch.domain import DeliveryOrder, OrderId, Site, SiteId, TravelMatrix, Vehicle, VehicleId
from dispatch.drone_model import DroneModelParams
from dispatch.drone_plan import DronePlan, DroneRoute, DroneStop
from dispatch.live import Decision

PROMISE_WINDOW_S = 600


@dataclass(slots=True)
class _Drone:
    vehicle: Vehicle
    sorties: list[DeliveryOrder] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _State:
    here: str
    t_s: int
    soc: float
    flight_s: int
    release_s: int


@dataclass(frozen=True, slots=True)
class _Trial:
    feasible: bool
    reason: str = ""
    flight_s: int = 0
    releases: tuple[int, ...] = ()
    stops: tuple[DroneStop, ...] = ()


class DroneInsertion:
    """Cheap insertion over per-drone sortie lists (see the module docstring)."""

    def __init__(
        self,
        drones: Sequence[Vehicle],
        sites: Mapping[SiteId, Site],
        air: TravelMatrix,
        params: DroneModelParams | None = None,
    ) -> None:
        self.params = params or DroneModelParams()
        self.sites = sites
        self.air = air
        self.drones = {d.id: _Drone(d) for d in drones}
        self.promised_s: dict[OrderId, int] = {}
        self.unserved: dict[OrderId, str] = {}
        self.orders: dict[OrderId, DeliveryOrder] = {}

    def insert(self, order: DeliveryOrder) -> Decision:
        """Accept `order` into the best drone's plan, or reject it with the reason."""
        self.orders[order.id] = order
        best: tuple[tuple[int, int, str, int], list[DeliveryOrder], int] | None = None
        reasons: set[str] = set()
        for did in sorted(self.drones):
            drone = self.drones[did]
            found = self._best_position(drone, order, reasons)
            if found is None:
                continue
            added, release, pos = found
            key = (added, release, str(did), pos)
            if best is None or key < best[0]:
                best = (key, [*drone.sorties[:pos], order, *drone.sorties[pos:]], release)
        if best is None:
            why = "; ".join(sorted(reasons)) or "no drone in service"
            self.unserved[order.id] = why
            return Decision(False, order.id, reason=why)
        (_, _, best_id, _), sorties, release = best
        did = VehicleId(best_id)
        self.drones[did].sorties = sorties
        latest = min(order.deadline_s, release + PROMISE_WINDOW_S)
        self.promised_s[order.id] = latest
        self.unserved.pop(order.id, None)
        return Decision(True, order.id, did, float(release), float(latest))

    def _best_position(
        self, drone: _Drone, order: DeliveryOrder, reasons: set[str]
    ) -> tuple[int, int, int] | None:
        """(added flying s, release time, position) of the best feasible position, or None.

        The states before each sortie of the base plan are computed once; a trial from position
        `pos` stops as soon as it is back in step with the base plan (same time after the same
        sortie: the battery was swapped at that sortie's reload, so the rest is identical)."""
        v = drone.vehicle
        state0 = self._initial(v)
        if isinstance(state0, str):
            reasons.add(state0)
            return None
        states: list[_State] = [state0]
        for o in drone.sorties:
            nxt = self._step(v, states[-1], o)
            if isinstance(nxt, str):
                reasons.add("the current plan of a drone no longer holds")
                return None
            states.append(nxt)
        base_end = self._close(v, states[-1])
        if isinstance(base_end, str):
            return None
        best: tuple[int, int, int] | None = None
        for pos in range(len(drone.sorties) + 1):
            st = self._step(v, states[pos], order)
            if isinstance(st, str):
                reasons.add(st)
                continue
            release = st.release_s
            total: int | None = None
            for m in range(pos, len(drone.sorties)):
                nxt = self._step(v, st, drone.sorties[m])
                if isinstance(nxt, str):
                    reasons.add(nxt)
                    break
                st = nxt
                if st.t_s == states[m + 1].t_s:
                    total = st.flight_s + base_end.flight_s - states[m + 1].flight_s
                    break
            else:
                end = self._close(v, st)
                if isinstance(end, str):
                    reasons.add(end)
                    continue
                total = end.flight_s
            if total is None:
                continue
            cand = (total - base_end.flight_s, release, pos)
            if best is None or cand < best:
                best = cand
        return best

    def _initial(self, v: Vehicle) -> _State | str:
        em = self.params.energy
        start = v.start
        here, t, soc = start.location, start.t_s, start.battery_soc
        if em.needs_swap(soc):
            site = self.sites.get(SiteId(here))
            if not (start.landed and site is not None and site.swaps_batteries):
                return f"drone {v.id} is under the reserve"
            t, soc = t + self.params.swap_s, 1.0
        return _State(here, t, soc, 0, -1)

    def _step(self, v: Vehicle, st: _State, o: DeliveryOrder) -> _State | str:
        """One sortie from state `st` (the same rules as `_simulate`)."""
        p = self.params
        em = p.energy
        if o.weight_kg > min(v.max_payload_kg, em.max_payload_kg):
            return f"{o.weight_kg} kg is over the payload limit"
        leg = self.air.time(st.here, o.warehouse)
        soc = st.soc - em.leg_energy_wh(leg, 0.0) / em.battery_wh
        if soc < em.reserve_fraction or leg >= 10**9:
            return "a drone cannot reach the warehouse above the reserve"
        begin = max(st.t_s + leg, o.ready_s)
        out = self.air.time(o.warehouse, o.drone_port)
        soc = 1.0 - em.leg_energy_wh(out, o.weight_kg) / em.battery_wh
        if soc < em.reserve_fraction or out >= 10**9:
            return "the port is beyond the battery's reach above the reserve"
        arrive = begin + o.load_s + p.swap_s + out
        if arrive > min(o.deadline_s, self.promised_s.get(o.id, o.deadline_s)):
            return "no drone can release it by its deadline"
        soc -= em.hover_energy_wh(o.drop_s, o.weight_kg) / em.battery_wh
        return _State(o.drone_port, arrive + o.drop_s, soc, st.flight_s + leg + out, arrive)

    def _close(self, v: Vehicle, st: _State) -> _State | str:
        em = self.params.energy
        home = v.home or st.here
        leg = self.air.time(st.here, home)
        soc = st.soc - em.leg_energy_wh(leg, 0.0) / em.battery_wh
        if soc < em.reserve_fraction or leg >= 10**9:
            return "a drone could not get home above the reserve"
        if st.t_s + leg > v.shift_end_s:
            return "it would end after the drone's shift"
        return _State(home, st.t_s + leg, soc, st.flight_s + leg, st.release_s)

    def remove(self, order_id: str) -> None:
        """Forget an order (delivered, cancelled, or handed to another plan)."""
        for drone in self.drones.values():
            drone.sorties = [o for o in drone.sorties if o.id != order_id]
        self.promised_s.pop(OrderId(order_id), None)

    def set_sorties(self, vehicle_id: str, orders: Sequence[DeliveryOrder]) -> bool:
        """Adopt a re-optimised sortie list if it is feasible and keeps every promise."""
        drone = self.drones[VehicleId(vehicle_id)]
        if not self._simulate(drone.vehicle, list(orders)).feasible:
            return False
        drone.sorties = list(orders)
        return True

    def flight_s(self, vehicle_id: str) -> int:
        """Flying time of a drone's current plan (0 when it is infeasible: never expected)."""
        drone = self.drones[VehicleId(vehicle_id)]
        trial = self._simulate(drone.vehicle, drone.sorties)
        return trial.flight_s if trial.feasible else 0

    def plan(self) -> DronePlan:
        """The current plans as a `DronePlan` (for the checker and for warm starts)."""
        routes = []
        for did in sorted(self.drones):
            drone = self.drones[did]
            trial = self._simulate(drone.vehicle, drone.sorties)
            start = drone.vehicle.start
            routes.append(
                DroneRoute(did, start.location, start.t_s, start.battery_soc, trial.stops)
            )
        return DronePlan(tuple(routes), tuple(sorted(self.unserved.items())))

    def _simulate(self, drone: Vehicle, sorties: Sequence[DeliveryOrder]) -> _Trial:
        p = self.params
        em = p.energy
        air = self.air
        reserve = em.reserve_fraction
        limit = min(drone.max_payload_kg, em.max_payload_kg)
        start = drone.start
        here, t, soc = start.location, start.t_s, start.battery_soc
        if em.needs_swap(soc):
            site = self.sites.get(SiteId(here))
            if not (start.landed and site is not None and site.swaps_batteries):
                return _Trial(False, f"drone {drone.id} is under the reserve")
            t, soc = t + p.swap_s, 1.0
        flight = 0
        stops: list[DroneStop] = []
        releases: list[int] = []
        for o in sorties:
            if o.weight_kg > limit:
                return _Trial(False, f"{o.weight_kg} kg is over the {limit} kg payload limit")
            leg = air.time(here, o.warehouse)
            soc -= em.leg_energy_wh(leg, 0.0) / em.battery_wh
            if soc < reserve or leg >= 10**9:
                return _Trial(False, "a drone cannot reach the warehouse above the reserve")
            arrive = t + leg
            begin = max(arrive, o.ready_s)
            stops.append(
                DroneStop(
                    "pickup",
                    o.warehouse,
                    o.id,
                    arrive,
                    begin,
                    begin + o.load_s + p.swap_s,
                    0.0,
                    soc,
                )
            )
            soc = 1.0
            out = air.time(o.warehouse, o.drone_port)
            soc -= em.leg_energy_wh(out, o.weight_kg) / em.battery_wh
            if soc < reserve or out >= 10**9:
                return _Trial(False, "the port is beyond the battery's reach above the reserve")
            arrive = begin + o.load_s + p.swap_s + out
            latest = min(o.deadline_s, self.promised_s.get(o.id, o.deadline_s))
            if arrive > latest:
                return _Trial(False, "no drone can release it by its deadline")
            stops.append(
                DroneStop(
                    "delivery",
                    o.drone_port,
                    o.id,
                    arrive,
                    arrive,
                    arrive + o.drop_s,
                    o.weight_kg,
                    soc,
                )
            )
            releases.append(arrive)
            soc -= em.hover_energy_wh(o.drop_s, o.weight_kg) / em.battery_wh
            t, here = arrive + o.drop_s, o.drone_port
            flight += leg + out
        home = drone.home or here
        leg = air.time(here, home)
        soc -= em.leg_energy_wh(leg, 0.0) / em.battery_wh
        if soc < reserve or leg >= 10**9:
            return _Trial(False, "a drone could not get home above the reserve")
        if t + leg > drone.shift_end_s:
            return _Trial(False, "it would end after the drone's shift")
        stops.append(DroneStop("end", home, None, t + leg, t + leg, t + leg, 0.0, soc))
        return _Trial(True, flight_s=flight + leg, releases=tuple(releases), stops=tuple(stops))
