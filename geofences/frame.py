"""The local metric frame: JGD2011 / Japan Plane Rectangular CS IX (EPSG:6677).

Planning happens in metres in this frame; WGS-84 latitude/longitude is used at every public
boundary. One transformer pair is built once and cached (`always_xy=True`, so the local
coordinates come out as (easting, northing) = (EPSG:6677 Y, EPSG:6677 X)). JGD2011 and WGS-84
agree to well under a metre in Japan, so no datum shift is applied.
"""

from __future__ import annotations

from functools import cache, lru_cache

import numpy as np
import numpy.typing as npt
from pyproj import Transformer

LOCAL_EPSG = 6677
FloatArray = npt.NDArray[np.float64]


@cache
def _forward() -> Transformer:
    return Transformer.from_crs(4326, LOCAL_EPSG, always_xy=True)


@cache
def _inverse() -> Transformer:
    return Transformer.from_crs(LOCAL_EPSG, 4326, always_xy=True)


@lru_cache(maxsize=4096)  # the same sites, pads and vertices are asked for again and again
def to_local(lat_deg: float, lon_deg: float) -> tuple[float, float]:
    """WGS-84 latitude/longitude to local (easting, northing) metres."""
    e, n = _forward().transform(lon_deg, lat_deg)
    return float(e), float(n)


@lru_cache(maxsize=4096)
def to_wgs84(east_m: float, north_m: float) -> tuple[float, float]:
    """Local (easting, northing) metres to WGS-84 (latitude, longitude)."""
    lon, lat = _inverse().transform(east_m, north_m)
    return float(lat), float(lon)


def to_local_arrays(
    lat_deg: npt.ArrayLike, lon_deg: npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Vectorised `to_local`."""
    e, n = _forward().transform(np.asarray(lon_deg, float), np.asarray(lat_deg, float))
    return np.asarray(e, float), np.asarray(n, float)


def to_wgs84_arrays(east_m: npt.ArrayLike, north_m: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Vectorised `to_wgs84`: returns (lat, lon) arrays."""
    lon, lat = _inverse().transform(np.asarray(east_m, float), np.asarray(north_m, float))
    return np.asarray(lat, float), np.asarray(lon, float)
