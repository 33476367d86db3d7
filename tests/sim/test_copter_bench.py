"""`python -m sim.copter.bench` runs and writes its record (figures are not asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sim.copter import bench


def test_bench_records_a_small_run(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    assert bench.main(["--tracker", "link", "--counts", "2", "--warmup-s", "1.5",
                       "--window-s", "1.0", "--json", str(out)]) == 0
    record = json.loads(out.read_text())
    run = record["runs"][0]
    assert record["tracker"] == "link" and run["copters"] == 2
    assert run["position_rate_hz_mean"] > 0 and run["simulator_failures"] == 0
    assert {"cpu_ms_per_copter_s", "ground_side_lag_s", "load_average_1min"} <= set(run)


def test_bench_refuses_impossible_fleet_sizes() -> None:
    with pytest.raises(SystemExit):
        bench.main(["--counts", "300"])
