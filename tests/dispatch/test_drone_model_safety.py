"""Safety property: no plan the drone model returns lands a drone under the reserve or over payload.

Hypothesis generates small drone problems (sites, batteries, payloads, windows); every plan the
solver returns is judged by the independent `plan_check`, which recomputes energy in floats.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dispatch.domain import (
    DeliveryOrder,
    OrderId,
    Site,
    SiteId,
    SiteKind,
    TravelMatrix,
    Vehicle,
    VehicleId,
    VehicleKind,
    VehicleStart,
)
from dispatch.drone_model import DroneModelParams
from dispatch.drone_plan import plan_drones
from dispatch.energy import DroneEnergyModel
from dispatch.params import SolverParams
from dispatch.plan_check import check_drone_plan
from dispatch.synthetic import euclid_matrix

Case = tuple[list[Vehicle], list[DeliveryOrder], dict[SiteId, Site], TravelMatrix, DroneEnergyModel]
SOLVER = SolverParams(time_limit_s=None, solution_limit=50, metaheuristic="GREEDY_DESCENT")


@st.composite
def drone_problems(draw: st.DrawFn) -> Case:
    em = DroneEnergyModel(
        battery_wh=draw(st.floats(150.0, 1200.0)),
        reserve_fraction=draw(st.sampled_from([0.2, 0.25, 0.3])),
        max_payload_kg=draw(st.floats(1.0, 6.0)),
    )
    n_wh = draw(st.integers(1, 2))
    n_port = draw(st.integers(1, 3))
    coords = st.tuples(st.floats(-8000, 8000), st.floats(-8000, 8000))
    keys: list[str] = []
    xy: list[tuple[float, float]] = []
    sites: dict[SiteId, Site] = {}
    for k in range(n_wh):
        keys.append(f"W{k}")
        xy.append(draw(coords))
        sites[SiteId(f"W{k}")] = Site(SiteId(f"W{k}"), SiteKind.WAREHOUSE, 35.6, 140.0)
    for k in range(n_port):
        keys.append(f"P{k}")
        xy.append(draw(coords))
        sites[SiteId(f"P{k}")] = Site(SiteId(f"P{k}"), SiteKind.DRONE_PORT, 35.6, 140.0)
    air = euclid_matrix(keys, xy, em.cruise_speed_m_s, per_leg_s=em.vertical_s)
    drones = [
        Vehicle(
            VehicleId(f"D{k}"),
            VehicleKind.DRONE,
            VehicleStart(f"W{k % n_wh}", battery_soc=draw(st.floats(0.1, 1.0))),
            max_payload_kg=draw(st.floats(0.5, 6.0)),
            home=f"W{k % n_wh}",
        )
        for k in range(draw(st.integers(1, 3)))
    ]
    orders = []
    for i in range(draw(st.integers(1, 6))):
        ready = draw(st.integers(0, 3600))
        orders.append(
            DeliveryOrder(
                OrderId(f"O{i}"),
                weight_kg=draw(st.floats(0.1, 7.0)),
                warehouse=SiteId(f"W{draw(st.integers(0, n_wh - 1))}"),
                drone_port=SiteId(f"P{draw(st.integers(0, n_port - 1))}"),
                ready_s=ready,
                deadline_s=ready + draw(st.integers(300, 7200)),
            )
        )
    return drones, orders, sites, air, em


@settings(
    max_examples=80, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(drone_problems())
def test_drone_plans_never_break_reserve_or_payload(case: Case) -> None:
    drones, orders, sites, air, em = case
    params = DroneModelParams(energy=em)
    plan, _, _ = plan_drones(drones, orders, sites, air, SOLVER, params)
    report = check_drone_plan(plan, drones, orders, sites, air, em, swap_s=params.swap_s)
    assert report.feasible, report.violations
    assert report.min_soc >= em.reserve_fraction - 1e-9
