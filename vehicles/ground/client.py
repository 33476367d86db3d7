"""A thin asyncio vehicle client of the ground protocol: a `VehicleSession` over `websockets`.

`run()` connects, says hello, and on any loss reconnects with exponential back-off and jitter
(the wait restarts from `Backoff.initial_s` after every `welcome`; after an authentication or
version refusal, 4001/4002, it waits `Backoff.max_s`). Everything else is the session's: the
application methods (`send_telemetry`, `send_event`, `take_commands`, `reply`) return at once,
so a simulator can call them from a tick, and one writer task sends what the session queued.

Time (back-off waits, the event ack timeout) runs on the injected `Clock`.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from dataclasses import dataclass

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException
from websockets.typing import Subprotocol

from vehicles.clock import Clock, SystemClock
from vehicles.ground import messages as m
from vehicles.ground.vehicle_session import VehicleSession

_NO_FAST_RETRY = frozenset({m.CloseCode.AUTH_FAILED, m.CloseCode.UNSUPPORTED_VERSION})


@dataclass(frozen=True, slots=True)
class Backoff:
    """Reconnect waits: `initial_s`, times `factor` per failure, at most `max_s`, +-`jitter`."""

    initial_s: float = 0.5
    max_s: float = 30.0
    factor: float = 2.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if not (0.0 < self.initial_s <= self.max_s and self.factor >= 1.0):
            raise ValueError("need 0 < initial_s <= max_s and factor >= 1")
        if not 0.0 <= self.jitter < 1.0:
            raise ValueError("jitter must be within 0..1")

    def delay_s(self, failures: int, close_code: int | None, rng: random.Random) -> float:
        """The wait before reconnecting after `failures` failures in a row (>= 1)."""
        if close_code in _NO_FAST_RETRY:
            base_s = self.max_s
        else:
            base_s = min(self.max_s, self.initial_s * self.factor ** min(failures - 1, 60))
        return base_s * (1.0 + rng.uniform(-self.jitter, self.jitter))


class GroundVehicleClient:
    """One vehicle's connection to the fleet server (see the module docstring)."""

    def __init__(
        self,
        url: str,
        vehicle_id: m.VehicleId,
        token: str,
        *,
        clock: Clock | None = None,
        boot_id: str | None = None,
        kind: str | None = None,
        sw: str | None = None,
        backoff: Backoff | None = None,
        ack_timeout_s: float = 5.0,
        tick_period_s: float = 1.0,
        open_timeout_s: float = 10.0,
        seed: int | None = None,
    ) -> None:
        self.url = url
        self.clock: Clock = clock or SystemClock()
        self.backoff = backoff or Backoff()
        self.tick_period_s = tick_period_s
        self.open_timeout_s = open_timeout_s
        self.session = VehicleSession(
            vehicle_id,
            token,
            boot_id=boot_id or uuid.uuid4().hex[:16],
            kind=kind,
            sw=sw,
            ack_timeout_s=ack_timeout_s,
        )
        self._rng = random.Random(seed)
        self._wake = asyncio.Event()
        self._opened = asyncio.Event()
        self._closing = asyncio.Event()
        self._ws: ClientConnection | None = None
        self.connects = 0  # websocket connections made
        self.last_close: tuple[int | None, str] | None = None  # (code, reason) of the last loss

    # --- application side (never blocks) -------------------------------------------------------

    def send_telemetry(self, telemetry: m.Telemetry) -> int:
        """Offer a snapshot (latest-wins); returns the seq given to it."""
        seq = self.session.send_telemetry(telemetry)
        self._wake.set()
        return seq

    def send_event(self, event: m.Event) -> int:
        """Queue an event for reliable delivery; returns the seq given to it."""
        seq = self.session.send_event(event, self.clock.now_s())
        self._wake.set()
        return seq

    def take_commands(self) -> list[m.Command]:
        """New commands, oldest first; answer each with `reply`."""
        return self.session.take_commands()

    def reply(self, seq: int, code: m.ErrorCode | None = None, msg: str | None = None) -> None:
        """Answer command `seq`: accepted if `code` is None, else refused with `code`."""
        self.session.reply(seq, code, msg)
        self._wake.set()

    @property
    def connected(self) -> bool:
        """True while a session is open (after `welcome`)."""
        return self.session.is_open

    @property
    def unacked_events(self) -> int:
        return self.session.unacked_events

    @property
    def stats(self) -> object:
        return self.session.stats

    async def wait_open(self) -> None:
        """Wait until a session is open."""
        await self._opened.wait()

    # --- connection loop -----------------------------------------------------------------------

    async def run(self) -> None:
        """Connect and stay connected until `close()`."""
        failures = 0
        while not self._closing.is_set():
            code: int | None = None
            try:
                async with connect(
                    self.url,
                    subprotocols=[Subprotocol(m.subprotocol_for(v)) for v in m.SUPPORTED_VERSIONS],
                    max_size=None,
                    open_timeout=self.open_timeout_s,
                    compression=None,
                ) as ws:
                    self.connects += 1
                    if await self._serve(ws):
                        failures = 0
                    code = ws.close_code
                    self.last_close = (code, ws.close_reason or "")
            except (OSError, TimeoutError, WebSocketException) as exc:
                self.last_close = (None, f"{type(exc).__name__}: {exc}")
            finally:
                self._ws = None
                self._opened.clear()
                self.session.connection_lost()
            if self._closing.is_set():
                return
            failures += 1
            await self._wait_before_retry(failures, code)

    async def close(self) -> None:
        """Stop reconnecting and close the connection."""
        self._closing.set()
        ws = self._ws
        if ws is not None:
            await ws.close()

    async def _serve(self, ws: ClientConnection) -> bool:
        """Run one connection; True if a session opened on it."""
        self._ws = ws
        self.session.connection_made(self.clock.now_s())
        self._wake.set()
        writer = asyncio.create_task(self._writer(ws))
        ticker = asyncio.create_task(self._ticker())
        watchdog = asyncio.create_task(self._welcome_watchdog(ws))
        opened = False
        try:
            async for data in ws:
                frame = data.encode() if isinstance(data, str) else data
                self.session.receive(frame, self.clock.now_s())
                if self.session.is_open and not opened:
                    opened = True
                    self._opened.set()
                self._wake.set()
        except WebSocketException:
            pass
        finally:
            for task in (writer, ticker, watchdog):
                task.cancel()
            for task in (writer, ticker, watchdog):
                with contextlib.suppress(asyncio.CancelledError, WebSocketException):
                    await task
        return opened

    async def _welcome_watchdog(self, ws: ClientConnection) -> None:
        """Give up on a server that accepted the websocket but never says welcome."""
        await self.clock.sleep(self.open_timeout_s)
        if not self.session.is_open:
            await ws.close(1002, "no welcome in time")

    async def _writer(self, ws: ClientConnection) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            for frame in self.session.data_to_send():
                await ws.send(frame)

    async def _ticker(self) -> None:
        while True:
            await self.clock.sleep(self.tick_period_s)
            self.session.tick(self.clock.now_s())
            self._wake.set()

    async def _wait_before_retry(self, failures: int, code: int | None) -> None:
        delay_s = self.backoff.delay_s(failures, code, self._rng)
        sleeper = asyncio.create_task(self.clock.sleep(delay_s))
        closer = asyncio.create_task(self._closing.wait())
        await asyncio.wait({sleeper, closer}, return_when=asyncio.FIRST_COMPLETED)
        for task in (sleeper, closer):
            task.cancel()
