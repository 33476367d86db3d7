"""Live insertion: the fast ground insertion equals brute force; drone insertion stays safe."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dispatch.drone_model import DroneModelParams
from dispatch.live import GroundDispatcher, GroundVehicle, Stop, TripRequest
from dispatch.live_drone import DroneInsertion
from dispatch.plan_check import check_drone_plan
from dispatch.synthetic import drone_instance


def _brute_force(disp: GroundDispatcher, v: GroundVehicle, req: TripRequest) -> float | None:
    """The minimal added time over every (i, j), by full re-scheduling (the reference)."""
    p = disp.params
    a, b = req.origin_pos, req.destination_pos
    direct = disp.travel_s(v, a, b)
    pickup = Stop(
        req.id,
        "pickup",
        "o",
        a,
        req.riders,
        req.earliest_s + p.pickup_window_s,
        earliest_s=req.earliest_s,
    )
    drop = Stop(
        req.id,
        "dropoff",
        "d",
        b,
        req.riders,
        req.latest_dropoff_s,
        p.max_ride_factor * direct + p.max_ride_slack_s,
    )
    base_times = disp._schedule(v, v.stops, 0.0)
    assert base_times is not None
    base_end = base_times[-1] if base_times else 0.0
    best = None
    for i in range(v.locked, len(v.stops) + 1):
        for j in range(i, len(v.stops) + 1):
            trial = [*v.stops[:i], pickup, *v.stops[i:j], drop, *v.stops[j:]]
            times = disp._schedule(v, trial, 0.0)
            if times is not None:
                added = times[-1] - base_end
                best = added if best is None else min(best, added)
    fast = disp._best_insertion(v, v.stops, base_times, pickup, drop, 0.0)
    assert (fast is None) == (best is None)
    if fast is not None and best is not None:
        assert abs(fast[0] - best) < 1e-6
    return best


@settings(max_examples=30, derandomize=True, deadline=None)
@given(st.integers(0, 10_000))
def test_fast_ground_insertion_matches_brute_force(seed: int) -> None:
    rng = random.Random(seed)

    def point() -> tuple[float, float]:
        return (35.64 + rng.uniform(0, 0.02), 140.03 + rng.uniform(0, 0.02))

    disp = GroundDispatcher({f"S{k}": point() for k in range(8)})
    disp.vehicles["B"] = GroundVehicle("B", "mobility", point(), rng.choice([1, 2, 4]), 5.0)
    for k in range(rng.randint(0, 7)):
        early = rng.uniform(0, 1800)
        disp.insert(TripRequest(f"R{k}", "o", "d", point(), point(), 1, early, early + 2400), 0.0)
    early = rng.uniform(0, 1800)
    req = TripRequest("new", "o", "d", point(), point(), 1, early, early + rng.uniform(600, 3000))
    _brute_force(disp, disp.vehicles["B"], req)


@settings(
    max_examples=20, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.integers(0, 10_000), st.floats(150.0, 1000.0), st.sampled_from([0.2, 0.3]))
def test_drone_insertion_never_breaks_reserve_or_payload(
    seed: int, battery_wh: float, reserve: float
) -> None:
    base = drone_instance(seed, drones=3, warehouses=2, ports=4, parcels=15, horizon_s=3600)
    em = base.energy.__class__(battery_wh=battery_wh, reserve_fraction=reserve)
    params = DroneModelParams(energy=em)
    ins = DroneInsertion(base.drones, base.sites, base.air, params)
    decisions = [ins.insert(o) for o in base.orders]
    plan = ins.plan()
    report = check_drone_plan(
        plan, base.drones, base.orders, base.sites, base.air, em, swap_s=params.swap_s
    )
    assert report.feasible, report.violations
    for d in decisions:
        assert d.accepted or d.reason  # a rejection always says why
        if d.accepted:
            route = plan.route_of(d.vehicle_id)
            assert route is not None
            release = next(
                s for s in route.stops if s.order_id == d.request_id and s.kind == "delivery"
            )
            assert release.start_s <= d.latest_s  # the promise holds


@settings(max_examples=15, derandomize=True, deadline=None)
@given(st.integers(0, 10_000))
def test_fast_drone_insertion_matches_full_simulation(seed: int) -> None:
    inst = drone_instance(seed, drones=2, warehouses=2, ports=4, parcels=12, horizon_s=3600)
    ins = DroneInsertion(inst.drones, inst.sites, inst.air, DroneModelParams(energy=inst.energy))
    for order in inst.orders[:-1]:
        ins.insert(order)
    new = inst.orders[-1]
    for drone in ins.drones.values():
        base = ins._simulate(drone.vehicle, drone.sorties)
        brute = None
        for pos in range(len(drone.sorties) + 1):
            trial = ins._simulate(drone.vehicle, [*drone.sorties[:pos], new, *drone.sorties[pos:]])
            if trial.feasible:
                cand = (trial.flight_s - base.flight_s, trial.releases[pos], pos)
                brute = cand if brute is None else min(brute, cand)
        assert ins._best_position(drone, new, set()) == brute
