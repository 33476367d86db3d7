"""The operator API on real sockets: tokens and roles, problem details naming the field,
idempotent submissions, bad input changing nothing, reads, exports and the live feed."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import websockets
from google.transit import gtfs_realtime_pb2

from tests.fleet.fleet_service_harness import (
    LOGISTICS,
    MOBILITY,
    VIEWER,
    Running,
    running_service,
    write_config,
)

ORDER = {
    "warehouse": "ichikawa-shiohama",
    "drone_port": "port-cross-tower",
    "weight_kg": 1.5,
    "deadline_in_s": 3600,
}
TRIP = {"origin": "messe", "destination": "wakaba", "riders": 1}


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Running]:
    async with running_service(write_config(tmp_path)) as running:
        yield running


def assert_problem(reply: Any, status: int, field: str | None = None) -> None:
    assert reply.status == status, reply.body
    assert reply.headers["content-type"].startswith("application/problem+json")
    assert reply.body["status"] == status and reply.body["title"]
    if field is not None:
        assert field in [e["field"] for e in reply.body["errors"]], reply.body


async def test_missing_or_wrong_token_is_401_and_changes_nothing(api: Running) -> None:
    before = api.journal_size()
    for token in (None, "not-a-token"):
        assert_problem(await api.call("GET", "/api/v1/vehicles", token), 401)
        assert_problem(await api.call("POST", "/api/v1/orders", token, ORDER), 401)
    raw = await api.call("GET", "/api/v1/orders", headers={"Authorization": LOGISTICS})
    assert_problem(raw, 401)  # no "Bearer " scheme
    assert api.journal_size() == before


async def test_wrong_role_is_403_and_changes_nothing(api: Running) -> None:
    before = api.journal_size()
    assert_problem(await api.call("POST", "/api/v1/orders", VIEWER, ORDER), 403)
    assert_problem(await api.call("POST", "/api/v1/orders", MOBILITY, ORDER), 403)
    assert_problem(await api.call("POST", "/api/v1/trips", LOGISTICS, TRIP), 403)
    assert_problem(await api.call("POST", "/api/v1/trips", VIEWER, TRIP), 403)
    assert_problem(await api.call("POST", "/api/v1/vehicles/drone-01/hold", MOBILITY), 403)
    assert_problem(await api.call("POST", "/api/v1/vehicles/bus-1/hold", LOGISTICS), 403)
    assert_problem(await api.call("POST", "/api/v1/vehicles/bus-1/return", VIEWER), 403)
    # a viewer's malformed submission is still refused for the role, not parsed
    assert_problem(await api.call("POST", "/api/v1/orders", VIEWER, {"weight_kg": "x"}), 403)
    order = await api.call("POST", "/api/v1/orders", LOGISTICS, ORDER)
    assert order.status == 201
    size = api.journal_size()
    assert_problem(await api.call("POST", f"/api/v1/orders/{order.body['id']}/cancel", VIEWER), 403)
    assert_problem(
        await api.call("POST", f"/api/v1/orders/{order.body['id']}/cancel", MOBILITY), 403
    )
    assert api.journal_size() == size > before
    assert (await api.call("GET", "/api/v1/orders", VIEWER)).body["items"][0]["id"] == order.body[
        "id"
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**ORDER, "weight_kg": "heavy"}, "weight_kg"),
        ({**ORDER, "weight_kg": -1}, "weight_kg"),
        ({**ORDER, "weight_kg": 500}, "weight_kg"),
        ({k: v for k, v in ORDER.items() if k != "warehouse"}, "warehouse"),
        ({**ORDER, "warehouse": "atlantis"}, "warehouse"),
        ({**ORDER, "drone_port": "ichikawa-shiohama"}, "drone_port"),
        ({**ORDER, "deadline_s": 10.0}, "deadline_s"),  # both deadline forms
        ({k: v for k, v in ORDER.items() if k != "deadline_in_s"}, "deadline_s"),  # neither
        (
            {**{k: v for k, v in ORDER.items() if k != "deadline_in_s"}, "deadline_s": 10.0},
            "deadline_s",
        ),
        ({**ORDER, "colour": "red"}, "colour"),
        ({**ORDER, "deadline_in_s": float("inf")}, "deadline_in_s"),
    ],
)
async def test_bad_orders_get_problem_details_naming_the_field(
    api: Running, body: Any, field: str
) -> None:
    before = api.journal_size()
    reply = await api.call("POST", "/api/v1/orders", LOGISTICS, json.dumps(body).encode())
    assert_problem(reply, 422, field)
    assert api.journal_size() == before
    assert (await api.call("GET", "/api/v1/orders", VIEWER)).body["items"] == []


async def test_not_json_and_nan_are_refused(api: Running) -> None:
    reply = await api.call("POST", "/api/v1/orders", LOGISTICS, b"{not json")
    assert_problem(reply, 422)
    nan = json.dumps({**ORDER, "weight_kg": float("nan")}).encode()
    assert_problem(await api.call("POST", "/api/v1/orders", LOGISTICS, nan), 422, "weight_kg")
    bad_trips = [
        ({**TRIP, "riders": 0}, "riders"),
        ({**TRIP, "destination": "messe"}, "destination"),
        ({**TRIP, "origin": "nowhere"}, "origin"),
        ({**TRIP, "mode": "rocket"}, "mode"),
    ]
    for body, field in bad_trips:
        assert_problem(await api.call("POST", "/api/v1/trips", MOBILITY, body), 422, field)
    assert api.journal_size() == 0


async def test_idempotent_submission_and_conflicting_reuse(api: Running) -> None:
    first = await api.call("POST", "/api/v1/orders", LOGISTICS, {**ORDER, "idempotency_key": "k-1"})
    assert first.status == 201
    retry = await api.call("POST", "/api/v1/orders", LOGISTICS, {**ORDER, "idempotency_key": "k-1"})
    assert retry.status == 200 and retry.body["id"] == first.body["id"]
    size = api.journal_size()
    clash = await api.call(
        "POST", "/api/v1/orders", LOGISTICS, {**ORDER, "weight_kg": 2.5, "idempotency_key": "k-1"}
    )
    assert_problem(clash, 409, "idempotency_key")
    header = await api.call(
        "POST", "/api/v1/trips", MOBILITY, TRIP, headers={"Idempotency-Key": "t-1"}
    )
    again = await api.call(
        "POST", "/api/v1/trips", MOBILITY, TRIP, headers={"Idempotency-Key": "t-1"}
    )
    assert header.status == 201 and again.status == 200 and again.body["id"] == header.body["id"]
    assert api.journal_size() > size
    assert len((await api.call("GET", "/api/v1/orders", VIEWER)).body["items"]) == 1


async def test_answers_at_once_and_records_who(api: Running) -> None:
    # no vehicle is connected: both are answered at once, rejected with the reason
    order = await api.call("POST", "/api/v1/orders", LOGISTICS, ORDER)
    assert order.status == 201 and order.body["state"] == "rejected" and order.body["reason"]
    assert order.body["submitted_by"] == "logistics-desk"
    history = await api.call("GET", f"/api/v1/history/{order.body['id']}", VIEWER)
    assert [e["kind"] for e in history.body["items"]] == ["order.submitted", "order.state"]
    assert history.body["items"][0]["actor"] == "logistics-desk"
    assert_problem(
        await api.call("POST", f"/api/v1/orders/{order.body['id']}/cancel", LOGISTICS), 409
    )
    assert_problem(await api.call("GET", "/api/v1/orders/ord-999999", VIEWER), 404)
    assert_problem(await api.call("GET", "/api/v1/history/nothing", VIEWER), 404)
    cmd = await api.call("POST", "/api/v1/vehicles/bus-1/hold", MOBILITY)
    assert_problem(cmd, 409)  # not connected: refused, but the command is on record with who
    vh = await api.call("GET", "/api/v1/history/bus-1", VIEWER)
    assert vh.body["items"][-1]["actor"] == "mobility-desk"
    assert vh.body["items"][-1]["data"] == {"action": "hold"}
    assert_problem(await api.call("POST", "/api/v1/vehicles/bus-1/fly", MOBILITY), 422)


async def test_reads_and_exports(api: Running) -> None:
    vehicles = (await api.call("GET", "/api/v1/vehicles?kind=bus", VIEWER)).body["items"]
    assert vehicles and {v["kind"] for v in vehicles} == {"bus"}
    one = await api.call("GET", f"/api/v1/vehicles/{vehicles[0]['id']}", VIEWER)
    assert set(one.body) >= {"state", "plan", "telemetry", "link"}
    airspace = (await api.call("GET", "/api/v1/airspace", VIEWER)).body
    assert airspace["type"] == "FeatureCollection" and len(airspace["features"]) > 5
    snapshot = (await api.call("GET", "/api/v1/export/fleet.geojson", VIEWER)).body
    assert snapshot["type"] == "FeatureCollection"
    pb = await api.call("GET", "/api/v1/export/gtfs-rt/vehicle-positions.pb", VIEWER)
    feed = gtfs_realtime_pb2.FeedMessage()
    feed.ParseFromString(pb.body)
    assert feed.header.gtfs_realtime_version == "2.0"
    spec = (await api.call("GET", "/openapi.json")).body
    assert {"/api/v1/orders", "/api/v1/trips", "/api/v1/vehicles/{vehicle_id}/{action}"} <= set(
        spec["paths"]
    )


async def test_live_feed_needs_a_token_and_filters_by_kind(api: Running) -> None:
    url = f"ws://127.0.0.1:{api.port}/api/v1/feed"
    async with websockets.connect(url) as ws:
        with pytest.raises(websockets.ConnectionClosed) as info:
            await ws.recv()
        assert info.value.rcvd is not None and info.value.rcvd.code == 4401
    async with websockets.connect(f"{url}?token={VIEWER}&bbox=1,2,3") as ws:
        with pytest.raises(websockets.ConnectionClosed) as info:
            await ws.recv()
        assert info.value.rcvd is not None and info.value.rcvd.code == 4400
    async with websockets.connect(f"{url}?token={VIEWER}&kinds=bus") as ws:
        while api.service.feed.subscribers == 0:
            import asyncio

            await asyncio.sleep(0.01)
        await api.call("POST", "/api/v1/orders", LOGISTICS, ORDER)  # drone kind: filtered out
        await api.call("POST", "/api/v1/trips", MOBILITY, TRIP)
        message = json.loads(await ws.recv())
        assert message["type"] == "trip.submitted"
