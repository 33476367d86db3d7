"""From a scenario to a service configuration and a simulated fleet (the demo's composition).

The service is configured exactly as an operator would configure it (`fleet.config`), from the
scenario's places and fleets and the simulated network's stops, homes and depots.
"""

from __future__ import annotations

import math
from typing import Any

from sim.ground.bus import Bus
from sim.ground.mobility import PersonalMobility
from sim.ground.network import RoadNetwork
from sim.ground.vehicle import GroundVehicle
from sim.scenario.demand import TripPoint
from sim.scenario.model import Scenario

DEMO_TOKENS = {
    "logistics": "demo-logistics-token",
    "mobility": "demo-mobility-token",
    "viewer": "demo-viewer-token",
    "admin": "demo-admin-token",
}


def network_places(net: RoadNetwork) -> list[dict[str, Any]]:
    """Stops, homes and depots of the simulated network, as service sites."""
    kinds = {"bus_stop": "stop", "home": "home", "depot": "depot"}
    out = []
    for place in sorted(net.places.values(), key=lambda p: p.id):
        kind = kinds.get(str(place.kind))
        if kind is None:
            continue
        out.append(
            {
                "id": place.id,
                "kind": kind,
                "name": place.name,
                "name_ja": place.name_ja,
                "lat_deg": place.lat_deg,
                "lon_deg": place.lon_deg,
            }
        )
    return out


def trip_points(net: RoadNetwork) -> tuple[list[TripPoint], list[str]]:
    """Where riders travel between (stops weighted more than homes), and the stations."""
    points, stations = [], []
    for site in network_places(net):
        if site["kind"] == "depot":
            continue
        weight = 2.0 if site["kind"] == "stop" else 1.0
        points.append(TripPoint(site["id"], site["lat_deg"], site["lon_deg"], weight))
        if "station" in site["name"].lower():
            stations.append(site["id"])
    return points, stations


def service_config(
    scenario: Scenario,
    net: RoadNetwork,
    journal: str,
    http: str,
    vehicle_ws: str,
    telemetry_period_s: float,
) -> dict[str, Any]:
    sites = [
        {
            "id": w.id,
            "kind": "warehouse",
            "name": w.name,
            "name_ja": w.name_ja,
            "lat_deg": w.lat_deg,
            "lon_deg": w.lon_deg,
        }
        for w in scenario.warehouses
    ]
    sites += [
        {
            "id": p.id,
            "kind": "drone_port",
            "name": p.name,
            "name_ja": p.name_ja,
            "lat_deg": p.lat_deg,
            "lon_deg": p.lon_deg,
            "capacity": p.count,
        }
        for p in scenario.drone_ports
    ]
    sites += network_places(net)
    vehicles: list[dict[str, Any]] = []
    sysid = 1
    for w in scenario.warehouses:
        for _ in range(w.count):
            vehicles.append(
                {
                    "id": f"drone-{sysid:02d}",
                    "kind": "drone",
                    "home": w.id,
                    "sysid": sysid,
                    "capacity": int(scenario.drone.max_payload_kg * 1000),
                }
            )
            sysid += 1
    for i in range(1, scenario.bus.count + 1):
        vehicles.append(
            {
                "id": f"bus-{i}",
                "kind": "bus",
                "home": "bus-depot",
                "token": f"bus-{i}-demo-token",
                "capacity": scenario.bus.capacity,
            }
        )
    for i in range(1, scenario.mobility.count + 1):
        vehicles.append(
            {
                "id": f"pm-{i:02d}",
                "kind": "mobility",
                "home": "pm-depot",
                "token": f"pm-{i:02d}-demo-token",
                "capacity": 1,
            }
        )
    d = scenario.drone
    slack = max(3.0, 3.0 * telemetry_period_s)
    return {
        "service": {"name": f"kaiteki-{scenario.name}", "journal": journal},
        "listen": {"http": http, "vehicle_ws": vehicle_ws, "mavlink_udp": "127.0.0.1:0"},
        "operators": [
            {"name": f"demo-{role}", "token": tok, "role": role}
            for role, tok in DEMO_TOKENS.items()
        ],
        "sites": sites,
        "vehicles": vehicles,
        "drone": {
            "cruise_speed_m_s": d.cruise_speed_m_s,
            "cruise_alt_m": d.cruise_alt_m,
            "climb_speed_m_s": d.climb_speed_m_s,
            "descent_speed_m_s": d.descent_speed_m_s,
            "max_payload_kg": d.max_payload_kg,
            "battery_wh": d.battery_wh,
            "hover_power_w": d.hover_power_w,
            "cruise_power_w": d.cruise_power_w,
            "power_per_kg_w": d.power_per_kg_w,
            "reserve_fraction": d.reserve_fraction,
            "battery_swap_s": d.battery_swap_s,
            "loading_s": d.loading_s,
            "landing_service_s": d.landing_service_s,
        },
        "supervisor": {
            "link_degraded_s": slack,
            "ground_lost_s": max(15.0, 6.0 * telemetry_period_s),
            "lateness_margin_s": 300.0,
        },
        "dispatch": {"seed": scenario.seed, "bus_max_ride_factor": scenario.trips.max_ride_factor},
    }


def ground_fleet(scenario: Scenario, net: RoadNetwork) -> list[GroundVehicle]:
    vehicles: list[GroundVehicle] = []
    loop = [s for s in scenario.bus.loop if s in net.places]
    for i in range(1, scenario.bus.count + 1):
        start = loop[(i - 1) * max(1, len(loop) // max(1, scenario.bus.count)) % len(loop)]
        vehicles.append(Bus(f"bus-{i}", net, loop=loop, start=start))
    for i in range(1, scenario.mobility.count + 1):
        vehicles.append(PersonalMobility(f"pm-{i:02d}", net, start="pm-depot"))
    return vehicles


def tokens(config: dict[str, Any]) -> dict[str, str]:
    return {v["id"]: v["token"] for v in config["vehicles"] if v["kind"] != "drone"}


def min_pairwise_m(points: list[tuple[float, float, float]]) -> float:
    """Smallest 3-D distance between any two (lat, lon, alt) points (for drone separation)."""
    best = math.inf
    for i in range(len(points)):
        for j in range(i + 1, len(points)):
            a, b = points[i], points[j]
            dy = (a[0] - b[0]) * 111_000.0
            dx = (a[1] - b[1]) * 111_000.0 * math.cos(math.radians(a[0]))
            best = min(best, math.sqrt(dx * dx + dy * dy + (a[2] - b[2]) ** 2))
    return best
