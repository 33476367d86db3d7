"""The local metric frame for ground routing: JGD2011 / Japan Plane Rectangular CS IX (EPSG:6677).

x is metres east, y metres north. WGS-84 (lat, lon in degrees) at every boundary, metres inside.
One cached pyproj transformer each way, always with `always_xy=True` (lon before lat), so the axis
order never depends on the CRS definition.
"""

from __future__ import annotations

import math
from functools import cache, lru_cache

from pyproj import Transformer

LOCAL_EPSG = 6677


@cache
def _to_local() -> Transformer:
    return Transformer.from_crs("EPSG:4326", f"EPSG:{LOCAL_EPSG}", always_xy=True)


@cache
def _to_wgs84() -> Transformer:
    return Transformer.from_crs(f"EPSG:{LOCAL_EPSG}", "EPSG:4326", always_xy=True)


def to_local_m(lat_deg: float, lon_deg: float) -> tuple[float, float]:
    """(x_m, y_m) in EPSG:6677 for a WGS-84 position; rejects non-finite or out-of-range input."""
    if not (math.isfinite(lat_deg) and math.isfinite(lon_deg)):
        raise ValueError(f"position must be finite, got lat={lat_deg!r} lon={lon_deg!r}")
    if not (-90.0 <= lat_deg <= 90.0 and -180.0 <= lon_deg <= 180.0):
        raise ValueError(f"position out of range: lat={lat_deg!r} lon={lon_deg!r}")
    x_m, y_m = _to_local().transform(lon_deg, lat_deg)
    return float(x_m), float(y_m)


@lru_cache(maxsize=4096)  # parked and dwelling vehicles report the same point frame after frame
def to_wgs84(x_m: float, y_m: float) -> tuple[float, float]:
    """(lat_deg, lon_deg) for a point of the local frame."""
    lon_deg, lat_deg = _to_wgs84().transform(x_m, y_m)
    return float(lat_deg), float(lon_deg)


def heading_deg(dx_m: float, dy_m: float) -> float:
    """Compass heading (0 north, 90 east) of a displacement in the local frame.

    Grid north of CS IX differs from true north by well under a degree around Makuhari, which is
    below what a ground vehicle's telemetry needs.
    """
    return math.degrees(math.atan2(dx_m, dy_m)) % 360.0
