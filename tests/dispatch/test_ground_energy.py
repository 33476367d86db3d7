"""Ground energy: the charging cycle's policy and table, and live insertion that never plans a
vehicle past its reserve (checked by an independent recomputation, Hypothesis)."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.ground_energy import (
    BUS_ENERGY,
    MOBILITY_ENERGY,
    TRANSITIONS,
    ChargeCommand,
    ChargeCycle,
    ChargeState,
    GroundEnergy,
    IllegalChargeTransitionError,
    VehicleEnergyView,
)
from dispatch.live import GroundDispatcher, GroundVehicle, TripRequest, haversine_m

DEPOT = (35.6462, 140.0415)


def view(soc: float, **kw: object) -> VehicleEnergyView:
    base: dict[str, object] = {
        "soc": soc,
        "has_stops": False,
        "riders_aboard": 0,
        "charging": False,
        "at_depot": False,
        "stopped": False,
    }
    base.update(kw)
    return VehicleEnergyView(**base)  # type: ignore[arg-type]


def state(cycle: ChargeCycle) -> ChargeState:
    """The cycle's state, read afresh (no type narrowing across `step` calls)."""
    return cycle.state


def dispatchable(cycle: ChargeCycle) -> bool:
    return cycle.dispatchable


def test_a_low_vehicle_finishes_its_riders_goes_to_charge_and_comes_back() -> None:
    cycle = ChargeCycle(BUS_ENERGY)
    assert cycle.step(view(0.5)) is ChargeCommand.NONE and cycle.dispatchable
    assert cycle.step(view(0.29, has_stops=True, riders_aboard=3)) is ChargeCommand.NONE
    assert state(cycle) is ChargeState.DUE and not dispatchable(cycle)
    assert cycle.step(view(0.28, riders_aboard=1)) is ChargeCommand.NONE  # still dropping off
    assert cycle.step(view(0.27)) is ChargeCommand.RETURN_TO_DEPOT
    assert state(cycle) is ChargeState.TO_DEPOT
    assert cycle.step(view(0.26)) is ChargeCommand.NONE  # on the way
    assert cycle.step(view(0.25, charging=True, at_depot=True)) is ChargeCommand.NONE
    assert state(cycle) is ChargeState.CHARGING
    assert cycle.step(view(0.89, charging=True, at_depot=True)) is ChargeCommand.NONE
    assert cycle.step(view(0.90, charging=True, at_depot=True)) is ChargeCommand.RESUME_SERVICE
    assert state(cycle) is ChargeState.IN_SERVICE and cycle.dispatchable


def test_a_stopped_vehicle_is_not_sent_anywhere_and_a_warning_takes_it_out_of_dispatch() -> None:
    cycle = ChargeCycle(MOBILITY_ENERGY)
    cycle.battery_low()
    assert state(cycle) is ChargeState.DUE
    assert cycle.step(view(0.1, stopped=True)) is ChargeCommand.NONE  # in fault: wait
    assert cycle.step(view(0.1, at_depot=True)) is ChargeCommand.NONE  # already home
    assert state(cycle) is ChargeState.CHARGING
    cycle.step(view(0.4))  # driven off the dock before it was charged: due again
    assert state(cycle) is ChargeState.DUE


def test_top_ups_only_when_idle_and_allowed() -> None:
    cycle = ChargeCycle(BUS_ENERGY)
    assert cycle.step(view(0.65)) is ChargeCommand.NONE  # others charging: no top-up
    assert cycle.step(view(0.65, may_top_up=True, has_stops=True)) is ChargeCommand.NONE
    assert state(cycle) is ChargeState.IN_SERVICE
    assert cycle.step(view(0.75, may_top_up=True)) is ChargeCommand.NONE  # above the level
    assert cycle.step(view(0.65, may_top_up=True)) is ChargeCommand.RETURN_TO_DEPOT
    assert BUS_ENERGY.max_charging(3) == 1 and BUS_ENERGY.max_charging(9) == 3
    assert MOBILITY_ENERGY.top_up_soc == MOBILITY_ENERGY.charge_below_soc  # no top-ups


def test_the_table_refuses_illegal_moves_and_bad_figures() -> None:
    assert set(TRANSITIONS) == set(ChargeState)
    cycle = ChargeCycle(BUS_ENERGY)
    with pytest.raises(IllegalChargeTransitionError):
        cycle._move(ChargeState.CHARGING)
    with pytest.raises(ValueError, match="reserve_soc"):
        GroundEnergy(100.0, 0.01, 0.0, reserve_soc=0.5, charge_below_soc=0.3, resume_soc=0.9)
    with pytest.raises(ValueError, match="battery_wh"):
        GroundEnergy(float("nan"), 0.01, 0.0, 0.1, 0.2, 0.9)
    with pytest.raises(ValueError, match="top_up"):
        GroundEnergy(100.0, 0.01, 0.0, 0.1, 0.2, 0.9, top_up_below_soc=0.95)


def _point(rng: random.Random) -> tuple[float, float]:
    return (35.635 + rng.uniform(0, 0.02), 140.025 + rng.uniform(0, 0.03))


def _soc_left(disp: GroundDispatcher, v: GroundVehicle, now_s: float) -> float:
    """Independent recomputation: straight legs through the plan and home, times from the
    dispatcher's own schedule, energy from the vehicle type's figures."""
    e = v.energy
    assert e is not None and v.home is not None
    points = [v.position, *(s.position for s in v.stops), v.home]
    straight = sum(haversine_m(a, b) for a, b in itertools.pairwise(points))
    times = disp._schedule(v, v.stops, now_s)
    assert times is not None  # an accepted plan keeps every window
    home_s = haversine_m(points[-2], v.home) * disp.params.detour_factor / v.speed_m_s
    duration = (times[-1] - now_s if times else 0.0) + (disp.params.dwell_s if times else 0.0)
    wh = e.drive_wh_per_m * e.road_factor * straight + e.aux_w * (duration + home_s) / 3600.0
    return v.soc - wh / e.battery_wh


@settings(max_examples=40, derandomize=True, deadline=None)
@given(st.integers(0, 100_000), st.floats(0.15, 1.0))
def test_insertion_never_plans_a_vehicle_under_its_reserve(seed: int, soc: float) -> None:
    rng = random.Random(seed)
    disp = GroundDispatcher({f"S{k}": _point(rng) for k in range(6)})
    for k in range(3):
        v = GroundVehicle(f"pm-{k}", "mobility", DEPOT, 1, 1.5, soc=soc * rng.uniform(0.5, 1.0))
        v.energy = MOBILITY_ENERGY
        disp.vehicles[v.id] = v
    disp.vehicles["pm-1"].out_of_service = "charging"
    accepted = 0
    for k in range(8):
        early = rng.uniform(0, 3600)
        req = TripRequest(
            f"R{k}", "o", "d", _point(rng), _point(rng), 1, early, early + 2700, "mobility"
        )
        decision = disp.insert(req, 0.0)
        if decision.accepted:
            accepted += 1
            assert decision.vehicle_id != "pm-1"  # charging: takes no work
        else:
            assert decision.reason
    for v in disp.vehicles.values():
        if v.stops:
            assert _soc_left(disp, v, 0.0) >= MOBILITY_ENERGY.reserve_soc - 1e-9
    assert disp.vehicles["pm-1"].stops == []


def test_a_low_vehicle_is_refused_with_the_reason_and_ties_go_to_the_fullest() -> None:
    disp = GroundDispatcher({})
    for vid, soc in (("pm-a", 0.35), ("pm-b", 0.9), ("pm-c", 0.6)):
        disp.vehicles[vid] = GroundVehicle(vid, "mobility", DEPOT, 1, 1.5, soc=soc)
        disp.vehicles[vid].energy = MOBILITY_ENERGY
    near = (DEPOT[0] + 0.004, DEPOT[1])
    req = TripRequest("r1", "o", "d", DEPOT, near, 1, 0.0, 2700.0, "mobility")
    assert disp.insert(req, 0.0).vehicle_id == "pm-b"  # same cost: the fullest battery
    far = (DEPOT[0] + 0.03, DEPOT[1] + 0.03)  # ~4.3 km: 2 x 8.6 km of sidewalk with the return
    lone = GroundDispatcher({})
    lone.vehicles["pm-a"] = disp.vehicles["pm-a"]
    lone.vehicles["pm-a"].stops = []
    decision = lone.insert(TripRequest("r2", "o", "d", DEPOT, far, 1, 0.0, 9000.0), 0.0)
    assert not decision.accepted and "not enough charge" in decision.reason


def test_a_leg_seen_to_take_longer_is_planned_longer() -> None:
    a, b = DEPOT, (DEPOT[0] + 0.004, DEPOT[1])  # 445 m apart: 400 s planned for a PM
    disp = GroundDispatcher({})
    pm = GroundVehicle("pm-a", "mobility", DEPOT, 1, 1.5)
    disp.vehicles["pm-a"] = pm
    planned = disp.travel_s(pm, a, b)
    disp.observe_leg("mobility", a, b, 1800.0)  # around a railway: 30 min
    assert disp.travel_s(pm, a, b) == 1800.0
    assert disp.travel_s(pm, b, a) == planned  # one way only, and only for this kind
    disp.observe_leg("mobility", a, b, 1000.0)  # smoothed
    assert disp.travel_s(pm, a, b) == 1400.0
    disp.observe_leg("mobility", a, b, float("nan"))  # ignored
    assert disp.travel_s(pm, a, b) == 1400.0
    late = TripRequest("r1", "o", "d", a, b, 1, 0.0, 1000.0, "mobility")
    decision = disp.insert(late, 0.0)  # 400 s by the straight line, 1400 s as seen
    assert not decision.accepted and "ends after the requested drop-off" in decision.reason
