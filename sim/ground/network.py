"""The Makuhari road and sidewalk network: GeoJSON data in, a validated graph out.

The shipped file `sim/data/makuhari_network.geojson` (drawn by `sim.ground.network_build`) has
three kinds of feature, told apart by `properties.kind`:

- `node` (Point): a junction or a place's door, with a unique `id`.
- `edge` (LineString from node `from` to node `to`): `mode` is `road` (vehicles only),
  `sidewalk` (pedestrians and personal mobility only) or `both`; `length_m` (checked against the
  geometry measured in EPSG:6677); `speed_limit_kmh` for vehicles and `sidewalk_max_kmh` for
  sidewalk users. Edges are two-way.
- `bus_stop`, `landmark`, `home`, `depot` (Point): a named place with `name`, `name_ja` and the
  `node` it is reached at.

Every feature must say whether its geometry is `approximate` and give a `source`. Loading checks
all of it and raises `NetworkError` naming the feature and the fault, then checks that the road
graph and the sidewalk graph are each connected.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any, NewType

from sim.ground.frame import to_local_m

NodeId = NewType("NodeId", str)
PlaceId = NewType("PlaceId", str)

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "data" / "makuhari_network.geojson"
PLACE_KINDS = ("bus_stop", "landmark", "home", "depot")
_LENGTH_TOLERANCE_M = 1.0
_PLACE_TO_NODE_MAX_M = 50.0


class NetworkError(ValueError):
    """The network data is invalid; the message names the feature and the fault."""


class EdgeMode(StrEnum):
    """Who may use an edge."""

    ROAD = "road"
    SIDEWALK = "sidewalk"
    BOTH = "both"


class TravelMode(StrEnum):
    """How a vehicle moves: buses on roads, personal mobility on sidewalks."""

    ROAD = "road"
    SIDEWALK = "sidewalk"


@dataclass(frozen=True, slots=True)
class Node:
    id: NodeId
    lat_deg: float
    lon_deg: float
    x_m: float
    y_m: float


@dataclass(frozen=True, slots=True)
class Edge:
    """A two-way street or path; `points_xy` run from `from_node` to `to_node` in EPSG:6677."""

    id: str
    from_node: NodeId
    to_node: NodeId
    mode: EdgeMode
    length_m: float
    speed_limit_kmh: float | None
    sidewalk_max_kmh: float | None
    name: str
    bridge: bool
    points_xy: tuple[tuple[float, float], ...]

    def allows(self, travel: TravelMode) -> bool:
        """Whether a vehicle moving in `travel` mode may use this edge."""
        return self.mode is EdgeMode.BOTH or self.mode.value == travel.value

    def limit_m_s(self, travel: TravelMode) -> float:
        """The speed limit for `travel` on this edge, in m/s (inf when the edge states none)."""
        kmh = self.speed_limit_kmh if travel is TravelMode.ROAD else self.sidewalk_max_kmh
        return math.inf if kmh is None else kmh / 3.6


@dataclass(frozen=True, slots=True)
class Place:
    id: PlaceId
    kind: str
    name: str
    name_ja: str
    lat_deg: float
    lon_deg: float
    node: NodeId


@dataclass(frozen=True, slots=True)
class RoadNetwork:
    """The validated graph. `adjacency[mode][node]` lists (edge index, neighbour) pairs."""

    nodes: Mapping[NodeId, Node]
    edges: tuple[Edge, ...]
    places: Mapping[PlaceId, Place]
    adjacency: Mapping[TravelMode, Mapping[NodeId, tuple[tuple[int, NodeId], ...]]] = field(
        repr=False
    )
    source: str = ""

    def place(self, place_id: str) -> Place:
        """The place with this id; `KeyError` with the known ids if there is none."""
        try:
            return self.places[PlaceId(place_id)]
        except KeyError:
            known = ", ".join(sorted(self.places))
            raise KeyError(f"unknown place {place_id!r}; known places: {known}") from None

    def places_of_kind(self, kind: str) -> tuple[Place, ...]:
        """Places of one kind, sorted by id."""
        return tuple(p for _, p in sorted(self.places.items()) if p.kind == kind)


def _fail(where: str, message: str) -> NetworkError:
    return NetworkError(f"{where}: {message}")


def _text(props: Mapping[str, Any], key: str, where: str) -> str:
    value = props.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _fail(where, f"{key!r} must be a non-empty string, got {value!r}")
    return value


def _number(props: Mapping[str, Any], key: str, where: str, *, optional: bool = False) -> float:
    value = props.get(key)
    if value is None and optional:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(where, f"{key!r} must be a finite number, got {value!r}")
    if value <= 0:
        raise _fail(where, f"{key!r} must be positive, got {value!r}")
    return float(value)


def _position(raw: Any, where: str) -> tuple[float, float]:
    """(lat, lon) of a GeoJSON [lon, lat] pair, validated."""
    if not (isinstance(raw, list | tuple) and len(raw) in (2, 3)):
        raise _fail(where, f"a position must be [lon, lat], got {raw!r}")
    lon, lat = raw[0], raw[1]
    for v in (lon, lat):
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise _fail(where, f"coordinates must be finite numbers, got {raw!r}")
    # Japan Plane Rectangular CS IX is only meaningful around Tokyo Bay and Kanto.
    if not (34.0 <= lat <= 37.5 and 138.0 <= lon <= 142.0):
        raise _fail(where, f"position {raw!r} is outside the EPSG:6677 zone (Kanto)")
    return float(lat), float(lon)


def parse_network(data: Any, source: str = "<data>") -> RoadNetwork:
    """Validate a decoded GeoJSON document and build the graph."""
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise NetworkError(f"{source}: expected a GeoJSON FeatureCollection")
    features = data.get("features")
    if not isinstance(features, list) or not features:
        raise NetworkError(f"{source}: 'features' must be a non-empty list")
    nodes: dict[NodeId, Node] = {}
    raw_edges: list[tuple[str, dict[str, Any], list[Any]]] = []
    raw_places: list[tuple[str, dict[str, Any], tuple[float, float]]] = []
    seen: set[str] = set()
    for i, feature in enumerate(features):
        where = f"{source} feature {i}"
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            raise _fail(where, "not a GeoJSON Feature")
        props, geom = feature.get("properties"), feature.get("geometry")
        if not isinstance(props, dict) or not isinstance(geom, dict):
            raise _fail(where, "needs 'properties' and 'geometry' objects")
        kind = props.get("kind")
        fid = _text(props, "id", where)
        where = f"{source} feature {i} ({kind} {fid!r})"
        if props.get("approximate") not in (True, False):
            raise _fail(where, "'approximate' must be true or false (mark estimated geometry)")
        _text(props, "source", where)
        key = f"{'place' if kind in PLACE_KINDS else kind}:{fid}"
        if key in seen:
            raise _fail(where, "duplicate id")
        seen.add(key)
        coords = geom.get("coordinates")
        if kind == "node" or kind in PLACE_KINDS:
            if geom.get("type") != "Point":
                raise _fail(where, f"a {kind} must be a Point")
            lat, lon = _position(coords, where)
            if kind == "node":
                x_m, y_m = to_local_m(lat, lon)
                nodes[NodeId(fid)] = Node(NodeId(fid), lat, lon, x_m, y_m)
            else:
                raw_places.append((where, props, (lat, lon)))
        elif kind == "edge":
            if geom.get("type") != "LineString" or not isinstance(coords, list) or len(coords) < 2:
                raise _fail(where, "an edge must be a LineString of at least two positions")
            raw_edges.append((where, props, coords))
        else:
            raise _fail(where, f"unknown kind {kind!r} (node, edge, {', '.join(PLACE_KINDS)})")
    edges = tuple(_edge(where, props, coords, nodes) for where, props, coords in raw_edges)
    places: dict[PlaceId, Place] = {}
    for where, props, (lat, lon) in raw_places:
        node_id = NodeId(_text(props, "node", where))
        node = nodes.get(node_id)
        if node is None:
            raise _fail(where, f"refers to unknown node {node_id!r}")
        x_m, y_m = to_local_m(lat, lon)
        gap_m = math.hypot(x_m - node.x_m, y_m - node.y_m)
        if gap_m > _PLACE_TO_NODE_MAX_M:
            raise _fail(where, f"is {gap_m:.0f} m from its node (at most {_PLACE_TO_NODE_MAX_M})")
        pid = PlaceId(_text(props, "id", where))
        places[pid] = Place(
            pid,
            str(props["kind"]),
            _text(props, "name", where),
            _text(props, "name_ja", where),
            lat,
            lon,
            node_id,
        )
    adjacency = {mode: _adjacency(nodes, edges, mode) for mode in TravelMode}
    network = RoadNetwork(nodes, edges, places, adjacency, source)
    _check_connected(network, source)
    return network


def _edge(
    where: str, props: dict[str, Any], coords: list[Any], nodes: Mapping[NodeId, Node]
) -> Edge:
    ends = []
    for key in ("from", "to"):
        node = nodes.get(NodeId(_text(props, key, where)))
        if node is None:
            raise _fail(where, f"{key!r} refers to unknown node {props[key]!r}")
        ends.append(node)
    if ends[0].id == ends[1].id:
        raise _fail(where, "an edge must join two different nodes")
    try:
        mode = EdgeMode(str(props.get("mode")))
    except ValueError:
        raise _fail(
            where, f"'mode' must be road, sidewalk or both, got {props.get('mode')!r}"
        ) from None
    points = tuple(to_local_m(*_position(c, where)) for c in coords)
    for node, point, label in ((ends[0], points[0], "first"), (ends[1], points[-1], "last")):
        gap = math.hypot(point[0] - node.x_m, point[1] - node.y_m)
        if gap > _LENGTH_TOLERANCE_M:
            raise _fail(where, f"{label} position is {gap:.1f} m from node {node.id!r}")
    geometry_m = sum(math.dist(a, b) for a, b in itertools.pairwise(points))
    length_m = _number(props, "length_m", where)
    if abs(length_m - geometry_m) > max(_LENGTH_TOLERANCE_M, 0.01 * geometry_m):
        raise _fail(where, f"length_m {length_m} disagrees with its geometry ({geometry_m:.1f} m)")
    road_kmh = _number(props, "speed_limit_kmh", where, optional=True)
    side_kmh = _number(props, "sidewalk_max_kmh", where, optional=True)
    if mode is not EdgeMode.SIDEWALK and math.isnan(road_kmh):
        raise _fail(where, f"a {mode} edge needs 'speed_limit_kmh'")
    if mode is not EdgeMode.ROAD and math.isnan(side_kmh):
        raise _fail(where, f"a {mode} edge needs 'sidewalk_max_kmh'")
    bridge = props.get("bridge", False)
    if not isinstance(bridge, bool):
        raise _fail(where, f"'bridge' must be true or false, got {bridge!r}")
    return Edge(
        id=str(props["id"]),
        from_node=ends[0].id,
        to_node=ends[1].id,
        mode=mode,
        length_m=geometry_m,
        speed_limit_kmh=None if math.isnan(road_kmh) else road_kmh,
        sidewalk_max_kmh=None if math.isnan(side_kmh) else side_kmh,
        name=str(props.get("name", "")),
        bridge=bridge,
        points_xy=points,
    )


def _adjacency(
    nodes: Mapping[NodeId, Node], edges: tuple[Edge, ...], mode: TravelMode
) -> dict[NodeId, tuple[tuple[int, NodeId], ...]]:
    adj: dict[NodeId, list[tuple[int, NodeId]]] = {n: [] for n in sorted(nodes)}
    for i, e in enumerate(edges):
        if e.allows(mode):
            adj[e.from_node].append((i, e.to_node))
            adj[e.to_node].append((i, e.from_node))
    return {n: tuple(v) for n, v in adj.items()}


def _check_connected(network: RoadNetwork, source: str) -> None:
    for mode in TravelMode:
        adj = network.adjacency[mode]
        used = [n for n, nbrs in adj.items() if nbrs]
        if not used:
            raise NetworkError(f"{source}: no edge allows {mode} travel")
        reached = {used[0]}
        stack = [used[0]]
        while stack:
            for _, other in adj[stack.pop()]:
                if other not in reached:
                    reached.add(other)
                    stack.append(other)
        cut_off = [n for n in used if n not in reached]
        if cut_off:
            raise NetworkError(
                f"{source}: the {mode} graph is not connected; cut off from {used[0]!r}: "
                + ", ".join(cut_off[:10])
            )
    orphans = [n for n in network.nodes if not any(network.adjacency[m][n] for m in TravelMode)]
    if orphans:
        raise NetworkError(f"{source}: nodes without any edge: {', '.join(orphans[:10])}")


def load_network(path: str | Path | None = None) -> RoadNetwork:
    """Load and validate a network file (default: the shipped Makuhari network, cached)."""
    if path is None:
        return _default_network()
    return _load(Path(path))


def _load(path: Path) -> RoadNetwork:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise NetworkError(f"{path}: cannot read: {exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NetworkError(f"{path}: not valid JSON: {exc}") from exc
    return parse_network(data, source=path.name)


@cache
def _default_network() -> RoadNetwork:
    return _load(DEFAULT_PATH)
