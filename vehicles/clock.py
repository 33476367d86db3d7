"""Injected time: one `Clock` interface for production, the scaled demo and the virtual simulator.

Sans-I/O cores never read a clock: they are handed `now_s` (seconds on the clock's own time line)
with every input. Only the thin asyncio edges hold a `Clock`, so the same code runs on the wall
clock in production, on a clock sped up by `--speed` in the demo, and on a `VirtualClock` that
jumps from deadline to deadline in fast mode and in tests.

All times are float seconds on a monotonic time line whose origin is the clock's own (not the
Unix epoch): compare them, subtract them, never format them as dates.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """What the asyncio edges need from time."""

    def now_s(self) -> float:
        """The current time in seconds on this clock's time line."""
        ...

    async def sleep(self, dt_s: float) -> None:
        """Suspend the calling task for `dt_s` seconds of this clock's time."""
        ...


class SystemClock:
    """The wall clock (monotonic), for production."""

    def now_s(self) -> float:
        return time.monotonic()

    async def sleep(self, dt_s: float) -> None:
        await asyncio.sleep(max(0.0, dt_s))


class WallClock:
    """Wall-clock time in Unix seconds, for the service's own time line in production.

    Deadlines and promised windows an operator sees are then ordinary Unix times. (It can jump
    if the host's clock is set; timeouts at the edges use `SystemClock`.)"""

    def now_s(self) -> float:
        return time.time()

    async def sleep(self, dt_s: float) -> None:
        await asyncio.sleep(max(0.0, dt_s))


class ScaledClock:
    """Wall-clock time sped up by `speed` (the demo's `--speed 60` runs an hour in a minute).

    The time line starts at `start_s` when the clock is made.
    """

    def __init__(self, speed: float, start_s: float = 0.0) -> None:
        if not speed > 0.0:
            raise ValueError(f"speed must be positive, got {speed!r}")
        self.speed = speed
        self._start_s = start_s
        self._wall0 = time.monotonic()

    def now_s(self) -> float:
        return self._start_s + (time.monotonic() - self._wall0) * self.speed

    async def sleep(self, dt_s: float) -> None:
        await asyncio.sleep(max(0.0, dt_s) / self.speed)


class VirtualClock:
    """A clock that only moves when told to: `advance(dt_s)` or `advance_to(t_s)`.

    Sleepers are woken in deadline order (those due at the same time together, in the order they
    went to sleep), and the event loop is given a chance to run the woken tasks before time moves
    on, so a simulation stepped by this clock is deterministic.
    """

    def __init__(self, start_s: float = 0.0) -> None:
        self._now_s = start_s
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def now_s(self) -> float:
        return self._now_s

    async def sleep(self, dt_s: float) -> None:
        if dt_s <= 0.0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now_s + dt_s, next(self._order), future))
        await future

    def next_deadline_s(self) -> float | None:
        """The earliest time a sleeper is waiting for, if any."""
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)  # cancelled sleepers
        return self._sleepers[0][0] if self._sleepers else None

    async def advance_to(self, t_s: float) -> None:
        """Move time forward to `t_s`, waking every sleeper due on the way, in order."""
        if t_s < self._now_s:
            raise ValueError(f"time cannot go back: now {self._now_s}, asked {t_s}")
        for _ in range(3):  # tasks created or woken since the last advance start now
            await asyncio.sleep(0)
        while (deadline := self.next_deadline_s()) is not None and deadline <= t_s:
            self._now_s = max(self._now_s, deadline)
            while self._sleepers and self._sleepers[0][0] == deadline:  # all due then, in order
                future = heapq.heappop(self._sleepers)[2]
                if not future.done():
                    future.set_result(None)
            for _ in range(3):  # let the woken tasks and what they wake run
                await asyncio.sleep(0)
        self._now_s = t_s

    async def advance(self, dt_s: float) -> None:
        """Move time forward by `dt_s` seconds."""
        await self.advance_to(self._now_s + dt_s)
