"""The ground benchmark command runs end to end at a tiny size (figures are not asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_bench_command_writes_its_json(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "fleet.ground_bench",
            "--vehicles",
            "20",
            "--operators",
            "1",
            "--duration-s",
            "0.5",
            "--rate-hz",
            "5",
            "--json",
            str(out),
        ],
        check=True,
        capture_output=True,
        timeout=110,
    )
    result = json.loads(out.read_text())
    for mode in ("paced", "saturate"):
        phase = result["phases"][mode]
        assert phase["vehicles_connected"] == 20
        assert phase["telemetry_accepted"] > 0
        assert phase["feed_latency"]["samples"] > 0
