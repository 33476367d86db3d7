"""Conformance: every place where a flight path breaks an airspace rule, and by how much.

A path is a sequence of (lat, lon, alt AMSL) points, from a mission, a plan or telemetry. It is
densified (every `sample_m`) and each sample is tested against the volumes that can matter (an
STR-tree query first, exact tests after). Entering a `no_fly` band, or coming closer than the
clearance to an `obstacle` below its top, is a violation; crossing a `permission_required`
volume is reported separately as a rule touched.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from shapely.strtree import STRtree

from geofences.frame import to_local_arrays, to_wgs84
from geofences.volumes import Airspace, AltRef, RuleKind, Volume

PathPoint = tuple[float, float, float]  # lat_deg, lon_deg, alt_amsl_m
LINEAR_SCAN = 24  # at most this many volumes low enough to matter: scanned, not tree-queried


@dataclass(frozen=True, slots=True)
class Violation:
    """One contiguous stretch of a path inside a volume it may not enter."""

    volume_id: str
    volume_name: str
    kind: str
    lat_deg: float  # the deepest point of the stretch
    lon_deg: float
    alt_amsl_m: float
    vertical_m: float  # how far inside the altitude band (above the floor / below the top)
    horizontal_m: float  # how far inside the footprint (or inside the clearance)
    segment: int  # index of the path segment where the stretch starts

    def describe(self) -> str:
        return (
            f"{self.kind} {self.volume_id} ({self.volume_name}) "
            f"at {self.lat_deg:.5f},{self.lon_deg:.5f} "
            f"alt {self.alt_amsl_m:.0f} m: {self.horizontal_m:.0f} m inside horizontally, "
            f"{self.vertical_m:.0f} m inside the altitude band"
        )

    def to_json(self) -> dict[str, object]:
        return {
            "volume": self.volume_id,
            "name": self.volume_name,
            "kind": self.kind,
            "lat_deg": round(self.lat_deg, 6),
            "lon_deg": round(self.lon_deg, 6),
            "alt_amsl_m": round(self.alt_amsl_m, 1),
            "vertical_m": round(self.vertical_m, 1),
            "horizontal_m": round(self.horizontal_m, 1),
            "segment": self.segment,
        }


class ConformanceChecker:
    """Checks paths against one airspace; build once, check many paths."""

    def __init__(self, airspace: Airspace, clearance_m: float = 30.0,
                 kinds: Collection[RuleKind] | None = None) -> None:
        """`kinds`: only volumes of these kinds (default: all but `preferred`)."""
        self.airspace = airspace
        self.clearance_m = clearance_m
        self._volumes = [v for v in airspace if v.kind is not RuleKind.PREFERRED
                         and (kinds is None or v.kind in kinds)]
        self._tree = STRtree([v.local for v in self._volumes])
        # each volume's altitude band (an obstacle counts from the ground up)
        self._floor = [-math.inf if v.kind is RuleKind.OBSTACLE else v.floor_amsl_m()
                       for v in self._volumes]
        self._ceiling = [v.ceiling_amsl_m() for v in self._volumes]
        self._bounds = [tuple(v.local.bounds) for v in self._volumes]
        # the volumes by floor: a low path can reach only the first few (most airspace is high)
        self._by_floor = sorted(range(len(self._volumes)), key=lambda i: self._floor[i])
        self._floors = [self._floor[i] for i in self._by_floor]

    @cached_property
    def _floor_grid(self) -> _FloorGrid:
        """Built on first use: only short paths (the supervisor's look-ahead) ask it."""
        return _FloorGrid(self._bounds, self._floor, self.clearance_m + 1.0)

    @cached_property
    def _obstacle_zone(self) -> dict[str, shapely.Geometry]:
        return {
            v.id: v.local.buffer(self.clearance_m)
            for v in self._volumes
            if v.kind is RuleKind.OBSTACLE
        }

    def densify(
        self, path: Sequence[PathPoint], sample_m: float
    ) -> tuple[npt.NDArray[np.float64], ...]:
        """Local x, y, alt and segment index of samples along the path."""
        pts = np.asarray(path, dtype=float).reshape(-1, 3)
        x, y = to_local_arrays(pts[:, 0], pts[:, 1])
        return _densify(x, y, pts[:, 2], sample_m)

    def check(
        self, path: Sequence[PathPoint], sample_m: float = 10.0
    ) -> tuple[list[Violation], list[str]]:
        """(violations, ids of permission-required volumes the path crosses)."""
        if len(path) == 0:
            return [], []
        pts = np.asarray(path, dtype=float).reshape(-1, 3)
        x, y = to_local_arrays(pts[:, 0], pts[:, 1])
        return self.check_local(x, y, pts[:, 2], sample_m)

    def check_local(
        self,
        x_m: npt.ArrayLike,
        y_m: npt.ArrayLike,
        alt_amsl_m: npt.ArrayLike,
        sample_m: float = 10.0,
    ) -> tuple[list[Violation], list[str]]:
        """`check` of a path given in the local frame (easting, northing, altitude AMSL)."""
        candidates: list[int] | None = None
        if isinstance(x_m, (list, tuple)) and isinstance(y_m, (list, tuple)) and isinstance(
                alt_amsl_m, (list, tuple)) and 0 < len(x_m) <= 8:
            # a segment or a few (the look-ahead, every second): plain arithmetic first
            candidates = self._near(min(x_m), min(y_m), max(x_m), max(y_m), min(alt_amsl_m),
                                    max(alt_amsl_m))
            if not candidates:
                return [], []
        px, py = np.asarray(x_m, dtype=float), np.asarray(y_m, dtype=float)
        pz = np.asarray(alt_amsl_m, dtype=float)
        if px.size == 0:
            return [], []
        if candidates is None:
            candidates = self._near(float(px.min()), float(py.min()), float(px.max()),
                                    float(py.max()), float(pz.min()), float(pz.max()))
            if not candidates:
                return [], []
        x, y, z, seg = _densify(px, py, pz, sample_m)
        samples: Any = None
        if len(x) > 1 and len(candidates) > 1:  # a long path: only volumes near its track
            track = shapely.linestrings(np.column_stack([x, y]))
            near = set(self._tree.query(track, predicate="dwithin",
                                        distance=self.clearance_m + 1.0).tolist())
            candidates = [i for i in candidates if i in near]
        violations: list[Violation] = []
        touched: list[str] = []
        for index in candidates:
            volume = self._volumes[index]
            if volume.kind is RuleKind.OBSTACLE:
                zone = self._obstacle_zone[volume.id]
                inside = shapely.contains_xy(zone, x, y) & (z <= volume.ceiling_amsl_m())
            else:
                inside = shapely.contains_xy(volume.local, x, y)
                inside &= (z >= volume.floor_amsl_m()) & (z <= volume.ceiling_amsl_m())
            if not inside.any():
                continue
            if volume.kind is RuleKind.PERMISSION_REQUIRED:
                touched.append(volume.id)
                continue
            if samples is None:
                samples = shapely.points(x, y)
            if volume.kind is RuleKind.OBSTACLE:
                depth_h = self.clearance_m - shapely.distance(volume.local, samples)
                depth_v = volume.ceiling_amsl_m() - z
            else:
                depth_h = shapely.distance(volume.local.boundary, samples)
                depth_v = np.minimum(z - volume.floor_amsl_m(), volume.ceiling_amsl_m() - z)
            violations += _runs(volume, inside, x, y, z, seg, depth_h, depth_v)
        return violations, touched


    def _near(self, x_low: float, y_low: float, x_high: float, y_high: float, z_low: float,
              z_high: float) -> list[int]:
        """Volumes that can matter to a path within these bounds, in order: an altitude band it
        reaches, a footprint whose envelope is within reach of its own (a cheap filter; the
        tests after it are exact)."""
        if self._floor_grid.lowest_floor(x_low, y_low, x_high, y_high) > z_high:
            return []  # nothing there comes down to the path
        reach = self.clearance_m + 1.0
        x_low, y_low, x_high, y_high = x_low - reach, y_low - reach, x_high + reach, y_high + reach
        low = bisect.bisect_right(self._floors, z_high)  # the volumes not above the path
        if low > LINEAR_SCAN:
            box = shapely.box(x_low, y_low, x_high, y_high)
            found: Iterable[int] = sorted(self._tree.query(box).tolist())
        else:
            found = sorted(self._by_floor[:low])
        out = []
        for i in found:
            bx0, by0, bx1, by1 = self._bounds[i]
            if (z_high >= self._floor[i] and z_low <= self._ceiling[i] and bx0 <= x_high
                    and x_low <= bx1 and by0 <= y_high and y_low <= by1):
                out.append(i)
        return out

class _FloorGrid:
    """The lowest floor of the volumes whose envelope (grown by `reach_m`) touches each cell
    of a coarse grid: a path over cells whose lowest floor is above it meets nothing."""

    CELL_M = 500.0

    def __init__(self, bounds: Sequence[tuple[float, ...]], floors: Sequence[float],
                 reach_m: float) -> None:
        self.x0 = min((b[0] for b in bounds), default=0.0) - reach_m
        self.y0 = min((b[1] for b in bounds), default=0.0) - reach_m
        nx = self._cell(max((b[2] for b in bounds), default=0.0) + reach_m, self.x0) + 1
        ny = self._cell(max((b[3] for b in bounds), default=0.0) + reach_m, self.y0) + 1
        grid = np.full((nx, ny), math.inf)
        for (x_low, y_low, x_high, y_high), floor in zip(bounds, floors, strict=True):
            cells = grid[self._cell(x_low - reach_m, self.x0):
                         self._cell(x_high + reach_m, self.x0) + 1,
                         self._cell(y_low - reach_m, self.y0):
                         self._cell(y_high + reach_m, self.y0) + 1]
            np.minimum(cells, floor, out=cells)
        self.rows: list[list[float]] = grid.tolist()

    def _cell(self, v: float, origin: float) -> int:
        return int((v - origin) // self.CELL_M)

    def lowest_floor(self, x_low: float, y_low: float, x_high: float, y_high: float) -> float:
        """The lowest floor of what may be within reach of this envelope (inf: nothing)."""
        nx, ny = len(self.rows), len(self.rows[0]) if self.rows else 0
        i0, i1 = max(self._cell(x_low, self.x0), 0), min(self._cell(x_high, self.x0), nx - 1)
        j0, j1 = max(self._cell(y_low, self.y0), 0), min(self._cell(y_high, self.y0), ny - 1)
        if (i1 - i0 + 1) * (j1 - j0 + 1) > 64:  # a long path: not worth it
            return -math.inf
        return min((min(self.rows[i][j0:j1 + 1], default=math.inf) for i in range(i0, i1 + 1)),
                   default=math.inf)


def _densify(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], z: npt.NDArray[np.float64],
    sample_m: float,
) -> tuple[npt.NDArray[np.float64], ...]:
    """Samples at most `sample_m` apart along the path's segments (x, y, z, segment index)."""
    xs, ys, zs, seg = [x[:1]], [y[:1]], [z[:1]], [np.zeros(1)]
    for i in range(len(x) - 1):
        d = math.hypot(float(x[i + 1] - x[i]), float(y[i + 1] - y[i]))
        n = max(1, math.ceil(max(d, abs(float(z[i + 1] - z[i]))) / sample_m))
        t = np.arange(1, n + 1) / n
        xs.append(x[i] + (x[i + 1] - x[i]) * t)
        ys.append(y[i] + (y[i + 1] - y[i]) * t)
        zs.append(z[i] + (z[i + 1] - z[i]) * t)
        seg.append(np.full(n, i, dtype=float))
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(zs), np.concatenate(seg)


def _runs(
    volume: Volume,
    inside: npt.NDArray[np.bool_],
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    z: npt.NDArray[np.float64],
    seg: npt.NDArray[np.float64],
    depth_h: npt.NDArray[np.float64],
    depth_v: npt.NDArray[np.float64],
) -> list[Violation]:
    out = []
    idx = np.flatnonzero(inside)
    breaks = np.flatnonzero(np.diff(idx) > 1)
    for run in np.split(idx, breaks + 1):
        worst = run[int(np.argmax(depth_h[run]))]
        lat, lon = to_wgs84(float(x[worst]), float(y[worst]))
        out.append(
            Violation(
                volume_id=volume.id,
                volume_name=volume.name,
                kind=str(volume.kind),
                lat_deg=lat,
                lon_deg=lon,
                alt_amsl_m=float(z[worst]),
                vertical_m=float(max(0.0, depth_v[run].max())),
                horizontal_m=float(max(0.0, depth_h[run].max())),
                segment=int(seg[run[0]]),
            )
        )
    return out


def check_path(
    airspace: Airspace,
    path: Sequence[PathPoint],
    clearance_m: float = 30.0,
    alt_ref: AltRef | str = AltRef.AMSL,
    ground_amsl_m: float = 0.0,
) -> list[Violation]:
    """Every violation of `path` in `airspace`.

    Args:
        airspace: the volumes to check against.
        path: (lat, lon, alt) points, from a mission, a plan or telemetry.
        clearance_m: horizontal distance to keep from obstacles.
        alt_ref: whether the altitudes are `AMSL` or `AGL` (above `ground_amsl_m`; the ground
            is about 0 m AMSL on the reclaimed Chiba shore, so the two nearly agree there).
        ground_amsl_m: the ground elevation used to turn AGL into AMSL.

    Raises:
        ValueError: a point is not three finite numbers with a valid latitude and longitude.
    """
    ref = AltRef(alt_ref)
    pts = validate_path(path)
    if ref is AltRef.AGL:
        pts = [(lat, lon, alt + ground_amsl_m) for lat, lon, alt in pts]
    return ConformanceChecker(airspace, clearance_m).check(pts)[0]


def validate_path(path: Sequence[Sequence[float]]) -> list[PathPoint]:
    """The path as (lat, lon, alt) float tuples; a clear `ValueError` for a bad point."""
    out = []
    for i, point in enumerate(path):
        if len(point) != 3:
            raise ValueError(f"path point {i}: expected (lat, lon, alt), got {point!r}")
        lat, lon, alt = (float(v) for v in point)
        if not all(math.isfinite(v) for v in (lat, lon, alt)):
            raise ValueError(f"path point {i}: {point!r} is not finite")
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValueError(f"path point {i}: {lat}, {lon} is not a valid latitude, longitude")
        out.append((lat, lon, alt))
    return out
