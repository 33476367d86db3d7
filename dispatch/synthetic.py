"""Synthetic, seeded Chiba-like instances for tests and the live benchmark.

Sites are scattered in a local metric frame around Makuhari (warehouses on the bay shore to the
west, drone ports among the towers, bus stops on a grid). Matrices are straight-line distances:
air legs at the drone's cruise speed plus its vertical phases, road legs with a detour factor at
bus speed, sidewalk legs at personal-mobility speed. Real runs get air matrices from `geofences`
and ground matrices from the fleet's network; these stand-ins only have to be plausible and
deterministic for a seed.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import numpy as np

from dispatch.domain import (
    DeliveryOrder,
    OrderId,
    Priority,
    Site,
    SiteId,
    SiteKind,
    TravelMatrix,
    TripId,
    TripRequest,
    Vehicle,
    VehicleId,
    VehicleKind,
    VehicleStart,
)
from dispatch.energy import DroneEnergyModel

LAT0, LON0 = 35.648, 140.040  # Makuhari
M_PER_DEG_LAT = 111_000.0


def _latlon(x_m: float, y_m: float) -> tuple[float, float]:
    return (
        LAT0 + y_m / M_PER_DEG_LAT,
        LON0 + x_m / (M_PER_DEG_LAT * math.cos(math.radians(LAT0))),
    )


def euclid_matrix(
    keys: list[str],
    xy: list[tuple[float, float]],
    speed_m_s: float,
    detour: float = 1.0,
    per_leg_s: float = 0.0,
) -> TravelMatrix:
    """Integer matrix from points: distance x detour, time = distance / speed + per-leg time."""
    pts = np.array(xy, dtype=float).reshape(-1, 2)
    d = np.hypot(pts[:, None, 0] - pts[None, :, 0], pts[:, None, 1] - pts[None, :, 1]) * detour
    t = d / speed_m_s + per_leg_s
    np.fill_diagonal(t, 0.0)
    return TravelMatrix.build(keys, np.ceil(d), np.ceil(t))


@dataclass(frozen=True, slots=True)
class DroneInstance:
    """Drones, orders, sites and the air matrix of one synthetic instance."""

    drones: tuple[Vehicle, ...]
    orders: tuple[DeliveryOrder, ...]
    sites: dict[SiteId, Site]
    air: TravelMatrix
    energy: DroneEnergyModel


def drone_instance(
    seed: int,
    drones: int = 20,
    warehouses: int = 3,
    ports: int = 12,
    parcels: int = 200,
    horizon_s: int = 4 * 3600,
    energy: DroneEnergyModel | None = None,
) -> DroneInstance:
    """Warehouses 3-6 km west of the ports; parcels ready over the horizon, 1 h to deliver."""
    rng = random.Random(seed)
    em = energy or DroneEnergyModel()
    sites: dict[SiteId, Site] = {}
    keys: list[str] = []
    xy: list[tuple[float, float]] = []

    def add(sid: str, kind: SiteKind, x: float, y: float) -> None:
        sites[SiteId(sid)] = Site(SiteId(sid), kind, *_latlon(x, y))
        keys.append(sid)
        xy.append((x, y))

    for w in range(warehouses):
        add(f"W{w}", SiteKind.WAREHOUSE, rng.uniform(-6000, -3000), rng.uniform(-3000, 3000))
    for p in range(ports):
        add(f"P{p}", SiteKind.DRONE_PORT, rng.uniform(-500, 1500), rng.uniform(-1500, 1500))
    add("S0", SiteKind.SWAP_STATION, -1000.0, 0.0)
    air = euclid_matrix(keys, xy, em.cruise_speed_m_s, per_leg_s=em.vertical_s)
    fleet = tuple(
        Vehicle(
            VehicleId(f"D{k}"),
            VehicleKind.DRONE,
            VehicleStart(f"W{k % warehouses}", t_s=0, battery_soc=rng.uniform(0.5, 1.0)),
            max_payload_kg=em.max_payload_kg,
            home=f"W{k % warehouses}",
            shift_end_s=horizon_s + 3600,
        )
        for k in range(drones)
    )
    orders = []
    for i in range(parcels):
        ready = rng.randrange(0, horizon_s)
        orders.append(
            DeliveryOrder(
                OrderId(f"O{i}"),
                weight_kg=round(rng.uniform(0.2, 4.5), 2),
                warehouse=SiteId(f"W{rng.randrange(warehouses)}"),
                drone_port=SiteId(f"P{rng.randrange(ports)}"),
                ready_s=ready,
                deadline_s=ready + 3600,
                priority=Priority.MEDICINE if rng.random() < 0.1 else Priority.NORMAL,
            )
        )
    return DroneInstance(fleet, tuple(orders), sites, air, em)


@dataclass(frozen=True, slots=True)
class GroundInstance:
    """Buses, personal mobility, trips, stops and the road and sidewalk matrices."""

    vehicles: tuple[Vehicle, ...]
    trips: tuple[TripRequest, ...]
    stops: dict[SiteId, Site]
    road: TravelMatrix
    sidewalk: TravelMatrix


def ground_instance(
    seed: int,
    buses: int = 6,
    mobility: int = 30,
    trips: int = 300,
    horizon_s: int = 3 * 3600,
    area_m: float = 4000.0,
) -> GroundInstance:
    """Stops on a 500 m grid; doors anywhere; rides ready over the horizon."""
    rng = random.Random(seed)
    stops: dict[SiteId, Site] = {}
    keys: list[str] = []
    xy: list[tuple[float, float]] = []
    step = 500.0
    n_side = int(area_m // step) + 1
    for i in range(n_side):
        for j in range(n_side):
            sid = f"S{i}_{j}"
            stops[SiteId(sid)] = Site(SiteId(sid), SiteKind.STOP, *_latlon(i * step, j * step))
            keys.append(sid)
            xy.append((i * step, j * step))
    trip_list = []
    for r in range(trips):
        o = (rng.uniform(0, area_m), rng.uniform(0, area_m))
        d = (rng.uniform(0, area_m), rng.uniform(0, area_m))
        keys += [f"T{r}o", f"T{r}d"]
        xy += [o, d]
        early = rng.randrange(0, horizon_s)
        riders = 1 if rng.random() < 0.7 else rng.randint(2, 4)
        trip_list.append(
            TripRequest(TripId(f"T{r}"), riders, f"T{r}o", f"T{r}d", early, early + 3600)
        )
    fleet = []
    for b in range(buses):
        sid = f"S{rng.randrange(n_side)}_{rng.randrange(n_side)}"
        fleet.append(Vehicle(VehicleId(f"B{b}"), VehicleKind.BUS, VehicleStart(sid), capacity=12))
    for m in range(mobility):
        sid = f"S{rng.randrange(n_side)}_{rng.randrange(n_side)}"
        fleet.append(
            Vehicle(
                VehicleId(f"M{m}"), VehicleKind.PERSONAL_MOBILITY, VehicleStart(sid), capacity=1
            )
        )
    road = euclid_matrix(keys, xy, speed_m_s=8.0, detour=1.3)
    sidewalk = euclid_matrix(keys, xy, speed_m_s=3.0, detour=1.2)
    return GroundInstance(tuple(fleet), tuple(trip_list), stops, road, sidewalk)
