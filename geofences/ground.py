"""What lies below a drone: a class raster of water, land, permission-required land and corridors.

Route costs need the ground class at very many points (every lattice edge, every shortcut the
smoother tries, the over-water fraction of each route). Point-in-polygon tests against the
detailed shore are exact but cost about a microsecond per point and polygon; a raster in the local
frame answers in nanoseconds. It is built once per airspace by an even-odd scanline fill
(vectorised with numpy: every polygon edge yields its crossings with the cell-centre rows, the
crossings are sorted and paired, and each pair fills a run of cells through a difference array).

Classes, by priority (a higher class wins where they overlap): 0 water (outside the land), 1 land,
2 permission-required (densely inhabited districts, airport premises), 3 preferred corridor (open
water, the lower Hanami River). Only costs and the over-water fraction come from the raster;
legality (no-fly volumes, obstacles) is always decided by exact geometry.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from geofences.volumes import iter_polygons

WATER, LAND, PERMISSION, PREFERRED = 0, 1, 2, 3
FloatArray = npt.NDArray[np.float64]


def _edges(geom: BaseGeometry) -> FloatArray:
    """All ring edges of a (multi)polygon as rows (x0, y0, x1, y1)."""
    parts = []
    for poly in iter_polygons(geom):
        for ring in (poly.exterior, *poly.interiors):
            c = np.asarray(ring.coords, dtype=float)
            parts.append(np.column_stack([c[:-1], c[1:]]))
    return np.concatenate(parts) if parts else np.zeros((0, 4))


def fill_mask(
    geom: BaseGeometry, x0: float, y0: float, cell_m: float, shape: tuple[int, int]
) -> npt.NDArray[np.bool_]:
    """Cells (indexed [col, row] = [x, y]) whose centre lies inside `geom` (even-odd rule)."""
    nx, ny = shape
    e = _edges(geom)
    if len(e) == 0:
        return np.zeros(shape, dtype=bool)
    # row r has its centre at y0 + (r + 0.5) * cell; an edge crosses it when ya <= yc < yb
    ya, yb = np.minimum(e[:, 1], e[:, 3]), np.maximum(e[:, 1], e[:, 3])
    r0 = np.ceil((ya - y0) / cell_m - 0.5).astype(np.int64)
    r1 = np.ceil((yb - y0) / cell_m - 0.5).astype(np.int64)  # exclusive
    r0, r1 = np.clip(r0, 0, ny), np.clip(r1, 0, ny)
    count = np.maximum(r1 - r0, 0)
    edge = np.repeat(np.arange(len(e)), count)
    first = np.repeat(np.cumsum(count) - count, count)
    row = np.repeat(r0, count) + (np.arange(int(count.sum())) - first)
    yc = y0 + (row + 0.5) * cell_m
    ex0, ey0, ex1, ey1 = e[edge, 0], e[edge, 1], e[edge, 2], e[edge, 3]
    xc = ex0 + (yc - ey0) * (ex1 - ex0) / (ey1 - ey0)
    order = np.lexsort((xc, row))
    row, xc = row[order], xc[order]
    starts, ends = xc[0::2], xc[1::2]
    rows = row[0::2]
    c0 = np.clip(np.ceil((starts - x0) / cell_m - 0.5).astype(np.int64), 0, nx)
    c1 = np.clip(np.ceil((ends - x0) / cell_m - 0.5).astype(np.int64), 0, nx)
    diff = np.zeros((ny, nx + 1), dtype=np.int32)
    np.add.at(diff, (rows, c0), 1)
    np.add.at(diff, (rows, c1), -1)
    return np.asarray(np.cumsum(diff[:, :nx], axis=1).T > 0)


@dataclass(frozen=True)
class GroundRaster:
    """Ground classes on a square grid in the local frame (`codes[ix, iy]`)."""

    x0: float
    y0: float
    cell_m: float
    codes: npt.NDArray[np.uint8]

    @classmethod
    def build(
        cls,
        bounds: tuple[float, float, float, float],
        land: BaseGeometry | None,
        permission: BaseGeometry,
        preferred: BaseGeometry,
        cell_m: float = 20.0,
    ) -> GroundRaster:
        """Rasterise the three layers over local `bounds` (x0, y0, x1, y1)."""
        x0, y0, x1, y1 = bounds
        shape = (int(np.ceil((x1 - x0) / cell_m)) + 1, int(np.ceil((y1 - y0) / cell_m)) + 1)
        codes = np.full(shape, WATER if land is not None else LAND, dtype=np.uint8)
        for code, geom in ((LAND, land), (PERMISSION, permission), (PREFERRED, preferred)):
            if geom is not None and not geom.is_empty:
                codes[fill_mask(geom, x0, y0, cell_m, shape)] = code
        return cls(x0, y0, cell_m, codes)

    def lookup(self, x: npt.ArrayLike, y: npt.ArrayLike) -> npt.NDArray[np.uint8]:
        """The class of each point (points off the raster count as land)."""
        nx, ny = self.codes.shape
        ix = np.floor((np.asarray(x, float) - self.x0) / self.cell_m).astype(np.int64)
        iy = np.floor((np.asarray(y, float) - self.y0) / self.cell_m).astype(np.int64)
        out = self.codes[np.clip(ix, 0, nx - 1), np.clip(iy, 0, ny - 1)]
        off = (ix < 0) | (ix >= nx) | (iy < 0) | (iy >= ny)
        if off.any():
            out = out.copy()
            out[off] = LAND
        return np.asarray(out, dtype=np.uint8)


def exact_classes(
    land: BaseGeometry | None,
    permission: BaseGeometry,
    preferred: BaseGeometry,
    x: FloatArray,
    y: FloatArray,
) -> npt.NDArray[np.uint8]:
    """The same classes by exact point-in-polygon tests (for checking the raster)."""
    codes = np.full(len(x), WATER if land is not None else LAND, dtype=np.uint8)
    for code, geom in ((LAND, land), (PERMISSION, permission), (PREFERRED, preferred)):
        if geom is not None and not geom.is_empty:
            codes[shapely.contains_xy(geom, x, y)] = code
    return codes
