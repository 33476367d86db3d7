"""Readers for the three benchmark formats, and where each set lives.

* Solomon VRPTW: name line, `VEHICLE` block (`NUMBER CAPACITY`), `CUSTOMER` table
  `id x y demand ready due service`; node 0 is the depot.
* Li & Lim PDPTW (SINTEF): `K Q speed`, then `id x y demand ready due service pickup delivery`;
  a pickup has pickup index 0 and names its delivery; node 0 is the depot.
* Cordeau DARP: `K n T Q L`, then 2n+2 lines `id x y service load earliest latest`; node 0 the
  start depot, 1..n pickups, n+i the drop-off of request i, 2n+1 the end depot.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dispatch.instances.data import Instance, InstanceFormatError


@dataclass(frozen=True, slots=True)
class BenchmarkSet:
    """A benchmark set: folders searched for names, a BKS file, the representative selection."""

    name: str
    kind: str
    folders: tuple[str, ...]
    bks_file: str
    representative: tuple[str, ...]


_DARP_SIZES = (
    (2, (16, 20, 24)),
    (3, (18, 24, 30, 36)),
    (4, (16, 24, 32, 40, 48)),
    (5, (40, 50, 60)),
    (6, (48, 60, 72)),
    (7, (56, 70, 84)),
    (8, (64, 80, 96)),
)

SETS: dict[str, BenchmarkSet] = {
    "solomon": BenchmarkSet(
        "solomon",
        "vrptw",
        ("solomon",),
        "solomon/bks.csv",
        ("C101", "C205", "R101", "R110", "R202", "R208", "RC101", "RC105", "RC208"),
    ),
    "lilim": BenchmarkSet(
        "lilim",
        "pdptw",
        ("lilim/100", "lilim/200", "lilim/400"),
        "lilim/bks.csv",
        (
            "lc101",
            "lc201",
            "lr101",
            "lr208",
            "lrc101",
            "lrc206",
            "lc1_2_1",
            "lc2_2_1",
            "lr1_2_1",
            "lr2_2_1",
            "lrc1_2_1",
            "lrc2_2_1",
        ),
    ),
    "darp": BenchmarkSet(
        "darp",
        "darp",
        ("darp",),
        "darp/bks.csv",
        tuple(f"a{k}-{n}" for k, ns in _DARP_SIZES for n in ns),
    ),
}


def resolve_instance(set_name: str, name_or_path: str, root: Path) -> Path:
    """A path as given if it exists, else `<root>/<folder>/<name>.txt` (case-insensitive)."""
    given = Path(name_or_path)
    if given.is_file():
        return given
    bench = SETS[set_name]
    wanted = given.name.lower().removesuffix(".txt") + ".txt"
    for folder in bench.folders:
        directory = root / folder
        if not directory.is_dir():
            continue
        for candidate in sorted(directory.iterdir()):
            if candidate.name.lower() == wanted:
                return candidate
    raise FileNotFoundError(f"no {set_name} instance {name_or_path!r} under {root}")


def read_instance(kind: str, path: str | Path) -> Instance:
    """Read a file of the given kind ("vrptw"/"solomon", "pdptw"/"lilim", "darp")."""
    p = Path(path)
    text = p.read_text(encoding="utf-8", errors="strict")
    readers = {
        "vrptw": read_solomon,
        "solomon": read_solomon,
        "pdptw": read_lilim,
        "lilim": read_lilim,
        "darp": read_darp,
    }
    if kind not in readers:
        raise ValueError(f"unknown instance kind {kind!r}")
    return readers[kind](text, p.stem)


def _numbers(line: str, lineno: int, name: str, count: int) -> list[float]:
    parts = line.split()
    if len(parts) != count:
        raise InstanceFormatError(f"{name}:{lineno}: expected {count} fields, got {len(parts)}")
    try:
        return [float(v) for v in parts]
    except ValueError as exc:
        raise InstanceFormatError(f"{name}:{lineno}: not a number: {exc}") from exc


def _data_lines(text: str) -> list[tuple[int, str]]:
    return [(i + 1, ln) for i, ln in enumerate(text.splitlines()) if ln.strip()]


def read_solomon(text: str, name: str) -> Instance:
    """Parse the Solomon VRPTW text format."""
    lines = _data_lines(text)
    try:
        vehicle_at = next(k for k, (_, ln) in enumerate(lines) if ln.strip().upper() == "VEHICLE")
        cust_at = next(k for k, (_, ln) in enumerate(lines) if ln.strip().upper() == "CUSTOMER")
    except StopIteration:
        raise InstanceFormatError(f"{name}: missing VEHICLE or CUSTOMER section") from None
    lineno, fleet_line = lines[vehicle_at + 2]
    k, q = _numbers(fleet_line, lineno, name, 2)
    rows = [_numbers(ln, no, name, 7) for no, ln in lines[cust_at + 2 :]]
    if not rows:
        raise InstanceFormatError(f"{name}: no customers")
    for expected, row in enumerate(rows):
        if int(row[0]) != expected:
            raise InstanceFormatError(f"{name}: node ids must run 0..n, found {int(row[0])}")
    return Instance(
        name=name,
        kind="vrptw",
        x=tuple(r[1] for r in rows),
        y=tuple(r[2] for r in rows),
        demand=tuple(int(r[3]) for r in rows),
        ready=tuple(r[4] for r in rows),
        due=tuple(r[5] for r in rows),
        service=tuple(r[6] for r in rows),
        pairs=(),
        num_vehicles=int(k),
        capacity=int(q),
    )


def read_lilim(text: str, name: str) -> Instance:
    """Parse the SINTEF Li & Lim PDPTW format."""
    lines = _data_lines(text)
    if not lines:
        raise InstanceFormatError(f"{name}: empty file")
    k, q, _speed = _numbers(lines[0][1], lines[0][0], name, 3)
    rows = [_numbers(ln, no, name, 9) for no, ln in lines[1:]]
    for expected, row in enumerate(rows):
        if int(row[0]) != expected:
            raise InstanceFormatError(f"{name}: node ids must run 0..n, found {int(row[0])}")
    n = len(rows)
    pairs: list[tuple[int, int]] = []
    for i, row in enumerate(rows[1:], start=1):
        pick, deliv = int(row[7]), int(row[8])
        if pick == 0 and deliv != 0:
            if not 0 < deliv < n or int(rows[deliv][7]) != i:
                raise InstanceFormatError(f"{name}: pickup {i} and delivery {deliv} disagree")
            pairs.append((i, deliv))
    if 2 * len(pairs) != n - 1:
        raise InstanceFormatError(f"{name}: {n - 1} nodes but {len(pairs)} pairs")
    return Instance(
        name=name,
        kind="pdptw",
        x=tuple(r[1] for r in rows),
        y=tuple(r[2] for r in rows),
        demand=tuple(int(r[3]) for r in rows),
        ready=tuple(r[4] for r in rows),
        due=tuple(r[5] for r in rows),
        service=tuple(r[6] for r in rows),
        pairs=tuple(sorted(pairs)),
        num_vehicles=int(k),
        capacity=int(q),
    )


def read_darp(text: str, name: str) -> Instance:
    """Parse Cordeau's DARP format (`K n T Q L` header)."""
    lines = _data_lines(text)
    if not lines:
        raise InstanceFormatError(f"{name}: empty file")
    k, n_req, horizon, q, ride = _numbers(lines[0][1], lines[0][0], name, 5)
    n = int(n_req)
    rows = [_numbers(ln, no, name, 7) for no, ln in lines[1:]]
    if len(rows) != 2 * n + 2:
        raise InstanceFormatError(f"{name}: expected {2 * n + 2} node lines, got {len(rows)}")
    for expected, row in enumerate(rows):
        if int(row[0]) != expected:
            raise InstanceFormatError(f"{name}: node ids must run 0..2n+1, found {int(row[0])}")
    return Instance(
        name=name,
        kind="darp",
        x=tuple(r[1] for r in rows),
        y=tuple(r[2] for r in rows),
        demand=tuple(int(r[4]) for r in rows),
        ready=tuple(r[5] for r in rows),
        due=tuple(r[6] for r in rows),
        service=tuple(r[3] for r in rows),
        pairs=tuple((i, n + i) for i in range(1, n + 1)),
        num_vehicles=int(k),
        capacity=int(q),
        start_depot=0,
        end_depot=2 * n + 1,
        max_ride=ride,
        max_route_duration=horizon,
    )
