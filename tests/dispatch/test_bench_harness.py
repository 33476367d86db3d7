"""The harness end to end on two small instances: plans found, checked feasible, JSON written.

Asserts feasibility and the shape of the output, never speed or gap.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from dispatch.bench.cli import default_root, main

ROOT = default_root()
pytestmark = pytest.mark.skipif(
    not ROOT.is_dir(), reason=f"benchmark data not found at {ROOT} (set KAITEKI_BENCHMARKS)"
)


def _run(tmp_path: Path, *args: str) -> dict[str, object]:
    out = tmp_path / "run.json"
    code = main([*args, "--json", str(out), "--root", str(ROOT)])
    doc: dict[str, object] = json.loads(out.read_text(encoding="utf-8"))
    assert code == 0, doc
    return doc


@pytest.mark.slow
def test_darp_a2_16_is_served_completely_and_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = _run(tmp_path, "--set", "darp", "--instances", "a2-16", "--time-limit", "2")
    (row,) = doc["rows"]  # type: ignore[misc]
    assert row["feasible"] is True and row["violations"] == []
    assert row["bks_distance"] == pytest.approx(294.25)
    assert row["gap_pct"] is not None and row["gap_pct"] > -0.01  # never below the optimum
    assert "a2-16" in capsys.readouterr().out


@pytest.mark.slow
def test_solomon_instance_given_by_path_with_peers(tmp_path: Path) -> None:
    renamed = tmp_path / "my_c101_copy.txt"  # unknown name: no BKS, so no gap
    shutil.copy(ROOT / "solomon" / "C101.txt", renamed)
    doc = _run(
        tmp_path, "--set", "solomon", "--instances", str(renamed), "--time-limit", "1",
        "--solvers", "ortools,vroom,pyvrp",
    )  # fmt: skip
    rows = doc["rows"]
    assert [r["solver"] for r in rows] == ["ortools", "vroom", "pyvrp"]  # type: ignore[index]
    for r in rows:  # type: ignore[attr-defined]
        assert r["feasible"] is True, r
        assert r["gap_pct"] is None and r["bks_distance"] is None
        assert r["vehicles"] <= 25
    assert doc["meta"]["objective"].startswith("hierarchical")  # type: ignore[index]


def test_unknown_solver_and_instance_are_refused(tmp_path: Path) -> None:
    assert main(["--set", "solomon", "--solvers", "gurobi", "--root", str(ROOT)]) == 2
    assert main(["--set", "solomon", "--instances", "Z1", "--root", str(ROOT)]) == 2


@pytest.mark.slow
def test_lilim_peers_produce_checked_pdptw_plans(tmp_path: Path) -> None:
    doc = _run(
        tmp_path, "--set", "lilim", "--instances", "lc101", "--time-limit", "1",
        "--solvers", "vroom,pyvrp",
    )  # fmt: skip
    for r in doc["rows"]:  # type: ignore[attr-defined]
        assert r["feasible"] is True, r
        assert r["bks_vehicles"] == 10
