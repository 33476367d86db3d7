"""The operators' live feed: vehicle positions, plan changes and events as JSON, filtered.

Each update is encoded to JSON once and offered to every subscriber whose filter (vehicle kinds,
an area) matches; each subscriber has its own bounded queue (`fleet.feed.Subscription`: the
oldest queued update is dropped when a client falls behind), so a slow client never delays the
service or any other client.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fleet.feed import OverflowPolicy, Subscription


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


class LiveFeed:
    def __init__(self, queue_size: int = 1000) -> None:
        self.queue_size = queue_size
        self._subs: dict[Subscription, FeedFilter] = {}
        self.published = 0

    def subscribe(self, flt: FeedFilter, name: str = "") -> Subscription:
        sub = Subscription(self.queue_size, OverflowPolicy.DROP_OLDEST, name)
        self._subs[sub] = flt
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.pop(sub, None)

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def publish(
        self,
        message: dict[str, Any],
        kind: str | None = None,
        lat: float | None = None,
        lon: float | None = None,
    ) -> None:
        """Encode once; offer to every matching subscriber without waiting."""
        if not self._subs:
            return
        payload = json.dumps(message, separators=(",", ":"), ensure_ascii=False)
        self.published += 1
        for sub, flt in list(self._subs.items()):
            if sub.closed:
                self._subs.pop(sub, None)
            elif flt.matches(kind, lat, lon):
                sub.offer(payload)
