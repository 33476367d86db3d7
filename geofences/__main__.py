"""`python -m geofences`: plan a route, check a flight path, or time the planner.

    python -m geofences route --from 35.666,139.930 --to 35.644,140.0565 --json
    python -m geofences check flight.geojson
    python -m geofences bench --json bench.json
    python -m geofences demo

Exit codes: 0 fine, 1 a route is not legal / a path has violations, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from geofences.conformance import ConformanceChecker
from geofences.default import load_airspace
from geofences.routing import Route, RouteError, RouteOptions, plan_route
from geofences.volumes import AirspaceError


class UsageError(Exception):
    """Bad input from the command line: printed, exit code 2."""


def parse_latlon(text: str) -> tuple[float, float]:
    parts = text.split(",")
    if len(parts) != 2:
        raise UsageError(f"expected LAT,LON, got {text!r}")
    try:
        lat, lon = float(parts[0]), float(parts[1])
    except ValueError:
        raise UsageError(f"expected LAT,LON numbers, got {text!r}") from None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise UsageError(f"{text!r} is not a valid latitude,longitude")
    return lat, lon


def route_feature(route: Route) -> dict[str, Any]:
    """A GeoJSON Feature (LineString with altitudes) for a route."""
    return {
        "type": "Feature",
        "geometry": {
            "type": "LineString",
            "coordinates": [
                [round(w.lon_deg, 7), round(w.lat_deg, 7), round(w.alt_amsl_m, 1)]
                for w in route.waypoints
            ],
        },
        "properties": {
            "legal": route.legal,
            "length_m": round(route.length_m, 1),
            "horizontal_m": round(route.horizontal_m, 1),
            "duration_s": round(route.duration_s, 1),
            "over_water_fraction": round(route.over_water_fraction, 4),
            "cruise_alt_m": route.cruise_alt_m,
            "violations": [v.to_json() for v in route.violations],
            "touched": list(route.touched),
            "reason": route.reason,
        },
    }


def cmd_route(args: argparse.Namespace) -> int:
    start, end = parse_latlon(args.from_), parse_latlon(args.to)
    airspace = load_airspace(args.airspace)
    for what, (lat, lon) in (("--from", start), ("--to", end)):
        if not airspace.contains_point(lat, lon):
            raise UsageError(f"{what} {lat},{lon} is outside the planning area {airspace.bounds}")
    options = RouteOptions(
        cruise_alt_m=args.cruise_alt,
        cruise_speed_m_s=args.cruise_speed,
        min_cruise_alt_m=args.min_cruise_alt,
    )
    if args.cruise_alt >= 150.0:
        raise UsageError(f"--cruise-alt {args.cruise_alt} is at or above the 150 m AGL ceiling")
    route = plan_route(airspace, start, end, options)
    if args.json:
        print(json.dumps(route_feature(route), ensure_ascii=False))
    elif route.legal:
        print(
            f"legal route: {route.horizontal_m / 1000:.2f} km, {route.duration_s / 60:.1f} min at "
            f"{route.cruise_alt_m:.0f} m, {route.over_water_fraction:.0%} over water"
        )
        for w in route.waypoints:
            print(f"  {w.lat_deg:.6f}, {w.lon_deg:.6f}  {w.alt_agl_m:5.1f} m AGL")
        if route.touched:
            print("  touches (permission required): " + ", ".join(route.touched))
    else:
        print(route.reason)
    return 0 if route.legal else 1


def read_path(path: Path) -> list[tuple[float, float, float]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"{path}: cannot read ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: not valid JSON ({exc})") from None
    if isinstance(data, dict) and data.get("type") == "FeatureCollection":
        features = data.get("features") or []
        data = next(
            (f for f in features if (f.get("geometry") or {}).get("type") == "LineString"), None
        )
    geometry = (
        data.get("geometry") if isinstance(data, dict) and data.get("type") == "Feature" else data
    )
    if not isinstance(geometry, dict) or geometry.get("type") != "LineString":
        raise UsageError(f"{path}: expected a GeoJSON LineString (or a Feature holding one)")
    points = []
    for i, c in enumerate(geometry.get("coordinates") or []):
        if not (isinstance(c, list) and len(c) == 3 and all(isinstance(v, int | float) for v in c)):
            raise UsageError(f"{path}: coordinate {i} must be [lon, lat, alt_amsl_m], got {c!r}")
        lon, lat, alt = (float(v) for v in c)
        if not (
            math.isfinite(lat)
            and math.isfinite(lon)
            and math.isfinite(alt)
            and -90 <= lat <= 90
            and -180 <= lon <= 180
        ):
            raise UsageError(f"{path}: coordinate {i} {c!r} is not a valid position")
        points.append((lat, lon, alt))
    if not points:
        raise UsageError(f"{path}: the path has no coordinates")
    return points


def cmd_check(args: argparse.Namespace) -> int:
    points = read_path(Path(args.path))
    if args.agl:
        points = [(lat, lon, alt + args.ground_amsl) for lat, lon, alt in points]
    airspace = load_airspace(args.airspace)
    violations, touched = ConformanceChecker(airspace, args.clearance).check(points)
    if args.json:
        print(json.dumps({"violations": [v.to_json() for v in violations], "touched": touched}))
    else:
        for v in violations:
            print(v.describe())
        if touched:
            print("permission required in: " + ", ".join(touched))
        print(f"{len(violations)} violation(s)")
    return 1 if violations else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m geofences",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    route = sub.add_parser("route", help="plan an airspace-aware 3-D route")
    route.add_argument("--from", dest="from_", required=True, metavar="LAT,LON")
    route.add_argument("--to", required=True, metavar="LAT,LON")
    route.add_argument("--airspace", default=None, help="airspace GeoJSON (default: shipped Chiba)")
    route.add_argument("--cruise-alt", type=float, default=60.0, help="cruise altitude AGL, m")
    route.add_argument(
        "--min-cruise-alt",
        type=float,
        default=None,
        metavar="M",
        help="if no legal path at --cruise-alt, try lower cruise altitudes down to this",
    )
    route.add_argument("--cruise-speed", type=float, default=11.0, help="cruise speed, m/s")
    route.add_argument("--json", action="store_true", help="print a GeoJSON Feature")
    check = sub.add_parser("check", help="list the airspace violations of a flight path")
    check.add_argument("path", help="GeoJSON LineString with [lon, lat, alt_amsl_m] coordinates")
    check.add_argument("--airspace", default=None)
    check.add_argument("--clearance", type=float, default=30.0, help="obstacle clearance, m")
    check.add_argument(
        "--agl", action="store_true", help="the path's altitudes are above ground, not AMSL"
    )
    check.add_argument(
        "--ground-amsl", type=float, default=0.0, help="ground elevation for --agl, m AMSL"
    )
    check.add_argument("--json", action="store_true")
    sub.add_parser("demo", help="plan and print the Chiba delivery route and a site matrix")
    bench = sub.add_parser("bench", help="time single routes and a 30-site matrix")
    bench.add_argument("--json", default=None, metavar="OUT")
    bench.add_argument("--repeat", type=int, default=20)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "route":
            return cmd_route(args)
        if args.command == "check":
            return cmd_check(args)
        if args.command == "demo":
            from geofences.demo import airspace_demo

            return airspace_demo()
        from geofences.bench import run_bench

        return run_bench(args.json, args.repeat)
    except (UsageError, AirspaceError, RouteError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
