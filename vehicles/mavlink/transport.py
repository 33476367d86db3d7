"""Thin asyncio edges around the `GroundStation` core: a UDP endpoint and a TCP client.

- `UdpEndpoint`: the usual ground-station set-up. We listen on a port (14550 by convention);
  drones (or their radios, or a MAVLink router) send to it; replies go back to the address each
  drone's packets come from. One socket serves every drone.
- `TcpClient`: we connect to an autopilot or simulator listening on TCP (SITL's 5760) and
  reconnect when the connection drops.

Both feed bytes into the core with the clock's `now_s`, run `poll` every `tick_s` of clock time,
send what the core wants sent, and fan events out to subscribers. `drone(sysid)` gives the
awaitable handle (`vehicles.mavlink.drone.Drone`).

    endpoint = await UdpEndpoint.start(port=14550)
    drone = await endpoint.wait_for_drone(1, timeout_s=30)
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections import deque
from collections.abc import Callable, Mapping

from vehicles.clock import Clock, SystemClock
from vehicles.mavlink.drone import Drone
from vehicles.mavlink.events import Address, LinkEvent
from vehicles.mavlink.link import LinkConfig
from vehicles.mavlink.operation import LinkError, OperationTimeoutError
from vehicles.mavlink.signing import SigningConfig
from vehicles.mavlink.station import GroundStation, GuardConfig

_Waiter = tuple[float, "asyncio.Future[None]", Callable[[], bool] | None]


def _holds(condition: Callable[[], bool]) -> bool:
    """A waiter's condition; one that raises wakes its task, which asks again and raises there."""
    try:
        return condition()
    except Exception:
        return True


class Endpoint:
    """What both transports share: the core, the tick loop, handles and event fan-out.

    With a clock faster than the wall clock (`ScaledClock(speed)`), the ack, mission-item and
    parameter timeouts are stretched by `speed` (`LinkConfig.for_clock_speed`) unless
    `scale_timeouts=False`: packets still take wall time to come back.
    """

    def __init__(self, clock: Clock | None = None, config: LinkConfig | None = None,
                 signing: Mapping[int, SigningConfig] | None = None,
                 require_signing: bool = False, guard: GuardConfig | None = None,
                 tick_s: float = 0.05, scale_timeouts: bool = True) -> None:
        self.clock: Clock = clock or SystemClock()
        config = config or LinkConfig()
        speed = getattr(self.clock, "speed", 1.0)
        if scale_timeouts and isinstance(speed, (int, float)) and speed > 1.0:
            config = config.for_clock_speed(float(speed))  # round trips take wall time
        if config.unix_time_at_zero_s is None:  # the edge may read the wall clock once
            config = dataclasses.replace(config,
                                         unix_time_at_zero_s=time.time() - self.clock.now_s())
        self.station = GroundStation(config, signing, require_signing, guard)
        self.tick_s = tick_s
        self.events: deque[LinkEvent] = deque(maxlen=10_000)
        self.events_dropped = 0
        self._subscribers: list[asyncio.Queue[LinkEvent]] = []
        self._handles: dict[int, Drone] = {}
        self._ticker: asyncio.Task[None] | None = None
        # per drone, `wait_changed`'s (deadline, future, condition)
        self._waiters: dict[int, list[_Waiter]] = {}

    def drone(self, sysid: int) -> Drone:
        """The handle of drone `sysid` (CONNECTING until its first heartbeat)."""
        handle = self._handles.get(sysid)
        if handle is None:
            link = self.station.expect(sysid, self.clock.now_s())
            handle = self._handles[sysid] = Drone(link, self)
        return handle

    async def wait_for_drone(self, sysid: int, timeout_s: float = 30.0) -> Drone:
        """Wait (clock time) until drone `sysid` has sent a heartbeat; its handle."""
        drone = self.drone(sysid)
        await drone.wait_for(lambda s: s.autopilot is not None, timeout_s)
        return drone

    def subscribe(self, maxsize: int = 10_000) -> asyncio.Queue[LinkEvent]:
        """A queue receiving every event from now on (oldest dropped when it is full)."""
        queue: asyncio.Queue[LinkEvent] = asyncio.Queue(maxsize)
        self._subscribers.append(queue)
        return queue

    def flush(self, tick: bool = False) -> None:
        """Send what the core has queued and hand out its events (after any input).

        Wakes the `wait_changed` of the drones that received something (and, at a tick, those
        whose time is up).
        """
        for data, address in self.station.datagrams_to_send():
            self._send(data, address)
        events = self.station.events()
        for event in events:
            self.events.append(event)
            for queue in self._subscribers:
                if queue.full():
                    queue.get_nowait()
                    self.events_dropped += 1
                queue.put_nowait(event)
        for sysid in self.station.take_touched():
            self._wake(sysid)
        if tick:
            now_s = self.clock.now_s()
            for sysid, waiters in self._waiters.items():
                if any(deadline_s <= now_s for deadline_s, _, _ in waiters):
                    self._wake(sysid, now_s)

    def _wake(self, sysid: int, due_by_s: float | None = None) -> None:
        """Wake the waiters of drone `sysid`, in the order they began to wait: with `due_by_s`
        (a tick) those whose time is up by then, else (a message handled) those whose condition
        holds now or that have none."""
        waiters = self._waiters.get(sysid)
        if not waiters:
            return
        for deadline_s, waiter, condition in waiters:
            if waiter.done():
                continue
            if due_by_s is not None:
                if deadline_s <= due_by_s:
                    waiter.set_result(None)
            elif condition is None or _holds(condition):
                waiter.set_result(None)
        waiters[:] = [entry for entry in waiters if not entry[1].done()]

    async def wait_changed(self, sysid: int, timeout_s: float,
                           condition: Callable[[], bool] | None = None) -> None:
        """Until drone `sysid` handles a message (after which `condition`, if given, holds), or
        `timeout_s` of clock time passes (seen at the tick after it, while the tick loop runs).

        A condition is asked as each message is handled, so a task waiting for one state is not
        woken for every other message the drone sends."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(sysid, []).append(
            (self.clock.now_s() + timeout_s, waiter, condition))
        if self._ticker is not None:
            await waiter
            return
        sleeper = asyncio.ensure_future(self.clock.sleep(timeout_s))
        try:
            await asyncio.wait({waiter, sleeper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            sleeper.cancel()

    def _receive(self, data: bytes, address: Address, datagram: bool = True) -> None:
        self.station.receive(data, address, self.clock.now_s(), datagram)
        self.flush()

    def _start_ticker(self) -> None:
        self._ticker = asyncio.get_running_loop().create_task(self._tick_loop())

    async def _tick_loop(self) -> None:
        while True:
            self.station.poll(self.clock.now_s())
            self.flush(tick=True)
            await self.clock.sleep(self.tick_s)

    def _send(self, data: bytes, address: Address) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        """Stop the tick loop and the transport; what was still awaited fails with LinkError."""
        for link in self.station.drones.values():
            link.abandon(LinkError("the endpoint was closed"))
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        for sysid in list(self._waiters):  # no more ticks: whoever waits looks again now
            self._wake(sysid)


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, endpoint: UdpEndpoint) -> None:
        self.endpoint = endpoint

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.endpoint._receive(data, (str(addr[0]), int(addr[1])))

    def error_received(self, exc: Exception) -> None:
        self.endpoint.station.counters["socket_errors"] += 1


class UdpEndpoint(Endpoint):
    """One UDP socket serving every drone that sends to it."""

    _transport: asyncio.DatagramTransport | None = None

    @classmethod
    async def start(cls, host: str = "127.0.0.1", port: int = 14550,
                    **kwargs: object) -> UdpEndpoint:
        """Bind `host:port` (port 0: any free port, see `.port`) and start serving."""
        endpoint = cls(**kwargs)  # type: ignore[arg-type]
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: _Datagrams(endpoint),
                                                           local_addr=(host, port))
        endpoint._transport = transport
        endpoint._start_ticker()
        return endpoint

    @property
    def port(self) -> int:
        """The bound UDP port."""
        assert self._transport is not None
        return int(self._transport.get_extra_info("sockname")[1])

    def _send(self, data: bytes, address: Address) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.sendto(data, address)

    async def close(self) -> None:
        await super().close()
        if self._transport is not None:
            self._transport.close()


class TcpClient(Endpoint):
    """A TCP connection to one autopilot or simulator (reconnecting)."""

    _writer: asyncio.StreamWriter | None = None
    _reader_task: asyncio.Task[None] | None = None
    _peer: Address = ("127.0.0.1", 5760)
    _reconnect_s: float = 1.0

    @classmethod
    async def connect(cls, host: str = "127.0.0.1", port: int = 5760,
                      reconnect_s: float = 1.0, timeout_s: float = 30.0,
                      **kwargs: object) -> TcpClient:
        """Connect, retrying every `reconnect_s` of clock time until the peer accepts.

        Raises:
            ConnectionError: nobody accepted within `timeout_s` of clock time.
        """
        client = cls(**kwargs)  # type: ignore[arg-type]
        client._peer = (host, port)
        client._reconnect_s = reconnect_s
        client.station.add_peer(client._peer)
        deadline_s = client.clock.now_s() + timeout_s
        while True:
            try:
                await client._open()
                break
            except OSError as exc:
                if client.clock.now_s() >= deadline_s:
                    raise ConnectionError(f"nothing accepts on {host}:{port}: {exc}") from exc
                await client.clock.sleep(reconnect_s)
        client._reader_task = asyncio.get_running_loop().create_task(client._read_loop())
        client._start_ticker()
        return client

    async def _open(self) -> None:
        reader, writer = await asyncio.open_connection(*self._peer)
        self._reader, self._writer = reader, writer

    async def _read_loop(self) -> None:
        while True:
            try:
                data = await self._reader.read(65536)
            except (ConnectionError, OSError):
                data = b""
            if data:
                self._receive(data, self._peer, datagram=False)
                continue
            self.station.counters["tcp_disconnects"] += 1
            self._writer = None
            while self._writer is None:
                await self.clock.sleep(self._reconnect_s)
                with contextlib.suppress(OSError):
                    await self._open()

    def _send(self, data: bytes, address: Address) -> None:
        if self._writer is not None and not self._writer.is_closing():
            self._writer.write(data)

    async def close(self) -> None:
        await super().close()
        if self._reader_task is not None:
            self._reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader_task
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()


__all__ = ["Endpoint", "OperationTimeoutError", "TcpClient", "UdpEndpoint"]
