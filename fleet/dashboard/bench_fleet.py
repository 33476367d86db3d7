"""A synthetic fleet for the dashboard benchmark: many vehicles moving, each reporting at its rate.

The dashboard's load is its live feed, so what the benchmark needs is a feed with the shape and
the rates of a real fleet, not the fleet itself (the wire protocols have their own benchmarks:
`fleet.ground_bench`, `dispatch.live_bench`). `SyntheticFleet` is sans-I/O: `due(now_s)` moves
every vehicle whose report is due to `now_s` and returns its position message, shaped like the
ones `fleet.ground_ops` and `fleet.drones` publish (`{"type": "vehicle", id, kind, state, link,
lat_deg, lon_deg, heading_deg, speed_m_s, battery_soc, t_s}`).

Rates: ground vehicles (buses and personal mobility) report every 1-2 s (each its own period and
phase), drones every 0.25 s (4 Hz, a usual GLOBAL_POSITION_INT stream rate to a ground station).
Vehicles move in straight lines inside a box over Makuhari (ground vehicles turning a little at
each report, everyone bouncing off the box's edges). A fixed seed gives the same fleet.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

MAKUHARI_BOX = (35.625, 139.995, 35.668, 140.085)
"""lat0, lon0, lat1, lon1 (degrees): the bay shore from Akanehama to Inage."""

M_PER_DEG_LAT = 111_320.0


@dataclass(slots=True)
class _Mover:
    id: str
    kind: str
    period_s: float
    next_s: float
    last_s: float
    lat_deg: float
    lon_deg: float
    heading_deg: float
    speed_m_s: float
    battery_soc: float
    link: str


@dataclass(frozen=True, slots=True)
class Report:
    """One position message and what the feed filters on."""

    message: dict[str, Any]
    kind: str
    lat_deg: float
    lon_deg: float


class SyntheticFleet:
    """`vehicles` movers: a `drone_share` of drones, a `bus_share` of buses, the rest mobility."""

    def __init__(
        self,
        vehicles: int = 1000,
        *,
        drone_share: float = 0.2,
        bus_share: float = 0.05,
        ground_period_s: tuple[float, float] = (1.0, 2.0),
        drone_period_s: float = 0.25,
        lost_share: float = 0.01,
        seed: int = 1,
        box: tuple[float, float, float, float] = MAKUHARI_BOX,
    ) -> None:
        if vehicles < 0 or not 0.0 <= drone_share + bus_share <= 1.0:
            raise ValueError("need vehicles >= 0 and 0 <= drone_share + bus_share <= 1")
        rng = random.Random(seed)
        self._rng = rng
        self.box = box
        self.movers: list[_Mover] = []
        n_drones = round(vehicles * drone_share)
        n_buses = round(vehicles * bus_share)
        for i in range(vehicles):
            if i < n_drones:
                kind, vid, period, speed = "drone", f"drone-{i:04d}", drone_period_s, 11.0
            elif i < n_drones + n_buses:
                kind, vid = "bus", f"bus-{i:04d}"
                period, speed = rng.uniform(*ground_period_s), rng.uniform(4.0, 9.0)
            else:
                kind, vid = "mobility", f"pm-{i:04d}"
                period, speed = rng.uniform(*ground_period_s), rng.uniform(1.5, 5.0)
            self.movers.append(
                _Mover(
                    vid,
                    kind,
                    period,
                    rng.uniform(0.0, period),  # phases spread: no synchronised bursts
                    0.0,
                    rng.uniform(box[0], box[2]),
                    rng.uniform(box[1], box[3]),
                    rng.uniform(0.0, 360.0),
                    speed,
                    rng.uniform(0.4, 1.0),
                    "lost" if rng.random() < lost_share else "up",
                )
            )

    @property
    def reports_per_s(self) -> float:
        """The mean rate of position messages this fleet publishes."""
        return sum(1.0 / m.period_s for m in self.movers)

    def due(self, now_s: float) -> list[Report]:
        """Move every vehicle whose report is due at `now_s`; their messages, in id order."""
        out = []
        for m in self.movers:
            if m.next_s > now_s:
                continue
            self._move(m, now_s)
            m.next_s = max(m.next_s + m.period_s, now_s)
            out.append(
                Report(
                    {
                        "type": "vehicle",
                        "id": m.id,
                        "kind": m.kind,
                        "state": "busy",
                        "link": m.link,
                        "lat_deg": round(m.lat_deg, 7),
                        "lon_deg": round(m.lon_deg, 7),
                        "heading_deg": round(m.heading_deg, 1),
                        "speed_m_s": m.speed_m_s,
                        "battery_soc": round(m.battery_soc, 3),
                        "t_s": round(now_s, 3),
                    },
                    m.kind,
                    m.lat_deg,
                    m.lon_deg,
                )
            )
        return out

    def _move(self, m: _Mover, now_s: float) -> None:
        dt_s = max(0.0, now_s - m.last_s)
        m.last_s = now_s
        if m.kind != "drone":
            m.heading_deg = (m.heading_deg + self._rng.uniform(-15.0, 15.0)) % 360.0
        a = math.radians(m.heading_deg)
        step_m = m.speed_m_s * dt_s
        lat = m.lat_deg + step_m * math.cos(a) / M_PER_DEG_LAT
        lon = m.lon_deg + step_m * math.sin(a) / (M_PER_DEG_LAT * math.cos(math.radians(lat)))
        lat0, lon0, lat1, lon1 = self.box
        if not lat0 <= lat <= lat1:  # bounce: reverse the north-south part of the heading
            m.heading_deg = (180.0 - m.heading_deg) % 360.0
            lat = min(max(lat, lat0), lat1)
        if not lon0 <= lon <= lon1:
            m.heading_deg = (-m.heading_deg) % 360.0
            lon = min(max(lon, lon0), lon1)
        m.lat_deg, m.lon_deg = lat, lon
        m.battery_soc = max(0.05, m.battery_soc - 0.00002 * dt_s)
