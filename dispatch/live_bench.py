"""Live-path and Chiba-size benchmark: `python -m dispatch.live_bench --json OUT`.

Three figures, each on seeded synthetic Chiba-like data (`dispatch.synthetic`):

* insertion latency (p50, p99, max) of the live ground dispatcher (`dispatch.live`, the one the
  fleet service calls) with 100 vehicles (20 buses, 80 personal mobility) once 500 requests are
  open in their plans: each measured insertion is removed again so the load stays at 500;
  the drone insertion latency (`dispatch.live_drone`) with 100 drones and 500 planned parcels;
* drone deliveries, 20 drones, 3 warehouses, 200 parcels: solve time, parcels served,
  distance, and the independent checker's verdict;
* ground trips, 6 buses + 30 personal-mobility vehicles, 300 requests: the same figures.

Wall-clock figures on a shared machine are noisy: report them with the machine's load.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dispatch.drone_model import DroneModelParams
from dispatch.drone_plan import plan_drones
from dispatch.ground_check import check_ground_plan
from dispatch.ground_model import GroundModelParams
from dispatch.ground_plan import plan_ground
from dispatch.live import GroundDispatcher, GroundVehicle, TripRequest
from dispatch.live_drone import DroneInsertion
from dispatch.params import SolverParams
from dispatch.plan_check import check_drone_plan
from dispatch.synthetic import drone_instance, ground_instance

LAT0, LON0 = 35.648, 140.040


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
    return ordered[k]


def _summary(ms: list[float]) -> dict[str, float]:
    return {
        "n": len(ms),
        "p50_ms": round(_percentile(ms, 0.50), 3),
        "p99_ms": round(_percentile(ms, 0.99), 3),
        "max_ms": round(max(ms), 3),
    }


def ground_insertion(
    seed: int, vehicles: int = 100, open_requests: int = 500, measured: int = 300
) -> dict[str, Any]:
    """Latency of `GroundDispatcher.insert` with `open_requests` open in the plans."""
    rng = random.Random(seed)

    def point() -> tuple[float, float]:
        return (LAT0 + rng.uniform(-0.02, 0.02), LON0 + rng.uniform(-0.025, 0.025))

    stops = {f"S{k}": point() for k in range(40)}
    disp = GroundDispatcher(stops)
    for k in range(vehicles):
        bus = k < vehicles // 5
        disp.vehicles[f"V{k}"] = GroundVehicle(
            f"V{k}",
            "bus" if bus else "mobility",
            point(),
            12 if bus else 1,
            8.0 if bus else 3.0,
        )
    counter = 0

    def request() -> TripRequest:
        nonlocal counter
        counter += 1
        early = rng.uniform(0, 4 * 3600)
        o, d = point(), point()
        return TripRequest(f"R{counter}", "o", "d", o, d, 1, early, early + 5400)

    opened = 0
    fill_ms: list[float] = []
    attempts = 0
    while opened < open_requests and attempts < 20 * open_requests:
        attempts += 1
        t0 = time.perf_counter()
        decision = disp.insert(request(), 0.0)
        fill_ms.append((time.perf_counter() - t0) * 1000)
        opened += decision.accepted
    ms: list[float] = []
    accepted = 0
    for _ in range(measured):
        req = request()
        t0 = time.perf_counter()
        decision = disp.insert(req, 0.0)
        ms.append((time.perf_counter() - t0) * 1000)
        if decision.accepted:
            accepted += 1
            disp.remove(req.id)
    open_now = sum(1 for v in disp.vehicles.values() for s in v.stops if s.action == "pickup")
    return {
        "vehicles": vehicles,
        "open_requests": open_now,
        "fill_attempts": attempts,
        "measured_accept_rate": round(accepted / measured, 3),
        "at_load": _summary(ms),
        "while_filling": _summary(fill_ms),
    }


def drone_insertion(
    seed: int, drones: int = 100, parcels: int = 500, measured: int = 300
) -> dict[str, Any]:
    """Latency of `DroneInsertion.insert` with `parcels` planned over `drones` drones."""
    inst = drone_instance(
        seed, drones=drones, warehouses=3, ports=12, parcels=parcels + measured, horizon_s=8 * 3600
    )
    ins = DroneInsertion(inst.drones, inst.sites, inst.air, DroneModelParams(energy=inst.energy))
    planned = 0
    for order in inst.orders[:parcels]:
        planned += ins.insert(order).accepted
    ms: list[float] = []
    accepted = 0
    for order in inst.orders[parcels:]:
        t0 = time.perf_counter()
        decision = ins.insert(order)
        ms.append((time.perf_counter() - t0) * 1000)
        if decision.accepted:
            accepted += 1
            ins.remove(order.id)
    return {
        "drones": drones,
        "planned_parcels": planned,
        "measured_accept_rate": round(accepted / measured, 3),
        "at_load": _summary(ms),
    }


def chiba_drones(seed: int, time_limit_s: float) -> dict[str, Any]:
    """20 drones, 3 warehouses, 200 parcels."""
    inst = drone_instance(seed, drones=20, warehouses=3, ports=12, parcels=200)
    params = DroneModelParams(energy=inst.energy)
    t0 = time.perf_counter()
    plan, dp, sol = plan_drones(
        inst.drones,
        inst.orders,
        inst.sites,
        inst.air,
        SolverParams(time_limit_s=time_limit_s),
        params,
    )
    wall = time.perf_counter() - t0
    report = check_drone_plan(
        plan, inst.drones, inst.orders, inst.sites, inst.air, inst.energy, swap_s=params.swap_s
    )
    return {
        "drones": 20,
        "warehouses": 3,
        "parcels": 200,
        "nodes": dp.problem.num_nodes,
        "wall_s": round(wall, 2),
        "served": 200 - len(plan.unserved),
        "unserved_reasons": sorted({r for _, r in plan.unserved}),
        "drones_used": sol.vehicles_used,
        "distance_m": sol.distance_m,
        "min_soc_at_landing": round(report.min_soc, 4),
        "reserve": inst.energy.reserve_fraction,
        "feasible": report.feasible,
        "violations": list(report.violations[:5]),
    }


def chiba_ground(seed: int, time_limit_s: float) -> dict[str, Any]:
    """6 buses + 30 personal-mobility vehicles, 300 trip requests."""
    inst = ground_instance(seed, buses=6, mobility=30, trips=300)
    params = GroundModelParams()
    t0 = time.perf_counter()
    plan, gp, sol = plan_ground(
        inst.vehicles,
        inst.trips,
        inst.stops,
        inst.road,
        inst.sidewalk,
        SolverParams(time_limit_s=time_limit_s),
        params,
    )
    wall = time.perf_counter() - t0
    report = check_ground_plan(
        plan, inst.vehicles, inst.trips, inst.stops, inst.road, inst.sidewalk, params
    )
    walks = [w for _, w in plan.walk_m]
    return {
        "buses": 6,
        "mobility": 30,
        "trips": 300,
        "nodes": gp.problem.num_nodes,
        "wall_s": round(wall, 2),
        "served": 300 - len(plan.unserved),
        "unserved_reasons": sorted({r for _, r in plan.unserved}),
        "vehicles_used": sol.vehicles_used,
        "distance_m": sol.distance_m,
        "bus_riders_mean_walk_m": round(sum(walks) / len(walks), 1) if walks else 0.0,
        "feasible": report.feasible,
        "violations": list(report.violations[:5]),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the figures, write JSON."""
    ap = argparse.ArgumentParser(prog="python -m dispatch.live_bench", description=__doc__)
    ap.add_argument("--json", type=Path, help="write the figures here")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--time-limit", type=float, default=30.0, help="solver seconds per problem")
    ap.add_argument("--skip-solve", action="store_true", help="only the insertion latency")
    args = ap.parse_args(argv)
    out: dict[str, Any] = {"seed": args.seed, "load_avg_1m": round(os.getloadavg()[0], 2)}
    out["ground_insertion"] = ground_insertion(args.seed)
    print("ground insertion:", json.dumps(out["ground_insertion"]))
    out["drone_insertion"] = drone_insertion(args.seed)
    print("drone insertion:", json.dumps(out["drone_insertion"]))
    if not args.skip_solve:
        out["chiba_drones"] = chiba_drones(args.seed, args.time_limit)
        print("chiba drones:", json.dumps(out["chiba_drones"]))
        out["chiba_ground"] = chiba_ground(args.seed, args.time_limit)
        print("chiba ground:", json.dumps(out["chiba_ground"]))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
