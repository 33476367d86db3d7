"""Fan-out to operators: encode each update once, never wait for the slowest subscriber.

A `Broadcaster` takes already-encoded payloads (`bytes` or `str`; `publish_json` encodes a value
once for everyone) and appends the same object to every subscriber's bounded queue. `publish`
is synchronous and O(subscribers): it never awaits, so a slow or stalled client cannot delay the
server or the other clients. What happens when a subscriber's queue is full is its policy:

- `DROP_OLDEST` (the default, right for a live map where only the newest state matters): the
  oldest queued payload is discarded to make room; `Subscription.dropped` counts them.
- `DISCONNECT` (right for an event log that must be complete or not at all): the subscription is
  closed with the reason `slow consumer: N updates queued`; the client reconnects and catches up
  from the source of record (the journal), knowing it missed updates.

The broadcaster knows no transport. `serve_websocket(ws, subscription)` is the websockets
adapter: one task per client that sends from its queue and, when the policy closed the
subscription, closes the websocket with 1008 and the reason. The pattern follows websockets'
`docs/topics/broadcast.rst` (per-client queues instead of awaiting every `send`).
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator, Iterable
from enum import StrEnum
from typing import Any, Protocol

Payload = bytes | str

SLOW_CONSUMER_CLOSE_CODE = 1008  # policy violation


class OverflowPolicy(StrEnum):
    DROP_OLDEST = "drop_oldest"
    DISCONNECT = "disconnect"


class SubscriptionClosedError(Exception):
    """The subscription ended; `reason` says why ("" when unsubscribed normally)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Subscription:
    """One subscriber's bounded queue; iterate it (`async for payload in subscription`)."""

    def __init__(self, maxsize: int, policy: OverflowPolicy, name: str = "") -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be >= 1, got {maxsize}")
        self.maxsize = maxsize
        self.policy = policy
        self.name = name
        self.dropped = 0
        self.delivered = 0
        self.closed_reason: str | None = None
        self._queue: deque[Payload] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._closed_event = asyncio.Event()

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def closed(self) -> bool:
        return self.closed_reason is not None

    def offer(self, payload: Payload) -> None:
        """Queue `payload` without waiting, applying the overflow policy."""
        if self.closed_reason is not None:
            return
        if len(self._queue) >= self.maxsize:
            if self.policy is OverflowPolicy.DISCONNECT:
                self.close(f"slow consumer: {len(self._queue)} updates queued")
                return
            self._queue.popleft()
            self.dropped += 1
        self._queue.append(payload)
        self._wake()

    def close(self, reason: str = "") -> None:
        """End the subscription; queued payloads are discarded, `get` raises."""
        if self.closed_reason is None:
            self.closed_reason = reason
            self._queue.clear()
            self._closed_event.set()
            self._wake()

    async def wait_closed(self) -> None:
        """Return once the subscription is closed."""
        await self._closed_event.wait()

    def get_nowait(self) -> Payload | None:
        """The next payload, or None if the queue is empty."""
        if self._queue:
            self.delivered += 1
            return self._queue.popleft()
        if self.closed_reason is not None:
            raise SubscriptionClosedError(self.closed_reason)
        return None

    async def get(self) -> Payload:
        """Wait for the next payload; raises `SubscriptionClosedError` once closed."""
        while True:
            payload = self.get_nowait()
            if payload is not None:
                return payload
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    def __aiter__(self) -> AsyncIterator[Payload]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Payload]:
        while True:
            try:
                yield await self.get()
            except SubscriptionClosedError:
                return

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class Broadcaster:
    """Publishes each payload to every subscription (see the module docstring)."""

    def __init__(
        self, *, maxsize: int = 256, policy: OverflowPolicy = OverflowPolicy.DROP_OLDEST
    ) -> None:
        self.maxsize = maxsize
        self.policy = policy
        self.published = 0
        self._subs: list[Subscription] = []

    def subscribe(
        self,
        *,
        maxsize: int | None = None,
        policy: OverflowPolicy | None = None,
        name: str = "",
        initial: Iterable[Payload] = (),
    ) -> Subscription:
        """A new subscription receiving every payload published from now on.

        `initial` payloads (e.g. a snapshot of every vehicle's state, for a late joiner) are
        queued first, before anything published afterwards, under the same overflow policy.
        """
        sub = Subscription(maxsize or self.maxsize, policy or self.policy, name)
        for payload in initial:
            sub.offer(payload)
        self._subs.append(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Stop delivering to `sub` and close it."""
        if sub in self._subs:
            self._subs.remove(sub)
        sub.close()

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def publish(self, payload: Payload) -> None:
        """Hand `payload` (encoded once, by the caller) to every subscriber; never waits."""
        self.published += 1
        closed = False
        for sub in self._subs:
            sub.offer(payload)
            closed = closed or sub.closed
        if closed:
            self._subs = [s for s in self._subs if not s.closed]

    def publish_json(self, value: Any) -> str:
        """Encode `value` as compact JSON once and publish it; returns the text."""
        text = json.dumps(value, separators=(",", ":"), allow_nan=False)
        self.publish(text)
        return text


class _Sender(Protocol):
    async def send(self, message: Payload) -> None: ...

    async def close(self, code: int = 1000, reason: str = "") -> None: ...

    async def wait_closed(self) -> None: ...


async def serve_websocket(ws: _Sender, sub: Subscription, close_timeout_s: float = 2.0) -> None:
    """Send `sub`'s payloads to websocket `ws` until either ends (run one task per client).

    If the overflow policy closes the subscription, a send stuck on a client that stopped reading
    is abandoned and the websocket is closed with `SLOW_CONSUMER_CLOSE_CODE` and the reason; if
    the close cannot be written within `close_timeout_s`, the TCP connection is aborted. A
    websocket error ends the loop; the caller unsubscribes.
    """
    tasks = (
        asyncio.create_task(_pump(ws, sub)),
        asyncio.create_task(sub.wait_closed()),
        asyncio.create_task(ws.wait_closed()),  # the client left while nothing was published
    )
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    if sub.closed_reason:
        try:
            async with asyncio.timeout(close_timeout_s):
                await ws.close(SLOW_CONSUMER_CLOSE_CODE, sub.closed_reason[:120])
        except TimeoutError:  # the client reads nothing, not even the close frame
            transport = getattr(ws, "transport", None)
            if transport is not None:
                transport.abort()


async def _pump(ws: _Sender, sub: Subscription) -> None:
    async for payload in sub:
        await ws.send(payload)
