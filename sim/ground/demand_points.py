"""Trip points for the scenario's demand generator, taken from the ground network's places.

`sim.scenario.demand.trip_orders` needs the places riders travel between, with weights. Stations
and venues attract more trips than one home; the weights below are estimates, not survey data.
"""

from __future__ import annotations

from sim.ground.network import RoadNetwork
from sim.scenario.demand import TripPoint

STATIONS = ("kaihin-makuhari", "makuhari-toyosuna", "kemigawahama")
_WEIGHT_BY_KIND = {"bus_stop": 2.0, "landmark": 1.0, "home": 1.0}


def trip_points(network: RoadNetwork) -> list[TripPoint]:
    """Every bus stop, landmark and home (depots excluded), sorted by id; stations weigh 3."""
    points: list[TripPoint] = []
    for place_id, place in sorted(network.places.items()):
        weight = _WEIGHT_BY_KIND.get(place.kind)
        if weight is None:
            continue
        if place_id in STATIONS:
            weight = 3.0
        points.append(TripPoint(place_id, place.lat_deg, place.lon_deg, weight))
    return points
