"""The airspace demo: the Chiba drone-delivery route and a small site matrix, printed."""

from __future__ import annotations

import time

from geofences.default import load_default
from geofences.routing import RouteOptions, Router

SITES = [
    ("Ichikawa-Shiohama warehouse", (35.6660, 139.9300)),
    ("Funabashi port", (35.6860, 139.9790)),
    ("Akanehama (Narashino)", (35.6550, 140.0000)),
    ("Bay Park Cross Tower port", (35.6472, 140.0486)),
    ("Hanami riverside port", (35.6440, 140.0565)),
]


def airspace_demo() -> int:
    t0 = time.perf_counter()
    airspace = load_default()
    router = Router(airspace, RouteOptions())
    route = router.route(SITES[0][1], SITES[4][1])
    print(f"kaiteki airspace demo (Chiba, shipped airspace: {len(airspace.volumes)} volumes)\n")
    print(f"Route {SITES[0][0]} -> {SITES[4][0]}:")
    if not route.legal:
        print(f"  {route.reason}")
        return 1
    print(
        f"  legal, {route.horizontal_m / 1000:.2f} km, {route.duration_s / 60:.1f} min at "
        f"{route.cruise_alt_m:.0f} m AGL, {route.over_water_fraction:.0%} over water"
    )
    for w in route.waypoints:
        print(f"    {w.lat_deg:.5f}, {w.lon_deg:.5f}  {w.alt_agl_m:5.1f} m")
    if route.touched:
        print("  permission required at: " + ", ".join(route.touched))
    matrix = router.matrix([s for _, s in SITES])
    print("\nAir distance matrix (km; graph paths, never shorter than flown):")
    names = [n.split(" ")[0][:10] for n, _ in SITES]
    print(" " * 12 + "".join(f"{n:>11}" for n in names))
    for i, (name, _) in enumerate(SITES):
        cells = "".join(f"{matrix.distance_m[i, j] / 1000:11.2f}" for j in range(len(SITES)))
        print(f"{name[:11]:<12}{cells}")
    print(f"\n(planned in {time.perf_counter() - t0:.2f} s, including loading the airspace)")
    return 0
