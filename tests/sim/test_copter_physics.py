"""Kinematics, wind, battery and the local frame: properties that must hold for any input."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.copter.battery import Battery, BatterySpec, PowerModel, cell_ocv_v
from sim.copter.geo import LocalFrame
from sim.copter.physics import CopterBody, KinematicLimits, Wind

LIMITS = KinematicLimits()
coord = st.floats(-2000, 2000)
speed = st.floats(0.5, 15)


@given(coord, coord, st.floats(0, 120), speed)
def test_desired_velocity_never_exceeds_the_speed_asked(n: float, e: float, up: float,
                                                         v: float) -> None:
    body = CopterBody(up_m=30.0)
    vn, ve, vu = body.velocity_towards(n, e, up, v, LIMITS, 2.5, 1.5)
    assert math.hypot(vn, ve) <= v + 1e-9
    assert -1.5 - 1e-9 <= vu <= 2.5 + 1e-9


@settings(max_examples=30, deadline=None)
@given(st.floats(-800, 800), st.floats(-800, 800), st.floats(3, 15), st.floats(0, 12),
       st.floats(0, 360))
def test_flying_to_a_point_arrives_within_limits(n: float, e: float, v: float, wind_m_s: float,
                                                 wind_from_deg: float) -> None:
    wind = Wind.from_direction(wind_m_s, wind_from_deg)
    body = CopterBody(up_m=20.0)
    dt = 0.1
    prev = (0.0, 0.0)
    for _ in range(int((math.hypot(n, e) / min(v, 6.0) + 60.0) / dt)):
        want = body.velocity_towards(n, e, 20.0, v, LIMITS, 2.5, 1.5)
        body.step(dt, *want, LIMITS, wind)
        dv = math.hypot(body.vn_m_s - prev[0], body.ve_m_s - prev[1])
        assert dv <= LIMITS.horiz_accel_m_s2 * dt + 1e-9
        assert body.airspeed_m_s(wind) <= LIMITS.max_airspeed_m_s + LIMITS.horiz_accel_m_s2 * dt
        prev = (body.vn_m_s, body.ve_m_s)
        if math.hypot(n - body.north_m, e - body.east_m) < 0.5 and body.ground_speed_m_s < 0.3:
            break
    assert math.hypot(n - body.north_m, e - body.east_m) < 1.0


def test_headwind_costs_ground_speed_but_not_airspeed() -> None:
    limits = KinematicLimits(max_airspeed_m_s=15.0)
    body = CopterBody(up_m=20.0)
    headwind = Wind.from_direction(10.0, 0.0)  # from the north, we fly north
    for _ in range(400):
        body.step(0.05, 15.0, 0.0, 0.0, limits, headwind)
    assert body.ground_speed_m_s == pytest.approx(5.0, abs=0.05)
    assert body.airspeed_m_s(headwind) == pytest.approx(15.0, abs=0.05)


def test_power_grows_with_payload_and_climb_and_has_a_bucket_in_speed() -> None:
    model = PowerModel()
    hover = model.power_w(0.0, 0.0, 0.0)
    assert 500 < hover < 1200
    assert model.power_w(3.0, 0.0, 0.0) > hover
    assert model.power_w(0.0, 11.0, 0.0) < hover  # translational lift: the power bucket
    assert model.power_w(0.0, 25.0, 0.0) > hover  # then drag takes over
    assert model.power_w(0.0, 0.0, 2.0) > hover


@given(st.lists(st.tuples(st.floats(0, 3000), st.floats(0.01, 5)), max_size=30))
def test_battery_only_discharges_and_voltage_sags_under_load(draws: list[tuple[float, float]]
                                                             ) -> None:
    batt = Battery(BatterySpec())
    for power_w, dt_s in draws:
        soc = batt.soc
        batt.draw(power_w, dt_s)
        assert batt.soc <= soc
        assert batt.voltage_v <= batt.spec.cells * cell_ocv_v(batt.soc) + 1e-9
        assert 0 <= batt.remaining_pct <= 100


def test_bad_battery_and_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="soc"):
        Battery(BatterySpec(), soc=1.5)
    with pytest.raises(ValueError, match="max_airspeed_m_s"):
        KinematicLimits(max_airspeed_m_s=math.nan)


@given(st.floats(-3000, 3000), st.floats(-3000, 3000))
def test_local_frame_round_trips(n: float, e: float) -> None:
    frame = LocalFrame(35.648, 140.035, 5.0)
    lat, lon = frame.to_lat_lon_deg(n, e)
    n2, e2 = frame.to_ne_m(lat, lon)
    assert n2 == pytest.approx(n, abs=1e-6) and e2 == pytest.approx(e, abs=1e-6)


def test_gusts_are_deterministic_bounded_and_differ_by_seed() -> None:
    wind = Wind.from_direction(5.0, 90.0, gust_m_s=4.0, seed=3)
    speeds = [math.hypot(w.north_m_s, w.east_m_s) for w in (wind.at(t / 2) for t in range(200))]
    assert min(speeds) >= 5.0 - 1e-9 and max(speeds) <= 9.0 + 1e-9
    assert max(speeds) - min(speeds) > 2.0
    assert wind.at(12.3) == wind.at(12.3)
    assert Wind.from_direction(5.0, 90.0, 4.0, seed=4).at(12.3) != wind.at(12.3)
    assert Wind(1.0, 2.0).at(5.0) == Wind(1.0, 2.0)
