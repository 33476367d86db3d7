"""A cuttable loopback TCP relay: dropped and refused connections for link-loss faults.

Put it between simulated vehicles and the fleet server (vehicles dial the relay, the relay dials
the server). `cut()` aborts every relayed connection at once, as a radio or LTE link drop does;
`down = True` refuses new connections until set back, so reconnect back-off is exercised. The
vehicle and the server see a real TCP loss; nothing in them is mocked or patched.
"""

from __future__ import annotations

import asyncio
import contextlib


class CuttableRelay:
    """Relays TCP from `host:port` (loopback; port 0 picks one) to `target_host:target_port`."""

    def __init__(
        self, target_host: str, target_port: int, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.host = host
        self.port = port
        self.down = False
        self.cuts = 0
        self.refused = 0
        self._server: asyncio.Server | None = None
        self._pairs: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    def stopping(self) -> bool:
        """`stop` was called: new and half-made connections are dropped."""
        return self._closing

    async def stop(self) -> None:
        """Stop accepting, drop every connection (also one accepted while stopping: its upstream
        dial may still be under way), then wait for the listener to close."""
        self._closing = True
        if self._server is not None:
            self._server.close()
        self.cut()
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._server is not None:  # every relayed transport is aborted: this returns at once
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 5.0)

    def cut(self) -> int:
        """Abort every relayed connection now; returns how many were cut."""
        pairs = list(self._pairs)
        for a, b in pairs:
            for writer in (a, b):
                writer.transport.abort()
        self._pairs.clear()
        self.cuts += len(pairs)
        return len(pairs)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.down or self.stopping():
            self.refused += 1
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            writer.transport.abort()
            return
        if self.stopping():  # stopped while dialling: nobody would cut this pair any more
            writer.transport.abort()
            up_writer.transport.abort()
            return
        pair = (writer, up_writer)
        self._pairs.add(pair)
        pumps = [
            asyncio.create_task(self._pump(reader, up_writer)),
            asyncio.create_task(self._pump(up_reader, writer)),
        ]
        self._tasks.update(pumps)
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._pairs.discard(pair)
            for task in pumps:
                task.cancel()
                self._tasks.discard(task)
            for w in pair:
                w.transport.abort()

    @staticmethod
    async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65_536):
                writer.write(data)
                await writer.drain()
