"""Simulated ground vehicles on the wire: the ground protocol's vehicle client as a runner link.

`ProtocolLink` adapts one `vehicles.ground.client.GroundVehicleClient` (the protocol's asyncio
vehicle client: hello, reconnect with back-off, events kept until acknowledged and resent) to the
runner's `VehicleLink`, translating the simulator's own types to the protocol's messages and
back. `WireFleet` runs many simulated vehicles in one process, each with its own client, all
stepped by one `GroundRunner` under the injected clock.

Times on the wire are Unix seconds: a vehicle's `t_s` (clock time) plus `epoch_s`, the Unix time
of the clock's zero. Give `epoch_s` for reproducible frames; by default it is read once from the
wall clock when the fleet is made (the only wall-clock read, at this edge).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from typing import Protocol

from sim.ground.bus import Bus
from sim.ground.mobility import PersonalMobility
from sim.ground.plan import Plan, PlanError, PlanStop, RiderId, Telemetry, VehicleEvent
from sim.ground.runner import Command, CommandKind, GroundRunner, Refusal, RefusalCode
from sim.ground.vehicle import GroundVehicle
from vehicles.clock import Clock
from vehicles.ground import messages as m
from vehicles.ground.client import Backoff, GroundVehicleClient

_MSG_MAX = 200  # characters of a refusal reason put on the wire


def wire_telemetry(t: Telemetry, epoch_s: float) -> m.Telemetry:
    """The protocol's telemetry frame for a simulator snapshot (`seq` is set by the session)."""
    state = m.VehicleState.CHARGING if t.charging else m.VehicleState(t.state.value)
    return m.Telemetry(
        seq=0,
        t_s=epoch_s + t.t_s,
        lat_deg=t.lat_deg,
        lon_deg=t.lon_deg,
        heading_deg=t.heading_deg % 360.0,
        speed_m_s=t.speed_m_s,
        battery_soc=min(1.0, max(0.0, t.battery_soc)),
        occupancy=t.occupancy,
        doors_open=t.doors_open,
        state=state,
        plan_version=t.plan_version,
        capacity=t.capacity,
        next_stop_id=t.next_stop_id,
        odometer_m=t.odometer_m,
    )


def wire_event(e: VehicleEvent, epoch_s: float) -> m.Event:
    """The protocol's event frame for a simulator event (`seq` is set by the session)."""
    return m.Event(
        seq=0,
        t_s=epoch_s + e.t_s,
        kind=m.EventKind(e.kind.value),
        plan_version=e.plan_version,
        stop_id=e.stop_id,
        rider_id=e.rider_id,
        code=e.code,
        detail=e.detail[:500] or None,
        lat_deg=e.lat_deg,
        lon_deg=e.lon_deg,
    )


def sim_command(command: m.Command) -> Command:
    """The simulator's command for a protocol command; `PlanError` if the plan is malformed."""
    if isinstance(command, m.Plan):
        stops = tuple(
            PlanStop(
                s.stop_id,
                s.lat_deg,
                s.lon_deg,
                tuple(RiderId(r) for r in s.pickups),
                tuple(RiderId(r) for r in s.dropoffs),
                s.dwell_s,
            )
            for s in command.stops
        )
        return Command(CommandKind.PLAN, Plan(command.plan_version, stops), ref=command.seq)
    if isinstance(command, m.Hold):
        return Command(CommandKind.HOLD, ref=command.seq)
    if isinstance(command, m.Resume):
        return Command(CommandKind.RESUME, ref=command.seq)
    if isinstance(command, m.ReturnToDepot):
        return Command(CommandKind.RETURN_TO_DEPOT, depot_id=command.depot_id, ref=command.seq)
    return Command(CommandKind.CANCEL, ref=command.seq)


def vehicle_kind(vehicle: GroundVehicle) -> str:
    """The `kind` a vehicle announces in its hello."""
    if isinstance(vehicle, Bus):
        return "bus"
    if isinstance(vehicle, PersonalMobility):
        return "personal_mobility"
    return "ground_vehicle"


class ProtocolEndpoint(Protocol):
    """The vehicle side of the protocol as the link uses it: the asyncio client fits as it is;
    `sim.ground.fast` wraps a bare `VehicleSession` for in-memory fast mode."""

    def send_telemetry(self, telemetry: m.Telemetry) -> int: ...

    def send_event(self, event: m.Event) -> int: ...

    def take_commands(self) -> list[m.Command]: ...

    def reply(self, seq: int, code: m.ErrorCode | None = None, msg: str | None = None) -> None: ...


class ProtocolLink:
    """The runner's `VehicleLink` over the protocol's vehicle side (client or session)."""

    def __init__(self, client: ProtocolEndpoint, epoch_s: float) -> None:
        self.client = client
        self.epoch_s = epoch_s
        self.events_sent = 0

    def send_telemetry(self, telemetry: Telemetry) -> None:
        self.client.send_telemetry(wire_telemetry(telemetry, self.epoch_s))

    def send_event(self, event: VehicleEvent) -> None:
        self.client.send_event(wire_event(event, self.epoch_s))
        self.events_sent += 1

    def take_commands(self) -> list[Command]:
        commands: list[Command] = []
        for command in self.client.take_commands():
            try:
                commands.append(sim_command(command))
            except PlanError as exc:  # e.g. a rider picked up twice: refused before the core
                self.client.reply(command.seq, m.ErrorCode.REFUSED, str(exc)[:_MSG_MAX])
        return commands

    def reply(self, command: Command, refusal: Refusal | None) -> None:
        assert isinstance(command.ref, int)
        if refusal is None:
            self.client.reply(command.ref)
            return
        code = (
            m.ErrorCode.STALE_PLAN
            if refusal.code is RefusalCode.STALE_PLAN
            else m.ErrorCode.REFUSED
        )
        self.client.reply(command.ref, code, refusal.message[:_MSG_MAX])


class WireFleet:
    """Simulated vehicles connected to a fleet server, one protocol client each."""

    def __init__(
        self,
        url: str,
        clock: Clock,
        tokens: Mapping[str, str],
        *,
        epoch_s: float | None = None,
        step_s: float = 1.0,
        telemetry_period_s: float = 1.0,
        backoff: Backoff | None = None,
        ack_timeout_s: float = 5.0,
        client_tick_s: float = 1.0,
        seed: int = 0,
    ) -> None:
        self.url = url
        self.clock = clock
        self.tokens = dict(tokens)
        self.epoch_s = time.time() - clock.now_s() if epoch_s is None else epoch_s
        self.runner = GroundRunner(clock, step_s=step_s, telemetry_period_s=telemetry_period_s)
        self.backoff = backoff
        self.ack_timeout_s = ack_timeout_s
        self.client_tick_s = client_tick_s  # how often each client checks for overdue acks
        self.seed = seed
        self.clients: dict[str, GroundVehicleClient] = {}
        self.links: dict[str, ProtocolLink] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._runner_task: asyncio.Task[None] | None = None

    def add(self, vehicle: GroundVehicle) -> GroundVehicleClient:
        """Connect `vehicle` (its id must have a token) when the fleet starts."""
        vid = vehicle.vehicle_id
        if vid not in self.tokens:
            raise KeyError(f"no token for vehicle {vid!r}")
        kind = vehicle_kind(vehicle)
        client = GroundVehicleClient(
            self.url,
            m.VehicleId(vid),
            self.tokens[vid],
            clock=self.clock,
            kind=kind,
            sw="kaiteki-sim",
            backoff=self.backoff,
            ack_timeout_s=self.ack_timeout_s,
            tick_period_s=self.client_tick_s,
            seed=self.seed + len(self.clients),
        )
        link = ProtocolLink(client, self.epoch_s)
        self.runner.add(vehicle, link)
        self.clients[vid], self.links[vid] = client, link
        return client

    async def start(self) -> None:
        """Start every client's connection loop and the runner."""
        self._tasks = [asyncio.create_task(c.run()) for c in self.clients.values()]
        self._runner_task = asyncio.create_task(self.runner.run())

    async def wait_connected(self) -> None:
        """Until every vehicle has an open session."""
        await asyncio.gather(*(c.wait_open() for c in self.clients.values()))

    def unacked_events(self) -> int:
        return sum(c.unacked_events for c in self.clients.values())

    async def stop_vehicles(self) -> None:
        """Stop stepping the vehicles; the connections stay up (to flush what is unacked)."""
        runner = self._runner_task
        self._runner_task = None
        if runner is not None:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner

    async def stop(self) -> None:
        """Stop the runner and close every connection."""
        await self.stop_vehicles()
        await asyncio.gather(*(c.close() for c in self.clients.values()))
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
