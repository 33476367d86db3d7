"""Drone traffic at pads: where a sortie takes off and lands, and whose turn it is.

A site has pads: the drone's own at home (the home its autopilot reports: ArduPilot sets it
where the drone armed), `capacity` pads 60 m apart at a drone port (the separation the report
checks, 50 m, and 10 m for drift: two drones on neighbouring pads are never closer). Pads near
each other are one terminal area: within `TERMINAL_AREA_M` of a pad, one drone moves at a time,
as at a vertiport.
The area is busy while another drone climbs or descends in it (airborne below
`TERMINAL_ALT_M`), sits armed on the ground in it (its mission may take off at any moment: the
end of a wait is the autopilot's, not ours), or has been cleared to land in it (its landing
claim). A departure waits while the area is busy; an arrival holds short, `HOLD_FROM_M` out
(the service pauses its mission), until it is clear.
En route (`predicted_miss_m`): two airborne drones whose courses, held for
`CONFLICT_LOOKAHEAD_S`, bring them within `CONFLICT_GUARD_M` horizontally and
`CONFLICT_VERTICAL_M` vertically are in conflict; the one flying towards the other (the one
behind, or the one converging faster) holds until the other has passed.
The rules read the drones' telemetry only (`DroneState`), so they hold for any autopilot.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Protocol

from fleet.drone_sortie import Sortie, distance_m, offset_point
from geofences.frame import to_local
from vehicles.mavlink.telemetry import DroneState

LatLon = tuple[float, float]
PAD_SPACING_M = 60.0  # landing pads at a drone port, in a row eastwards from the site's point
PAD_AREA_M = 300.0  # a drone's reported home this close to its home site is its own pad
TERMINAL_AREA_M = 200.0  # movements within this distance of a pad go in turn
TERMINAL_ALT_M = 55.0  # below this (above ground) near a pad a drone is climbing or descending
TERMINAL_WAIT_S = 300.0  # the longest a departure waits or an arrival holds for its turn...
PAD_CLEAR_M = 50.0  # ...unless a drone is on its pad: on the ground or low within this of it
HOLD_FROM_M = 600.0  # a drone on its way in holds this close to its pad when the pad is busy
HOLD_SPACING_M = 250.0  # and this much further out for each drone already holding for the area


class Traffic(Protocol):
    """What the rules need of a drone: its telemetry, its sortie and its landing claim."""

    @property
    def state(self) -> DroneState: ...

    @property
    def sortie(self) -> Sortie | None: ...

    @property
    def landing_claim(self) -> LatLon | None: ...


def home_pad(state: DroneState, home_site: LatLon) -> LatLon:
    """Where the drone takes off and lands at home: the home it reports, if that is at its home
    site; else the site itself."""
    home = state.home
    if home is not None and distance_m((home.lat_deg, home.lon_deg), home_site) < PAD_AREA_M:
        return (home.lat_deg, home.lon_deg)
    return home_site


def port_pad(site: LatLon, capacity: int, others: Iterable[Traffic]) -> LatLon:
    """A pad at a drone port for a new sortie: of the `capacity` pads, the one fewest other
    sorties (not yet past their delivery) are heading for."""
    pads = [offset_point(site, 0.0, PAD_SPACING_M * i) for i in range(max(1, capacity))]
    taken = [o.sortie.port for o in others if o.sortie is not None and not o.sortie.delivered]
    return min(pads, key=lambda p: (sum(p == t for t in taken), pads.index(p)))


def area_busy(pad: LatLon, others: Iterable[Traffic], below_m: float = TERMINAL_ALT_M) -> bool:
    """The terminal area around `pad` is busy (see the module docstring): another drone
    within `TERMINAL_AREA_M` of it is airborne below `below_m`, armed on the ground, or
    cleared to land within that distance."""
    for other in others:
        claim = other.landing_claim
        if claim is not None and distance_m(claim, pad) < TERMINAL_AREA_M:
            return True
        st = other.state
        if not st.armed or st.lat_deg is None or st.lon_deg is None:
            continue
        low = st.landed_state == "ON_GROUND" or (st.alt_rel_m or 0.0) < below_m
        if low and distance_m((st.lat_deg, st.lon_deg), pad) < TERMINAL_AREA_M:
            return True
    return False


def pad_occupied(pad: LatLon, others: Iterable[Traffic], below_m: float = TERMINAL_ALT_M) -> bool:
    """Another drone is on the pad itself: within `PAD_CLEAR_M` of it, on the ground (armed or
    not) or airborne below `below_m`. An arrival whose hold has run `TERMINAL_WAIT_S` goes on
    into a busy area, but never onto a drone: two visitors share a warehouse's loading pad, and
    a drone port's pads are shared out again once every one is taken."""
    for other in others:
        st = other.state
        if st.lat_deg is None or st.lon_deg is None:
            continue
        low = st.landed_state == "ON_GROUND" or (st.alt_rel_m or 0.0) < below_m
        if low and distance_m((st.lat_deg, st.lon_deg), pad) < PAD_CLEAR_M:
            return True
    return False


# ---------------------------------------------------------------------------------- en route
CONFLICT_LOOKAHEAD_S = 30.0  # how far ahead two drones' courses are projected
CONFLICT_GUARD_M = 90.0  # a predicted horizontal miss under this is a conflict...
CONFLICT_VERTICAL_M = 45.0  # ...when the two are then less than this apart vertically
Vector = tuple[float, float, float]  # east, north, up (metres or metres per second)


def kinematics(st: DroneState) -> tuple[Vector, Vector] | None:
    """Position (local metres, altitude above mean sea level) and velocity of a drone, from its
    telemetry; None if a part is missing."""
    if st.lat_deg is None or st.lon_deg is None or st.alt_amsl_m is None:
        return None
    x, y = to_local(st.lat_deg, st.lon_deg)
    v = (st.vel_east_m_s or 0.0, st.vel_north_m_s or 0.0, -(st.vel_down_m_s or 0.0))
    return (x, y, st.alt_amsl_m), v


def predicted_miss_m(a: tuple[Vector, Vector], b: tuple[Vector, Vector],
                     lookahead_s: float = CONFLICT_LOOKAHEAD_S) -> float | None:
    """The horizontal distance at the closest approach within `lookahead_s` of two drones
    holding their velocities, if they are then within `CONFLICT_VERTICAL_M` vertically; else
    None (they pass a layer apart)."""
    (pa, va), (pb, vb) = a, b
    dx, dy, dz = pb[0] - pa[0], pb[1] - pa[1], pb[2] - pa[2]
    vx, vy, vz = vb[0] - va[0], vb[1] - va[1], vb[2] - va[2]
    rel2 = vx * vx + vy * vy
    t = 0.0 if rel2 < 1e-9 else min(lookahead_s, max(0.0, -(dx * vx + dy * vy) / rel2))
    if abs(dz + vz * t) >= CONFLICT_VERTICAL_M and abs(dz) >= CONFLICT_VERTICAL_M:
        return None
    return math.hypot(dx + vx * t, dy + vy * t)


def closing_speed(a: tuple[Vector, Vector], b: tuple[Vector, Vector]) -> float:
    """How fast `a` flies towards `b` (its horizontal speed along the line to `b`)."""
    (pa, va), (pb, _) = a, b
    dx, dy = pb[0] - pa[0], pb[1] - pa[1]
    d = math.hypot(dx, dy)
    return 0.0 if d < 1e-6 else (va[0] * dx + va[1] * dy) / d
