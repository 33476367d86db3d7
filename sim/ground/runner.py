"""Many simulated ground vehicles in one process, each talking to `fleet` through a link.

The runner is the thin edge between the sans-I/O vehicle cores and the world. On every tick of
the injected `Clock` it steps each vehicle to the clock's time, applies the commands its link
received (answering each with an error text or None), hands the vehicle's events to the link
(which must deliver them reliably: acknowledged, resent after a reconnect) and, at the telemetry
period, its latest telemetry (latest-wins, may be dropped while disconnected).

A `VehicleLink` is what the runner needs from a connection; `sim.ground.wire` adapts the ground
protocol's vehicle client to it. Nothing here knows the wire format.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from sim.ground.plan import Plan, PlanError, StalePlanError, Telemetry, VehicleEvent
from sim.ground.vehicle import GroundVehicle
from vehicles.clock import Clock


class CommandKind(StrEnum):
    """The backend's commands to a ground vehicle."""

    PLAN = "plan"
    HOLD = "hold"
    RESUME = "resume"
    RETURN_TO_DEPOT = "return_to_depot"
    CANCEL = "cancel"


@dataclass(frozen=True, slots=True)
class Command:
    """A command as the simulator sees it; `ref` is the link's own handle for the reply."""

    kind: CommandKind
    plan: Plan | None = None
    depot_id: str | None = None
    ref: object = None


class RefusalCode(StrEnum):
    """Why a command was refused (the same words as the protocol's error codes)."""

    STALE_PLAN = "stale_plan"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class Refusal:
    code: RefusalCode
    message: str


def apply_command(vehicle: GroundVehicle, command: Command) -> Refusal | None:
    """Carry out `command`; None when done, else why it was refused (the vehicle unchanged)."""
    try:
        if command.kind is CommandKind.PLAN:
            if command.plan is None:
                return Refusal(RefusalCode.REFUSED, "a plan command needs a plan")
            vehicle.apply_plan(command.plan)
        elif command.kind is CommandKind.HOLD:
            vehicle.hold()
        elif command.kind is CommandKind.RESUME:
            vehicle.resume()
        elif command.kind is CommandKind.RETURN_TO_DEPOT:
            vehicle.return_to_depot(command.depot_id)
        else:
            vehicle.cancel()
    except StalePlanError as exc:
        return Refusal(RefusalCode.STALE_PLAN, str(exc))
    except PlanError as exc:
        return Refusal(RefusalCode.REFUSED, str(exc))
    return None


class VehicleLink(Protocol):
    """One vehicle's connection as the runner uses it; every method must return at once."""

    def send_telemetry(self, telemetry: Telemetry) -> None:
        """Offer the latest telemetry (may replace an unsent older one)."""
        ...

    def send_event(self, event: VehicleEvent) -> None:
        """Queue an event for reliable delivery."""
        ...

    def take_commands(self) -> list[Command]:
        """Commands received since the last call, oldest first."""
        ...

    def reply(self, command: Command, refusal: Refusal | None) -> None:
        """Answer a command: None accepted, else why it was refused."""
        ...


@dataclass(slots=True)
class _Entry:
    vehicle: GroundVehicle
    link: VehicleLink
    next_telemetry_s: float = -math.inf
    events_sent: int = 0
    commands: int = 0
    refused: list[Refusal] = field(default_factory=list)


class GroundRunner:
    """Steps many vehicles under one clock and wires them to their links."""

    def __init__(
        self, clock: Clock, *, step_s: float = 1.0, telemetry_period_s: float = 1.0
    ) -> None:
        for name, v in (("step_s", step_s), ("telemetry_period_s", telemetry_period_s)):
            if not (math.isfinite(v) and v > 0.0):
                raise ValueError(f"{name} must be positive, got {v!r}")
        self.clock = clock
        self.step_s = step_s
        self.telemetry_period_s = telemetry_period_s
        self._entries: dict[str, _Entry] = {}
        #: (vehicle id, error) for each failed step; the vehicle is put in fault, others go on.
        self.errors: list[tuple[str, str]] = []

    def add(self, vehicle: GroundVehicle, link: VehicleLink) -> None:
        """Run `vehicle` through `link`; its time line is aligned to the clock's now."""
        if vehicle.vehicle_id in self._entries:
            raise ValueError(f"vehicle {vehicle.vehicle_id!r} is already running")
        vehicle.t_s = self.clock.now_s()
        self._entries[vehicle.vehicle_id] = _Entry(vehicle, link)

    @property
    def vehicles(self) -> Sequence[GroundVehicle]:
        return [e.vehicle for e in self._entries.values()]

    def vehicle(self, vehicle_id: str) -> GroundVehicle:
        return self._entries[vehicle_id].vehicle

    def refused(self, vehicle_id: str) -> list[Refusal]:
        """The reasons commands to this vehicle were refused, oldest first."""
        return list(self._entries[vehicle_id].refused)

    def tick(self) -> None:
        """Bring every vehicle to the clock's now; exchange commands, events and telemetry."""
        now_s = self.clock.now_s()
        for entry in self._entries.values():
            vehicle, link = entry.vehicle, entry.link
            if now_s > vehicle.t_s:
                try:
                    vehicle.step(now_s - vehicle.t_s)
                except Exception as exc:  # one vehicle's bug must not stop the others
                    self.errors.append((vehicle.vehicle_id, f"{type(exc).__name__}: {exc}"))
                    vehicle.t_s = now_s
                    vehicle.inject_fault("simulator_error", str(exc)[:200])
            for command in link.take_commands():  # they arrived by now: they act now
                entry.commands += 1
                error = apply_command(vehicle, command)
                if error is not None:
                    entry.refused.append(error)
                link.reply(command, error)
            for event in vehicle.events_out():
                link.send_event(event)
                entry.events_sent += 1
            if now_s >= entry.next_telemetry_s:
                link.send_telemetry(vehicle.telemetry())
                entry.next_telemetry_s = now_s + self.telemetry_period_s

    async def run(self, duration_s: float | None = None) -> None:
        """Tick every `step_s` of clock time, for `duration_s` (None: until cancelled)."""
        end_s = math.inf if duration_s is None else self.clock.now_s() + duration_s
        while True:
            self.tick()
            left_s = end_s - self.clock.now_s()
            if left_s <= 0.0:
                return
            await self.clock.sleep(min(self.step_s, left_s))
            await asyncio.sleep(0)  # let the links' tasks run even on a virtual clock
