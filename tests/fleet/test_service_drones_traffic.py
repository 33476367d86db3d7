"""Pads and turns: which pad a sortie gets at a drone port, and when a pad is busy."""

from __future__ import annotations

from dataclasses import dataclass

import shapely

from fleet.drone_sortie import Sortie, distance_m, offset_point
from fleet.drone_traffic import area_busy, home_pad, port_pad
from vehicles.mavlink.telemetry import DroneState, Home

PORT = (35.6472, 140.0486)


@dataclass
class Other:
    state: DroneState
    sortie: Sortie | None = None
    landing_claim: tuple[float, float] | None = None


def drone(where: tuple[float, float], alt_m: float, armed: bool = True,
          landed: str = "IN_AIR") -> DroneState:
    return DroneState(sysid=2, lat_deg=where[0], lon_deg=where[1], alt_rel_m=alt_m,
                      armed=armed, landed_state=landed)


def heading_to(pad: tuple[float, float]) -> Sortie:
    return Sortie("o", 5, 9, shapely.LineString([(0, 0), (1, 1)]), port=pad)


def test_port_pads_are_shared_out_and_reused_when_all_are_taken() -> None:
    first = port_pad(PORT, 2, [])
    assert distance_m(first, PORT) < 1.0
    second = port_pad(PORT, 2, [Other(drone(PORT, 60), heading_to(first))])
    assert 59.0 < distance_m(second, PORT) < 61.0
    both = [Other(drone(PORT, 60), heading_to(first)), Other(drone(PORT, 60), heading_to(second))]
    assert port_pad(PORT, 2, both) == first  # fewest heading there, then the first pad
    delivered = heading_to(first)
    delivered.delivered = True  # on its way home: no longer heading for the pad
    assert port_pad(PORT, 1, [Other(drone(PORT, 60), delivered)]) == first


def test_the_terminal_area_is_busy_while_another_drone_moves_waits_armed_or_is_cleared() -> None:
    assert not area_busy(PORT, [])
    assert area_busy(PORT, [Other(drone(PORT, 0.0, landed="ON_GROUND"))])  # armed, waiting on it
    next_pad = offset_point(PORT, 0.0, 20.0)  # the port's second pad: one terminal area
    assert area_busy(PORT, [Other(drone(next_pad, 0.0, landed="ON_GROUND"))])
    assert not area_busy(PORT, [Other(drone(PORT, 0.0, armed=False, landed="ON_GROUND"))])
    near = offset_point(PORT, 120.0, 0.0)
    assert area_busy(PORT, [Other(drone(near, 30.0))])  # descending 120 m away
    assert not area_busy(PORT, [Other(drone(near, 60.0))])  # passing at cruise altitude
    assert not area_busy(PORT, [Other(drone(offset_point(PORT, 400.0, 0.0), 20.0))])
    far = offset_point(PORT, 3000.0, 0.0)  # cleared to land on the next pad, still far out
    assert area_busy(PORT, [Other(drone(far, 60.0), landing_claim=next_pad)])
    assert not area_busy(PORT, [Other(drone(far, 60.0), landing_claim=far)])


def test_home_is_the_reported_pad_when_it_is_at_the_home_site() -> None:
    pad = offset_point(PORT, 25.0, 25.0)
    here = DroneState(sysid=1, home=Home(pad[0], pad[1], 0.0))
    assert home_pad(here, PORT) == pad
    far = offset_point(PORT, 5000.0, 0.0)
    assert home_pad(DroneState(sysid=1, home=Home(far[0], far[1], 0.0)), PORT) == PORT
    assert home_pad(DroneState(sysid=1), PORT) == PORT


def test_opposite_courses_fly_different_layers() -> None:
    from fleet.drones import eastbound, flight_layers
    from geofences.route import RouteOptions

    east, west = offset_point(PORT, 100.0, 3000.0), offset_point(PORT, -100.0, -3000.0)
    assert eastbound(PORT, east) and not eastbound(east, PORT)
    assert not eastbound(PORT, west) and eastbound(west, PORT)
    layers = flight_layers(RouteOptions())
    assert layers[False][0] - layers[True][0] >= 50.0  # head-on pairs pass a layer apart


def test_converging_courses_on_one_layer_are_a_conflict_and_layers_apart_are_not() -> None:
    from fleet.drone_traffic import CONFLICT_GUARD_M, closing_speed, predicted_miss_m

    # two drones 200 m apart, flying at 10 m/s to meet at a point 100 m ahead of each
    a = ((0.0, 0.0, 60.0), (10.0, 0.0, 0.0))
    b = ((200.0, 0.0, 60.0), (-10.0, 0.0, 0.0))
    miss = predicted_miss_m(a, b)
    assert miss is not None and miss < 1.0
    higher = ((200.0, 0.0, 115.0), (-10.0, 0.0, 0.0))
    assert predicted_miss_m(a, higher) is None  # a layer apart: they pass
    apart = ((200.0, 300.0, 60.0), (-10.0, 0.0, 0.0))
    far_miss = predicted_miss_m(a, apart)
    assert far_miss is not None and far_miss >= CONFLICT_GUARD_M  # parallel, 300 m abeam
    # in trail: the one behind closes on the one holding ahead; the one ahead does not
    behind = ((0.0, 0.0, 60.0), (10.0, 0.0, 0.0))
    holding = ((250.0, 0.0, 60.0), (0.0, 0.0, 0.0))
    trail = predicted_miss_m(behind, holding)
    assert trail is not None and trail < 1.0
    assert closing_speed(behind, holding) == 10.0 and closing_speed(holding, behind) == 0.0
    # a conflict beyond the look-ahead is not one yet
    distant = ((2000.0, 0.0, 60.0), (0.0, 0.0, 0.0))
    later = predicted_miss_m(behind, distant)
    assert later is not None and later > 1000.0
