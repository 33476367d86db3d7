"""How the shipped Makuhari network was drawn: `python -m sim.ground.network_build` rewrites it.

No street geometry of Makuhari new city was available, so the network is an **estimate**, drawn in
a grid frame aligned with the coast: the `along` axis runs from Makuhari-Toyosuna station to
Kaihin-Makuhari station (parallel to the JR Keiyo Line and the shore, bearing about 129 degrees),
the `across` axis points inland (bearing about 39 degrees), and the origin is Kaihin-Makuhari
station. The Keiyo Line lies on `across = 0`, the shore near `across = -1000..-1300`, the
lower Hanami River near `along = 1400..1570`. Avenues are straight lines of this grid at
plausible spacings; roads cross the railway only at a few places and the river only on
bridges. Places (stations, venues, homes, depots) come from `places.csv` of the project's facts
and are joined to the nearest street by a short spur. Every feature says `approximate: true`
and names its source.

The output is `sim/data/makuhari_network.geojson`; `sim.ground.network` loads and validates it.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path

from sim.ground.frame import to_local_m, to_wgs84

OUT_PATH = Path(__file__).resolve().parent.parent / "data" / "makuhari_network.geojson"
FACTS = "places.csv and chiba.md of the project's facts (/work/shared/facts)"
STREET_SOURCE = (
    "ESTIMATE: street drawn on a coast-aligned grid through the stations of places.csv; "
    "no surveyed street geometry was used"
)

# Grid frame: origin Kaihin-Makuhari station, `along` towards it from Makuhari-Toyosuna station.
_ORIGIN = to_local_m(35.648330, 140.041861)
_TOYOSUNA = to_local_m(35.657991, 140.027061)
_DX, _DY = _ORIGIN[0] - _TOYOSUNA[0], _ORIGIN[1] - _TOYOSUNA[1]
_NORM = math.hypot(_DX, _DY)
_U = (_DX / _NORM, _DY / _NORM)  # along (south-east)
_V = (-_U[1], _U[0])  # across (inland, north-east)


def grid_to_local(along_m: float, across_m: float) -> tuple[float, float]:
    """Local EPSG:6677 metres of a grid point."""
    return (
        _ORIGIN[0] + along_m * _U[0] + across_m * _V[0],
        _ORIGIN[1] + along_m * _U[1] + across_m * _V[1],
    )


def local_to_grid(x_m: float, y_m: float) -> tuple[float, float]:
    """Grid (along, across) metres of a local point."""
    dx, dy = x_m - _ORIGIN[0], y_m - _ORIGIN[1]
    return dx * _U[0] + dy * _U[1], dx * _V[0] + dy * _V[1]


@dataclass(frozen=True)
class Street:
    """A straight street of the grid: `fixed` is its across (along-street) or along coordinate."""

    name: str
    axis: str  # "along": runs parallel to the shore at across=fixed; "across": at along=fixed
    fixed: float
    lo: float
    hi: float
    mode: str
    speed_limit_kmh: float | None
    sidewalk_max_kmh: float | None = 6.0
    bridge: bool = False


def _s(
    name: str,
    axis: str,
    fixed: float,
    lo: float,
    hi: float,
    mode: str = "both",
    kmh: float | None = 40.0,
    side: float | None = 6.0,
    bridge: bool = False,
) -> Street:
    if mode == "road":
        side = None
    if mode == "sidewalk":
        kmh = None
    return Street(name, axis, fixed, lo, hi, mode, kmh, side, bridge)


STREETS: tuple[Street, ...] = (
    # Parallel to the shore.
    _s("Inland avenue (Wakaba / Hibino side)", "along", 350, -1720, 1330, kmh=50),
    _s("Inland avenue bridge over the Hanami River", "along", 350, 1330, 1750, kmh=50, bridge=True),
    _s("Inland avenue (Masago side)", "along", 350, 1750, 1968, kmh=50),
    _s("Seaward avenue beside the Keiyo Line", "along", -120, -1900, 1330),
    _s("Messe avenue", "along", -450, -1900, 1330),
    _s("Hanami River footbridge", "along", -600, 1330, 1750, mode="sidewalk", bridge=True),
    _s("Seaside Park road", "along", -800, -1900, 1330),
    _s("Coastal avenue (Kaihin-odori)", "along", -950, -550, 1330, kmh=50),
    _s(
        "Mihama Ohashi bridge (coastal avenue over the Hanami River mouth)",
        "along",
        -950,
        1330,
        1750,
        kmh=50,
        bridge=True,
    ),
    _s("Makuhari beach promenade", "along", -1080, -550, 1330, mode="sidewalk"),
    # Across the shore (inland - seaward).
    _s("Hamada west street", "across", -1900, -800, -120),
    _s("Toyosuna station street", "across", -1720, -800, -120),
    _s("Toyosuna railway underpass (no footway)", "across", -1720, -120, 350, mode="road"),
    _s("Yurari street", "across", -1100, -800, -120),
    _s("Messe-odori", "across", -550, -950, 350, kmh=50),
    _s("Seaside Park path to the beach", "across", -550, -1080, -950, mode="sidewalk"),
    _s("Station avenue", "across", 0, -950, 350),
    _s("Station plaza path to the beach", "across", 0, -1080, -950, mode="sidewalk"),
    _s("Utase street (Bay Town)", "across", 500, -950, -120, kmh=30),
    _s("Bay Town park path", "across", 500, -1080, -950, mode="sidewalk"),
    _s("Bay Town - Wakaba avenue", "across", 950, -950, 350, kmh=30),
    _s("Bay Town beach path", "across", 950, -1080, -950, mode="sidewalk"),
    _s("Hanami River right-bank road", "across", 1330, -950, 350, kmh=30),
    _s("Hanami River right-bank promenade", "across", 1330, -1080, -950, mode="sidewalk"),
    _s("Hanami River left-bank road (Masago / Isobe)", "across", 1750, -950, 350, kmh=30),
)


@dataclass(frozen=True)
class Place:
    """A named point: a bus stop, a landmark, a home or a depot."""

    id: str
    kind: str  # bus_stop | landmark | home | depot
    name: str
    name_ja: str
    lat_deg: float
    lon_deg: float
    source: str
    spur_mode: str = "both"
    spur_kmh: float | None = 20.0
    spur_side_kmh: float | None = 6.0


def _p(
    pid: str,
    kind: str,
    name: str,
    name_ja: str,
    lat: float,
    lon: float,
    source: str,
    spur_mode: str = "both",
    kmh: float | None = 20.0,
    side: float | None = 6.0,
) -> Place:
    return Place(pid, kind, name, name_ja, lat, lon, source, spur_mode, kmh, side)


def _grid_place(
    pid: str,
    kind: str,
    name: str,
    name_ja: str,
    along: float,
    across: float,
    source: str,
    spur_mode: str = "sidewalk",
) -> Place:
    lat, lon = to_wgs84(*grid_to_local(along, across))
    return _p(
        pid,
        kind,
        name,
        name_ja,
        round(lat, 6),
        round(lon, 6),
        source,
        spur_mode,
        None if spur_mode == "sidewalk" else 20.0,
    )


_CSV = "places.csv"
_HOME_SRC = "INVENTED home point for demand: placed inside the residential district named"
PLACES: tuple[Place, ...] = (
    _p(
        "kaihin-makuhari",
        "bus_stop",
        "Kaihin-Makuhari Station",
        "海浜幕張駅",
        35.648330,
        140.041861,
        f"{_CSV}: ja.wikipedia infobox (high); stop on the station rotary (estimate)",
        side=4.0,
    ),
    _p(
        "makuhari-toyosuna",
        "bus_stop",
        "Makuhari-Toyosuna Station",
        "幕張豊砂駅",
        35.657991,
        140.027061,
        f"{_CSV}: public station table (medium)",
    ),
    _p(
        "messe",
        "bus_stop",
        "Makuhari Messe",
        "幕張メッセ",
        35.648330,
        140.034720,
        f"{_CSV}: ja.wikipedia infobox (medium, +-300 m)",
    ),
    _p(
        "aeon-mall",
        "bus_stop",
        "Aeon Mall Makuhari Shintoshin",
        "イオンモール幕張新都心",
        35.6555,
        140.0245,
        f"{_CSV}: ESTIMATE south of Makuhari-Toyosuna station (low)",
    ),
    _p(
        "zozo-marine",
        "bus_stop",
        "ZOZO Marine Stadium",
        "ZOZOマリンスタジアム",
        35.6453,
        140.0310,
        f"{_CSV}: ESTIMATE from recollection (low)",
    ),
    _p(
        "wakaba",
        "bus_stop",
        "Wakaba / Makuhari Bay Park",
        "若葉(幕張ベイパーク)",
        35.6450,
        140.0525,
        f"{_CSV}: ESTIMATE +-300 m (low)",
    ),
    _p(
        "bay-town",
        "bus_stop",
        "Makuhari Bay Town",
        "幕張ベイタウン",
        35.6405,
        140.0470,
        f"{_CSV}: ESTIMATE +-400 m (low)",
    ),
    _p(
        "yurari",
        "bus_stop",
        "JFA Yume Field / Makuhari Onsen Yurari",
        "JFA夢フィールド 幕張温泉 湯楽の里",
        35.6490,
        140.0270,
        f"{_CSV}: ESTIMATE +-500 m (low)",
    ),
    _p(
        "kemigawahama",
        "bus_stop",
        "Kemigawahama Station",
        "検見川浜駅",
        35.637291,
        140.058888,
        f"{_CSV}: public station table (medium)",
    ),
    _p(
        "bay-park-cross-tower",
        "landmark",
        "Makuhari Bay Park Cross Tower & Residence",
        "幕張ベイパーク クロスタワー&レジデンス",
        35.6462,
        140.0500,
        f"{_CSV}: ESTIMATE +-300 m (low)",
        spur_mode="sidewalk",
        kmh=None,
    ),
    _p(
        "hanami-riverside",
        "landmark",
        "Hanami River riverside green",
        "花見川緑地",
        35.6440,
        140.0565,
        f"{_CSV}: ESTIMATE (low)",
        spur_mode="sidewalk",
        kmh=None,
    ),
    _p(
        "makuhari-beach",
        "landmark",
        "Makuhari beach",
        "幕張の浜",
        35.6370,
        140.0390,
        f"{_CSV}: ESTIMATE +-500 m (low)",
        spur_mode="sidewalk",
        kmh=None,
    ),
    _grid_place(
        "bus-depot",
        "depot",
        "Makuhari bus depot",
        "幕張 バス車庫",
        -1900,
        -700,
        "INVENTED: no sourced bus depot; placed west of Aeon Mall",
        spur_mode="road",
    ),
    _grid_place(
        "pm-depot",
        "depot",
        "Kaihin-Makuhari personal-mobility port",
        "海浜幕張 パーソナルモビリティ ポート",
        120,
        -200,
        "INVENTED: sharing port near the station's south plaza (city concept in chiba.md)",
    ),
    _grid_place(
        "home-utase-1",
        "home",
        "Utase 1-chome homes",
        "打瀬1丁目",
        620,
        -300,
        f"{_HOME_SRC} (Bay Town, Utase 1-3)",
    ),
    _grid_place(
        "home-utase-2",
        "home",
        "Utase 2-chome homes",
        "打瀬2丁目",
        780,
        -700,
        f"{_HOME_SRC} (Bay Town, Utase 1-3)",
    ),
    _grid_place(
        "home-utase-3",
        "home",
        "Utase 3-chome homes",
        "打瀬3丁目",
        1150,
        -550,
        f"{_HOME_SRC} (Bay Town, Utase 1-3)",
    ),
    _grid_place(
        "home-utase-4",
        "home",
        "Utase 3-chome seaside homes",
        "打瀬3丁目 海側",
        1200,
        -920,
        f"{_HOME_SRC} (Bay Town, Utase 1-3)",
    ),
    _grid_place(
        "home-wakaba-b2",
        "home",
        "Bay Park Sky Grand Tower (B-2)",
        "幕張ベイパーク スカイグランドタワー",
        1100,
        230,
        f"{_HOME_SRC} (Wakaba 3-chome, Makuhari Bay Park)",
    ),
    _grid_place(
        "home-wakaba-b3",
        "home",
        "Bay Park Mid Square Tower (B-3)",
        "幕張ベイパーク ミッドスクエアタワー",
        850,
        200,
        f"{_HOME_SRC} (Wakaba 3-chome, Makuhari Bay Park)",
    ),
    _grid_place(
        "home-masago",
        "home",
        "Masago 5-chome homes",
        "真砂5丁目",
        1850,
        -300,
        f"{_HOME_SRC} (Masago 4-5, left bank of the Hanami River)",
    ),
    _grid_place(
        "home-isobe",
        "home",
        "Isobe 8-chome homes",
        "磯辺8丁目",
        1850,
        -850,
        f"{_HOME_SRC} (Isobe 6-8, left bank of the Hanami River)",
    ),
    _grid_place(
        "home-hamada",
        "home",
        "Hamada 2-chome homes",
        "浜田2丁目",
        -1400,
        280,
        f"{_HOME_SRC} (Hamada, landward of Makuhari-Toyosuna)",
    ),
)

# Pedestrian-only links that are not grid streets: (from place or node spec, to, name, max km/h).
DECKS: tuple[tuple[str, str, str, float], ...] = (
    ("kaihin-makuhari", "messe", "Messe pedestrian deck from Kaihin-Makuhari station", 4.0),
)


def _key(along: float, across: float) -> tuple[float, float]:
    return (round(along, 1), round(across, 1))


def build() -> dict[str, object]:
    """The GeoJSON FeatureCollection of the network (deterministic)."""
    on_street: dict[int, set[tuple[float, float]]] = {i: set() for i in range(len(STREETS))}
    for i, s in enumerate(STREETS):
        pts = on_street[i]
        for end in (s.lo, s.hi):
            pts.add(_key(end, s.fixed) if s.axis == "along" else _key(s.fixed, end))
        for t in STREETS:
            if t.axis == s.axis:
                continue
            a, c = (t.fixed, s.fixed) if s.axis == "along" else (s.fixed, t.fixed)
            mine, theirs = (a, c) if s.axis == "along" else (c, a)
            if s.lo <= mine <= s.hi and t.lo <= theirs <= t.hi:
                pts.add(_key(a, c))
    # Join each place to the nearest street by a perpendicular spur.
    place_at: dict[str, tuple[float, float]] = {}
    spurs: list[tuple[Place, tuple[float, float]]] = []
    on_place: dict[tuple[float, float], str] = {}
    for p in PLACES:
        a, c = local_to_grid(*to_local_m(p.lat_deg, p.lon_deg))
        place_at[p.id] = (a, c)
        best: tuple[float, int, tuple[float, float]] | None = None
        for i, s in enumerate(STREETS):
            if p.spur_mode != "both" and s.mode not in (p.spur_mode, "both"):
                continue
            if p.spur_mode == "both" and s.mode != "both":
                continue
            if s.bridge:
                continue
            pos, _off = (a, c) if s.axis == "along" else (c, a)
            pos = min(max(pos, s.lo), s.hi)
            foot = _key(pos, s.fixed) if s.axis == "along" else _key(s.fixed, pos)
            d = math.hypot(foot[0] - a, foot[1] - c)
            if best is None or d < best[0]:
                best = (d, i, foot)
        assert best is not None, p.id
        _, street, foot = best
        near = [k for k in on_street[street] if math.dist(k, foot) < 15.0]
        if near:  # join at an existing crossing rather than a few metres beside it
            joint = min(near, key=lambda k: math.dist(k, foot))
            best = (math.hypot(joint[0] - a, joint[1] - c), street, joint)
        on_street[best[1]].add(best[2])
        if best[0] < 1.0:  # the place is on the street: its node is the street's node
            place_at[p.id] = best[2]
            on_place[best[2]] = p.id
        else:
            spurs.append((p, best[2]))
    node_ids: dict[tuple[float, float], str] = {}
    for pts in on_street.values():
        for k in pts:
            node_ids.setdefault(k, "")
    for n, k in enumerate(sorted(node_ids)):
        node_ids[k] = f"p:{on_place[k]}" if k in on_place else f"g{n:03d}"
    features: list[dict[str, object]] = []

    def lonlat(along: float, across: float) -> list[float]:
        lat, lon = to_wgs84(*grid_to_local(along, across))
        return [round(lon, 7), round(lat, 7)]

    def length(a: tuple[float, float], b: tuple[float, float]) -> float:
        return round(math.hypot(a[0] - b[0], a[1] - b[1]), 1)

    for k in sorted(node_ids):
        features.append(
            _feature(
                "Point",
                lonlat(*k),
                {"kind": "node", "id": node_ids[k], "approximate": True, "source": STREET_SOURCE},
            )
        )
    for p in PLACES:
        if place_at[p.id] in on_place:
            continue
        features.append(
            _feature(
                "Point",
                lonlat(*place_at[p.id]),
                {"kind": "node", "id": f"p:{p.id}", "approximate": True, "source": p.source},
            )
        )
    edge_no = 0

    def edge(
        a_id: str,
        b_id: str,
        a: tuple[float, float],
        b: tuple[float, float],
        name: str,
        mode: str,
        kmh: float | None,
        side: float | None,
        bridge: bool,
        src: str,
    ) -> None:
        nonlocal edge_no
        features.append(
            _feature(
                "LineString",
                [lonlat(*a), lonlat(*b)],
                {
                    "kind": "edge",
                    "id": f"e{edge_no:03d}",
                    "from": a_id,
                    "to": b_id,
                    "name": name,
                    "mode": mode,
                    "length_m": length(a, b),
                    "speed_limit_kmh": kmh,
                    "sidewalk_max_kmh": side,
                    "bridge": bridge,
                    "approximate": True,
                    "source": src,
                },
            )
        )
        edge_no += 1

    for i, s in enumerate(STREETS):
        ordered = sorted(on_street[i], key=lambda k: k[0] if s.axis == "along" else k[1])
        for na, nb in itertools.pairwise(ordered):
            edge(
                node_ids[na],
                node_ids[nb],
                na,
                nb,
                s.name,
                s.mode,
                s.speed_limit_kmh,
                s.sidewalk_max_kmh,
                s.bridge,
                STREET_SOURCE,
            )
    for p, foot in spurs:
        edge(
            node_ids[foot],
            f"p:{p.id}",
            foot,
            place_at[p.id],
            f"Access to {p.name}",
            p.spur_mode,
            p.spur_kmh if p.spur_mode != "sidewalk" else None,
            p.spur_side_kmh if p.spur_mode != "road" else None,
            False,
            "ESTIMATE: straight access path from the nearest street",
        )
    for a_id, b_id, name, side in DECKS:
        edge(
            f"p:{a_id}",
            f"p:{b_id}",
            place_at[a_id],
            place_at[b_id],
            name,
            "sidewalk",
            None,
            side,
            False,
            "ESTIMATE: straight line between the two places",
        )
    for p in PLACES:
        features.append(
            _feature(
                "Point",
                [p.lon_deg, p.lat_deg],
                {
                    "kind": p.kind,
                    "id": p.id,
                    "node": f"p:{p.id}",
                    "name": p.name,
                    "name_ja": p.name_ja,
                    "approximate": True,
                    "source": p.source,
                },
            )
        )
    return {
        "type": "FeatureCollection",
        "name": "makuhari_network",
        "properties": {
            "format": "kaiteki-ground-network",
            "version": 1,
            "crs_note": "EPSG:4326 [lon, lat]; lengths in metres measured in EPSG:6677",
            "approximate": True,
            "source": f"Estimated by sim.ground.network_build from {FACTS}. NOT surveyed: "
            "streets are plausible, not real; do not use for real navigation.",
        },
        "features": features,
    }


def _feature(
    kind: str, coords: list[float] | list[list[float]], props: dict[str, object]
) -> dict[str, object]:
    return {
        "type": "Feature",
        "geometry": {"type": kind, "coordinates": coords},
        "properties": props,
    }


def off_land(data: dict[str, object], land_geojson: Path) -> list[str]:
    """Ids of features not wholly on land per a land GeoJSON (e.g. the facts' bay_land)."""
    from shapely import prepare
    from shapely.geometry import shape

    land_doc = json.loads(land_geojson.read_text(encoding="utf-8"))
    land = shape(land_doc["features"][0]["geometry"])
    prepare(land)
    feats = data["features"]
    assert isinstance(feats, list)
    return [str(f["properties"]["id"]) for f in feats if not land.covers(shape(f["geometry"]))]


def main(argv: list[str] | None = None) -> None:
    """Write the network GeoJSON next to the package (optionally check it lies on land)."""
    parser = argparse.ArgumentParser(prog="python -m sim.ground.network_build")
    parser.add_argument("--check-land", type=Path, help="land GeoJSON, e.g. bay_land.geojson")
    args = parser.parse_args(argv)
    data = build()
    if args.check_land is not None:
        wet = off_land(data, args.check_land)
        if wet:
            raise SystemExit(f"not on land: {', '.join(wet)}")
        print(f"every feature lies on land per {args.check_land}")
    OUT_PATH.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    feats = data["features"]
    assert isinstance(feats, list)
    print(f"wrote {OUT_PATH} ({len(feats)} features)")


if __name__ == "__main__":
    main()
