"""Scale a benchmark `Instance` into the solver's integer `Problem` (same node numbering).

OR-Tools needs integers, so coordinates-derived figures are multiplied by `scale` (default
1000). Rounding is chosen so that every plan feasible in the integer model is feasible in
double precision: travel times are rounded *up*, window openings up, window closings and
ride/route limits *down*. Arc costs use rounded distances; the checker reports the true
double-precision length of each plan.
"""

from __future__ import annotations

import math

import numpy as np

from dispatch.instances.data import Instance
from dispatch.problem import Node, Problem, Profile, Request, VehicleSpec, frozen_matrix

DEFAULT_SCALE = 1000


def to_problem(instance: Instance, scale: int = DEFAULT_SCALE) -> Problem:
    """The integer problem for `instance`; node i of the problem is node i of the file."""
    xy = np.column_stack([instance.x, instance.y])
    exact = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)) * scale
    distance = frozen_matrix(np.rint(exact).astype(np.int64))
    duration = frozen_matrix(np.ceil(exact - 1e-9).astype(np.int64))
    nodes = tuple(
        Node(
            name=str(i),
            load=instance.demand[i],
            service_s=math.ceil(instance.service[i] * scale - 1e-9),
            tw_early_s=math.ceil(instance.ready[i] * scale - 1e-9),
            tw_late_s=math.floor(instance.due[i] * scale + 1e-9),
        )
        for i in range(instance.num_nodes)
    )
    start, end = instance.start_depot, instance.end_depot
    horizon = min(nodes[start].tw_late_s, nodes[end].tw_late_s)
    max_route = (
        None
        if instance.max_route_duration is None
        else math.floor(instance.max_route_duration * scale + 1e-9)
    )
    vehicles = tuple(
        VehicleSpec(
            name=f"v{k}",
            start=start,
            end=end,
            profile=0,
            capacity=instance.capacity,
            shift_start_s=nodes[start].tw_early_s,
            shift_end_s=horizon,
            max_route_s=max_route,
        )
        for k in range(instance.num_vehicles)
    )
    max_ride = None if instance.max_ride is None else math.floor(instance.max_ride * scale + 1e-9)
    if instance.pairs:
        requests = tuple(
            Request(delivery=d, pickup=p, max_ride_s=max_ride) for p, d in instance.pairs
        )
    else:
        requests = tuple(Request(delivery=c) for c in instance.customers)
    return Problem(
        nodes=nodes,
        vehicles=vehicles,
        requests=requests,
        profiles=(Profile("euclid", distance, duration),),
    )
