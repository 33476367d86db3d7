"""Thin asyncio transports that put a simulated copter on a real socket (loopback by default).

- UDP (`CopterUdpLink`): the copter binds its own port and sends to the ground station's
  address, as SITL does with `--out udp:127.0.0.1:14550`; whatever the station sends back to
  that port goes to the copter. One MAVLink packet per datagram.
- TCP (`CopterTcpServer`): the copter listens, as SITL does on 5760; every connected client
  gets the copter's packets, and each client's bytes are parsed on their own channel.

Both only move bytes: `deliver(now_s)` hands the copter's queued packets to the socket, through
the link's `LinkFaults`. Time and stepping belong to the caller (`swarm.CopterSwarm`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable

from sim.copter.autopilot import CopterAutopilot
from sim.copter.channel import LinkFaults

LOOPBACK = "127.0.0.1"


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, on_datagram: Callable[[bytes, tuple[str, int]], None]) -> None:
        self._on_datagram = on_datagram
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a datagram transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self._on_datagram(data, addr)

    def error_received(self, exc: Exception) -> None:  # e.g. ICMP port unreachable: GCS not up
        pass


class CopterUdpLink:
    """One copter on UDP: bound to `local_port` (0: any), sending to `gcs_addr`."""

    def __init__(self, autopilot: CopterAutopilot, gcs_addr: tuple[str, int],
                 now_s: Callable[[], float], faults: LinkFaults | None = None) -> None:
        self.autopilot = autopilot
        self.gcs_addr = gcs_addr
        self.faults = faults or LinkFaults()
        self._now_s = now_s
        self._protocol: _UdpProtocol | None = None
        self.datagrams_in = 0
        self.datagrams_out = 0
        self._inbound: list[tuple[float, bytes]] = []  # held back by faults.delay_s
        self._outbound: list[tuple[float, bytes]] = []

    async def open(self, local_port: int = 0, host: str = LOOPBACK) -> int:
        """Bind the socket; returns the local port."""
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.create_datagram_endpoint(
            lambda: _UdpProtocol(self._received), local_addr=(host, local_port))
        self._protocol = protocol
        return int(transport.get_extra_info("sockname")[1])

    @property
    def local_port(self) -> int:
        assert self._protocol is not None and self._protocol.transport is not None
        return int(self._protocol.transport.get_extra_info("sockname")[1])

    def _received(self, data: bytes, addr: tuple[str, int]) -> None:
        if not self.faults.passes("up", data):
            return
        self.datagrams_in += 1
        now_s = self._now_s()
        if self.faults.delay_s > 0:
            self._inbound.append((now_s + self.faults.delay_s, data))
        else:
            self.autopilot.receive_datagram(data, now_s)

    def deliver(self) -> None:
        """Send what the copter has queued (through the faults); feed delayed input."""
        now_s = self._now_s()
        while self._inbound and self._inbound[0][0] <= now_s:
            self.autopilot.receive_datagram(self._inbound.pop(0)[1], now_s)
        delay_s = self.faults.delay_s
        ready = [p for p in self.autopilot.packets_to_send() if self.faults.passes("down", p)]
        if delay_s > 0:
            self._outbound.extend((now_s + delay_s, p) for p in ready)
            ready = []
            while self._outbound and self._outbound[0][0] <= now_s:
                ready.append(self._outbound.pop(0)[1])
        transport = self._protocol.transport if self._protocol else None
        if transport is None or transport.is_closing():
            return
        for packet in ready:
            transport.sendto(packet, self.gcs_addr)
            self.datagrams_out += 1

    def close(self) -> None:
        if self._protocol is not None and self._protocol.transport is not None:
            self._protocol.transport.close()


class CopterTcpServer:
    """One copter listening on TCP (SITL's 5760 style); any number of clients."""

    def __init__(self, autopilot: CopterAutopilot, now_s: Callable[[], float],
                 faults: LinkFaults | None = None) -> None:
        self.autopilot = autopilot
        self.faults = faults or LinkFaults()
        self._now_s = now_s
        self._server: asyncio.Server | None = None
        self._writers: dict[int, asyncio.StreamWriter] = {}
        self._channels = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()

    async def open(self, port: int = 0, host: str = LOOPBACK) -> int:
        self._server = await asyncio.start_server(self._serve, host, port)
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def clients(self) -> int:
        return len(self._writers)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        channel = next(self._channels)
        self._writers[channel] = writer
        try:
            while data := await reader.read(65536):
                if self.faults.passes("up", data):
                    self.autopilot.receive_data(data, self._now_s(), channel)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            self._writers.pop(channel, None)
            writer.close()

    def deliver(self) -> None:
        packets = self.autopilot.packets_to_send()
        data = b"".join(p for p in packets if self.faults.passes("down", p))
        if not data:
            return
        for writer in list(self._writers.values()):
            if writer.is_closing():
                continue
            # never wait for a slow client: drop its stream if its buffer runs away
            transport = writer.transport
            if transport.get_write_buffer_size() > 1 << 20:
                continue
            writer.write(data)

    async def close(self) -> None:
        for writer in list(self._writers.values()):
            writer.close()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
