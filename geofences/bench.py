"""Route planner timings: graph build, single routes, a 30-site matrix.

Run with `python -m geofences bench [--json OUT]`.
"""

from __future__ import annotations

import json
import random
import statistics
import time
from pathlib import Path

from geofences.default import load_default
from geofences.routing import Router

ROUTES = [
    (
        "Ichikawa-Shiohama warehouse -> Wakaba riverside port",
        (35.6660, 139.9300),
        (35.6440, 140.0565),
    ),
    ("Akanehama -> Bay Park Cross Tower port", (35.6550, 140.0000), (35.6472, 140.0486)),
    ("Funabashi port -> Takahama", (35.6860, 139.9790), (35.6240, 140.0800)),
]


def run_bench(json_out: str | None, repeat: int = 20) -> int:
    t0 = time.perf_counter()
    airspace = load_default()
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    router = Router(airspace)
    _ = router.graph
    build_s = time.perf_counter() - t0
    results: dict[str, object] = {
        "note": "wall-clock on a shared machine: noisy; graph build is once per airspace+options",
        "airspace_load_s": round(load_s, 3),
        "graph_build_s": round(build_s, 3),
        "graph_nodes": len(router.graph.xy),
        "graph_edges": len(router.graph.rows),
        "routes": [],
    }
    print(
        f"airspace loaded in {load_s:.2f} s; graph: {len(router.graph.xy)} nodes, "
        f"{len(router.graph.rows)} edges, built in {build_s:.2f} s (once per airspace+options)"
    )
    for name, a, b in ROUTES:
        times, cpu = [], []
        for _ in range(repeat):
            t, c = time.perf_counter(), time.process_time()
            route = router.route(a, b)
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        row = {
            "route": name,
            "legal": route.legal,
            "km": round(route.horizontal_m / 1000, 2),
            "over_water": round(route.over_water_fraction, 3),
            "median_ms": round(1000 * statistics.median(times), 2),
            "min_ms": round(1000 * min(times), 2),
            "max_ms": round(1000 * max(times), 2),
            "cpu_median_ms": round(1000 * statistics.median(cpu), 2),
        }
        results["routes"].append(row)  # type: ignore[attr-defined]
        print(
            f"route {name}: {row['km']} km, {row['over_water']:.0%} water, "
            f"median {row['median_ms']} ms, min {row['min_ms']} ms, max {row['max_ms']} ms "
            f"(CPU median {row['cpu_median_ms']} ms)"
        )
    rng = random.Random(7)
    lon0, lat0, lon1, lat1 = 139.90, 35.60, 140.08, 35.69
    sites = [
        (lat0 + rng.random() * (lat1 - lat0), lon0 + rng.random() * (lon1 - lon0))
        for _ in range(30)
    ]
    times, cpu = [], []
    for _ in range(max(3, repeat // 5)):
        t, c = time.perf_counter(), time.process_time()
        matrix = router.matrix(sites)
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    results["matrix_30_sites_s"] = round(statistics.median(times), 3)
    results["matrix_30_sites_cpu_s"] = round(statistics.median(cpu), 3)
    results["matrix_legal_pairs"] = int(matrix.legal.sum())
    print(
        f"30-site matrix: median {statistics.median(times):.3f} s "
        f"(CPU {statistics.median(cpu):.3f} s; {int(matrix.legal.sum())}/900 pairs legal)"
    )
    if json_out:
        Path(json_out).write_text(json.dumps(results, indent=2))
    return 0
