"""Drone traffic at pads: where a sortie takes off and lands, and whose turn it is.

A site has pads: the drone's own at home (the home its autopilot reports: ArduPilot sets it
where the drone armed), `capacity` pads 20 m apart at a drone port. Movements near a pad go in
turn, as at a vertiport: a departure waits while another drone climbs or descends within
`TERMINAL_AREA_M` of its pad; an arrival holds short (the service pauses its mission) while its
pad is taken or the area is busy. The rules read the drones' telemetry only (`DroneState`), so
they hold for any autopilot the service flies.
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


class Traffic(Protocol):
    """What the rules need of a drone: its telemetry and its current sortie."""

    @property
    def state(self) -> DroneState: ...

    @property
    def sortie(self) -> Sortie | None: ...


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
    """Another drone climbing or descending (airborne, below `below_m`) near the pad."""
    for other in others:
        st = other.state
        if not st.armed or st.lat_deg is None or st.lon_deg is None:
            continue
        low = st.landed_state != "ON_GROUND" and (st.alt_rel_m or 0.0) < below_m
        if low and distance_m((st.lat_deg, st.lon_deg), pad) < TERMINAL_AREA_M:
            return True
    return False


def pad_busy(pad: LatLon, others: Iterable[Traffic]) -> bool:
    """Another drone armed on the pad itself, or the area around it busy."""
    others = list(others)
    for other in others:
        st = other.state
        if st.armed and st.lat_deg is not None and st.lon_deg is not None and (
            distance_m((st.lat_deg, st.lon_deg), pad) < PAD_SPACING_M
        ):
            return True
    return area_busy(pad, others)
