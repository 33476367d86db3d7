"""`make demo` (for now the airspace demo) plans the delivery route and prints it."""

from __future__ import annotations

import pytest

from geofences.demo import airspace_demo


def test_airspace_demo_prints_the_route_matrix_refusal_and_check(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert airspace_demo() == 0
    out = capsys.readouterr().out
    assert "Ichikawa-Shiohama warehouse -> Hanami riverside port (Wakaba):\n  legal:" in out
    assert "over bay / river corridor" in out
    assert "Haneda: no legal path" in out
    assert "ichikawa-channel" in out
