"""The demo's drones: simulated ArduPilot-like copters over real UDP, the service's MAVLink
endpoint and drone operations, a ground crew at each warehouse, and the safety truth.

Timing is in clock seconds, and the demo's clock runs `speed` times faster than the wall, so the
link's stream rates, heartbeat and timeouts are scaled by `k = speed / 5` (telemetry a few times
per wall second, the same timeouts in wall time as at 5x). A real deployment uses the defaults.

The ground crew is part of the world, not of the service: when a copter is landed and disarmed
at its warehouse it swaps the battery (after `battery_swap_s`) and loads the parcel the service
says is next. What the report says about safety comes from the copters themselves: every landing's
state of charge, the closest approach between airborne copters, and the airspace check of every
flown track.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol

from fleet.drone_link import link_config as drone_link_config
from fleet.drones import DroneOperations, warm_up_routers
from fleet.service import FleetService
from geofences.conformance import ConformanceChecker
from geofences.frame import to_local, to_wgs84
from sim.copter.autopilot import CopterAutopilot
from sim.copter.battery import Battery, BatterySpec
from sim.copter.flight import CopterConfig
from sim.copter.swarm import CopterSwarm
from sim.scenario.model import Scenario
from sim.scenario.record import Landing, RunRecord, Track, TrackPoint, Violation
from vehicles.clock import Clock
from vehicles.mavlink import UdpEndpoint
from vehicles.mavlink.link import LinkConfig
from vehicles.mavlink.transport import Endpoint

NOMINAL_V = 6 * 3.7
HOME_PAD_SPACING_M = 60.0  # the separation threshold and 10 m for drift: neighbours are never closer
HOME_AREA_M = 200.0  # a copter this close to a site's point is on one of its pads (rows of 60 m)


def link_config(speed: float) -> LinkConfig:
    """The service's link timing for the demo's clock (`fleet.drone_link.link_config`)."""
    return drone_link_config(speed)


class WorldCopter(Protocol):
    """What the world needs of a simulated copter, on UDP (`SwarmCopter`) or in memory."""

    @property
    def autopilot(self) -> CopterAutopilot: ...


@dataclass
class _Crew:
    landed_at_s: float | None = None
    airborne: bool = False
    loaded_order: str = ""
    last_soc: float = 1.0


@dataclass
class DroneWorld:
    service: FleetService
    scenario: Scenario
    clock: Clock
    speed: float
    endpoint: Endpoint | None = None
    swarm: CopterSwarm | None = None
    ops: DroneOperations | None = None
    copters: dict[str, WorldCopter] = field(default_factory=dict)
    crew: dict[str, _Crew] = field(default_factory=dict)
    next_track_s: float = 0.0

    async def start(self) -> None:
        k = max(1.0, self.speed / 5.0)
        first = next(s for s in self.service.config.sites if s.kind == "warehouse")
        self.service._air_leg_s(first.id, first.id)  # build the air matrix before any link runs
        warm_up_routers(self.service)  # and the flight layers' routers
        self.endpoint = await UdpEndpoint.start(
            host="127.0.0.1", port=0, clock=self.clock, config=link_config(self.speed), tick_s=0.05
        )
        self.ops = DroneOperations(self.service, self.endpoint)
        self.service.drone_link = self.ops
        self.ops.start()
        self.swarm = CopterSwarm(self.clock, step_s=0.05 * k)
        for vehicle_id, sysid, config in self.copter_configs():
            self.copters[vehicle_id] = await self.swarm.add_udp(
                sysid, ("127.0.0.1", self.endpoint.port), config
            )
            self.crew[vehicle_id] = _Crew()
        self.swarm.start()

    def copter_configs(self) -> list[tuple[str, int, CopterConfig]]:
        """(vehicle id, system id, copter configuration) of every drone of the service."""
        d = self.scenario.drone
        spec = BatterySpec(capacity_mah=d.battery_wh / NOMINAL_V * 1000.0)
        out = []
        at_site: dict[str, int] = {}
        for v in self.service.config.vehicles:
            if v.kind != "drone":
                continue
            home = self.service.sites[v.home]
            i = at_site[v.home] = at_site.get(v.home, 0) + 1
            # each copter on its own pad: rows of three, 60 m apart, north-east of the point
            # (the point itself is the loading pad for copters from other warehouses)
            pad_lat, pad_lon = to_wgs84(
                *(a + b for a, b in zip(to_local(home.lat_deg, home.lon_deg),
                                        (HOME_PAD_SPACING_M * (i % 3),
                                         HOME_PAD_SPACING_M * (i // 3)), strict=True))
            )
            config = CopterConfig(
                home_lat_deg=pad_lat,
                home_lon_deg=pad_lon,
                home_alt_amsl_m=0.0,
                battery=spec,
                link_time_scale=max(1.0, self.speed / 5.0),  # as the service's link (k)
                params={
                    "FENCE_ENABLE": 1,
                    "LAND_SPEED": 150,
                    "WPNAV_SPEED": d.cruise_speed_m_s * 100,
                },
            )
            out.append((v.id, v.sysid, config))
        return out

    def tick(self, record: RunRecord) -> None:
        """Once per loop of the runner: ground crew, landings, separation, tracks."""
        if not self.copters:
            return
        now = self.clock.now_s()
        airborne: list[tuple[str, float, float, float]] = []
        sample = now >= self.next_track_s
        if sample:
            self.next_track_s = now + 10.0
        for did, copter in self.copters.items():
            fc = copter.autopilot.fc
            crew = self.crew[did]
            lat, lon = fc.lat_lon_deg
            flying = not fc.land_complete
            if crew.airborne and not flying:  # a landing: the truth of the reserve
                site = _nearest_site(self.service, lat, lon)
                record.landings.append(Landing(did, round(now, 1), round(fc.battery.soc, 4), site))
                crew.landed_at_s = now
            crew.airborne = flying
            if flying:
                airborne.append((did, lat, lon, fc.alt_amsl_m))
                record.busy_s[did] = record.busy_s.get(did, 0.0)
            else:
                self._crew_work(did, copter, now)
            if sample:
                track = record.tracks.setdefault(did, Track(did, "drone"))
                track.points.append(
                    TrackPoint(
                        round(now, 1),
                        round(lat, 6),
                        round(lon, 6),
                        round(fc.alt_amsl_m, 1),
                        round(fc.battery.soc, 4),
                        self._over_water(lat, lon),
                    )
                )
                if flying:
                    record.busy_s[did] = record.busy_s.get(did, 0.0) + 10.0
            if fc.battery.soc < crew.last_soc:  # energy drawn since the last look (swaps refill)
                used = (crew.last_soc - fc.battery.soc) * self.scenario.drone.battery_wh
                record.energy_wh[did] = record.energy_wh.get(did, 0.0) + used
            crew.last_soc = fc.battery.soc
        for i, (a, *pa) in enumerate(airborne):
            east_m_per_deg = 111_000.0 * math.cos(math.radians(pa[0]))  # as `_flat_m` from a
            for b, *pb in airborne[i + 1:]:
                dy = (pa[0] - pb[0]) * 111_000.0
                if abs(dy) >= record.min_drone_separation_m:
                    continue  # further apart than the closest pair yet, north-south alone
                d_m = math.hypot(math.hypot((pa[1] - pb[1]) * east_m_per_deg, dy), pa[2] - pb[2])
                if d_m < record.min_drone_separation_m:
                    record.min_drone_separation_m = d_m
                    record.closest_approach = (
                        round(now, 1), a, b, round(pa[0], 6), round(pa[1], 6), round(pa[2], 1)
                    )

    def new_crew(self, vehicle_id: str) -> None:
        self.crew[vehicle_id] = _Crew()

    def _crew_work(self, did: str, copter: WorldCopter, now: float) -> None:
        """A copter on the ground: at home and disarmed, the crew swaps the battery (after
        `battery_swap_s`) and loads the next parcel of this warehouse; at another warehouse
        (landed in its mission, waiting), the crew there loads the parcel it came for."""
        fc = copter.autopilot.fc
        crew = self.crew[did]
        here = fc.lat_lon_deg
        home = self.service.sites[self.service.drones.drones[did].home]
        at_home = _flat_m((home.lat_deg, home.lon_deg), here) < HOME_AREA_M
        if at_home and not fc.armed:
            swap_s = self.scenario.drone.battery_swap_s
            if fc.battery.soc < 0.98 and (
                crew.landed_at_s is None or now - crew.landed_at_s >= swap_s
            ):
                fc.battery = Battery(fc.battery.spec, 1.0)
        order_id = self._next_parcel(did)
        if not order_id or crew.loaded_order == order_id:
            return
        order = self.service.records.orders.get(order_id)
        if order is None:
            return
        site = self.service.sites[order.warehouse]
        if _flat_m((site.lat_deg, site.lon_deg), here) < HOME_AREA_M and (at_home or fc.armed):
            fc.payload_kg = order.weight_kg
            crew.loaded_order = order_id

    def _next_parcel(self, did: str) -> str:
        """The order the copter flies now (its sortie), or the next one queued for it."""
        if self.ops is not None and did in self.ops.crews:
            sortie = self.ops.crews[did].sortie
            if sortie is not None:
                return sortie.order_id
        queue = self.service.drones.drones[did].queue
        return queue[0] if queue else ""

    def _over_water(self, lat: float, lon: float) -> bool:
        land = self.service.airspace.land
        if land is None:
            return False
        import shapely

        return not bool(shapely.contains_xy(land, lon, lat))

    def violations(self, record: RunRecord) -> None:
        checker = ConformanceChecker(self.service.airspace, 0.0)
        for did, track in sorted(record.tracks.items()):
            if track.kind != "drone" or len(track.points) < 2:
                continue
            found, _ = checker.check([(p.lat_deg, p.lon_deg, p.alt_m) for p in track.points])
            for v in found:
                record.violations.append(Violation(did, 0.0, v.volume_id, v.describe()))

    async def stop(self) -> None:
        if self.ops is not None:
            await self.ops.stop()
        if self.swarm is not None:
            await self.swarm.close()
        if self.endpoint is not None:
            await self.endpoint.close()


def _flat_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    dy = (a[0] - b[0]) * 111_000.0
    dx = (a[1] - b[1]) * 111_000.0 * math.cos(math.radians(a[0]))
    return math.hypot(dx, dy)


def _nearest_site(service: FleetService, lat: float, lon: float) -> str:
    best = min(service.config.sites, key=lambda s: _flat_m((s.lat_deg, s.lon_deg), (lat, lon)))
    d = _flat_m((best.lat_deg, best.lon_deg), (lat, lon))
    return best.id if d < 100.0 else f"off-site ({d:.0f} m from {best.id})"
