"""Drone traffic at pads: where a sortie takes off and lands, and whose turn it is.

A site has pads: the drone's own at home (the home its autopilot reports: ArduPilot sets it
where the drone armed), `capacity` pads 20 m apart at a drone port. Pads closer together than
the separation the report checks (50 m) are one terminal area: within `TERMINAL_AREA_M` of a
pad, one drone moves at a time, as at a vertiport. The area is busy while another drone climbs
or descends in it (airborne below `TERMINAL_ALT_M`), sits armed on the ground in it (its
mission may take off at any moment: the end of a wait is the autopilot's, not ours), or has
been cleared to land in it (its landing claim). A departure waits while the area is busy; an
arrival holds short, `HOLD_FROM_M` out (the service pauses its mission), until it is clear.
The rules read the drones' telemetry only (`DroneState`), so they hold for any autopilot.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from fleet.drone_sortie import Sortie, distance_m, offset_point
from vehicles.mavlink.telemetry import DroneState

LatLon = tuple[float, float]
PAD_SPACING_M = 20.0  # landing pads at a drone port, in a row eastwards from the site's point
PAD_AREA_M = 300.0  # a drone's reported home this close to its home site is its own pad
TERMINAL_AREA_M = 200.0  # movements within this distance of a pad go in turn
TERMINAL_ALT_M = 55.0  # below this (above ground) near a pad a drone is climbing or descending
TERMINAL_WAIT_S = 300.0  # the longest a departure waits or an arrival holds for its turn
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
