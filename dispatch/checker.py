"""An independent feasibility checker for benchmark plans, written from the instance data.

It shares nothing with the OR-Tools model: it reads the `Instance` (double precision, the file's
node numbering) and a plan given as node sequences, and re-derives everything: distances,
arrival times, loads. It checks

* every customer served exactly once, no unknown or depot node inside a route, fleet size;
* capacity (load never above Q, never negative);
* pairing and precedence (pickup and delivery in the same route, pickup first);
* time windows on the start of service, return to the end depot within its window;
* ride time (DARP: B_delivery - (B_pickup + d_pickup) <= L);
* route duration (DARP: arrival at the end depot - departure from the start depot <= T).

Times: when the plan comes with a schedule (start of service per stop, e.g. from our solver)
the checker verifies that schedule: each start is no earlier than the arrival derived from the
previous start, service and travel. Without one (VROOM, PyVRP plans) it uses the earliest
schedule with the departure delayed by the forward time slack, which decides time-window and
route-duration feasibility exactly; for DARP such a schedule may still break a ride time that
a cleverer schedule would keep, so DARP plans should come with their schedule. A tolerance of
1e-6 absorbs float rounding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from dispatch.instances.data import Instance

EPS = 1e-6


@dataclass(frozen=True, slots=True)
class CheckReport:
    """The checker's verdict on a plan."""

    feasible: bool
    vehicles: int
    distance: float
    violations: tuple[str, ...] = field(default=())


def check_plan(
    instance: Instance,
    routes: Sequence[Sequence[int]],
    schedules: Sequence[Sequence[float]] | None = None,
) -> CheckReport:
    """Judge a plan.

    Args:
        instance: the benchmark instance.
        routes: per route, the visited nodes *without* the depots (empty routes are ignored).
        schedules: optional, per route, start-of-service times for
            `[start_depot, *visits, end_depot]` (the first entry is the departure time).

    Returns:
        A report with every violation found (empty when feasible) and the true distance.
    """
    if schedules is not None and len(schedules) != len(routes):
        raise ValueError("schedules needs one entry per route")
    violations: list[str] = []
    used = [(k, list(r)) for k, r in enumerate(routes) if len(r) > 0]
    if len(used) > instance.num_vehicles:
        violations.append(f"fleet: {len(used)} routes but {instance.num_vehicles} vehicles")
    _check_coverage(instance, [r for _, r in used], violations)
    distance = 0.0
    position: dict[int, tuple[int, int]] = {}
    start_of: dict[int, float] = {}
    for k, visits in used:
        full = [instance.start_depot, *visits, instance.end_depot]
        if any(not 0 <= n < instance.num_nodes for n in visits):
            continue  # already reported by coverage
        distance += sum(instance.dist(a, b) for a, b in pairwise(full))
        given = None if schedules is None else list(schedules[k])
        times = _schedule(instance, full, given, k, violations)
        _check_load(instance, k, visits, violations)
        for pos, node in enumerate(visits, start=1):
            position[node] = (k, pos)
            start_of[node] = times[pos]
    _check_pairs(instance, position, start_of, violations)
    return CheckReport(
        feasible=not violations,
        vehicles=len(used),
        distance=distance,
        violations=tuple(violations),
    )


def _check_coverage(instance: Instance, routes: list[list[int]], out: list[str]) -> None:
    depots = {instance.start_depot, instance.end_depot}
    seen: dict[int, int] = {}
    for visits in routes:
        for node in visits:
            if not 0 <= node < instance.num_nodes:
                out.append(f"unknown node {node}")
            elif node in depots:
                out.append(f"depot node {node} inside a route")
            else:
                seen[node] = seen.get(node, 0) + 1
    for node, count in sorted(seen.items()):
        if count > 1:
            out.append(f"node {node} visited {count} times")
    missing = [c for c in instance.customers if c not in seen]
    if missing:
        out.append(f"unserved: {len(missing)} nodes, e.g. {missing[:5]}")


def _schedule(
    instance: Instance,
    full: list[int],
    given: list[float] | None,
    k: int,
    out: list[str],
) -> list[float]:
    if given is not None and len(given) != len(full):
        out.append(f"route {k}: schedule has {len(given)} times for {len(full)} stops")
        given = None
    start_depot = full[0]
    if given is None:
        given = _earliest_with_late_departure(instance, full)
    t = given[0]
    if t < instance.ready[start_depot] - EPS or t > instance.due[start_depot] + EPS:
        out.append(f"route {k}: departs at {t:.3f} outside the depot window")
    times = [t]
    for pos in range(1, len(full)):
        a, b = full[pos - 1], full[pos]
        arrival = times[-1] + instance.service[a] + instance.dist(a, b)
        begin = given[pos]
        if begin < arrival - EPS:
            out.append(f"route {k}: node {b} served at {begin:.3f} < arrival {arrival:.3f}")
        if begin < instance.ready[b] - EPS:
            out.append(f"route {k}: node {b} served at {begin:.3f} < ready {instance.ready[b]}")
        if begin > instance.due[b] + EPS:
            out.append(f"route {k}: node {b} at {begin:.3f} after due {instance.due[b]}")
        times.append(begin)
    if instance.max_route_duration is not None:
        duration = times[-1] - times[0]
        if duration > instance.max_route_duration + EPS:
            out.append(f"route {k}: duration {duration:.3f} > limit {instance.max_route_duration}")
    return times


def _earliest(instance: Instance, full: list[int], depart: float) -> list[float]:
    times = [depart]
    for a, b in pairwise(full):
        times.append(max(times[-1] + instance.service[a] + instance.dist(a, b), instance.ready[b]))
    return times


def _earliest_with_late_departure(instance: Instance, full: list[int]) -> list[float]:
    """Earliest service starts, departing as late as waiting allows (forward time slack).

    Leaving later by d delays stop k by max(0, d - W_k), W_k the waiting before k; the largest
    d that keeps every window is min_k(W_k + due_k - begin_k), capped by the total waiting.
    This gives the shortest route duration among schedules that serve each stop earliest.
    """
    times = _earliest(instance, full, instance.ready[full[0]])
    waited = 0.0
    delay = float("inf")
    for pos in range(1, len(full)):
        a, b = full[pos - 1], full[pos]
        arrival = times[pos - 1] + instance.service[a] + instance.dist(a, b)
        waited += max(0.0, times[pos] - arrival)
        delay = min(delay, waited + instance.due[b] - times[pos])
    delay = max(0.0, min(delay, waited, instance.due[full[0]] - times[0]))
    return _earliest(instance, full, times[0] + delay) if delay > 0 else times


def _check_load(instance: Instance, k: int, visits: list[int], out: list[str]) -> None:
    load = instance.demand[instance.start_depot]
    for node in visits:
        load += instance.demand[node]
        if load > instance.capacity:
            out.append(f"route {k}: load {load} > capacity {instance.capacity} at node {node}")
            return
        if load < 0:
            out.append(f"route {k}: negative load {load} at node {node}")
            return


def _check_pairs(
    instance: Instance,
    position: dict[int, tuple[int, int]],
    start_of: dict[int, float],
    out: list[str],
) -> None:
    for pickup, delivery in instance.pairs:
        if pickup not in position or delivery not in position:
            continue  # reported as unserved
        (rp, pp), (rd, pd) = position[pickup], position[delivery]
        if rp != rd:
            out.append(f"pair {pickup}->{delivery}: on different routes {rp} and {rd}")
            continue
        if pp > pd:
            out.append(f"pair {pickup}->{delivery}: delivery before pickup")
            continue
        if instance.max_ride is not None:
            ride = start_of[delivery] - (start_of[pickup] + instance.service[pickup])
            if ride > instance.max_ride + EPS:
                out.append(
                    f"pair {pickup}->{delivery}: ride {ride:.3f} > limit {instance.max_ride}"
                )
