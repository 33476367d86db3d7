"""Paths on the ground network: snapping, Dijkstra with a heap, routes and travel matrices.

A position on the network is an `EdgePosition`: an edge and the distance along it from its
`from_node`. Any WGS-84 point is snapped to the nearest edge its travel mode may use (the
perpendicular foot), so stops need not sit on junctions. A `Router` is one travel profile: a
travel mode (road for buses, sidewalk for personal mobility) and a cruise speed; the time of an
edge is its length over the lower of the cruise speed and the edge's limit. Routes minimise time
(what a vehicle drives); `shortest_path_m` minimises distance.

`travel_matrices` gives the integer distance (m) and duration (s) matrices the dispatch problem
needs, between named places or arbitrary lat/lon points, one Dijkstra per source (the graph has
about a hundred nodes, so this is milliseconds). The graph is small and static: a plain heap
beats pulling in a graph library.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sim.ground.frame import to_local_m
from sim.ground.network import Edge, NodeId, RoadNetwork, TravelMode

IntMatrix = npt.NDArray[np.int64]
PointSpec = str | tuple[float, float]  # a place id, or (lat_deg, lon_deg)


@dataclass(frozen=True, slots=True)
class EdgePosition:
    """A point on edge `edge` (index), `offset_m` metres from its `from_node`."""

    edge: int
    offset_m: float


@dataclass(frozen=True, slots=True)
class Snap:
    """Where a lat/lon point joins the network, and how far off the network it lies."""

    position: EdgePosition
    x_m: float
    y_m: float
    off_network_m: float


@dataclass(frozen=True, slots=True)
class RouteSegment:
    """A straight piece of a route on one edge, from offset `start_m` to `end_m` of that edge."""

    edge: int
    start_m: float
    end_m: float
    a_xy: tuple[float, float]
    b_xy: tuple[float, float]
    speed_m_s: float

    @property
    def length_m(self) -> float:
        return abs(self.end_m - self.start_m)


@dataclass(frozen=True, slots=True)
class Route:
    """A drivable polyline in EPSG:6677 metres, as straight segments with their speeds."""

    start: EdgePosition
    end: EdgePosition
    start_xy: tuple[float, float]
    segments: tuple[RouteSegment, ...]

    @property
    def points_xy(self) -> tuple[tuple[float, float], ...]:
        return (self.start_xy, *(s.b_xy for s in self.segments))

    @property
    def length_m(self) -> float:
        return sum(s.length_m for s in self.segments)

    @property
    def duration_s(self) -> float:
        return sum(s.length_m / s.speed_m_s for s in self.segments)


def point_on_edge(edge: Edge, offset_m: float) -> tuple[float, float]:
    """The local (x, y) at `offset_m` along `edge` (clamped to the edge)."""
    remaining = min(max(offset_m, 0.0), edge.length_m)
    pts = edge.points_xy
    for a, b in itertools.pairwise(pts):
        seg = math.dist(a, b)
        if remaining <= seg or b is pts[-1]:
            t = 0.0 if seg == 0.0 else min(remaining / seg, 1.0)
            return (a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))
        remaining -= seg
    return pts[-1]


def edge_slice(edge: Edge, start_m: float, end_m: float) -> list[float]:
    """Offsets along `edge` from `start_m` to `end_m` (either way), with the inner vertices."""
    lo, hi = sorted((start_m, end_m))
    offsets = [lo]
    acc = 0.0
    for a, b in itertools.pairwise(edge.points_xy):
        acc += math.dist(a, b)
        if lo < acc < hi:
            offsets.append(acc)
    offsets.append(hi)
    return offsets if start_m <= end_m else offsets[::-1]


def snap(network: RoadNetwork, lat_deg: float, lon_deg: float, mode: TravelMode) -> Snap:
    """The nearest point of an edge that `mode` may use."""
    x, y = to_local_m(lat_deg, lon_deg)
    best: Snap | None = None
    for i, edge in enumerate(network.edges):
        if not edge.allows(mode):
            continue
        acc = 0.0
        for a, b in zip(edge.points_xy, edge.points_xy[1:], strict=False):
            dx, dy = b[0] - a[0], b[1] - a[1]
            seg2 = dx * dx + dy * dy
            t = (
                0.0
                if seg2 == 0.0
                else max(0.0, min(1.0, ((x - a[0]) * dx + (y - a[1]) * dy) / seg2))
            )
            fx, fy = a[0] + t * dx, a[1] + t * dy
            d = math.hypot(x - fx, y - fy)
            if best is None or d < best.off_network_m - 1e-9:
                best = Snap(EdgePosition(i, acc + t * math.sqrt(seg2)), fx, fy, d)
            acc += math.sqrt(seg2)
    if best is None:
        raise ValueError(f"no edge allows {mode} travel")
    return best


def place_position(network: RoadNetwork, place_id: str, mode: TravelMode) -> EdgePosition:
    """The network position of a named place for `mode` (its node, or the nearest usable edge)."""
    place = network.place(place_id)
    for edge_index, _ in network.adjacency[mode][place.node]:
        edge = network.edges[edge_index]
        return EdgePosition(edge_index, 0.0 if edge.from_node == place.node else edge.length_m)
    return snap(network, place.lat_deg, place.lon_deg, mode).position


@dataclass(slots=True)
class _Tree:
    """A shortest-path tree: cost and length to each node, and how it was entered."""

    cost: dict[NodeId, float]
    length_m: dict[NodeId, float]
    prev: dict[NodeId, tuple[int, NodeId | None]]


class Router:
    """Fastest routes for one travel mode and cruise speed."""

    def __init__(self, network: RoadNetwork, mode: TravelMode, speed_m_s: float) -> None:
        if not (math.isfinite(speed_m_s) and speed_m_s > 0.0):
            raise ValueError(f"speed_m_s must be positive, got {speed_m_s!r}")
        self.network = network
        self.mode = mode
        self.speed_m_s = speed_m_s
        self._edge_speed = tuple(
            min(speed_m_s, e.limit_m_s(mode)) if e.allows(mode) else 0.0 for e in network.edges
        )

    def edge_speed_m_s(self, edge_index: int) -> float:
        """The speed this profile drives on an edge (0 if it may not use it)."""
        return self._edge_speed[edge_index]

    def position_of(self, point: PointSpec) -> EdgePosition:
        """A place id or a (lat, lon) pair as a network position for this mode."""
        if isinstance(point, str):
            return place_position(self.network, point, self.mode)
        return snap(self.network, point[0], point[1], self.mode).position

    def _check(self, pos: EdgePosition) -> Edge:
        if not 0 <= pos.edge < len(self.network.edges):
            raise ValueError(f"unknown edge index {pos.edge}")
        edge = self.network.edges[pos.edge]
        if not edge.allows(self.mode):
            raise ValueError(f"edge {edge.id} ({edge.mode}) does not allow {self.mode} travel")
        return edge

    def _search(self, src: EdgePosition, by_time: bool) -> _Tree:
        """Dijkstra from a position: cost, length and (edge, previous node) into each node."""
        edge = self._check(src)
        tree = _Tree({}, {}, {})
        heap: list[tuple[float, str, int, float, int, NodeId | None]] = []
        order = itertools.count()  # ties broken by insertion: deterministic, never compares None
        for node, along in (
            (edge.from_node, src.offset_m),
            (edge.to_node, edge.length_m - src.offset_m),
        ):
            first = self._cost(src.edge, along, by_time)
            heapq.heappush(heap, (first, node, next(order), along, src.edge, None))
        adjacency = self.network.adjacency[self.mode]
        while heap:
            c, node_s, _, length_m, via_edge, via_node = heapq.heappop(heap)
            node = NodeId(node_s)
            if node in tree.cost:
                continue
            tree.cost[node] = c
            tree.length_m[node] = length_m
            tree.prev[node] = (via_edge, via_node)
            for edge_index, other in adjacency[node]:
                if other not in tree.cost:
                    edge_m = self.network.edges[edge_index].length_m
                    step = self._cost(edge_index, edge_m, by_time)
                    entry = (c + step, other, next(order), length_m + edge_m, edge_index, node)
                    heapq.heappush(heap, entry)
        return tree

    def _cost(self, edge_index: int, length_m: float, by_time: bool) -> float:
        return length_m / self._edge_speed[edge_index] if by_time else length_m

    def _best_end(
        self, src: EdgePosition, dst: EdgePosition, tree: _Tree, by_time: bool
    ) -> tuple[float, float, NodeId | None]:
        """Cheapest way onto `dst`: (cost, length_m, entry node); entry None: same edge, direct."""
        edge = self._check(dst)
        options: list[tuple[float, float, str, NodeId | None]] = []
        if src.edge == dst.edge:
            along = abs(dst.offset_m - src.offset_m)
            options.append((self._cost(dst.edge, along, by_time), along, "", None))
        for node, along in (
            (edge.from_node, dst.offset_m),
            (edge.to_node, edge.length_m - dst.offset_m),
        ):
            if node in tree.cost:
                c = tree.cost[node] + self._cost(dst.edge, along, by_time)
                options.append((c, tree.length_m[node] + along, node, node))
        if not options:
            raise ValueError(f"{dst} cannot be reached from {src} by {self.mode}")
        best = min(options)
        return best[0], best[1], best[3]

    def route(self, src: EdgePosition, dst: EdgePosition) -> Route:
        """The fastest route from `src` to `dst`."""
        tree = self._search(src, by_time=True)
        _, _, entry = self._best_end(src, dst, tree, by_time=True)
        prev = tree.prev
        pieces: list[tuple[int, float, float]] = []  # (edge, from offset, to offset)
        dst_edge = self.network.edges[dst.edge]
        if entry is None:
            pieces.append((dst.edge, src.offset_m, dst.offset_m))
        else:
            start_m = 0.0 if entry == dst_edge.from_node else dst_edge.length_m
            pieces.append((dst.edge, start_m, dst.offset_m))
            node: NodeId = entry
            while True:
                via_edge, via_node = prev[node]
                e = self.network.edges[via_edge]
                node_end = 0.0 if node == e.from_node else e.length_m
                if via_node is None:  # the first piece, from the source position
                    pieces.append((via_edge, src.offset_m, node_end))
                    break
                pieces.append((via_edge, e.length_m - node_end, node_end))
                node = via_node
        pieces.reverse()
        segments: list[RouteSegment] = []
        for edge_index, a_m, b_m in pieces:
            edge = self.network.edges[edge_index]
            offsets = edge_slice(edge, a_m, b_m)
            for o1, o2 in itertools.pairwise(offsets):
                if abs(o2 - o1) > 1e-6:
                    segments.append(
                        RouteSegment(
                            edge_index,
                            o1,
                            o2,
                            point_on_edge(edge, o1),
                            point_on_edge(edge, o2),
                            self._edge_speed[edge_index],
                        )
                    )
        start_xy = point_on_edge(self.network.edges[src.edge], src.offset_m)
        return Route(src, dst, start_xy, tuple(segments))

    def costs_from(
        self, src: EdgePosition, targets: Sequence[EdgePosition], by_time: bool
    ) -> list[tuple[float, float]]:
        """(cost, length_m) from `src` to each target on the cheapest route (time or length)."""
        tree = self._search(src, by_time)
        return [self._best_end(src, t, tree, by_time)[:2] for t in targets]


def shortest_path_m(
    network: RoadNetwork, origin: PointSpec, destination: PointSpec, mode: TravelMode
) -> float:
    """The length of the shortest network path between two places or lat/lon points."""
    router = Router(network, mode, speed_m_s=1.0)
    src, dst = router.position_of(origin), router.position_of(destination)
    return router.costs_from(src, [dst], by_time=False)[0][0]


def travel_matrices(
    network: RoadNetwork, points: Sequence[PointSpec], mode: TravelMode, speed_m_s: float
) -> tuple[IntMatrix, IntMatrix]:
    """Integer (distance_m, duration_s) matrices between `points` along the fastest routes.

    `points` are place ids or (lat_deg, lon_deg) pairs snapped to the network for `mode`.
    Distances are the lengths of the fastest routes (what the vehicle drives), rounded to the
    metre; durations are rounded to the second. Both are read-only int64 arrays.
    """
    router = Router(network, mode, speed_m_s)
    positions = [router.position_of(p) for p in points]
    n = len(positions)
    dist = np.zeros((n, n), dtype=np.int64)
    dur = np.zeros((n, n), dtype=np.int64)
    for i, src in enumerate(positions):
        for j, (duration_s, length_m) in enumerate(router.costs_from(src, positions, True)):
            if i != j:
                dist[i, j] = round(length_m)
                dur[i, j] = round(duration_s)
    dist.setflags(write=False)
    dur.setflags(write=False)
    return dist, dur
