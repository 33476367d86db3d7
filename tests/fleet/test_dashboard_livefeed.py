"""The live feed's coalesced batches (the dashboard's mode): newest state per vehicle, events in
order and never coalesced, a late joiner gets the fleet at once, bounded memory, bad input refused,
and the one-message-per-update format unchanged for other clients.
"""

from __future__ import annotations

import asyncio
import json
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import websockets
from hypothesis import given, settings
from hypothesis import strategies as st

from fleet.livefeed import CoalescingSubscription, FeedFilter, LiveFeed, encode
from tests.fleet.fleet_service_harness import VIEWER, running_service, write_config

pytestmark = pytest.mark.timeout(60)


def position(vid: str, lat: float, kind: str = "bus", **extra: Any) -> dict[str, Any]:
    return {"type": "vehicle", "id": vid, "kind": kind, "lat_deg": lat, "lon_deg": 140.0, **extra}


def frame(sub: CoalescingSubscription, sent_ms: float = 1000.0) -> dict[str, Any]:
    text = sub.take_frame(sent_ms)
    assert text is not None
    decoded: dict[str, Any] = json.loads(text)
    return decoded


def publish_position(feed: LiveFeed, vid: str, lat: float, kind: str = "bus") -> None:
    feed.publish(position(vid, lat, kind), kind=kind, lat=lat, lon=140.0)


async def test_a_batch_keeps_the_newest_state_of_each_vehicle_and_every_event_in_order() -> None:
    feed = LiveFeed()
    sub = feed.subscribe(FeedFilter(), batch_s=0.2)
    assert isinstance(sub, CoalescingSubscription)
    publish_position(feed, "bus-1", 35.60)
    feed.publish({"type": "order.state", "subject": "ord-1", "data": {"state": "assigned"}})
    publish_position(feed, "bus-2", 35.61)
    publish_position(feed, "bus-1", 35.62)
    feed.publish({"type": "order.state", "subject": "ord-1", "data": {"state": "loaded"}})
    feed.publish({"type": "vehicle.plan", "vehicle_id": "bus-1", "plan": [1]})
    feed.publish({"type": "vehicle.plan", "vehicle_id": "bus-1", "plan": [1, 2]})
    got = frame(sub, 1234.9)
    assert got["type"] == "batch" and got["sent_ms"] == 1234 and got["dropped"] == 0
    items = got["items"]
    events = [i["data"]["state"] for i in items if i["type"] == "order.state"]
    assert events == ["assigned", "loaded"]  # events are never coalesced, and come first
    assert items[:2] == [i for i in items if i["type"] == "order.state"]
    positions = {i["id"]: i["lat_deg"] for i in items if i["type"] == "vehicle"}
    assert positions == {"bus-1": 35.62, "bus-2": 35.61}
    assert [i["plan"] for i in items if i["type"] == "vehicle.plan"] == [[1, 2]]
    assert sub.coalesced == 2 and sub.frames == 1 and sub.take_frame(2000.0) is None


async def test_a_late_joiner_gets_each_matching_vehicle_once_and_the_old_mode_is_unchanged() -> (
    None
):
    feed = LiveFeed()
    for i in range(50):  # published before anyone listened: kept as the fleet's state
        publish_position(feed, f"pm-{i:02d}", 35.60 + i * 0.001, "mobility")
    publish_position(feed, "pm-00", 35.70, "mobility")
    feed.publish({"type": "vehicle.state", "subject": "pm-00", "data": {"state": "idle"}})
    buses_only = feed.subscribe(FeedFilter(kinds=frozenset({"bus"})), batch_s=0.1)
    everyone = feed.subscribe(FeedFilter(), batch_s=0.1)
    old_style = feed.subscribe(FeedFilter())
    assert buses_only.get_nowait() is None
    assert isinstance(everyone, CoalescingSubscription)
    items = frame(everyone)["items"]
    assert len(items) == 50 and len({i["id"] for i in items}) == 50
    assert next(i for i in items if i["id"] == "pm-00")["lat_deg"] == 35.70
    # the original format: one message per update, nothing from before it subscribed
    assert old_style.get_nowait() is None
    publish_position(feed, "pm-01", 35.5, "mobility")
    publish_position(feed, "pm-01", 35.4, "mobility")
    texts = [old_style.get_nowait(), old_style.get_nowait()]
    assert [json.loads(t)["lat_deg"] for t in texts if t is not None] == [35.5, 35.4]


async def test_memory_is_bounded_oldest_events_dropped_vehicles_beyond_the_cap_counted() -> None:
    sub = CoalescingSubscription(0.1, max_events=3, max_keys=2)
    for i in range(10):
        sub.offer(json.dumps({"type": "supervisor", "n": i}))
    for v in ("a", "b", "c", "a"):
        sub.offer_latest(v, json.dumps(position(v, 35.0)))
    assert len(sub) == 5
    got = frame(sub)
    assert [i.get("n") for i in got["items"][:3]] == [7, 8, 9]
    assert got["dropped"] == 7 + 1  # seven events and vehicle "c"
    assert {i["id"] for i in got["items"][3:]} == {"a", "b"}
    sub.close("bye")
    sub.offer_latest("a", "{}")
    assert len(sub) == 0
    with pytest.raises(ValueError):
        CoalescingSubscription(0.01)


def test_non_finite_numbers_are_sent_as_null() -> None:
    text = encode(
        position("d-1", float("nan"), battery_soc=float("inf"), path=[1.0, -float("inf")])
    )
    assert json.loads(text) == {
        "type": "vehicle",
        "id": "d-1",
        "kind": "bus",
        "lat_deg": None,
        "lon_deg": 140.0,
        "battery_soc": None,
        "path": [1.0, None],
    }


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    st.lists(
        st.tuples(st.sampled_from(["v1", "v2", "v3", "v4", "event"]), st.integers(0, 1000)),
        max_size=60,
    ),
    st.lists(st.integers(1, 59), max_size=4),
)
def test_batches_deliver_the_newest_state_and_all_events_whatever_the_timing(
    updates: list[tuple[str, int]], cuts: list[int]
) -> None:
    """Whenever frames are taken, the client ends with the newest state of each vehicle and
    every event exactly once, in order (what a page folding the frames would show)."""

    async def run() -> None:
        feed = LiveFeed()
        sub = feed.subscribe(FeedFilter(), batch_s=0.05)
        assert isinstance(sub, CoalescingSubscription)
        seen_state: dict[str, int] = {}
        seen_events: list[int] = []

        def fold() -> None:
            text = sub.take_frame(0.0)
            for item in json.loads(text)["items"] if text else []:
                if item["type"] == "vehicle":
                    seen_state[item["id"]] = item["n"]
                else:
                    seen_events.append(item["n"])

        for n, (who, value) in enumerate(updates):
            if who == "event":
                feed.publish({"type": "supervisor", "n": value})
            else:
                feed.publish({"type": "vehicle", "id": who, "n": value})
            if n in cuts:
                fold()
        fold()
        assert seen_state == {w: v for w, v in updates if w != "event"}
        assert seen_events == [v for w, v in updates if w == "event"]

    asyncio.run(run())


async def test_the_api_serves_batches_paced_and_refuses_a_bad_batch_period(tmp_path: Path) -> None:
    async with running_service(write_config(tmp_path)) as api:
        url = f"ws://127.0.0.1:{api.port}/api/v1/feed?token={VIEWER}"
        for bad in ("10", "abc", "-5", "99999", "１００"):
            async with websockets.connect(f"{url}&batch_ms={bad}") as ws:
                with pytest.raises(websockets.ConnectionClosed) as info:
                    await ws.recv()
                assert info.value.rcvd is not None and info.value.rcvd.code == 4400
        feed = api.service.feed
        publish_position(feed, "bus-9", 35.64)  # before the client: in its first frame
        async with websockets.connect(f"{url}&batch_ms=200") as ws:
            first = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert first["type"] == "batch"
            assert [i["id"] for i in first["items"] if i["type"] == "vehicle"] == ["bus-9"]
            for k in range(300):  # a burst: one vehicle's 300 updates
                publish_position(feed, "bus-9", 35.0 + k / 1000)
            frames: list[dict[str, Any]] = []
            while not frames or frames[-1]["items"][-1]["lat_deg"] != 35.299:
                frames.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
            # coalesced: a handful of frames, not 300 messages; the last carries the newest
            assert len(frames) <= 3
            assert sum(len(f["items"]) for f in frames) <= 3
            if len(frames) > 1:  # paced: at least the batch period apart on the server's clock
                assert all(b["sent_ms"] - a["sent_ms"] >= 150 for a, b in pairwise(frames))
