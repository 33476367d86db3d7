"""Air matrices for the drone model, built through `geofences` (airspace-aware routes).

`air_travel_matrix` asks `geofences.routing.cost_matrix` for every pair of places (sites and any
extra keyed positions such as drones in flight) and returns the `TravelMatrix` the drone model
takes: integer metres and seconds, rounded up, `UNREACHABLE` where no legal route exists. The
drone model itself never imports `geofences`, so it can be tested with any matrix.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dispatch.domain import UNREACHABLE, Site, TravelMatrix


def air_travel_matrix(
    sites: Sequence[Site],
    extra: Mapping[str, tuple[float, float]] | None = None,
    airspace: Any = None,
    options: Any = None,
) -> TravelMatrix:
    """Pairwise air routes between `sites` and `extra` keyed (lat, lon) positions.

    Args:
        sites: sites, keyed by their id.
        extra: more places by key, e.g. a drone's current position.
        airspace: a `geofences` Airspace (default: the shipped Chiba airspace).
        options: `geofences.routing.RouteOptions` (default options when None).
    """
    from geofences.default import load_default
    from geofences.routing import cost_matrix

    keys = [str(s.id) for s in sites]
    points = [(s.lat_deg, s.lon_deg) for s in sites]
    for key, point in sorted((extra or {}).items()):
        keys.append(key)
        points.append(point)
    cm = cost_matrix(airspace if airspace is not None else load_default(), points, options)
    return TravelMatrix.build(keys, cm.distance_int_m(UNREACHABLE), cm.duration_int_s(UNREACHABLE))
