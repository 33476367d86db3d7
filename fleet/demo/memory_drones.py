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

from fleet.demo.drone_faults import DroneFaultSchedule, FaultCopter
from fleet.demo.drone_world import DroneWorld
from fleet.drones import DroneOperations
from fleet.service import FleetService
from sim.copter.autopilot import MAX_STEP_S, CopterAutopilot
from sim.copter.channel import LinkCut, LinkFaults
from sim.copter.flight import CopterConfig
from sim.copter.modes import CopterMode
from sim.scenario.record import RunRecord
from vehicles.clock import Clock
from vehicles.mavlink.events import Address
from vehicles.mavlink.link import DEFAULT_STREAM_RATES_HZ, LinkConfig
from vehicles.mavlink.transport import Endpoint

FAST_EPOCH_UNIX_S = 1_767_225_600.0  # 2026-01-01T00:00Z: the fast world's clock 0, fixed
GROUNDED_STEP_S = 1.0
CRUISE_STEP_S = 1.0  # a cruising copter (see FastCopter)
NAV_LAND = 21  # MAV_CMD_NAV_LAND
# telemetry rates asked of the copters in fast mode: position once a second (what the supervisor
# reads), the rest at a tenth of the wire defaults (heartbeats carry mode and arming at 1 Hz, and
# mission progress comes as MISSION_ITEM_REACHED when it happens; a breach as STATUSTEXT);
# attitude and HUD off
FAST_STREAM_RATES_HZ = {
    **{name: hz / 10.0 for name, hz in DEFAULT_STREAM_RATES_HZ.items()},
    "GLOBAL_POSITION_INT": 1.0, "ATTITUDE": 0.0, "VFR_HUD": 0.0, "FENCE_STATUS": 0.1,
}
IDLE_STEP_S = 5.0  # a copter disarmed on the ground is moved (and heard) this often


class FastCopter(CopterAutopilot):
    """A copter that takes long physics steps where short ones would compute the same thing.

    - Disarmed and landed, the copter does not move; the battery draws avionics power (linear
      in time), the failsafes and pre-arm checks look at that state: steps of up to
      `GROUNDED_STEP_S`.
    - Cruising in AUTO, level, at speed, with the waypoint further than the braking distance
      plus two long steps: the velocity is already the wanted one and the path is a straight
      line, so steps of `CRUISE_STEP_S` move the copter (and draw the battery) as the 50 ms
      steps would, to within the wind gusts' variation over one step.
    Everything else (take-off, landing, turns at waypoints, hover, failsafe manoeuvres) runs
    at the autopilot's own 50 ms.
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
        if fc.land_complete or fc.mode != CopterMode.AUTO:
            return MAX_STEP_S
        mission = fc.mission
        target = mission._target  # read only: where the mission steers now
        if target is None or target.takeoff or target.land or mission.paused:
            return MAX_STEP_S
        body = fc.body
        approach = mission.items[mission.current_seq].command == NAV_LAND  # at cruise height
        hold_up_m = body.up_m if approach else target.up_m
        if abs(body.vu_m_s) >= 0.2 or abs(hold_up_m - body.up_m) >= 1.0:
            return MAX_STEP_S
        v = body.ground_speed_m_s
        ahead_m = math.hypot(target.north_m - body.north_m, target.east_m - body.east_m)
        braking_m = v * v / (2.0 * fc.config.limits.horiz_accel_m_s2)
        if ahead_m <= braking_m + 2.0 * CRUISE_STEP_S * v + 2.0 * fc.wp_radius_m():
            return MAX_STEP_S
        # level: the altitude hold has settled within a metre; pin it, so that a long step
        # cannot set the vertical controller (tuned for 50 ms) oscillating
        body.up_m, body.vu_m_s = hold_up_m, 0.0
        return CRUISE_STEP_S


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
    core in one batch per step, at most `step_s` late.
    """

    def __init__(self, clock: Clock, config: LinkConfig, tick_s: float = 0.5,
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
        for packet in copter.autopilot.packets_to_send():
            if copter.faults.passes("down", packet):
                self._receive(packet, copter.address)

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
