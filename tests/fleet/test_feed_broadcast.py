"""The operator feed: bounded per-subscriber queues, encode once, never wait for a slow client."""

from __future__ import annotations

import asyncio
import json
from socket import SO_RCVBUF, SO_SNDBUF, SOL_SOCKET

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

from fleet.feed import (
    Broadcaster,
    OverflowPolicy,
    SubscriptionClosedError,
    serve_websocket,
)

pytestmark = pytest.mark.timeout(30)


def test_every_subscriber_gets_the_same_encoded_object() -> None:
    feed = Broadcaster()
    a, b = feed.subscribe(), feed.subscribe()
    text = feed.publish_json({"vehicle_id": "bus-1", "lat_deg": 35.6})
    got_a, got_b = a.get_nowait(), b.get_nowait()
    assert got_a is got_b is text  # encoded once, shared
    assert json.loads(text) == {"vehicle_id": "bus-1", "lat_deg": 35.6}
    assert a.get_nowait() is None


def test_drop_oldest_keeps_the_newest() -> None:
    feed = Broadcaster(maxsize=3)
    sub = feed.subscribe()
    for i in range(10):
        feed.publish(str(i))
    assert [sub.get_nowait() for _ in range(3)] == ["7", "8", "9"]
    assert sub.dropped == 7 and not sub.closed


def test_disconnect_policy_closes_with_a_reason_and_leaves_others() -> None:
    feed = Broadcaster(maxsize=2)
    strict = feed.subscribe(policy=OverflowPolicy.DISCONNECT)
    fine = feed.subscribe(maxsize=100)
    for i in range(5):
        feed.publish(b"%d" % i)
    assert strict.closed and strict.closed_reason == "slow consumer: 2 updates queued"
    with pytest.raises(SubscriptionClosedError):
        strict.get_nowait()
    assert feed.subscribers == 1 and len(fine) == 5


def test_nan_is_refused_before_anything_is_published() -> None:
    feed = Broadcaster()
    sub = feed.subscribe()
    with pytest.raises(ValueError):
        feed.publish_json({"x": float("nan")})
    assert sub.get_nowait() is None and feed.published == 0


async def test_async_iteration_ends_on_unsubscribe() -> None:
    feed = Broadcaster()
    sub = feed.subscribe()
    got: list[object] = []

    async def reader() -> None:
        async for item in sub:
            got.append(item)

    task = asyncio.create_task(reader())
    feed.publish("a")
    feed.publish("b")
    await asyncio.sleep(0)
    feed.unsubscribe(sub)
    await asyncio.wait_for(task, 2)
    assert got == ["a", "b"]


async def test_a_stalled_websocket_client_never_delays_the_others() -> None:
    feed = Broadcaster(maxsize=50)
    ended: dict[str, str | None] = {}

    async def handler(ws: ServerConnection) -> None:
        name = ws.request.path.strip("/")
        if name == "disconnect":  # small kernel buffers, so the stall shows quickly
            ws.transport.get_extra_info("socket").setsockopt(SOL_SOCKET, SO_SNDBUF, 8192)
        sub = feed.subscribe(policy=OverflowPolicy(name))
        try:
            await serve_websocket(ws, sub)
        finally:
            feed.unsubscribe(sub)
            ended[name] = sub.closed_reason

    async with serve(handler, "127.0.0.1", 0, write_limit=1024, close_timeout=0.5) as server:
        port = server.sockets[0].getsockname()[1]
        stalled = await connect(f"ws://127.0.0.1:{port}/disconnect")
        stalled.transport.get_extra_info("socket").setsockopt(SOL_SOCKET, SO_RCVBUF, 8192)
        stalled.transport.pause_reading()  # reads nothing: its TCP window fills up
        async with connect(f"ws://127.0.0.1:{port}/drop_oldest") as fast:
            while feed.subscribers < 2:
                await asyncio.sleep(0.01)
            payload = "x" * 16_000
            got = 0
            for i in range(2000):
                feed.publish(f"{i}:{payload}")  # never awaits
                if i % 20 == 19:
                    while got <= i - 20:  # the fast client keeps up, all the way
                        assert (await asyncio.wait_for(fast.recv(), 5)).startswith(f"{got}:")
                        got += 1
            while got < 2000:  # read the rest, so the client sees the close frame
                await asyncio.wait_for(fast.recv(), 5)
                got += 1
            while "disconnect" not in ended:  # the stalled one was cut off with a reason
                await asyncio.sleep(0.01)
            assert ended["disconnect"] == "slow consumer: 50 updates queued"
            assert feed.subscribers == 1
            assert "drop_oldest" not in ended
        stalled.transport.abort()


class _FakeSocket:
    """Records what `serve_websocket` does to a websocket (unit test of the adapter alone)."""

    def __init__(self) -> None:
        self.sent: list[object] = []
        self.closed: tuple[int, str] | None = None
        self._gone = asyncio.Event()

    async def send(self, message: bytes | str) -> None:
        self.sent.append(message)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed = (code, reason)
        self._gone.set()

    async def wait_closed(self) -> None:
        await self._gone.wait()


async def test_adapter_closes_a_slow_consumer_with_1008_and_the_reason() -> None:
    from fleet.feed import SLOW_CONSUMER_CLOSE_CODE

    feed = Broadcaster(maxsize=2, policy=OverflowPolicy.DISCONNECT)
    sub = feed.subscribe()
    ws = _FakeSocket()
    for i in range(3):
        feed.publish(str(i))
    await asyncio.wait_for(serve_websocket(ws, sub), 2)
    assert ws.closed == (SLOW_CONSUMER_CLOSE_CODE, "slow consumer: 2 updates queued")


async def test_adapter_ends_when_the_client_leaves() -> None:
    feed = Broadcaster()
    sub = feed.subscribe()
    ws = _FakeSocket()
    task = asyncio.create_task(serve_websocket(ws, sub))
    feed.publish("a")
    await asyncio.sleep(0.01)
    ws._gone.set()
    await asyncio.wait_for(task, 2)
    assert ws.sent == ["a"] and ws.closed is None


def test_a_late_joiner_gets_the_snapshot_first() -> None:
    feed = Broadcaster()
    feed.publish("before")  # not for subscribers that were not there
    sub = feed.subscribe(initial=["snap-1", "snap-2"])
    feed.publish("after")
    assert [sub.get_nowait() for _ in range(3)] == ["snap-1", "snap-2", "after"]
    assert sub.get_nowait() is None
