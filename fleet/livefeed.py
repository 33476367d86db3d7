"""The operators' live feed: vehicle positions, plan changes and events as JSON, filtered.

Each update is encoded to JSON once and offered to every subscriber whose filter (vehicle kinds,
an area) matches, so a slow client never delays the service or any other client. A subscriber
chooses one of two delivery modes:

- **one message per update** (the original wire format, the default): each update is its own
  websocket text message; the subscriber's bounded queue (`fleet.feed.Subscription`) drops the
  oldest queued update when the client falls behind.
- **coalesced batches** (`batch_s`, the dashboard's mode; `?batch_ms=` on the websocket): a
  `CoalescingSubscription` keeps only the newest position and the newest plan of each vehicle,
  and every other update (journal entries: order, trip, vehicle and supervisor events) in order,
  and sends at most one frame per `batch_s`:
  `{"type": "batch", "sent_ms": <server wall clock, Unix ms>, "dropped": <events lost so far>,
  "items": [<the same messages as in the other mode>]}`. The frame rate a browser must handle is
  then bounded whatever the fleet's size and telemetry rates (1,000 vehicles at 1-5 Hz become
  at most one frame per batch with one item per vehicle that moved), a client that reads slowly
  gets the newest state rather than a backlog, and memory is bounded by the fleet, not by time.
  A new batch subscriber first gets the newest position and plan of every matching vehicle (a
  late joiner sees the whole fleet at once).

Non-finite numbers (NaN, infinity) would make the JSON unreadable in a browser (and lose a
whole batch): they are sent as `null`.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fleet.feed import OverflowPolicy, Payload, Subscription, SubscriptionClosedError

BATCH_MS_MIN, BATCH_MS_MAX = 50, 5000
"""The batch periods a client may ask for (`?batch_ms=`), in milliseconds."""


@dataclass(frozen=True, slots=True)
class FeedFilter:
    kinds: frozenset[str] | None = None  # vehicle kinds; None: all
    bbox: tuple[float, float, float, float] | None = None  # lon0, lat0, lon1, lat1

    def matches(self, kind: str | None, lat: float | None, lon: float | None) -> bool:
        if self.kinds is not None and kind is not None and kind not in self.kinds:
            return False
        if self.bbox is not None and lat is not None and lon is not None:
            lon0, lat0, lon1, lat1 = self.bbox
            return lon0 <= lon <= lon1 and lat0 <= lat <= lat1
        return True


def _wall_ms() -> float:
    return time.time() * 1000.0


class CoalescingSubscription(Subscription):
    """A subscriber that gets batches: newest state per vehicle, events in order.

    The core is synchronous (`offer`, `offer_latest`, `take_frame(sent_ms)`); only `get` waits,
    on the wall clock (`wall_ms`, injected), to pace frames at most one per `batch_s`. Events
    beyond `max_events` queued drop the oldest (`dropped` counts them and every frame says how
    many were lost so far); vehicles beyond `max_keys` are refused (also counted).
    """

    def __init__(
        self,
        batch_s: float,
        name: str = "",
        max_events: int = 1000,
        max_keys: int = 100_000,
        wall_ms: Callable[[], float] = _wall_ms,
    ) -> None:
        if not (BATCH_MS_MIN / 1000.0 <= batch_s <= BATCH_MS_MAX / 1000.0):
            raise ValueError(f"batch_s must be in [0.05, 5], got {batch_s!r}")
        super().__init__(max_events, OverflowPolicy.DROP_OLDEST, name)
        self.batch_s = batch_s
        self.max_keys = max_keys
        self.frames = 0
        self.coalesced = 0  # states replaced by a newer one before they were sent
        self._latest: dict[str, Payload] = {}
        self._wall_ms = wall_ms
        self._last_frame_ms: float | None = None

    def __len__(self) -> int:
        return len(self._queue) + len(self._latest)

    def offer_latest(self, key: str, payload: Payload) -> None:
        """Keep `payload` as the newest state of `key` (replacing an unsent older one)."""
        if self.closed_reason is not None:
            return
        if key in self._latest:
            self.coalesced += 1
        elif len(self._latest) >= self.max_keys:
            self.dropped += 1
            return
        self._latest[key] = payload
        self._wake()

    def take_frame(self, sent_ms: float) -> str | None:
        """Everything pending as one batch frame (events first, then states), or None."""
        if not self._queue and not self._latest:
            return None
        items = [_text(p) for p in self._queue]
        items.extend(_text(p) for p in self._latest.values())
        self._queue.clear()
        self._latest.clear()
        self.delivered += len(items)
        self.frames += 1
        return (
            f'{{"type":"batch","sent_ms":{int(sent_ms)},"dropped":{self.dropped},'
            f'"items":[{",".join(items)}]}}'
        )

    def close(self, reason: str = "") -> None:
        self._latest.clear()
        super().close(reason)

    def get_nowait(self) -> Payload | None:
        """A frame of everything pending now (ignoring the pacing), or None."""
        if self.closed_reason is not None:
            raise SubscriptionClosedError(self.closed_reason)
        return self.take_frame(self._wall_ms())

    async def get(self) -> Payload:
        """The next frame, at least `batch_s` after the previous one."""
        while True:
            if self.closed_reason is not None:
                raise SubscriptionClosedError(self.closed_reason)
            if not len(self):
                self._waiter = asyncio.get_running_loop().create_future()
                try:
                    await self._waiter
                finally:
                    self._waiter = None
                continue
            now_ms = self._wall_ms()
            if self._last_frame_ms is not None:
                wait_ms = self._last_frame_ms + self.batch_s * 1000.0 - now_ms
                if wait_ms > 0.0:
                    await asyncio.sleep(wait_ms / 1000.0)
                    continue
            frame = self.take_frame(now_ms)
            self._last_frame_ms = now_ms
            if frame is not None:
                return frame


def _text(payload: Payload) -> str:
    return payload if isinstance(payload, str) else payload.decode()


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def encode(message: dict[str, Any]) -> str:
    """Compact JSON, non-finite numbers as null (a browser cannot parse NaN)."""
    try:
        return json.dumps(message, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(message), separators=(",", ":"), ensure_ascii=False)


def state_key(message: dict[str, Any]) -> str | None:
    """The key under which a batch keeps only the newest of a message, or None (an event)."""
    kind = message.get("type")
    if kind == "vehicle" and "id" in message:
        return f"vehicle/{message['id']}"
    if kind == "vehicle.plan" and "vehicle_id" in message:
        return f"vehicle.plan/{message['vehicle_id']}"
    return None


@dataclass(slots=True)
class _State:
    message: dict[str, Any]
    payload: str | None
    kind: str | None
    lat: float | None
    lon: float | None


class LiveFeed:
    """The service's feed: `publish` updates, `subscribe` with a filter (see module docstring)."""

    def __init__(self, queue_size: int = 1000) -> None:
        self.queue_size = queue_size
        self._subs: dict[Subscription, FeedFilter] = {}
        self._states: dict[str, _State] = {}  # the newest state of every vehicle, for joiners
        self.published = 0

    def subscribe(
        self, flt: FeedFilter, name: str = "", batch_s: float | None = None
    ) -> Subscription:
        """A subscription; with `batch_s`, coalesced batches starting with the fleet's state."""
        sub: Subscription
        if batch_s is None:
            sub = Subscription(self.queue_size, OverflowPolicy.DROP_OLDEST, name)
        else:
            batched = CoalescingSubscription(batch_s, name, max_events=self.queue_size)
            for key, st in self._states.items():
                if flt.matches(st.kind, st.lat, st.lon):
                    if st.payload is None:
                        st.payload = encode(st.message)
                    batched.offer_latest(key, st.payload)
            sub = batched
        self._subs[sub] = flt
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.pop(sub, None)

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def subscriptions(self) -> list[Subscription]:
        """The current subscriptions (for their counters: delivered, dropped, frames)."""
        return list(self._subs)

    def publish(
        self,
        message: dict[str, Any],
        kind: str | None = None,
        lat: float | None = None,
        lon: float | None = None,
    ) -> None:
        """Encode once; offer to every matching subscriber without waiting."""
        key = state_key(message)
        if not self._subs:
            if key is not None:  # encoded only if someone subscribes
                self._states[key] = _State(message, None, kind, lat, lon)
            return
        payload = encode(message)
        if key is not None:
            self._states[key] = _State(message, payload, kind, lat, lon)
        self.published += 1
        for sub, flt in list(self._subs.items()):
            if sub.closed:
                self._subs.pop(sub, None)
            elif flt.matches(kind, lat, lon):
                if key is not None and isinstance(sub, CoalescingSubscription):
                    sub.offer_latest(key, payload)
                else:
                    sub.offer(payload)
