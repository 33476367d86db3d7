"""The navigation lattice the route planner searches, in the local metric frame.

A square lattice (`grid_m`, 16 neighbours per node: the 8 around it and the 8 knight's moves, so
headings come in 22.5 degree steps) over the planning area, minus the nodes inside blocked
footprints, plus a five-times finer lattice inside narrow preferred corridors (the Hanami River)
joined to the coarse nodes around it. Edges are kept only when their segment is legal; each
carries its cost (length times the ground's cost factor) and its length. The same edges are
stored both ways as a CSR matrix, so Dijkstra runs directed (no transpose per query), and a query
appends its start points as extra rows (`with_sources`) without rebuilding the matrix.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import shapely
from scipy.sparse import coo_matrix, csr_matrix
from scipy.spatial import cKDTree
from shapely.geometry.base import BaseGeometry

FloatArray = npt.NDArray[np.float64]
NEIGHBOURS = ((1, 0), (0, 1), (1, 1), (1, -1), (2, 1), (1, 2), (2, -1), (1, -2))
Legal = Callable[[FloatArray, FloatArray], npt.NDArray[np.bool_]]
Costs = Callable[[FloatArray, FloatArray, int], tuple[FloatArray, FloatArray]]


@dataclass
class Lattice:
    """The navigation lattice: node coordinates (local), undirected edges with cost and length,
    and the same edges stored both ways as a CSR matrix for directed Dijkstra."""

    xy: FloatArray
    rows: npt.NDArray[np.int64]
    cols: npt.NDArray[np.int64]
    weights: FloatArray
    lengths: FloatArray
    tree: cKDTree = field(init=False)
    csr: csr_matrix = field(init=False)

    def __post_init__(self) -> None:
        self.tree = cKDTree(self.xy)
        n = len(self.xy)
        both = np.concatenate([self.rows, self.cols]), np.concatenate([self.cols, self.rows])
        w = np.concatenate([self.weights, self.weights])
        self.csr = coo_matrix((w, both), shape=(n, n)).tocsr()

    def with_sources(self, links: Sequence[tuple[npt.NDArray[np.int64], FloatArray]]) -> csr_matrix:
        """The graph plus one extra node per entry of `links` (appended after the lattice), with
        edges out of it only: (lattice node indices, costs). Edges *into* the extra nodes are
        left out, so a search never passes through another endpoint."""
        base = self.csr
        n = base.shape[0]
        counts = [len(nodes) for nodes, _ in links]
        indptr = np.concatenate([base.indptr, base.indptr[-1] + np.cumsum(counts)])
        kind = base.indices.dtype
        indices = np.concatenate([base.indices, *[nodes.astype(kind) for nodes, _ in links]])
        data = np.concatenate([base.data, *[cost for _, cost in links]])
        size = n + len(links)
        return csr_matrix((data, indices, indptr.astype(base.indptr.dtype)), shape=(size, size))


def build_lattice(
    bounds: tuple[float, float, float, float],
    blocked: BaseGeometry,
    corridors: Sequence[BaseGeometry],
    grid_m: float,
    legal: Legal,
    costs: Costs,
) -> Lattice:
    """The lattice over local `bounds`, avoiding `blocked`, finer inside `corridors`; `legal`
    says which segments may be flown and `costs` gives their (cost, length)."""
    g = grid_m
    x0, y0, x1, y1 = bounds
    gx = np.arange(x0 + g / 2, x1, g)
    gy = np.arange(y0 + g / 2, y1, g)
    ix, iy = np.meshgrid(np.arange(len(gx)), np.arange(len(gy)), indexing="ij")
    ok = ~shapely.contains_xy(blocked, gx[ix], gy[iy])
    index: npt.NDArray[np.int64] = np.full(ok.shape, -1, dtype=np.int64)
    index[ok] = np.arange(int(ok.sum()))
    xy = [np.column_stack([gx[ix[ok]], gy[iy[ok]]])]
    pairs = []
    for dx, dy in NEIGHBOURS:
        a = index[
            max(0, -dx) : index.shape[0] - max(0, dx), max(0, -dy) : index.shape[1] - max(0, dy)
        ]
        b = index[max(0, dx) :, max(0, dy) :][: a.shape[0], : a.shape[1]]
        m = (a >= 0) & (b >= 0)
        pairs.append(np.column_stack([a[m], b[m]]))
    n = int(ok.sum())
    for corridor in corridors:  # a finer lattice inside narrow preferred corridors
        fine = g / 5
        cx0, cy0, cx1, cy1 = corridor.bounds
        fx, fy = np.meshgrid(np.arange(cx0, cx1, fine), np.arange(cy0, cy1, fine), indexing="ij")
        fx, fy = fx.ravel(), fy.ravel()
        keep = shapely.contains_xy(corridor, fx, fy) & ~shapely.contains_xy(blocked, fx, fy)
        pts = np.column_stack([fx[keep], fy[keep]])
        if len(pts) == 0:
            continue
        xy.append(pts)
        local = cKDTree(pts).query_pairs(fine * 1.5, output_type="ndarray")
        pairs.append(local + n)
        coarse = cKDTree(xy[0]).query_ball_point(pts, g * 1.2)
        links = [(n + i, j) for i, js in enumerate(coarse) for j in js]
        if links:
            pairs.append(np.asarray(links, dtype=np.int64))
        n += len(pts)
    nodes: FloatArray = np.concatenate(xy).astype(float)
    edges = np.concatenate(pairs) if pairs else np.zeros((0, 2), dtype=np.int64)
    ends_a, ends_b = nodes[edges[:, 0]], nodes[edges[:, 1]]
    legal_edges = legal(ends_a, ends_b)
    edges, ends_a, ends_b = edges[legal_edges], ends_a[legal_edges], ends_b[legal_edges]
    samples = max(5, int(g / 25))
    cost, length = costs(ends_a, ends_b, samples)
    return Lattice(nodes, edges[:, 0], edges[:, 1], np.maximum(cost, 1e-6), length)


def walk(pred: npt.NDArray[np.int32], source: int, target: int) -> list[int]:
    """Nodes from `source` to `target` along Dijkstra predecessors."""
    nodes = [target]
    while nodes[-1] != source:
        nodes.append(int(pred[nodes[-1]]))
    return nodes[::-1]
