"""The ground-class raster agrees with exact point-in-polygon tests away from boundaries."""

from __future__ import annotations

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry.base import BaseGeometry

from geofences.default import load_default
from geofences.frame import to_local
from geofences.ground import LAND, PERMISSION, PREFERRED, WATER, GroundRaster, exact_classes
from geofences.routing import Router

CELL_M = 20.0
HALF_DIAGONAL_M = CELL_M * 2**0.5 / 2


def _shape(draw: st.DrawFn) -> BaseGeometry:
    x, y = draw(st.floats(0, 4000)), draw(st.floats(0, 4000))
    if draw(st.booleans()):
        return shapely.Point(x, y).buffer(draw(st.floats(30, 1500)))
    w, h = draw(st.floats(30, 3000)), draw(st.floats(30, 3000))
    angle = draw(st.floats(0, 90))
    box = shapely.box(x, y, x + w, y + h)
    return shapely.affinity.rotate(box, angle, origin="centroid")


@st.composite
def layers(draw: st.DrawFn) -> tuple[BaseGeometry, BaseGeometry, BaseGeometry]:
    out = []
    for _ in range(3):
        parts = [_shape(draw) for _ in range(draw(st.integers(1, 3)))]
        union = shapely.union_all(parts)
        if draw(st.booleans()):  # a hole, as the bay water has islands
            union = union.difference(_shape(draw))
        out.append(union)
    return out[0], out[1], out[2]


@settings(max_examples=40, deadline=None)
@given(layers(), st.integers(0, 2**31))
def test_raster_matches_exact_classes_away_from_boundaries(
    geoms: tuple[BaseGeometry, BaseGeometry, BaseGeometry], seed: int
) -> None:
    land, permission, preferred = geoms
    raster = GroundRaster.build((-500, -500, 8000, 8000), land, permission, preferred, CELL_M)
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(-400, 7900, 3000), rng.uniform(-400, 7900, 3000)
    exact = exact_classes(land, permission, preferred, x, y)
    fast = raster.lookup(x, y)
    edges = shapely.union_all([g.boundary for g in geoms])
    if edges.is_empty:
        far = np.ones(len(x), dtype=bool)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):  # degenerate slivers: distance inf
            distance = shapely.distance(edges, shapely.points(x, y))
        far = np.asarray(distance > HALF_DIAGONAL_M + 1e-6)
    assert np.array_equal(fast[far], exact[far])


def test_points_off_the_raster_count_as_land() -> None:
    raster = GroundRaster.build((0, 0, 100, 100), None, shapely.Polygon(), shapely.Polygon())
    assert raster.lookup([-50.0, 50.0, 500.0], [50.0, 50.0, 50.0]).tolist() == [LAND] * 3


def test_chiba_raster_knows_the_bay_the_river_and_the_districts() -> None:
    router = Router(load_default())
    places = [
        ((35.62, 139.98), PREFERRED),  # open bay water (bay-water is a preferred volume)
        ((35.6370, 140.0510), PREFERRED),  # the lower Hanami River corridor
        ((35.6483, 140.0419), PERMISSION),  # Kaihin-Makuhari station, in the Mihama DID
    ]
    for (lat, lon), code in places:
        x, y = to_local(lat, lon)
        assert int(router.ground.lookup([x], [y])[0]) == code, (lat, lon)
    # water that no volume covers is class WATER, and counts as over water
    bare = GroundRaster.build(
        (0, 0, 100, 100), shapely.box(0, 0, 50, 100), shapely.Polygon(), shapely.Polygon()
    )
    assert bare.lookup([75.0, 25.0], [50.0, 50.0]).tolist() == [WATER, LAND]
