"""Fast mode: the link's sans-I/O core flies three copters through in-memory datagrams.

No sockets, no event loop, no wall clock: `InMemoryNetwork` steps the copters and the
`vehicles.mavlink.GroundStation` core together in simulated time. Three copters are given a
fence and a delivery mission and flown to their landings; copter 2's link is cut mid-flight
until the link calls it lost, then restored, and copter 3's link loses 5 % of its packets
(seeded). The same run twice gives the same events and the same flights to the bit.
"""

from __future__ import annotations

import math
from typing import Any, TypeVar

from sim.copter.autopilot import CopterAutopilot
from sim.copter.channel import RandomLoss
from sim.copter.flight import CopterConfig
from sim.copter.memory_net import InMemoryNetwork
from vehicles.mavlink import FlightMode, GroundStation, LinkConfig, LinkState
from vehicles.mavlink.events import LinkStateChanged
from vehicles.mavlink.mission import FENCE
from vehicles.mavlink.mission_plan import (
    FencePolygon,
    Land,
    LandAndWait,
    MissionPlan,
    ReleasePayload,
    Takeoff,
    Waypoint,
    fence_items,
    mission_items,
)
from vehicles.mavlink.operation import Operation
from vehicles.mavlink.telemetry import readiness

T = TypeVar("T")
BASE = (35.6480, 140.0350)


def offset(origin: tuple[float, float], d_north_m: float, d_east_m: float) -> tuple[float, float]:
    return (origin[0] + d_north_m / 110_940.0,
            origin[1] + d_east_m / (111_320.0 * math.cos(math.radians(origin[0]))))


def fly_fleet() -> dict[str, Any]:
    station = GroundStation(LinkConfig())
    net = InMemoryNetwork(station)
    sysids = (1, 2, 3)
    homes = {s: offset(BASE, 0.0, 40.0 * s) for s in sysids}
    copters = {s: net.add(CopterAutopilot(
        CopterConfig(home_lat_deg=homes[s][0], home_lon_deg=homes[s][1], payload_kg=1.5,
                     params={"FENCE_ENABLE": 1, "LAND_SPEED": 150, "MIS_OPTIONS": 4}),
        sysid=s, stream_phase=0.3 * s)) for s in sysids}
    copters[3].faults.add(RandomLoss(0.05, seed=11))
    links = {s: station.expect(s, 0.0) for s in sysids}

    def run(op: Operation[T], timeout_s: float = 60.0) -> T:
        net.run_until(lambda: op.done, timeout_s)
        assert op.error is None, op
        return op.result  # type: ignore[return-value]

    net.run_until(lambda: all(readiness(lk.state).ready for lk in links.values()), 30.0)
    last_seq = {}
    for s, link in links.items():
        home = homes[s]
        square = tuple(offset(home, n, e) for n, e in ((-150, -150), (-150, 250), (250, 250),
                                                      (250, -150)))
        run(link.upload(fence_items([FencePolygon(square)]), net.now_s, FENCE))
        plan = MissionPlan((Takeoff(20.0), Waypoint(*offset(home, 100, 0), 25.0, 10.0),
                            LandAndWait(*offset(home, 100, 60), 2.0, 15.0),
                            ReleasePayload("gripper"), Land(*offset(home, 0, 10))),
                           home=(*home, 5.0))
        items = mission_items(plan)
        last_seq[s] = len(items) - 3  # the takeoff at the drop-off (the final landing disarms)
        assert run(link.upload(items, net.now_s)) == len(items)
        run(link.set_mode(FlightMode.GUIDED, net.now_s))
        run(link.arm(net.now_s))
        run(link.takeoff(20.0, net.now_s))
    net.run_until(lambda: all((lk.state.alt_rel_m or 0.0) > 18.0 for lk in links.values()),
                  60.0)
    for link in links.values():
        run(link.start_mission(net.now_s))
    net.run_until(lambda: (links[2].state.mission_seq or 0) >= 3, 60.0)
    copters[2].cut.cut()
    lost_after_s = net.run_until(lambda: links[2].link_state is LinkState.LOST, 30.0)
    lost_at_s = net.now_s
    net.run_until(lambda: net.now_s >= lost_at_s + 3.0, 10.0)  # stays out of touch a while
    copters[2].cut.restore()
    net.run_until(lambda: links[2].link_state is LinkState.UP, 30.0)
    net.run_until(lambda: all(lk.state.mission_reached_seq == last_seq[s] and not lk.state.armed
                              and lk.state.landed_state == "ON_GROUND"
                              for s, lk in links.items()), 400.0)
    raw_events = station.events()
    events = [(type(e).__name__, e.sysid, round(e.t_s, 3)) for e in raw_events]
    changes = [(e.sysid, e.new.value) for e in raw_events if isinstance(e, LinkStateChanged)]
    flights = {s: (c.autopilot.fc.body.north_m, c.autopilot.fc.body.east_m,
                   c.autopilot.fc.battery.used_wh, tuple(c.autopilot.reached_log))
               for s, c in copters.items()}
    return {"events": events, "changes": changes, "flights": flights, "lost_after_s": lost_after_s,
            "end_s": net.now_s, "payload": [c.autopilot.fc.payload_kg for c in copters.values()],
            "loss_dropped": copters[3].faults.faults[-1].dropped,  # type: ignore[attr-defined]
            "states": {s: lk.link_state for s, lk in links.items()}}


def test_fast_mode_flies_three_copters_through_the_link_core_deterministically() -> None:
    first = fly_fleet()
    # LOST 5 s after the last heartbeat (1 Hz), so 4 to 5 s after the cut
    assert 4.0 <= first["lost_after_s"] <= 5.1
    assert first["payload"] == [0.0, 0.0, 0.0]
    assert first["loss_dropped"] > 0
    assert all(state is LinkState.UP for state in first["states"].values())
    for north_m, east_m, used_wh, reached in first["flights"].values():
        assert math.hypot(north_m, east_m - 10.0) < 1.5 and used_wh > 0
        assert reached == (1, 3, 4, 5, 6)
    changes = first["changes"]
    lost_at = changes.index((2, "lost"))
    assert (2, "up") in changes[lost_at:]
    assert not [c for c in changes if c[1] == "lost" and c[0] != 2]
    assert fly_fleet() == first  # the same steps, the same world
