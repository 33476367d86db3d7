"""Many simulated copters in one process, each with its own system id and socket.

`CopterSwarm` steps every copter by `step_s` of the injected `Clock`'s time (a `ScaledClock`
for a sped-up run against a real ground station, a `VirtualClock` in deterministic tests) and
hands their packets to their transports. Copters booted together would otherwise transmit in
lockstep; each gets its own telemetry phase (golden-ratio spread by system id), as real
copters, booted at different times, have. Faults are per copter (`LinkFaults`), so one link can
be cut while the others fly on.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

from sim.copter.autopilot import CopterAutopilot
from sim.copter.channel import LinkCut, LinkFaults
from sim.copter.flight import CopterConfig
from sim.copter.transport import CopterTcpServer, CopterUdpLink
from vehicles.clock import Clock


@dataclass(slots=True)
class SwarmCopter:
    """One copter of the swarm: its autopilot, transport, faults and port."""

    sysid: int
    autopilot: CopterAutopilot
    transport: CopterUdpLink | CopterTcpServer
    faults: LinkFaults
    cut: LinkCut
    port: int


class CopterSwarm:
    """Runs copters under one clock; `run()` until `close()`."""

    def __init__(self, clock: Clock, step_s: float = 0.05, slices: int = 1) -> None:
        if not step_s > 0:
            raise ValueError(f"step_s must be positive, got {step_s!r}")
        if slices < 1:
            raise ValueError(f"slices must be at least 1, got {slices!r}")
        self.clock = clock
        self.step_s = step_s
        self.slices = slices
        self._slice = 0
        self.copters: dict[int, SwarmCopter] = {}
        self._task: asyncio.Task[None] | None = None
        self.steps = 0
        self.failures: list[tuple[int, float, str]] = []  # (sysid, t_s, error): must stay empty

    def _new(self, sysid: int, config: CopterConfig | None,
             **autopilot_kwargs: object) -> tuple[CopterAutopilot, LinkFaults, LinkCut]:
        if sysid in self.copters:
            raise ValueError(f"system id {sysid} is already in the swarm")
        autopilot_kwargs.setdefault("stream_phase", (sysid * 0.6180339887) % 1.0)
        # the edge may read the wall clock once: signature timestamps need Unix time
        autopilot_kwargs.setdefault("unix_time_at_zero_s", time.time() - self.clock.now_s())
        autopilot = CopterAutopilot(config, sysid, self.clock.now_s(),
                                    **autopilot_kwargs)  # type: ignore[arg-type]
        cut = LinkCut()
        return autopilot, LinkFaults(cut), cut

    async def add_udp(self, sysid: int, gcs_addr: tuple[str, int],
                      config: CopterConfig | None = None, local_port: int = 0,
                      **autopilot_kwargs: object) -> SwarmCopter:
        """A copter sending to the ground station at `gcs_addr` from its own UDP port."""
        autopilot, faults, cut = self._new(sysid, config, **autopilot_kwargs)
        link = CopterUdpLink(autopilot, gcs_addr, self.clock.now_s, faults)
        port = await link.open(local_port)
        self.copters[sysid] = SwarmCopter(sysid, autopilot, link, faults, cut, port)
        return self.copters[sysid]

    async def add_tcp(self, sysid: int, port: int = 0, config: CopterConfig | None = None,
                      **autopilot_kwargs: object) -> SwarmCopter:
        """A copter listening for ground stations on TCP `port` (0: any free port)."""
        autopilot, faults, cut = self._new(sysid, config, **autopilot_kwargs)
        server = CopterTcpServer(autopilot, self.clock.now_s, faults)
        bound = await server.open(port)
        self.copters[sysid] = SwarmCopter(sysid, autopilot, server, faults, cut, bound)
        return self.copters[sysid]

    def step(self, part: int = 0, parts: int = 1) -> None:
        """Advance copters to the clock's now and send what they have to say.

        With `parts` > 1 only every `parts`-th copter (from `part`) moves: real copters are
        not synchronised, and a ground station should not get every copter's packets in one
        burst.
        """
        now_s = self.clock.now_s()
        for i, copter in enumerate(self.copters.values()):
            if i % parts != part:
                continue
            try:
                copter.autopilot.advance_to(now_s)
                copter.transport.deliver()
            except Exception as exc:  # a simulator bug: keep the other copters flying
                self.failures.append((copter.sysid, now_s, repr(exc)))
        self.steps += 1

    async def run(self) -> None:
        """Step on a fixed cadence of the clock (a slow step shortens the next sleep).

        Each `step_s` is split into `slices` ticks, each moving one slice of the copters.
        """
        tick_s = self.step_s / self.slices
        next_s = self.clock.now_s()
        while True:
            self.step(self._slice, self.slices)
            self._slice = (self._slice + 1) % self.slices
            next_s += tick_s
            now_s = self.clock.now_s()
            if next_s < now_s - 10 * tick_s:
                next_s = now_s  # far behind (overloaded): do not try to catch up in a burst
            await self.clock.sleep(max(0.0, next_s - now_s))

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for copter in self.copters.values():
            if isinstance(copter.transport, CopterTcpServer):
                await copter.transport.close()
            else:
                copter.transport.close()
