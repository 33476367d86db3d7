"""Airspace volumes: a footprint, an altitude band, a rule kind and an action; GeoJSON in and out.

A volume is a footprint (polygon, multipolygon, or a circle: a GeoJSON Point with `radius_m`)
extruded between a floor and a ceiling, each measured above ground (AGL) or above mean sea level
(AMSL). Its `kind` says what the rule is:

- `no_fly`: never enter (restriction surfaces, keep-clear areas, the 150 m AGL ceiling as a
  volume whose floor is 150 m AGL);
- `obstacle`: a structure, `ceiling_m` is its top; kept clear of by a horizontal clearance;
- `permission_required`: may be flown only with a permit (densely inhabited districts); routes
  avoid it where they can and report it where they cannot;
- `preferred`: corridors to prefer (open water, the lower Hanami River).

GeoJSON (RFC 7946, lon/lat, rules in `properties`) is the exchange format so operators can edit
volumes in QGIS or geojson.io. Loading validates every feature and names the feature (its `id`
or index) and the fault.

The ground is taken as 0 m AMSL throughout the Chiba area (reclaimed coastal land and water), so
AGL and AMSL bands convert by `ground_amsl_m` = 0 unless a volume says otherwise.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Point, mapping, shape
from shapely.geometry.base import BaseGeometry

from geofences.frame import to_local_arrays, to_wgs84_arrays


class AirspaceError(ValueError):
    """Invalid airspace data; the message names the feature and the fault."""


class RuleKind(StrEnum):
    NO_FLY = "no_fly"
    OBSTACLE = "obstacle"
    PERMISSION_REQUIRED = "permission_required"
    PREFERRED = "preferred"


class AltRef(StrEnum):
    AGL = "AGL"
    AMSL = "AMSL"


DEFAULT_ACTIONS = {
    RuleKind.NO_FLY: "avoid",
    RuleKind.OBSTACLE: "avoid",
    RuleKind.PERMISSION_REQUIRED: "avoid_if_possible",
    RuleKind.PREFERRED: "prefer",
}
UNLIMITED_M = 100_000.0


def to_local_geometry(geom: BaseGeometry) -> BaseGeometry:
    """A WGS-84 (lon, lat) geometry in the local metric frame."""

    def f(coords: Any) -> Any:
        e, n = to_local_arrays(coords[:, 1], coords[:, 0])
        return np.column_stack([e, n])

    return shapely.transform(geom, f)


def to_wgs84_geometry(geom: BaseGeometry) -> BaseGeometry:
    """A local-frame geometry in WGS-84 (lon, lat)."""

    def f(coords: Any) -> Any:
        lat, lon = to_wgs84_arrays(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(geom, f)


def circle_footprint(lat_deg: float, lon_deg: float, radius_m: float) -> BaseGeometry:
    """A circle of `radius_m` around a point, as a WGS-84 polygon (64 segments)."""
    e, n = to_local_arrays([lat_deg], [lon_deg])
    ring = Point(float(e[0]), float(n[0])).buffer(radius_m, quad_segs=16)
    coords = np.asarray(ring.exterior.coords)
    lat, lon = to_wgs84_arrays(coords[:, 0], coords[:, 1])
    return shapely.Polygon(np.column_stack([lon, lat]))


@dataclass(frozen=True, eq=False)
class Volume:
    """One airspace volume. `footprint` is WGS-84 (lon, lat); `circle` keeps a circle's centre
    and radius so it is saved back as a circle."""

    id: str
    name: str
    kind: RuleKind
    footprint: BaseGeometry
    floor_m: float = 0.0
    floor_ref: AltRef = AltRef.AGL
    ceiling_m: float = UNLIMITED_M
    ceiling_ref: AltRef = AltRef.AMSL
    action: str = ""
    approximate: bool = False
    source: str = ""
    ground_amsl_m: float = 0.0
    circle: tuple[float, float, float] | None = None  # (lat, lon, radius_m)
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.action:
            object.__setattr__(self, "action", DEFAULT_ACTIONS[self.kind])

    @cached_property
    def local(self) -> BaseGeometry:
        """The footprint in the local metric frame, prepared for repeated tests."""
        geom = to_local_geometry(self.footprint)
        shapely.prepare(geom)
        return geom

    def floor_amsl_m(self) -> float:
        return self.floor_m + (self.ground_amsl_m if self.floor_ref is AltRef.AGL else 0.0)

    def ceiling_amsl_m(self) -> float:
        return self.ceiling_m + (self.ground_amsl_m if self.ceiling_ref is AltRef.AGL else 0.0)

    def blocks_altitude(self, alt_amsl_m: float, vertical_clearance_m: float = 0.0) -> bool:
        """True when a flight at `alt_amsl_m` is inside this volume's band (widened by the
        vertical clearance for obstacles)."""
        top = self.ceiling_amsl_m() + (
            vertical_clearance_m if self.kind is RuleKind.OBSTACLE else 0.0
        )
        return self.floor_amsl_m() <= alt_amsl_m <= top

    def to_feature(self) -> dict[str, Any]:
        props: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "kind": str(self.kind),
            "floor_m": self.floor_m,
            "floor_ref": str(self.floor_ref),
            "ceiling_m": None if self.ceiling_m >= UNLIMITED_M else self.ceiling_m,
            "ceiling_ref": str(self.ceiling_ref),
            "action": self.action,
            "approximate": self.approximate,
            "source": self.source,
            **dict(self.extra),
        }
        if self.circle is not None:
            lat, lon, radius = self.circle
            props["radius_m"] = radius
            geometry: dict[str, Any] = {"type": "Point", "coordinates": [lon, lat]}
        else:
            geometry = mapping(self.footprint)
        return {"type": "Feature", "id": self.id, "geometry": geometry, "properties": props}


def _number(props: Mapping[str, Any], key: str, where: str, default: float | None) -> float:
    value = props.get(key, default)
    if value is None and default is not None:
        value = default
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise AirspaceError(f"{where}: property {key!r} must be a finite number, got {value!r}")
    return float(value)


def volume_from_feature(feature: Any, index: int) -> Volume:
    """Validate and convert one GeoJSON Feature."""
    where = f"feature {index}"
    if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
        raise AirspaceError(f"{where}: not a GeoJSON Feature")
    props = feature.get("properties") or {}
    if not isinstance(props, Mapping):
        raise AirspaceError(f"{where}: properties must be an object")
    fid = props.get("id", feature.get("id"))
    if fid is not None:
        where = f"feature {index} ({fid!r})"
    if not isinstance(fid, str) or not fid:
        raise AirspaceError(f"{where}: needs a string 'id' (in properties or the feature)")
    try:
        kind = RuleKind(str(props.get("kind")))
    except ValueError:
        raise AirspaceError(
            f"{where}: 'kind' must be one of {', '.join(k.value for k in RuleKind)}, "
            f"got {props.get('kind')!r}"
        ) from None
    refs = {}
    for key in ("floor_ref", "ceiling_ref"):
        try:
            refs[key] = AltRef(props.get(key, "AGL" if key == "floor_ref" else "AMSL"))
        except ValueError:
            raise AirspaceError(
                f"{where}: {key!r} must be 'AGL' or 'AMSL', got {props.get(key)!r}"
            ) from None
    floor = _number(props, "floor_m", where, 0.0)
    ceiling = _number(props, "ceiling_m", where, UNLIMITED_M)
    if floor < -100.0 or (ceiling <= floor and refs["floor_ref"] == refs["ceiling_ref"]):
        raise AirspaceError(
            f"{where}: altitude band is empty or invalid (floor {floor}, ceiling {ceiling})"
        )
    geometry = feature.get("geometry")
    circle = None
    try:
        if isinstance(geometry, Mapping) and geometry.get("type") == "Point":
            radius = _number(props, "radius_m", where, None)
            if radius <= 0:
                raise AirspaceError(f"{where}: 'radius_m' must be positive")
            lon, lat = (float(c) for c in geometry["coordinates"][:2])
            _check_lonlat(lon, lat, where)
            circle = (lat, lon, radius)
            footprint = circle_footprint(lat, lon, radius)
        else:
            footprint = shape(geometry)  # type: ignore[arg-type]
    except AirspaceError:
        raise
    except Exception as exc:  # shapely raises many kinds on malformed geometry
        raise AirspaceError(f"{where}: bad geometry ({exc})") from None
    if footprint.geom_type not in ("Polygon", "MultiPolygon") or footprint.is_empty:
        raise AirspaceError(
            f"{where}: footprint must be a Polygon, MultiPolygon or circle, "
            f"got {footprint.geom_type}"
        )
    minx, miny, maxx, maxy = footprint.bounds
    _check_lonlat(minx, miny, where)
    _check_lonlat(maxx, maxy, where)
    if not footprint.is_valid:
        raise AirspaceError(f"{where}: invalid polygon ({shapely.is_valid_reason(footprint)})")
    known = {
        "id",
        "name",
        "kind",
        "floor_m",
        "floor_ref",
        "ceiling_m",
        "ceiling_ref",
        "action",
        "approximate",
        "source",
        "radius_m",
        "ground_amsl_m",
    }
    return Volume(
        id=fid,
        name=str(props.get("name", fid)),
        kind=kind,
        footprint=footprint,
        floor_m=floor,
        floor_ref=refs["floor_ref"],
        ceiling_m=ceiling,
        ceiling_ref=refs["ceiling_ref"],
        action=str(props.get("action") or ""),
        approximate=bool(props.get("approximate", False)),
        source=str(props.get("source", "")),
        ground_amsl_m=_number(props, "ground_amsl_m", where, 0.0),
        circle=circle,
        extra={k: v for k, v in props.items() if k not in known},
    )


def _check_lonlat(lon: float, lat: float, where: str) -> None:
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise AirspaceError(f"{where}: coordinate ({lon}, {lat}) is not a valid lon/lat")


@dataclass(frozen=True, eq=False)
class Airspace:
    """A set of volumes plus the planning area (WGS-84 bounds lon0, lat0, lon1, lat1) and the
    land polygon that tells water from land (None: everything counts as land)."""

    volumes: tuple[Volume, ...]
    bounds: tuple[float, float, float, float]
    land: BaseGeometry | None = None
    name: str = "airspace"

    def __post_init__(self) -> None:
        ids = [v.id for v in self.volumes]
        if len(set(ids)) != len(ids):
            dup = next(i for i in ids if ids.count(i) > 1)
            raise AirspaceError(f"duplicate volume id {dup!r}")

    def __iter__(self) -> Iterator[Volume]:
        return iter(self.volumes)

    def of_kind(self, *kinds: RuleKind) -> list[Volume]:
        return [v for v in self.volumes if v.kind in kinds]

    def by_id(self, volume_id: str) -> Volume:
        for v in self.volumes:
            if v.id == volume_id:
                return v
        raise KeyError(volume_id)

    @cached_property
    def land_local(self) -> BaseGeometry | None:
        if self.land is None:
            return None
        geom = to_local_geometry(self.land)
        shapely.prepare(geom)
        return geom

    def contains_point(self, lat_deg: float, lon_deg: float) -> bool:
        lon0, lat0, lon1, lat1 = self.bounds
        return lon0 <= lon_deg <= lon1 and lat0 <= lat_deg <= lat1

    def to_geojson(self) -> dict[str, Any]:
        return {
            "type": "FeatureCollection",
            "name": self.name,
            "bbox": list(self.bounds),
            "features": [v.to_feature() for v in self.volumes],
        }

    def save(self, path: str | Path) -> None:
        Path(path).write_text(
            json.dumps(self.to_geojson(), ensure_ascii=False, indent=1), encoding="utf-8"
        )

    @classmethod
    def from_geojson(
        cls, data: Any, land: BaseGeometry | None = None, name: str = "airspace"
    ) -> Airspace:
        if not isinstance(data, Mapping) or data.get("type") != "FeatureCollection":
            raise AirspaceError("airspace file must be a GeoJSON FeatureCollection")
        features = data.get("features")
        if not isinstance(features, list):
            raise AirspaceError("airspace file: 'features' must be a list")
        volumes = tuple(volume_from_feature(f, i) for i, f in enumerate(features))
        bbox = data.get("bbox")
        if isinstance(bbox, list) and len(bbox) == 4:
            bounds = tuple(float(b) for b in bbox)
        elif volumes:
            bounds = shapely.union_all([v.footprint for v in volumes]).bounds
        else:
            raise AirspaceError("airspace file: no volumes and no 'bbox' planning area")
        _check_lonlat(bounds[0], bounds[1], "bbox")
        _check_lonlat(bounds[2], bounds[3], "bbox")
        if not (bounds[0] < bounds[2] and bounds[1] < bounds[3]):
            raise AirspaceError(f"bbox {bounds} is empty")
        return cls(volumes, bounds, land, str(data.get("name", name)))  # type: ignore[arg-type]

    @classmethod
    def load_default(cls) -> Airspace:
        """The shipped Chiba airspace with the bay shore's land (loaded once, cached)."""
        from geofences.default import load_default  # the data module imports this one

        return load_default()

    @classmethod
    def load(cls, path: str | Path, land: BaseGeometry | None = None) -> Airspace:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise AirspaceError(f"{path}: cannot read ({exc.strerror})") from None
        except json.JSONDecodeError as exc:
            raise AirspaceError(f"{path}: not valid JSON ({exc})") from None
        try:
            return cls.from_geojson(data, land, Path(path).stem)
        except AirspaceError as exc:
            raise AirspaceError(f"{path}: {exc}") from None


def load_land(path: str | Path) -> BaseGeometry:
    """The land polygon (union of all features) from a GeoJSON file."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return shapely.union_all([shape(f["geometry"]) for f in data["features"]])


def iter_polygons(geom: BaseGeometry) -> Iterable[shapely.Polygon]:
    if isinstance(geom, shapely.Polygon):
        yield geom
    elif isinstance(geom, shapely.MultiPolygon | shapely.GeometryCollection):
        for g in geom.geoms:
            yield from iter_polygons(g)
