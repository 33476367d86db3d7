"""A local flat-earth frame around a geodetic origin, for the simulated copter's kinematics.

The copter flies a few kilometres at most, so a local tangent plane (north, east, up) around
its home is accurate to centimetres, and much cheaper than a projection per step. The radii
of curvature are WGS-84's at the origin's latitude. Altitudes are metres above the origin's
ground (`up_m`); the origin's AMSL altitude converts them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

_A_M = 6378137.0  # WGS-84 semi-major axis
_E2 = 6.69437999014e-3  # WGS-84 first eccentricity squared


@dataclass(frozen=True, slots=True)
class LocalFrame:
    """North-east-up metres around `(origin_lat_deg, origin_lon_deg)` at `origin_alt_amsl_m`."""

    origin_lat_deg: float
    origin_lon_deg: float
    origin_alt_amsl_m: float = 0.0

    @property
    def _m_per_deg(self) -> tuple[float, float]:
        return _m_per_deg(self.origin_lat_deg)

    def to_ne_m(self, lat_deg: float, lon_deg: float) -> tuple[float, float]:
        """Metres north and east of the origin for a WGS-84 position."""
        m_lat, m_lon = self._m_per_deg
        return (lat_deg - self.origin_lat_deg) * m_lat, (lon_deg - self.origin_lon_deg) * m_lon

    def to_lat_lon_deg(self, north_m: float, east_m: float) -> tuple[float, float]:
        """The WGS-84 position `north_m`, `east_m` from the origin."""
        m_lat, m_lon = self._m_per_deg
        return self.origin_lat_deg + north_m / m_lat, self.origin_lon_deg + east_m / m_lon


@lru_cache(maxsize=256)  # one per home: asked for at every position report
def _m_per_deg(lat_deg: float) -> tuple[float, float]:
    """Metres per degree of latitude and of longitude at `lat_deg`."""
    lat_rad = math.radians(lat_deg)
    s2 = math.sin(lat_rad) ** 2
    meridional_m = _A_M * (1.0 - _E2) / (1.0 - _E2 * s2) ** 1.5
    normal_m = _A_M / math.sqrt(1.0 - _E2 * s2)
    return math.radians(meridional_m), math.radians(normal_m * math.cos(lat_rad))


def distance_m(a_ne: tuple[float, float], b_ne: tuple[float, float]) -> float:
    """Horizontal distance between two local points."""
    return math.hypot(b_ne[0] - a_ne[0], b_ne[1] - a_ne[1])
