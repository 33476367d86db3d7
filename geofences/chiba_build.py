"""Build the shipped Chiba airspace (`geofences/data/chiba_airspace.geojson`) from the facts.

`python -m geofences.chiba_build --facts ../shared/facts` rewrites the file. Inputs: the bay
shore's land (`bay_land.geojson`, MLIT N03) and the 2020 census densely inhabited districts
(`did_chiba.geojson`, e-Stat); everything else is drawn here from the figures in `chiba.md`.

What is approximate (and marked `approximate: true` with the reason in `source`): the runway
positions and headings of Haneda and Narita (from memory of the airport layouts, ±500 m), the
lower Hanami River corridor (three estimated points of the river), the Ichikawa shipping channel
(市川航路: only "along the channel, U-turn off the lane at its entrance" is sourced), and the
Wakaba tower footprints (district centre ±300 m; two heights not published).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import LineString, box, mapping, shape
from shapely.geometry.base import BaseGeometry

from geofences.frame import to_local, to_wgs84_arrays
from geofences.volumes import UNLIMITED_M

BOUNDS = (139.74, 35.50, 140.16, 35.76)
DATA_DIR = Path(__file__).resolve().parent / "data"
CAB = "Civil Aeronautics Act art. 56 restriction surfaces (chiba.md §3.3)"


def _to_wgs(geom: BaseGeometry) -> BaseGeometry:
    def f(coords: Any) -> Any:
        lat, lon = to_wgs84_arrays(coords[:, 0], coords[:, 1])
        return np.column_stack([np.round(lon, 6), np.round(lat, 6)])

    return shapely.transform(geom, f)


def _feature(fid: str, name: str, kind: str, geom: BaseGeometry, **props: Any) -> dict[str, Any]:
    base = {
        "id": fid,
        "name": name,
        "kind": kind,
        "floor_m": 0.0,
        "floor_ref": "AGL",
        "ceiling_m": None,
        "ceiling_ref": "AMSL",
        "approximate": False,
        "source": "",
    }
    base.update(props)
    return {"type": "Feature", "id": fid, "geometry": mapping(geom), "properties": base}


def _ends(
    lat: float, lon: float, heading_deg: float, length_m: float
) -> list[tuple[tuple[float, float], float]]:
    """Both ends of a runway (local e, n) with the outward bearing of each."""
    e, n = to_local(lat, lon)
    h = math.radians(heading_deg)
    de, dn = math.sin(h) * length_m / 2, math.cos(h) * length_m / 2
    return [((e + de, n + dn), heading_deg), ((e - de, n - dn), (heading_deg + 180.0) % 360.0)]


def airport_surfaces(
    code: str,
    name: str,
    lat: float,
    lon: float,
    elevation_m: float,
    runways: list[tuple[str, float, float, float, float]],
) -> list[dict[str, Any]]:
    """Horizontal, conical, outer horizontal and approach surfaces as stepped 3-D volumes.

    The space *above* each surface needs permission: each step is a `no_fly` volume whose floor is
    the surface height at the step's inner edge (conservative: the surface only rises outward).
    """
    out: list[dict[str, Any]] = []
    ce, cn = to_local(lat, lon)
    centre = shapely.Point(ce, cn)
    src = f"{CAB}; reference point {lat}, {lon} from chiba.md §2.1; elevation {elevation_m} m"
    out.append(
        _feature(
            f"{code}-horizontal",
            f"{name} horizontal surface (45 m, r 4 km)",
            "no_fly",
            _to_wgs(centre.buffer(4000, quad_segs=32)),
            floor_m=elevation_m + 45.0,
            floor_ref="AMSL",
            source=src,
        )
    )
    for r_in in range(4000, 16500, 500):
        ring = centre.buffer(r_in + 500, quad_segs=32).difference(centre.buffer(r_in, quad_segs=32))
        out.append(
            _feature(
                f"{code}-conical-{r_in // 100:03d}",
                f"{name} conical surface {r_in / 1000:.1f}-{(r_in + 500) / 1000:.1f} km",
                "no_fly",
                _to_wgs(ring),
                floor_m=round(elevation_m + 45.0 + (r_in - 4000) / 50.0, 1),
                floor_ref="AMSL",
                source=src + "; slope 1/50, stepped every 500 m",
            )
        )
    outer = centre.buffer(24000, quad_segs=48).difference(centre.buffer(16500, quad_segs=48))
    out.append(
        _feature(
            f"{code}-outer-horizontal",
            f"{name} outer horizontal surface (r 24 km)",
            "no_fly",
            _to_wgs(outer),
            floor_m=elevation_m + 295.0,
            floor_ref="AMSL",
            source=src,
        )
    )
    for rwy, rlat, rlon, heading, length in runways:
        for (e, n), bearing in _ends(rlat, rlon, heading, length):
            end_name = f"{rwy}-{round(((bearing + 180) % 360) / 10) % 36 or 36:02d}"
            b = math.radians(bearing)
            ue, un = math.sin(b), math.cos(b)
            pe, pn = -un, ue
            start = 60.0  # the approach surface begins at the strip end, 60 m past the runway
            for d in range(0, 15000, 500):
                d0, d1 = start + d, start + d + 500
                w0, w1 = 150.0 + 0.15 * d, 150.0 + 0.15 * (d + 500)
                quad = shapely.Polygon(
                    [
                        (e + ue * d0 + pe * w0, n + un * d0 + pn * w0),
                        (e + ue * d1 + pe * w1, n + un * d1 + pn * w1),
                        (e + ue * d1 - pe * w1, n + un * d1 - pn * w1),
                        (e + ue * d0 - pe * w0, n + un * d0 - pn * w0),
                    ]
                )
                out.append(
                    _feature(
                        f"{code}-approach-{end_name}-{d // 100:03d}",
                        f"{name} approach surface to runway {end_name}, {d / 1000:.1f} km",
                        "no_fly",
                        _to_wgs(quad),
                        floor_m=round(elevation_m + d / 50.0, 1),
                        floor_ref="AMSL",
                        approximate=True,
                        source=src
                        + "; slope 1/50, divergence 15 %, extended to 15 km; runway position estimated",
                    )
                )
            below = shapely.Polygon(
                [
                    (e + pe * 150, n + pn * 150),
                    (e + ue * 3060 + pe * 600, n + un * 3060 + pn * 600),
                    (e + ue * 3060 - pe * 600, n + un * 3060 - pn * 600),
                    (e - pe * 150, n - pn * 150),
                ]
            )
            out.append(
                _feature(
                    f"{code}-below-approach-{end_name}",
                    f"{name} below the approach surface to {end_name}",
                    "permission_required",
                    _to_wgs(below),
                    approximate=True,
                    source="Permission also needed below approach surfaces at Haneda and Narita since 2019-09-18 (chiba.md §3.3)",
                )
            )
    out.append(
        _feature(
            f"{code}-premises",
            f"{name} airport premises",
            "permission_required",
            _to_wgs(centre.buffer(2500, quad_segs=32)),
            approximate=True,
            source="Airport premises (approximated as 2.5 km around the reference point) need permission",
        )
    )
    return out


def chiba_features(facts: Path) -> list[dict[str, Any]]:
    features: list[dict[str, Any]] = []
    area = box(*BOUNDS)
    features.append(
        _feature(
            "ceiling-150m-agl",
            "150 m above ground or water",
            "no_fly",
            area,
            floor_m=150.0,
            floor_ref="AGL",
            source="Civil Aeronautics Act: 150 m or more above the ground or water surface needs permission (chiba.md §3.1)",
        )
    )
    features += airport_surfaces(
        "haneda",
        "Haneda",
        35.553330,
        139.781110,
        6.4,
        [
            ("A", 35.5505, 139.7785, 337.0, 3000.0),
            ("C", 35.5460, 139.7965, 337.0, 3360.0),
            ("B", 35.5545, 139.7745, 40.0, 2500.0),
            ("D", 35.5300, 139.8150, 50.0, 2500.0),
        ],
    )
    features += airport_surfaces(
        "narita",
        "Narita",
        35.765280,
        140.385560,
        41.0,
        [
            ("A", 35.7640, 140.3790, 337.0, 4000.0),
            ("B", 35.7750, 140.3960, 337.0, 2500.0),
        ],
    )
    land = shapely.union_all(
        [
            shape(f["geometry"])
            for f in json.loads((facts / "bay_land.geojson").read_text())["features"]
        ]
    )
    water = area.difference(land)
    features.append(
        _feature(
            "bay-water",
            "Tokyo Bay open water",
            "preferred",
            water,
            source="Outside the MLIT N03 land of bay_land.geojson (出典：国土数値情報（行政区域データ）国土交通省)",
            ceiling_m=150.0,
            ceiling_ref="AGL",
        )
    )
    river = [
        (35.6295, 140.0458),
        (35.6330, 140.0480),
        (35.6370, 140.0510),
        (35.6405, 140.0540),
        (35.6440, 140.0565),
    ]
    line = LineString([to_local(lat, lon) for lat, lon in river])
    features.append(
        _feature(
            "hanami-river-lower",
            "Lower Hanami River corridor (花見川)",
            "preferred",
            _to_wgs(line.buffer(50.0, cap_style="flat")),
            ceiling_m=150.0,
            ceiling_ref="AGL",
            approximate=True,
            source="River about 100 m wide from Mihama Ohashi at the mouth to the Keiyo Line bridge and the riverside green (chiba.md §1.3); points estimated",
        )
    )
    channel = LineString([to_local(35.6600, 139.9230), to_local(35.6150, 139.9000)])
    features.append(
        _feature(
            "ichikawa-channel",
            "Ichikawa shipping channel (市川航路): keep clear",
            "no_fly",
            _to_wgs(channel.buffer(150.0, cap_style="flat")),
            approximate=True,
            source="2017 trial flew along the channel and turned off the lane at its entrance (chiba.md §1.2); position and width estimated",
        )
    )
    towers = [
        (
            "wakaba-b7-cross-tower",
            "Makuhari Bay Park Cross Tower (B-7)",
            35.6466,
            140.0500,
            132.89,
            "height sourced",
        ),
        (
            "wakaba-b2-sky-grand-tower",
            "Makuhari Bay Park Sky Grand Tower (B-2)",
            35.6455,
            140.0513,
            172.40,
            "height sourced",
        ),
        (
            "wakaba-b3-mid-square-tower",
            "Makuhari Bay Park Mid Square Tower (B-3)",
            35.6445,
            140.0523,
            155.35,
            "height sourced",
        ),
        (
            "wakaba-b6-tower",
            "Wakaba 3-1-21 tower (B-6, target 2028)",
            35.6436,
            140.0508,
            159.0,
            "height sourced; under construction",
        ),
        (
            "wakaba-b4-rise-gate-tower",
            "Makuhari Bay Park Rise Gate Tower (B-4)",
            35.6460,
            140.0532,
            120.0,
            "height not published: 120 m assumed",
        ),
        (
            "apa-hotel-makuhari",
            "APA Hotel & Resort Tokyo Bay Makuhari",
            35.6490,
            140.0385,
            180.81,
            "height sourced",
        ),
    ]
    for fid, name, lat, lon, height, note in towers:
        e, n = to_local(lat, lon)
        features.append(
            _feature(
                fid,
                name,
                "obstacle",
                _to_wgs(shapely.Point(e, n).buffer(25.0, quad_segs=8)),
                ceiling_m=height,
                ceiling_ref="AGL",
                approximate=True,
                source=f"chiba.md §1.3 ({note}); footprint 25 m radius at an estimated position",
            )
        )
    dids = json.loads((facts / "did_chiba.geojson").read_text())["features"]
    for i, f in enumerate(dids):
        p = f["properties"]
        geom = shape(f["geometry"]).intersection(area)
        if geom.is_empty:
            continue
        features.append(
            _feature(
                f"did-{p['code']}-{i:02d}",
                f"DID {p['city_name']} (人口集中地区)",
                "permission_required",
                geom,
                population_2020=p.get("population_2020"),
                source="出典：政府統計の総合窓口(e-Stat)「人口集中地区」データ（令和2年国勢調査）を加工して作成",
            )
        )
    return features


def write(facts: Path, out_dir: Path) -> Path:
    data = {
        "type": "FeatureCollection",
        "name": "chiba",
        "bbox": list(BOUNDS),
        "features": chiba_features(facts),
    }
    path = out_dir / "chiba_airspace.geojson"
    path.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--facts", type=Path, default=Path("../shared/facts"))
    parser.add_argument("--out", type=Path, default=DATA_DIR)
    args = parser.parse_args()
    print(write(args.facts, args.out))


if __name__ == "__main__":
    main()

__all__ = ["BOUNDS", "UNLIMITED_M", "chiba_features", "write"]
