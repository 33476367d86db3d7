"""The drone battery rule's estimate: what the rest of a plan needs, reserve included."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from fleet.config import DroneFigures
from fleet.drones import soc_needed

D = DroneFigures()


def test_reserve_alone_when_nothing_is_left_but_the_descent() -> None:
    descent_wh = D.hover_power_w * (D.cruise_alt_m / D.descent_speed_m_s) / 3600.0
    assert soc_needed(0.0, 0, D, 0.2) == 0.2 + descent_wh / D.battery_wh


def test_ten_km_at_cruise_costs_what_the_power_figures_say() -> None:
    extra = soc_needed(10_000.0, 0, D, 0.2) - soc_needed(0.0, 0, D, 0.2)
    cruise_wh = D.cruise_power_w * 10_000.0 / D.cruise_speed_m_s / 3600.0
    assert abs(extra - cruise_wh / D.battery_wh) < 1e-12
    assert 0.3 < extra < 0.4  # ~240 Wh of 700 Wh


@given(st.floats(0, 50_000), st.floats(0, 50_000), st.integers(0, 3))
def test_more_distance_or_stops_never_need_less(a: float, b: float, stops: int) -> None:
    lo, hi = sorted((a, b))
    assert soc_needed(lo, stops, D, 0.2) <= soc_needed(hi, stops, D, 0.2)
    assert soc_needed(lo, stops, D, 0.2) <= soc_needed(lo, stops + 1, D, 0.2)
