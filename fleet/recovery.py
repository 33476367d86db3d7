"""Restart recovery: the live plans rebuilt from the journal, then reconciled with the vehicles.

After a crash the journal holds every acknowledged request and transition, and the last plan
sent to each ground vehicle (`vehicle.plan` entries). Recovery puts those plans back into the
live dispatcher as they were, so a trip promised to `bus-2` stays promised to `bus-2`: when the
vehicle reconnects it gets its plan again (the ground protocol's plan versions make the resend
harmless), and if it does not come back within the supervisor's `ground_lost_s`, the supervisor
re-plans its waiting riders as for any lost vehicle. Requests that had no vehicle yet are
dispatched after the same grace period, once the vehicles have had time to reconnect (dispatching
them at once would reject them all: every vehicle looks offline right after a restart).

Pure functions of the records; the service journals what they decide.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from dispatch.live import GroundDispatcher, Stop
from fleet.records import Records, TripRecord


def stop_to_json(stop: Stop) -> dict[str, Any]:
    """A plan stop as journaled (infinite limits as null: JSON has no infinity)."""
    return {
        "request_id": stop.request_id,
        "action": stop.action,
        "stop_id": stop.place,
        "lat_deg": stop.position[0],
        "lon_deg": stop.position[1],
        "riders": stop.riders,
        "latest_s": stop.latest_s if math.isfinite(stop.latest_s) else None,
        "max_ride_s": stop.max_ride_s if math.isfinite(stop.max_ride_s) else None,
    }


def stop_from_json(d: Mapping[str, Any]) -> Stop:
    return Stop(
        str(d["request_id"]),
        str(d["action"]),
        str(d["stop_id"]),
        (float(d["lat_deg"]), float(d["lon_deg"])),
        int(d.get("riders", 1)),
        math.inf if d.get("latest_s") is None else float(d["latest_s"]),
        math.inf if d.get("max_ride_s") is None else float(d["max_ride_s"]),
    )


def restore_ground_plans(records: Records, ground: GroundDispatcher) -> list[TripRecord]:
    """Put the journaled plans back into `ground`; return the open trips that need a vehicle.

    A stop is kept only if its trip is still waiting for it: an `assigned` trip keeps its pickup
    and drop-off, a `picked_up` trip its drop-off (its riders count as aboard).
    """
    kept: set[str] = set()
    for vid in sorted(ground.vehicles):
        v = ground.vehicles[vid]
        record = records.vehicles.get(vid)
        plan = record.plan if record is not None else []
        stops: list[Stop] = []
        for d in plan:
            trip = records.trips.get(str(d.get("request_id", "")))
            if trip is None or trip.vehicle_id != vid:
                continue
            if trip.state == "assigned" or (trip.state == "picked_up" and d["action"] == "dropoff"):
                stops.append(stop_from_json(d))
        aboard = [
            t for t in records.trips.values() if t.vehicle_id == vid and t.state == "picked_up"
        ]
        for trip in sorted(aboard, key=lambda t: t.id):
            v.picked_up_at[trip.id] = trip.picked_up_s or 0.0
            v.onboard += trip.riders
        v.stops = stops
        kept |= {s.request_id for s in stops}
        kept |= {t.id for t in aboard}
    return [
        t
        for t in sorted(records.trips.values(), key=lambda t: t.id)
        if t.state in ("received", "planned", "assigned", "picked_up") and t.id not in kept
    ]
