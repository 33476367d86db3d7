"""`python -m fleet.dashboard_bench` runs end to end (a small fleet, a few seconds) and writes its
figures as JSON. What is checked is that it measured (the page got the whole fleet, processed
updates, recorded frames and lags), never how fast anything was.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from fleet import dashboard_bench
from fleet.dashboard.bench_fleet import SyntheticFleet

pytest.importorskip("playwright.async_api", reason="playwright is not installed")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.timeout(180),
    pytest.mark.skipif(
        (shutil.which("chromium") or shutil.which("chromium-browser")) is None,
        reason="no chromium on this machine: apt-get install chromium",
    ),
]


def test_the_benchmark_measures_a_small_fleet_and_writes_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bench.json"
    argv = ["--vehicles", "60", "--seconds", "3", "--move-every", "1", "--warmup", "0.5"]
    dashboard_bench.main([*argv, "--json", str(out)])  # exit status: the verdict, not checked
    result = json.loads(out.read_text(encoding="utf-8"))
    page, server = result["page"], result["server"]
    assert result["vehicles"] == 60 and result["drones"] == 12
    assert page["vehicles_in_page"] == 60
    assert page["feed_per_s"]["items"] > 0 and page["feed_per_s"]["draws"] > 0
    assert page["lag_samples"] > 0 and page["lag_ms"]["p50"] is not None
    assert page["frame_ms"]["p95"] is not None and page["fps"] > 0
    assert result["map_moves"] >= 1
    assert server["subscription"]["frames"] > 0
    assert server["published_per_s_expected"] == pytest.approx(
        SyntheticFleet(60, drone_share=0.2, seed=1).reports_per_s, abs=0.05
    )
    assert set(result["verdict"]) >= {"frame_p95_under_50ms", "lag_p95_under_1s", "smooth"}
    assert "dashboard: 60 vehicles" in capsys.readouterr().out
