"""Pads and turns: which pad a sortie gets at a drone port, and when a pad is busy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import shapely

from fleet.drone_sortie import Sortie, distance_m, offset_point
from fleet.drone_traffic import (
    PAD_SPACING_M,
    TERMINAL_WAIT_S,
    area_busy,
    home_pad,
    pad_occupied,
    port_pad,
)
from fleet.drones import DroneCrew, DroneOperations
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


def test_a_pad_is_occupied_by_a_drone_on_it_or_low_over_it_armed_or_not() -> None:
    """What an arrival whose hold has run out must still wait for: a drone on the pad itself."""
    assert not pad_occupied(PORT, [])
    assert pad_occupied(PORT, [Other(drone(PORT, 0.0, landed="ON_GROUND"))])
    assert pad_occupied(PORT, [Other(drone(PORT, 0.0, armed=False, landed="ON_GROUND"))])
    assert pad_occupied(PORT, [Other(drone(offset_point(PORT, 30.0, 0.0), 20.0))])  # climbing
    assert not pad_occupied(PORT, [Other(drone(PORT, 60.0))])  # passing over at cruise
    next_pad = offset_point(PORT, 0.0, 60.0)  # the neighbouring pad: busy area, free pad
    on_next = [Other(drone(next_pad, 0.0, landed="ON_GROUND"))]
    assert area_busy(PORT, on_next) and not pad_occupied(PORT, on_next)
    assert not pad_occupied(PORT, [Other(DroneState(sysid=3))])  # never heard: nowhere


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


# -- the landing turn itself (`DroneOperations._landing_turn`), with the service stubbed ----------
@dataclass
class _Clock:
    t_s: float = 0.0

    def now_s(self) -> float:
        return self.t_s


@dataclass
class _Service:
    clock: _Clock
    actions: list[str]

    def supervisor_action(self, vehicle_id: str, what: str, detail: str) -> None:
        self.actions.append(f"{vehicle_id}: {what}")


@dataclass
class _Handle:
    state: DroneState


def _turns(occupant_at: tuple[float, float]) -> tuple[DroneOperations, DroneCrew, DroneCrew,
                                                       _Service, list[str]]:
    """An arrival in AUTO 400 m out at cruise height, landing (item 3) on PORT; another drone
    armed on the ground at `occupant_at`."""
    service = _Service(_Clock(), [])
    ops = object.__new__(DroneOperations)
    ops.service = cast(Any, service)
    arrival_state = DroneState(sysid=2, lat_deg=offset_point(PORT, 400.0, 0.0)[0],
                               lon_deg=PORT[1], alt_rel_m=60.0, armed=True, mode="AUTO",
                               mission_seq=2, landed_state="IN_AIR")
    arrival = DroneCrew("drone-a", 2, PORT, cast(Any, _Handle(arrival_state)))
    occupant = DroneCrew("drone-b", 3, PORT, cast(Any, _Handle(
        drone(occupant_at, 0.0, landed="ON_GROUND"))))
    ops.crews = {"drone-a": arrival, "drone-b": occupant}
    moves: list[str] = []
    ops._pause = lambda crew, why: moves.append(f"pause {crew.vehicle_id}")  # type: ignore[method-assign]
    ops._resume = lambda crew, why: moves.append(f"resume {crew.vehicle_id}")  # type: ignore[method-assign]
    return ops, arrival, occupant, service, moves


def _sortie_to(pad: tuple[float, float]) -> Sortie:
    sortie = heading_to(pad)
    sortie.landings = {3: pad}
    return sortie


def test_a_hold_that_runs_out_goes_on_into_a_busy_area_but_never_onto_a_drone() -> None:
    ops, arrival, occupant, service, moves = _turns(PORT)  # the occupant is on the pad itself
    sortie = _sortie_to(PORT)
    ops._landing_turn(arrival, sortie, arrival.state)
    assert moves == ["pause drone-a"] and arrival.hold_since_s == 0.0
    service.clock.t_s = TERMINAL_WAIT_S + 1.0
    ops._landing_turn(arrival, sortie, arrival.state)
    ops._landing_turn(arrival, sortie, arrival.state)
    assert moves == ["pause drone-a"]  # still holding: the hold's time is up, the pad is not free
    assert service.actions == ["drone-a: landing pad busy: hold",
                               "drone-a: landing pad occupied: keep holding"]
    assert arrival.landing_claim is None
    occupant.handle = cast(Any, _Handle(drone(offset_point(PORT, 5000.0, 0.0), 60.0)))  # gone
    service.clock.t_s += 1.0
    ops._landing_turn(arrival, sortie, arrival.state)
    assert moves == ["pause drone-a", "resume drone-a"]
    assert service.actions[-1] == "drone-a: landing pad clear: go on"
    assert arrival.hold_pad is None  # the hold is over
    assert "pad_occupied" not in arrival.flags


def test_a_hold_that_runs_out_with_only_a_neighbouring_pad_taken_goes_on() -> None:
    ops, arrival, _, service, moves = _turns(offset_point(PORT, 0.0, PAD_SPACING_M))
    sortie = _sortie_to(PORT)
    ops._landing_turn(arrival, sortie, arrival.state)
    service.clock.t_s = TERMINAL_WAIT_S + 1.0
    ops._landing_turn(arrival, sortie, arrival.state)
    assert moves == ["pause drone-a", "resume drone-a"]  # the area is busy, its own pad free
    assert "hold_expired" in arrival.flags


def test_a_drone_queued_further_out_stays_held_when_the_one_ahead_is_cleared() -> None:
    """Two arrivals held for one pad (the second 250 m further out): when the first is cleared
    and goes on, the second keeps holding until the first's landing is done, though the queue
    ahead of it is now empty and it holds beyond the holding distance of an empty queue."""
    ops, first, occupant, service, moves = _turns(PORT)
    sortie_1, sortie_2 = _sortie_to(PORT), _sortie_to(PORT)
    second_state = DroneState(sysid=4, lat_deg=offset_point(PORT, 800.0, 0.0)[0],
                              lon_deg=PORT[1], alt_rel_m=60.0, armed=True, mode="AUTO",
                              mission_seq=2, landed_state="IN_AIR")
    second = DroneCrew("drone-c", 4, PORT, cast(Any, _Handle(second_state)))
    ops.crews["drone-c"] = second
    service.clock.t_s = 10.0
    ops._landing_turn(first, sortie_1, first.state)
    service.clock.t_s = 20.0
    ops._landing_turn(second, sortie_2, second.state)
    assert moves == ["pause drone-a", "pause drone-c"]
    occupant.handle = cast(Any, _Handle(drone(offset_point(PORT, 5000.0, 0.0), 60.0)))  # gone
    service.clock.t_s = 30.0
    ops._landing_turn(second, sortie_2, second.state)  # still queued behind drone-a
    ops._landing_turn(first, sortie_1, first.state)  # drone-a cleared: goes on, claims the pad
    assert first.landing_claim == PORT
    service.clock.t_s = 31.0
    ops._landing_turn(second, sortie_2, second.state)
    ops._landing_turn(first, sortie_1, first.state)
    assert moves == ["pause drone-a", "pause drone-c", "resume drone-a"]
    assert second.hold_since_s == 20.0
