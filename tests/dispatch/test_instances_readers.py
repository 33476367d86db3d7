"""Benchmark readers on the shipped files, format errors, and conservative integer scaling."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from dispatch.bench.cli import default_root
from dispatch.instances import (
    SETS,
    InstanceFormatError,
    read_bks,
    read_instance,
    resolve_instance,
    to_problem,
)

ROOT = default_root()
pytestmark = pytest.mark.skipif(
    not ROOT.is_dir(), reason=f"benchmark data not found at {ROOT} (set KAITEKI_BENCHMARKS)"
)


def test_solomon_c101() -> None:
    inst = read_instance("vrptw", resolve_instance("solomon", "c101", ROOT))
    assert inst.name == "C101"
    assert inst.num_nodes == 101
    assert (inst.num_vehicles, inst.capacity) == (25, 200)
    assert (inst.x[0], inst.y[0], inst.due[0]) == (40.0, 50.0, 1236.0)
    assert inst.demand[1] == 10 and inst.service[1] == 90.0
    assert inst.pairs == ()
    assert len(inst.customers) == 100


def test_lilim_lc101_pairs_agree_both_ways() -> None:
    inst = read_instance("pdptw", resolve_instance("lilim", "lc101", ROOT))
    assert (inst.num_vehicles, inst.capacity) == (25, 200)
    assert len(inst.pairs) == 53
    for p, d in inst.pairs:
        assert inst.demand[p] > 0 and inst.demand[d] == -inst.demand[p]
    assert sorted(n for pair in inst.pairs for n in pair) == list(range(1, inst.num_nodes))


def test_lilim_200_set_is_found_by_name() -> None:
    inst = read_instance("pdptw", resolve_instance("lilim", "lc1_2_1", ROOT))
    assert inst.num_nodes > 200


def test_darp_a2_16() -> None:
    inst = read_instance("darp", resolve_instance("darp", "a2-16", ROOT))
    assert (inst.num_vehicles, inst.capacity) == (2, 3)
    assert (inst.max_ride, inst.max_route_duration) == (30.0, 480.0)
    assert (inst.start_depot, inst.end_depot) == (0, 33)
    assert inst.pairs[0] == (1, 17) and len(inst.pairs) == 16
    assert inst.service[1] == 3.0


def test_every_representative_instance_reads_and_has_a_bks() -> None:
    for name, bench in SETS.items():
        bks = read_bks(ROOT / bench.bks_file)
        for inst_name in bench.representative:
            inst = read_instance(bench.kind, resolve_instance(name, inst_name, ROOT))
            assert inst.name.lower() in bks


def test_scaling_is_conservative() -> None:
    inst = read_instance("darp", resolve_instance("darp", "a2-16", ROOT))
    problem = to_problem(inst, scale=1000)
    durations = problem.profiles[0].duration_s
    for a in range(0, inst.num_nodes, 3):
        for b in range(1, inst.num_nodes, 5):
            assert durations[a, b] >= inst.dist(a, b) * 1000 - 1e-6
    assert problem.vehicles[0].max_route_s == 480_000
    assert problem.requests[0].max_ride_s == 30_000
    assert all(n.tw_late_s <= math.floor(inst.due[i] * 1000) for i, n in enumerate(problem.nodes))


def test_unknown_name_is_a_clear_error() -> None:
    with pytest.raises(FileNotFoundError, match="no solomon instance 'X999'"):
        resolve_instance("solomon", "X999", ROOT)


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        ("vrptw", "C1\n\nVEHICLE\nNUMBER CAPACITY\n 25 200\n", "missing VEHICLE or CUSTOMER"),
        ("vrptw", "C1\nVEHICLE\nNUMBER CAPACITY\n25 200\nCUSTOMER\nhdr\n0 1 2 3 4\n", "fields"),
        ("pdptw", "2 10 1\n0 0 0 0 0 100 0 0 0\n1 1 1 5 0 50 1 0 9\n", "disagree"),
        ("pdptw", "2 10 1\n0 0 0 0 0 100 0 0 0\n1 1 1 x 0 50 1 0 2\n", "not a number"),
        ("darp", "1 1 480 3 30\n0 0 0 0 0 0 480\n", "expected 4 node lines"),
    ],
)
def test_malformed_files_name_the_problem(
    tmp_path: Path, kind: str, text: str, message: str
) -> None:
    path = tmp_path / "bad.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InstanceFormatError, match=message):
        read_instance(kind, path)
