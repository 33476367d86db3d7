"""What routing takes and gives: options, waypoints, a route (or why there is none), a matrix.

Plain frozen dataclasses with units in the names, so other packages (dispatch, fleet, sim) can
use the results without knowing anything of shapely or the local frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from geofences.conformance import Violation

FloatArray = npt.NDArray[np.float64]


class RouteError(ValueError):
    """A route request that cannot be answered (bad coordinates, outside the planning area)."""


@dataclass(frozen=True, slots=True)
class RouteOptions:
    """Flight and cost settings.

    Attributes:
        cruise_alt_m: cruise altitude above ground (the ground is 0 m AMSL here).
        cruise_speed_m_s, climb_speed_m_s, descent_speed_m_s: for the flight-time estimate.
        clearance_m: horizontal distance kept from no-fly volumes and obstacles.
        vertical_clearance_m: a no-fly floor or obstacle top closer than this above (or below)
            the cruise altitude blocks it.
        grid_m: navigation lattice spacing.
        cost_water, cost_preferred, cost_land, cost_permission: cost per metre flown over open
            water, a preferred corridor, land, a permission-required area (e.g. a DID).
        min_cruise_alt_m: when set, `plan_route` that finds no legal path at `cruise_alt_m`
            tries lower cruise altitudes, `cruise_alt_step_m` at a time, down to this one (to
            pass under an airport surface, say). None: only `cruise_alt_m`.
    """

    cruise_alt_m: float = 60.0
    cruise_speed_m_s: float = 11.0
    climb_speed_m_s: float = 3.0
    descent_speed_m_s: float = 2.0
    clearance_m: float = 30.0
    vertical_clearance_m: float = 20.0
    grid_m: float = 250.0
    cost_water: float = 1.0
    cost_preferred: float = 1.0
    cost_land: float = 2.0
    cost_permission: float = 4.0
    min_cruise_alt_m: float | None = None
    cruise_alt_step_m: float = 10.0

    def __post_init__(self) -> None:
        for name in (
            "cruise_alt_m",
            "cruise_speed_m_s",
            "climb_speed_m_s",
            "descent_speed_m_s",
            "grid_m",
            "cost_water",
            "cost_preferred",
            "cost_land",
            "cost_permission",
            "cruise_alt_step_m",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not (math.isfinite(value) and value > 0):
                raise RouteError(f"{name} must be a positive number, got {value!r}")
        low = self.min_cruise_alt_m
        if low is not None and not (math.isfinite(low) and 0 < low <= self.cruise_alt_m):
            raise RouteError(f"min_cruise_alt_m must be in (0, cruise_alt_m], got {low!r}")
        for name in ("clearance_m", "vertical_clearance_m"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise RouteError(f"{name} must be >= 0, got {value!r}")


@dataclass(frozen=True, slots=True)
class Waypoint:
    lat_deg: float
    lon_deg: float
    alt_amsl_m: float
    alt_agl_m: float


@dataclass(frozen=True)
class Route:
    """A planned 3-D path, or the reason there is none (`legal` False, `waypoints` empty).

    `length_m` is the 3-D length flown (climb + horizontal + descent), `horizontal_m` the
    horizontal part; `touched` lists the permission-required volumes the path crosses (the
    operator needs a permit for those, e.g. a DID at the landing site).
    """

    legal: bool
    waypoints: tuple[Waypoint, ...] = ()
    length_m: float = 0.0
    horizontal_m: float = 0.0
    duration_s: float = 0.0
    over_water_fraction: float = 0.0
    cruise_alt_m: float = 0.0
    touched: tuple[str, ...] = ()
    violations: tuple[Violation, ...] = ()
    reason: str = ""

    def path(self) -> list[tuple[float, float, float]]:
        """(lat, lon, alt AMSL) points, as `check_path` takes them."""
        return [(w.lat_deg, w.lon_deg, w.alt_amsl_m) for w in self.waypoints]


@dataclass(frozen=True)
class CostMatrix:
    """Pairwise air routes between sites: lengths (m), durations (s), over-water fractions, and
    whether each pair has a legal route (`inf` length and duration where not). Lengths are the
    navigation-graph paths before shortening, so never shorter than the routes flown (safe for
    energy planning)."""

    distance_m: FloatArray
    duration_s: FloatArray
    over_water_fraction: FloatArray
    legal: npt.NDArray[np.bool_]

    def distance_int_m(self, unreachable: int = 10**9) -> npt.NDArray[np.int64]:
        """Rounded-up integer metres (`unreachable` where no legal route), for a solver."""
        return _as_int(self.distance_m, unreachable)

    def duration_int_s(self, unreachable: int = 10**9) -> npt.NDArray[np.int64]:
        """Rounded-up integer seconds (`unreachable` where no legal route), for a solver."""
        return _as_int(self.duration_s, unreachable)


def _as_int(values: FloatArray, unreachable: int) -> npt.NDArray[np.int64]:
    finite = np.isfinite(values)
    out = np.full(values.shape, unreachable, dtype=np.int64)
    out[finite] = np.ceil(values[finite] - 1e-9).astype(np.int64)
    return out


def check_coordinate(lat_deg: float, lon_deg: float, what: str = "point") -> None:
    """Raise `RouteError` unless (lat, lon) are finite, in range numbers."""
    if not all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
        for v in (lat_deg, lon_deg)
    ):
        raise RouteError(
            f"{what}: coordinates must be finite numbers, got {lat_deg!r}, {lon_deg!r}"
        )
    if not (-90 <= lat_deg <= 90 and -180 <= lon_deg <= 180):
        raise RouteError(f"{what}: {lat_deg}, {lon_deg} is not a valid latitude, longitude")
