"""The fleet's websocket server for ground vehicles: a thin asyncio edge over `GroundServerCore`.

It accepts websockets on `/v1/vehicle` (404 elsewhere), selects the highest common
`kaiteki.ground.v<N>` subprotocol (or none, which the core answers with close 4002), lets the
websocket layer enforce `max_frame_bytes` (close 1009), feeds every frame to the core with the
injected clock's time, and carries out the core's outputs: each connection has its own outbound
queue and writer task, so a vehicle that stops reading never delays any other (past
`MAX_OUTBOX_FRAMES` queued frames it is closed with 1011 `not reading`). Pass an `ssl` context
to serve `wss://`; over the Internet the token must never travel in clear.

What the service gets:
- `add_listener(fn)`: `fn(app_event)` is called for every core event (`VehicleConnected`,
  `TelemetryReceived`, `EventReceived`, `CommandAnswered`, ...) as it happens; it must not block.
- `async for app_event in server.events()`: the same, as an async iterator (unbounded queue, so
  nothing is lost; iterate it or don't call it).
- `send_command(vehicle_id, command)` numbers and sends (or queues, if offline) a command and
  returns a future of its `Ack`; `send_plan(vehicle_id, stops)` also picks the next plan version.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from ssl import SSLContext

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from vehicles.clock import Clock, SystemClock
from vehicles.ground import messages as m
from vehicles.ground.server_session import GroundServerCore, negotiate
from vehicles.ground.server_types import (
    AppEvent,
    Close,
    CommandAnswered,
    ConnId,
    Send,
)

Listener = Callable[[AppEvent], None]
_log = logging.getLogger(__name__)


MAX_OUTBOX_FRAMES = 1024  # frames queued for a vehicle that does not read: then it is closed
CLOSE_TIMEOUT_S = 2.0


class _Outbox:
    """One connection's outbound frames and its writer task."""

    def __init__(self, ws: ServerConnection) -> None:
        self.ws = ws
        self.frames: deque[bytes | tuple[int, str]] = deque()
        self.ready = asyncio.Event()
        self.closing = False
        self.task = asyncio.create_task(self._write())

    def put(self, item: bytes | tuple[int, str]) -> None:
        if self.closing:
            return
        if isinstance(item, tuple):
            self.closing = True
        elif len(self.frames) >= MAX_OUTBOX_FRAMES:
            self.frames.clear()  # the vehicle stopped reading: cut it off, it will resync
            self.closing = True
            item = (int(m.CloseCode.INTERNAL_ERROR), "not reading: outbound queue full")
        self.frames.append(item)
        self.ready.set()

    async def _write(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            while True:
                await self.ready.wait()
                self.ready.clear()
                while self.frames:
                    item = self.frames.popleft()
                    if isinstance(item, tuple):
                        await self._close(*item)
                        return
                    await self.ws.send(item)

    async def _close(self, code: int, reason: str) -> None:
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await self.ws.close(code, reason)
        except TimeoutError:  # the peer reads nothing, not even the close frame
            self.ws.transport.abort()


class GroundServer:
    """Serves ground vehicles on `ws://host:port/v1/vehicle` (see the module docstring)."""

    def __init__(
        self,
        credentials: Mapping[str, str],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        limits: m.Limits | None = None,
        clock: Clock | None = None,
        tick_period_s: float = 1.0,
        ping_interval_s: float | None = 20.0,
        ssl: SSLContext | None = None,
    ) -> None:
        self.core = GroundServerCore(credentials, limits)
        self.host = host
        self.port = port
        self.clock: Clock = clock or SystemClock()
        self.tick_period_s = tick_period_s
        self.ping_interval_s = ping_interval_s
        self.ssl = ssl
        self._server: Server | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._outboxes: dict[ConnId, _Outbox] = {}
        self._listeners: list[Listener] = []
        self._queues: list[asyncio.Queue[AppEvent]] = []
        self._acks: dict[tuple[str, int], asyncio.Future[m.Ack]] = {}

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen; `port` 0 picks a free port (read `port` or `url` afterwards)."""
        self._server = await serve(
            self._handler,
            self.host,
            self.port,
            process_request=self._check_path,
            select_subprotocol=self._select,
            subprotocols=[Subprotocol(m.subprotocol_for(v)) for v in self.core.versions],
            max_size=self.core.limits.max_frame_bytes,
            compression=None,
            ping_interval=self.ping_interval_s,
            ssl=self.ssl,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._ticker = asyncio.create_task(self._tick_loop())

    async def stop(self) -> None:
        """Close every connection (1001 going away) and stop listening."""
        if self._ticker is not None:
            self._ticker.cancel()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def __aenter__(self) -> GroundServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        scheme = "wss" if self.ssl is not None else "ws"
        return f"{scheme}://{self.host}:{self.port}{m.PATH}"

    # --- service API ---------------------------------------------------------------------------

    def add_listener(self, listener: Listener) -> None:
        """Call `listener(app_event)` for every event from now on (it must not block)."""
        self._listeners.append(listener)

    async def events(self) -> AsyncIterator[AppEvent]:
        """Every event from now on, in order."""
        queue: asyncio.Queue[AppEvent] = asyncio.Queue()
        self._queues.append(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._queues.remove(queue)

    def send_command(self, vehicle_id: str, command: m.Command) -> asyncio.Future[m.Ack]:
        """Number and send `command` (queued while the vehicle is offline); a future of its ack.

        Raises `UnknownVehicleError`, `StalePlanError`, `ValueError` (invalid command) or
        `OverflowError` (too many unanswered commands) at once, before anything is sent.
        """
        numbered = self.core.send_command(vehicle_id, command)
        future: asyncio.Future[m.Ack] = asyncio.get_running_loop().create_future()
        self._acks[(vehicle_id, numbered.seq)] = future
        self._flush()
        return future

    def send_plan(
        self, vehicle_id: str, stops: Sequence[m.PlanStop], plan_version: int | None = None
    ) -> asyncio.Future[m.Ack]:
        """Send a plan; `plan_version` None takes the next version for this vehicle."""
        version = self.core.next_plan_version(vehicle_id) if plan_version is None else plan_version
        return self.send_command(vehicle_id, m.Plan(0, version, tuple(stops)))

    def connected_vehicles(self) -> list[str]:
        return self.core.connected_vehicles()

    def disconnect(self, vehicle_id: str, reason: str = "disconnected by the operator") -> bool:
        """Close a vehicle's connection with 4001 (e.g. after revoking its token)."""
        done = self.core.disconnect(vehicle_id, m.CloseCode.AUTH_FAILED, reason)
        self._flush()
        return done

    # --- edge ----------------------------------------------------------------------------------

    @staticmethod
    def _check_path(connection: ServerConnection, request: Request) -> Response | None:
        if request.path.split("?", 1)[0] != m.PATH:
            return connection.respond(404, f"not found; vehicles connect to {m.PATH}\n")
        return None

    def _select(
        self, connection: ServerConnection, offered: Sequence[Subprotocol]
    ) -> Subprotocol | None:
        chosen = negotiate(list(offered), self.core.versions)
        return None if chosen is None else Subprotocol(chosen)

    async def _handler(self, ws: ServerConnection) -> None:
        conn_id = self.core.connect(self.clock.now_s(), ws.subprotocol)
        self._outboxes[conn_id] = outbox = _Outbox(ws)
        self._flush()
        try:
            async for data in ws:
                self.core.receive(conn_id, data, self.clock.now_s())
                self._flush()
        except ConnectionClosed:
            pass
        finally:
            self.core.disconnected(conn_id, self.clock.now_s())
            self._flush()
            del self._outboxes[conn_id]
            outbox.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await outbox.task

    async def _tick_loop(self) -> None:
        while True:
            await self.clock.sleep(self.tick_period_s)
            self.core.tick(self.clock.now_s())
            self._flush()

    def _flush(self) -> None:
        for out in self.core.outputs():
            outbox = self._outboxes.get(out.conn)
            if outbox is None:
                continue
            if isinstance(out, Send):
                outbox.put(out.data)
            elif isinstance(out, Close):
                outbox.put((out.code, out.reason))
        for event in self.core.events():
            if isinstance(event, CommandAnswered):
                future = self._acks.pop((event.vehicle_id, event.command.seq), None)
                if future is not None and not future.done():
                    future.set_result(event.ack)
            for listener in self._listeners:
                try:
                    listener(event)
                except Exception:  # a service bug must not cost a vehicle its connection
                    _log.exception("ground server listener failed on %s", type(event).__name__)
            for queue in self._queues:
                queue.put_nowait(event)
