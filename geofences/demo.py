"""The airspace demo behind `make demo` (for now): the Chiba drone-delivery route, a small site
matrix, a refused route and a conformance check, printed for a reader."""

from __future__ import annotations

import time

import numpy as np

from geofences.conformance import check_path
from geofences.default import load_default
from geofences.frame import to_local_arrays
from geofences.ground import LAND, PERMISSION, PREFERRED, WATER
from geofences.route import Route, RouteOptions
from geofences.routing import Router

SITES = [
    ("Ichikawa-Shiohama warehouse", (35.6660, 139.9300)),
    ("Funabashi port", (35.6860, 139.9790)),
    ("Akanehama (Narashino)", (35.6550, 140.0000)),
    ("Bay Park Cross Tower port", (35.6472, 140.0486)),
    ("Hanami riverside port (Wakaba)", (35.6440, 140.0565)),
]
HANEDA = (35.5533, 139.7811)
GROUND = {WATER: "open water", PREFERRED: "bay / river corridor", LAND: "land", PERMISSION: "DID"}


def _legs(router: Router, route: Route) -> list[str]:
    """One line per cruise leg: its length and what lies below it."""
    cruise = [w for w in route.waypoints if w.alt_agl_m > 0]
    lat = np.array([w.lat_deg for w in cruise])
    lon = np.array([w.lon_deg for w in cruise])
    x, y = to_local_arrays(lat, lon)
    lines = []
    for i in range(len(cruise) - 1):
        t = np.linspace(0, 1, 50)
        codes = router.ground.lookup(x[i] + (x[i + 1] - x[i]) * t, y[i] + (y[i + 1] - y[i]) * t)
        below = GROUND[int(np.bincount(codes, minlength=4).argmax())]
        length = float(np.hypot(x[i + 1] - x[i], y[i + 1] - y[i]))
        lines.append(
            f"    {lat[i]:.5f},{lon[i]:.5f} -> {lat[i + 1]:.5f},{lon[i + 1]:.5f}"
            f"  {length / 1000:5.2f} km over {below}"
        )
    return lines


def airspace_demo() -> int:
    """Plan and print; 0 when the delivery route is legal."""
    t0 = time.perf_counter()
    airspace = load_default()
    options = RouteOptions()
    router = Router(airspace, options)
    print(f"kaiteki airspace demo: shipped Chiba airspace, {len(airspace.volumes)} volumes")
    print(
        f"(cruise {options.cruise_alt_m:.0f} m AGL at {options.cruise_speed_m_s:.0f} m/s, "
        f"{options.clearance_m:.0f} m clearance; ground taken as 0 m AMSL)\n"
    )
    (a_name, a), (b_name, b) = SITES[0], SITES[4]
    route = router.route(a, b)
    print(f"Route {a_name} -> {b_name}:")
    if not route.legal:
        print(f"  {route.reason}")
        return 1
    print(
        f"  legal: {route.horizontal_m / 1000:.2f} km, {route.duration_s / 60:.1f} min "
        f"(climb, cruise, descent), {route.over_water_fraction:.0%} over water or the river"
    )
    print("\n".join(_legs(router, route)))
    if route.touched:
        print("  permission required (landing site in a DID): " + ", ".join(route.touched))
    matrix = router.matrix([s for _, s in SITES])
    print("\nFlight times between sites (min; lattice paths, a little longer than flown):")
    names = [n.split(" ")[0][:10] for n, _ in SITES]
    print(" " * 12 + "".join(f"{n:>11}" for n in names))
    for i, (name, _) in enumerate(SITES):
        cells = "".join(
            f"{matrix.duration_s[i, j] / 60:11.1f}" if matrix.legal[i, j] else f"{'-':>11}"
            for j in range(len(SITES))
        )
        print(f"{name[:11]:<12}{cells}")
    refused = router.route(a, HANEDA)
    print(f"\nRoute {a_name} -> Haneda: {refused.reason}")
    naive = [
        (35.64, 139.94, 0.0),
        (35.64, 139.94, 60.0),
        (35.64, 139.88, 60.0),
        (35.64, 139.88, 0.0),
    ]
    print("\nConformance check of a straight flight west across the bay at 60 m:")
    for v in check_path(airspace, naive):
        print("  " + v.describe())
    print(f"\n(all of it in {time.perf_counter() - t0:.2f} s, including loading the airspace)")
    return 0
