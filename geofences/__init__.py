"""The airspace: local metric frame, airspace volumes, conformance checks and 3-D drone routing.

Imports nothing else of kaiteki. WGS-84 latitude/longitude at every public boundary; metres in
JGD2011 / Japan Plane Rectangular CS IX (EPSG:6677) inside.

The public API (what dispatch, fleet and sim use)::

    from geofences import Airspace, RouteOptions, plan_route, cost_matrix, check_path, fence_shapes

    airspace = Airspace.load_default()                        # the shipped Chiba airspace
    route = plan_route(airspace, (35.666, 139.930), (35.644, 140.0565), RouteOptions())
    matrix = cost_matrix(airspace, sites)                     # distance_m, duration_s, legal
    violations = check_path(airspace, route.path())           # [] for a legal path
    fence = fence_shapes(airspace, around=(35.645, 140.05), radius_m=3000)
"""

from geofences.conformance import ConformanceChecker, Violation, check_path
from geofences.default import load_airspace, load_default
from geofences.fence import FenceCircle, FencePolygon, FenceShapes, fence_shapes
from geofences.route import CostMatrix, Route, RouteError, RouteOptions, Waypoint
from geofences.routing import Router, cost_matrix, plan_route, router_for
from geofences.volumes import Airspace, AirspaceError, AltRef, RuleKind, Volume

__all__ = [
    "Airspace",
    "AirspaceError",
    "AltRef",
    "ConformanceChecker",
    "CostMatrix",
    "FenceCircle",
    "FencePolygon",
    "FenceShapes",
    "Route",
    "RouteError",
    "RouteOptions",
    "Router",
    "RuleKind",
    "Violation",
    "Volume",
    "Waypoint",
    "check_path",
    "cost_matrix",
    "fence_shapes",
    "load_airspace",
    "load_default",
    "plan_route",
    "router_for",
]
