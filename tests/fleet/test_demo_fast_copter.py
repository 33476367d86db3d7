"""Fast mode's copter takes long steps only where they change nothing that matters.

The same 5 km mission (take off, three legs with turns, in gusty wind, with a payload, land)
is flown by the autopilot at its own 50 ms steps and by `FastCopter`, both through the MAVLink
mission protocol. The fast one must reach the same items in the same order,
land where the other lands, within seconds of its time and 1 % of its battery, and never
stray from the other's track by more than a few metres.
"""

from __future__ import annotations

import math
from typing import TypeVar

import pytest
import shapely

from fleet.demo.memory_drones import FastCopter
from sim.copter.autopilot import CopterAutopilot
from sim.copter.flight import CopterConfig
from sim.copter.memory_net import InMemoryNetwork
from sim.copter.physics import Wind
from vehicles.mavlink import FlightMode, GroundStation, LinkConfig
from vehicles.mavlink.mission_plan import (
    Land,
    LandAndWait,
    MissionPlan,
    Step,
    Takeoff,
    Waypoint,
    mission_items,
)
from vehicles.mavlink.operation import Operation
from vehicles.mavlink.telemetry import readiness

T = TypeVar("T")
HOME = (35.6300, 140.0000)


def _offset(d_north_m: float, d_east_m: float) -> tuple[float, float]:
    return (HOME[0] + d_north_m / 110_940.0,
            HOME[1] + d_east_m / (111_320.0 * math.cos(math.radians(HOME[0]))))


LEGS = (Takeoff(60.0), Waypoint(*_offset(1500, 1000), 60.0, 11.0),
        Waypoint(*_offset(3000, 0), 60.0, 11.0), Land(*_offset(3200, -600)))
# a delivery: out at 115 m, a hover of 40 s, a landing with a minute on the ground, back at 60 m
DELIVERY = (Takeoff(115.0), Waypoint(*_offset(1500, 300), 115.0, 11.0, hold_s=40.0),
            LandAndWait(*_offset(2000, 300), 60.0, 60.0, release_gripper=True),
            Waypoint(*_offset(200, 100), 60.0, 11.0), Land(*_offset(0, 0)))


def _fly(kind: type[CopterAutopilot], steps: tuple[Step, ...] = LEGS) -> dict[str, object]:
    station = GroundStation(LinkConfig())
    net = InMemoryNetwork(station)
    config = CopterConfig(home_lat_deg=HOME[0], home_lon_deg=HOME[1], payload_kg=3.0,
                          wind=Wind.from_direction(6.0, 200.0, gust_m_s=3.0, seed=1),
                          params={"LAND_SPEED": 150, "WPNAV_SPEED": 1100, "MIS_OPTIONS": 4,
                                  "DISARM_DELAY": 0})
    copter = net.add(kind(config, sysid=1, stream_phase=0.2))
    link = station.expect(1, 0.0)

    def run(op: Operation[T], timeout_s: float = 60.0) -> None:
        net.run_until(lambda: op.done, timeout_s)
        assert op.error is None, op

    net.run_until(lambda: readiness(link.state).ready, 30.0)
    plan = MissionPlan(steps, home=(*HOME, 0.0))
    items = mission_items(plan)
    run(link.upload(items, net.now_s))
    run(link.set_mode(FlightMode.GUIDED, net.now_s))
    run(link.arm(net.now_s))
    run(link.start_mission(net.now_s))
    track: list[tuple[float, float]] = []
    fc = copter.autopilot.fc

    flown: list[bool] = []

    def landed() -> bool:
        track.append((fc.body.north_m, fc.body.east_m))
        flown.append(not fc.land_complete)
        return any(flown) and fc.land_complete and not fc.armed

    net.run_until(landed, 2000.0, dt_s=1.0)  # as fast mode moves its copters
    return {"t_s": net.now_s, "used_wh": fc.battery.used_wh,
            "end": (fc.body.north_m, fc.body.east_m),
            "reached": tuple(copter.autopilot.reached_log), "track": shapely.LineString(track)}


@pytest.mark.parametrize("steps", [LEGS, DELIVERY], ids=["legs", "delivery"])
def test_fast_copter_flies_the_mission_as_the_autopilot_does(steps: tuple[Step, ...]) -> None:
    slow, fast = _fly(CopterAutopilot, steps), _fly(FastCopter, steps)
    assert fast["reached"] == slow["reached"]
    t_slow, t_fast = float(slow["t_s"]), float(fast["t_s"])  # type: ignore[arg-type]
    assert t_slow > 400.0  # a real flight: 5 km at 11 m/s, take-off and landing
    assert abs(t_fast - t_slow) < 5.0
    wh_slow, wh_fast = float(slow["used_wh"]), float(fast["used_wh"])  # type: ignore[arg-type]
    assert abs(wh_fast - wh_slow) < 0.01 * wh_slow
    end_slow, end_fast = slow["end"], fast["end"]
    assert math.dist(end_slow, end_fast) < 1.5  # type: ignore[arg-type]
    track_slow, track_fast = slow["track"], fast["track"]
    assert isinstance(track_slow, shapely.LineString) and isinstance(track_fast, shapely.LineString)
    assert track_fast.hausdorff_distance(track_slow) < 5.0
