"""Fast mode's drones: the service's MAVLink endpoint and the simulated copters, joined in memory.

Wire mode puts every copter on its own UDP socket; fast mode hands the same datagrams over in
lists, under the virtual clock. `MemoryEndpoint` is a `vehicles.mavlink.transport.Endpoint` (the
same `GroundStation` core, tick loop and `Drone` handles the service uses over UDP) whose `_send`
gives each datagram to the addressed copter; a stepping task flies the copters every `step_s` of
clock time and feeds what they transmit back into the core. The service's `DroneOperations`
cannot tell the difference: it uploads missions and fences, arms, follows telemetry and acts as
supervisor exactly as in wire mode.

Deterministic for a seed: no sockets, no threads (sorties are planned inline), no wall-clock
reads (Unix time for signing and SYSTEM_TIME is a fixed epoch), and the virtual clock wakes
sleepers in a fixed order.

Cost: a copter's physics steps every 50 ms while armed (as in wire mode); a disarmed copter on
the ground has nothing to integrate, so `FastCopter` moves it in one step per call.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
from dataclasses import dataclass, field

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from fleet.demo.drone_faults import DroneFaultSchedule, FaultCopter
from fleet.demo.drone_world import DroneWorld
from fleet.drones import DroneOperations
from fleet.service import FleetService
from sim.copter.autopilot import MAX_STEP_S, CopterAutopilot
from sim.copter.channel import LinkCut, LinkFaults
from sim.copter.flight import CopterConfig
from sim.copter.mission_run import NavTarget
from sim.copter.modes import CopterMode
from sim.copter.physics import Wind
from sim.scenario.record import RunRecord
from vehicles.clock import Clock
from vehicles.mavlink.events import Address
from vehicles.mavlink.link import DEFAULT_STREAM_RATES_HZ, LinkConfig
from vehicles.mavlink.transport import Endpoint

FAST_EPOCH_UNIX_S = 1_767_225_600.0  # 2026-01-01T00:00Z: the fast world's clock 0, fixed
GROUNDED_STEP_S = 1.0
LONG_STEP_S = 1.0  # a copter holding its course (see FastCopter)
SETTLED_M = 0.3  # a hold within this of its point, and
SETTLED_M_S = 0.3  # this slow, has settled
STEADY_M_S = 0.05  # a velocity this close to the controller's wanted one is steady
GUST_M_S = 0.5  # (this close, at the airspeed limit in gusts)
NAV_LAND = mavlink.MAV_CMD_NAV_LAND
NAV_DELAY = mavlink.MAV_CMD_NAV_DELAY
ACTIVE = mavlink.MISSION_STATE_ACTIVE
HOLDS_A_POINT = frozenset({CopterMode.GUIDED, CopterMode.LOITER, CopterMode.POSHOLD,
                           CopterMode.BRAKE})  # modes that steer to `fc.target`
# heartbeats every 2 s each way in fast mode (a wire run at 60x beats every 12 s of clock time):
# half the messages on the link were heartbeats. The copter's GCS failsafe (FS_GCS_TIMEOUT 5 s)
# and the link's degraded / lost thresholds below are all longer than two periods.
FAST_HEARTBEAT_PERIOD_S = 2.0
# telemetry rates asked of the copters in fast mode: position every 2 s (a third of the messages
# on the link at 1 Hz; the wire demo at 60x gets one every 6 s of clock time, and the run's safety
# figures come from the simulator's truth every second, not from telemetry), the rest at a tenth
# of the wire defaults (mission progress comes as MISSION_ITEM_REACHED when it happens; a breach
# as STATUSTEXT), heartbeats (mode and arming) as above (asked by SET_MESSAGE_INTERVAL like the
# rest: an autopilot that refuses beats at 1 Hz, which only costs time); attitude and HUD off
FAST_POSITION_HZ = 0.5
FAST_STREAM_RATES_HZ = {
    **{name: hz / 10.0 for name, hz in DEFAULT_STREAM_RATES_HZ.items()},
    "GLOBAL_POSITION_INT": FAST_POSITION_HZ, "ATTITUDE": 0.0, "VFR_HUD": 0.0, "FENCE_STATUS": 0.1,
    "HEARTBEAT": 1.0 / FAST_HEARTBEAT_PERIOD_S,
}
IDLE_STEP_S = 5.0  # a copter disarmed on the ground is moved (and heard) this often


class FastCopter(CopterAutopilot):
    """A copter that takes long physics steps where short ones would compute the same thing.

    The position controller holds each channel (horizontal, vertical) at a constant velocity
    while its target is further than the braking distance: there a step of `LONG_STEP_S` moves
    the copter, and draws the battery, as twenty steps of 50 ms would (to within the gusts'
    variation over a second). So the copter steps long when, in both channels, it is either
    - *steady*: at the controller's wanted velocity (cruise, a climb or a descent at the
      configured rate, a landing's descent) with the target further than the braking distance,
      two long steps and the waypoint radius; or
    - *settled*: within `SETTLED_M` of a point it holds (a paused mission, a delay, BRAKE,
      LOITER) and slower than `SETTLED_M_S`; it is put on the point at rest (the 50 ms
      controller would circle within centimetres of it);
    and no timer runs out within the step (`FlightController.next_change_s`: a delay ending, an
    auto-disarm, the GCS failsafe). Armed on the ground, waiting in a mission's delay, nothing
    moves: long steps too; disarmed, steps of `GROUNDED_STEP_S`. Everything else (take-off and
    touchdown, the accelerations, turns at waypoints, failsafe manoeuvres) runs at the
    autopilot's own 50 ms.
    """

    def advance_to(self, now_s: float) -> None:
        fc = self.fc
        while now_s - fc.now_s > MAX_STEP_S + 1e-9:
            fc.step(min(self._step_s(), now_s - fc.now_s))
        super().advance_to(now_s)

    def _step_s(self) -> float:
        fc = self.fc
        if not fc.armed:
            return GROUNDED_STEP_S if fc.land_complete else MAX_STEP_S
        step_s = min(LONG_STEP_S, fc.next_change_s() - fc.now_s)
        if step_s <= MAX_STEP_S:
            return MAX_STEP_S
        if fc.land_complete:
            return step_s if self._waiting_on_ground() else MAX_STEP_S
        steer = self._steering()
        if steer is None or not self._holds_course(*steer, step_s):
            return MAX_STEP_S
        return step_s

    def _waiting_on_ground(self) -> bool:
        """Armed and landed with nothing to lift it off before a timer runs out."""
        fc = self.fc
        if fc.mode == CopterMode.AUTO:
            mission = fc.mission
            if mission.state != ACTIVE:
                return True
            return mission.items[mission.current_seq].command == NAV_DELAY and mission.arrived
        return fc.target is None or not fc.target.takeoff

    def _steering(self) -> tuple[NavTarget, bool, bool] | None:
        """Where the position controller steers in the next step: (target, whether the copter
        is landing (the vertical channel descends at the landing speed), whether it may be
        settled on the target); None where that is not known beforehand."""
        fc = self.fc
        if not fc.has_position:
            return None
        if fc.mode in HOLDS_A_POINT:
            target = fc.target
            return None if target is None or target.takeoff else (target, False, True)
        if fc.mode != CopterMode.AUTO:
            return None
        mission = fc.mission
        target = mission.steering() if fc.auto_armed else None
        if target is None:
            return None
        if mission.paused:
            return target, False, True
        if target.land:  # over the pad: straight down
            return target, True, True
        command = mission.items[mission.current_seq].command
        if command == NAV_LAND or target.takeoff:  # the approach at its height, a climb
            return target, False, False
        # a waypoint, delay or loiter: settled only once arrived (its hold time is a timer)
        return target, False, mission.arrived

    def _holds_course(self, target: NavTarget, landing: bool, may_settle: bool,
                      step_s: float) -> bool:
        """Whether both channels stay as they are for `step_s` (see the class); a settled
        channel is put on its target at rest. Both settled only where `may_settle`: elsewhere
        that would be an arrival the mission reacts to."""
        fc, body = self.fc, self.fc.body
        limits, radius_m = fc.config.limits, fc.wp_radius_m()
        dn, de = target.north_m - body.north_m, target.east_m - body.east_m
        d_m, v = math.hypot(dn, de), body.ground_speed_m_s
        settle_h = d_m < SETTLED_M and v < SETTLED_M_S
        if not settle_h:
            speed = target.speed_m_s or fc.wp_speed_m_s()
            if d_m <= v * v / (2.0 * limits.horiz_accel_m_s2) + 2.0 * step_s * v + 2.0 * radius_m:
                return False
            want_n, want_e = dn / d_m * speed, de / d_m * speed
            k = _airspeed_capped(want_n, want_e, fc.wind, limits.max_airspeed_m_s)
            # against a headwind at the airspeed limit, the gusts move the speed a little
            # (the accelerations stay within the limit): tracked to within `GUST_M_S`
            if math.hypot(want_n * k - body.vn_m_s, want_e * k - body.ve_m_s) > (
                    STEADY_M_S if k == 1.0 else GUST_M_S):
                return False
        if landing:
            rel_m, low_m = fc.relative_alt_m, fc.params["LAND_ALT_LOW"] / 100.0
            want_vu = -min(fc.land_speed_m_s(), limits.max_descent_m_s)
            final_vu = -min(fc.params["LAND_SPEED"] / 100.0, limits.max_descent_m_s)
            # room to the next change: the final descent's speed, or the ground
            room_m = rel_m - low_m if rel_m > low_m and final_vu != want_vu else body.up_m
            if room_m <= 2.0 * step_s * -want_vu + 1.0 or abs(body.vu_m_s - want_vu) > 0.01:
                return False
            settle_v = False
        else:
            du, vu = target.up_m - body.up_m, body.vu_m_s
            settle_v = abs(du) < SETTLED_M and abs(vu) < SETTLED_M_S
            if not settle_v:
                cap = (min(fc.climb_m_s(), limits.max_climb_m_s) if du > 0
                       else min(fc.descent_m_s(), limits.max_descent_m_s))
                if abs(du) <= vu * vu / (2.0 * limits.vert_accel_m_s2) + 2.0 * step_s * abs(vu) + (
                        2.0 * radius_m + 1.0) or abs(vu - math.copysign(cap, du)) > 0.01:
                    return False
        if settle_h and settle_v and not may_settle:
            return False
        if settle_h:
            body.north_m, body.east_m, body.vn_m_s, body.ve_m_s = (
                target.north_m, target.east_m, 0.0, 0.0)
        if settle_v:
            body.up_m, body.vu_m_s = target.up_m, 0.0
        return True


def _airspeed_capped(vn_m_s: float, ve_m_s: float, wind: Wind, max_airspeed_m_s: float) -> float:
    """The factor (at most 1) the wanted ground velocity is scaled by so that the airspeed
    stays within the limit (`sim.copter.physics.CopterBody.step`), solved in closed form."""
    an, ae = vn_m_s - wind.north_m_s, ve_m_s - wind.east_m_s
    if an * an + ae * ae <= max_airspeed_m_s**2:
        return 1.0
    vv = vn_m_s * vn_m_s + ve_m_s * ve_m_s
    vw = vn_m_s * wind.north_m_s + ve_m_s * wind.east_m_s
    ww = wind.north_m_s**2 + wind.east_m_s**2
    disc = vw * vw - vv * (ww - max_airspeed_m_s**2)
    return max(0.0, (vw + math.sqrt(max(disc, 0.0))) / vv)


def _is_heartbeat(data: bytes) -> bool:
    """Whether a datagram is one MAVLink HEARTBEAT (message id 0), v2 or v1 framing."""
    if len(data) >= 10 and data[0] == 0xFD:
        return data[7] == data[8] == data[9] == 0
    return len(data) >= 6 and data[0] == 0xFE and data[5] == 0


@dataclass(slots=True)
class MemoryCopter:
    """One copter on the in-memory link: its autopilot, address and link faults."""

    sysid: int
    autopilot: CopterAutopilot
    address: Address
    faults: LinkFaults
    cut: LinkCut
    held_heartbeat: bytes | None = None  # the ground station's latest, for an idle copter


class MemoryEndpoint(Endpoint):
    """The service's MAVLink endpoint, with copters in memory instead of behind a UDP socket.

    A datagram for a copter is handed over at once and the copter's answer comes straight back
    (no link latency), so a mission upload's request / item exchange costs no simulated time.
    Copters fly on the clock, moved every `step_s` (their physics steps inside that, see
    `FastCopter`); what they transmit in between (telemetry, MISSION_ITEM_REACHED) reaches the
    core in one batch per step, at most `step_s` late. The core's own timers (heartbeats every
    2 s, command and mission retries, link-state thresholds, waits running out) are looked at
    every `tick_s`: once a second, as often as the copters are heard (at 0.5 s the 2 h report
    was byte-identical, for twice the ticks).
    """

    def __init__(self, clock: Clock, config: LinkConfig, tick_s: float = 1.0,
                 step_s: float = 1.0) -> None:
        super().__init__(clock, config, tick_s=tick_s, scale_timeouts=False)
        self.step_s = step_s
        self.copters: dict[Address, MemoryCopter] = {}
        self.undeliverable = 0
        self._stepper: asyncio.Task[None] | None = None
        self._answering: list[MemoryCopter] = []  # copters that were just given a datagram
        self._pumping = False

    def attach(self, autopilot: CopterAutopilot) -> MemoryCopter:
        """Put a copter on the link at an address of its own (one per system id)."""
        address: Address = ("memory", 20_000 + autopilot.sysid)
        if address in self.copters:
            raise ValueError(f"system id {autopilot.sysid} is already on the link")
        cut = LinkCut()
        copter = MemoryCopter(autopilot.sysid, autopilot, address, LinkFaults(cut), cut)
        self.copters[address] = copter
        return copter

    def start(self) -> None:
        """Start the core's tick loop and the copters' stepping (on the clock)."""
        self._start_ticker()
        self._stepper = asyncio.get_running_loop().create_task(self._step_loop())

    def step(self) -> None:
        """Every copter flies up to now and is heard; one disarmed on the ground only every
        `IDLE_STEP_S` (its heartbeats then come in bursts: the link's timeouts are longer)."""
        now_s = self.clock.now_s()
        for copter in self.copters.values():
            fc = copter.autopilot.fc
            if fc.armed or not fc.land_complete or now_s - fc.now_s >= IDLE_STEP_S - 1e-9:
                copter.autopilot.advance_to(now_s)
                self._hand_held(copter)
                self._hear(copter)
        self._pump()

    def _hand_held(self, copter: MemoryCopter) -> None:
        if copter.held_heartbeat is not None:
            data, copter.held_heartbeat = copter.held_heartbeat, None
            copter.autopilot.receive_datagram(data, self.clock.now_s())

    def _hear(self, copter: MemoryCopter) -> None:
        """What the copter sent since it was last heard, as one datagram (MAVLink packets are
        whole within a datagram; an autopilot may put several in one)."""
        packets = [p for p in copter.autopilot.packets_to_send() if copter.faults.passes("down", p)]
        if packets:
            self._receive(packets[0] if len(packets) == 1 else b"".join(packets), copter.address)

    def _pump(self) -> None:
        """Hear the copters that answered what the core sent, until nobody has more to say."""
        if self._pumping:
            return
        self._pumping = True
        try:
            for _ in range(10_000):  # a guard: an exchange that never settles waits a step
                if not self._answering:
                    break
                self._hear(self._answering.pop(0))
        finally:
            self._pumping = False

    async def _step_loop(self) -> None:
        while True:
            self.step()
            await self.clock.sleep(self.step_s)

    def _send(self, data: bytes, address: Address) -> None:
        copter = self.copters.get(address)
        if copter is None:
            self.undeliverable += 1
        elif copter.faults.passes("up", data):
            fc = copter.autopilot.fc
            if not fc.armed and fc.land_complete and _is_heartbeat(data):
                # the ground station's 1 Hz heartbeat to an idle copter needs no answer: it is
                # handed over (the latest one) when the copter is next moved
                copter.held_heartbeat = data
                return
            self._hand_held(copter)
            copter.autopilot.receive_datagram(data, self.clock.now_s())
            if copter not in self._answering:
                self._answering.append(copter)
            self._pump()

    async def close(self) -> None:
        if self._stepper is not None:
            self._stepper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._stepper
            self._stepper = None
        await super().close()


@dataclass
class MemoryDroneWorld(DroneWorld):
    """`DroneWorld` (ground crew, landings, separation, tracks, airspace truth) over memory."""

    link: MemoryEndpoint | None = None
    by_id: dict[str, MemoryCopter] = field(default_factory=dict)
    faults: DroneFaultSchedule | None = None

    async def start(self) -> None:
        first = next(s for s in self.service.config.sites if s.kind == "warehouse")
        self.service._air_leg_s(first.id, first.id)  # build the air matrix before any link runs
        config = dataclasses.replace(
            LinkConfig(),
            unix_time_at_zero_s=FAST_EPOCH_UNIX_S - self.clock.now_s(),
            stream_rates_hz=FAST_STREAM_RATES_HZ,
            heartbeat_period_s=FAST_HEARTBEAT_PERIOD_S,
            degraded_after_s=2.0 * IDLE_STEP_S,
            lost_after_s=3.0 * IDLE_STEP_S,
        )
        self.link = self.endpoint = MemoryEndpoint(self.clock, config)
        self.ops = DroneOperations(self.service, self.link, plan_in_thread=False)
        self.service.drone_link = self.ops
        self.ops.start()
        for vehicle_id, sysid, copter_config in self.copter_configs():
            self.by_id[vehicle_id] = self.link.attach(self._copter(sysid, copter_config))
            self.copters[vehicle_id] = self.by_id[vehicle_id]
            self.new_crew(vehicle_id)
        self.faults = DroneFaultSchedule(
            self.scenario.faults,
            {vid: FaultCopter(c.autopilot, c.cut) for vid, c in self.by_id.items()},
            self.scenario.wind,
            start_s=self.clock.now_s(),
        )
        self.faults.apply(self.clock.now_s())
        self.link.start()

    def tick(self, record: RunRecord) -> None:
        if self.faults is not None:
            self.faults.apply(self.clock.now_s())
        super().tick(record)

    async def restart_service(self, service: FleetService) -> None:
        """The backend restarted: its drone operations go with the old process; the new
        process (not started yet) gets its own on the same MAVLink link. The copters never
        noticed: they fly on under their own autopilots."""
        if self.ops is not None:
            await self.ops.stop()
        self.service = service
        if self.link is None:
            return
        self.ops = DroneOperations(service, self.link, plan_in_thread=False)
        service.drone_link = self.ops

    def _copter(self, sysid: int, config: CopterConfig) -> CopterAutopilot:
        return FastCopter(
            config,
            sysid,
            self.clock.now_s(),
            stream_phase=(sysid * 0.6180339887) % 1.0,
            unix_time_at_zero_s=FAST_EPOCH_UNIX_S - self.clock.now_s(),
        )

    async def stop(self) -> None:
        if self.ops is not None:
            await self.ops.stop()
        if self.link is not None:
            await self.link.close()
