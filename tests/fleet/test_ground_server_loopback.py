"""The ground server and vehicle client over real websockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from fleet.ground_server import GroundServer
from vehicles.ground import messages as m
from vehicles.ground.client import Backoff, GroundVehicleClient
from vehicles.ground.codec import decode, encode
from vehicles.ground.server_types import (
    CommandAnswered,
    EventReceived,
    TelemetryReceived,
    VehicleConnected,
)

N = 50
CREDS = {f"v{i:02d}": f"token-{i}" for i in range(N)}
FAST = Backoff(initial_s=0.05, max_s=0.2)
pytestmark = pytest.mark.timeout(60)


def _tm(i: int, speed: float) -> m.Telemetry:
    return m.Telemetry(
        0,
        time.time(),
        35.64 + i * 1e-4,
        140.04,
        90.0,
        speed,
        0.8,
        0,
        False,
        m.VehicleState.EN_ROUTE,
    )


def _ev(kind: m.EventKind, **kw: object) -> m.Event:
    return m.Event(0, time.time(), kind, **kw)  # type: ignore[arg-type]


async def _until(cond: object, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


@pytest.fixture
async def server() -> AsyncIterator[GroundServer]:
    async with GroundServer(CREDS, limits=m.Limits(max_frames_per_s=200, burst_frames=400)) as srv:
        yield srv


async def _clients(
    srv: GroundServer, ids: list[str]
) -> tuple[list[GroundVehicleClient], list[asyncio.Task[None]]]:
    clients = [
        GroundVehicleClient(srv.url, m.VehicleId(v), CREDS[v], backoff=FAST, seed=i)
        for i, v in enumerate(ids)
    ]
    tasks = [asyncio.create_task(c.run()) for c in clients]
    await asyncio.wait_for(asyncio.gather(*(c.wait_open() for c in clients)), 20)
    return clients, tasks


async def _stop(clients: list[GroundVehicleClient], tasks: list[asyncio.Task[None]]) -> None:
    await asyncio.gather(*(c.close() for c in clients))
    await asyncio.wait_for(asyncio.gather(*tasks), 10)


async def test_fifty_vehicles_authenticate_stream_receive_plans_and_report(
    server: GroundServer,
) -> None:
    seen: list[object] = []
    server.add_listener(seen.append)
    ids = sorted(CREDS)
    clients, tasks = await _clients(server, ids)
    assert sorted(server.connected_vehicles()) == ids
    for k in range(5):
        for i, c in enumerate(clients):
            c.send_telemetry(_tm(i, float(k)))
        await asyncio.sleep(0.02)
    acks = [
        server.send_plan(
            v,
            [
                m.PlanStop("messe", pickups=(f"r-{v}",)),
                m.PlanStop("aeon-mall", dropoffs=(f"r-{v}",)),
            ],
        )
        for v in ids
    ]

    async def drive(c: GroundVehicleClient) -> None:  # each vehicle follows its plan
        while True:
            for cmd in c.take_commands():
                assert isinstance(cmd, m.Plan)
                c.reply(cmd.seq)
                for stop in cmd.stops:
                    c.send_event(
                        _ev(
                            m.EventKind.ARRIVED, stop_id=stop.stop_id, plan_version=cmd.plan_version
                        )
                    )
                    for rider in stop.pickups:
                        c.send_event(_ev(m.EventKind.BOARDED, rider_id=rider, stop_id=stop.stop_id))
                    for rider in stop.dropoffs:
                        c.send_event(
                            _ev(m.EventKind.ALIGHTED, rider_id=rider, stop_id=stop.stop_id)
                        )
                c.send_event(_ev(m.EventKind.PLAN_COMPLETED, plan_version=cmd.plan_version))
                return
            await asyncio.sleep(0.01)

    await asyncio.wait_for(asyncio.gather(*(drive(c) for c in clients)), 20)
    answers = await asyncio.wait_for(asyncio.gather(*acks), 20)
    assert all(a.ok for a in answers)
    await _until(lambda: all(c.unacked_events == 0 for c in clients))
    events = [e for e in seen if isinstance(e, EventReceived)]
    assert len(events) == N * 5
    per_vehicle = Counter(e.vehicle_id for e in events)
    assert set(per_vehicle.values()) == {5}
    for v in ids:
        kinds = [e.event.kind for e in events if e.vehicle_id == v]
        assert kinds == ["arrived", "boarded", "arrived", "alighted", "plan_completed"]
        assert [e.event.seq for e in events if e.vehicle_id == v] == [1, 2, 3, 4, 5]
        record = server.core.vehicle(v)
        assert record.telemetry is not None and record.telemetry.speed_m_s == 4.0  # the latest
        assert record.plan_version_acked == 0
    assert sum(isinstance(e, VehicleConnected) for e in seen) == N
    assert sum(isinstance(e, CommandAnswered) for e in seen) == N
    assert 0 < sum(isinstance(e, TelemetryReceived) for e in seen) <= N * 5
    await _stop(clients, tasks)


async def test_reconnects_lose_no_event_and_duplicate_none(server: GroundServer) -> None:
    received: list[int] = []
    server.add_listener(
        lambda e: received.append(e.event.seq) if isinstance(e, EventReceived) else None
    )
    [client], tasks = await _clients(server, ["v00"])
    sent = 0
    for cut in range(6):
        for _ in range(7):
            client.send_event(_ev(m.EventKind.ARRIVED, stop_id=f"s{sent}"))
            sent += 1
        await asyncio.sleep(0.001 * cut)  # cut at different points: before, during, after acks
        ws = client._ws
        assert ws is not None
        ws.transport.abort()  # the link dies abruptly; no close handshake
        for _ in range(3):  # and events keep happening while offline
            client.send_event(_ev(m.EventKind.DEPARTED, stop_id=f"s{sent}"))
            sent += 1
        want = cut + 2
        await _until(lambda: client.connects == want and client.connected)  # noqa: B023
    await _until(lambda: client.unacked_events == 0)
    assert received == list(range(1, sent + 1))
    assert client.connects == 7
    assert client.session.stats.events_resent >= 18  # the offline ones, at least
    await _stop([client], tasks)


async def test_second_connection_for_a_vehicle_replaces_the_first(server: GroundServer) -> None:
    [client], tasks = await _clients(server, ["v01"])
    async with connect(server.url, subprotocols=[m.SUBPROTOCOL]) as raw:  # type: ignore[list-item]
        await raw.send(encode(m.Hello(1, m.VehicleId("v01"), CREDS["v01"], "raw-boot")))
        assert isinstance(decode(await raw.recv()), m.Welcome)  # type: ignore[arg-type]
        await _until(lambda: not client.connected)
        assert client.last_close == (4009, "replaced by a newer connection")
        with pytest.raises(ConnectionClosed) as info:  # and the client comes back, replacing raw
            while True:
                await raw.recv()
        assert info.value.rcvd is not None and info.value.rcvd.code == 4009
    await asyncio.wait_for(client.wait_open(), 10)
    await _stop([client], tasks)


async def _raw_session(srv: GroundServer, vehicle: str) -> object:
    ws = await connect(srv.url, subprotocols=[m.SUBPROTOCOL], max_size=None)  # type: ignore[list-item]
    await ws.send(encode(m.Hello(1, m.VehicleId(vehicle), CREDS[vehicle], "b")))
    assert isinstance(decode(await ws.recv()), m.Welcome)  # type: ignore[arg-type]
    return ws


async def test_bad_input_over_the_wire_leaves_others_working(server: GroundServer) -> None:
    [bystander], tasks = await _clients(server, ["v02"])
    ws = await _raw_session(server, "v03")
    for frame in (b"\xc1\xc1", b"\x92\x01\x02", "text"):
        await ws.send(frame)  # type: ignore[attr-defined]
        err = decode(await ws.recv())  # type: ignore[attr-defined]
        assert isinstance(err, m.ErrorFrame) and err.code is m.ErrorCode.MALFORMED
    await ws.send(encode(m.Ping(7)))  # type: ignore[attr-defined]
    assert decode(await ws.recv()) == m.Pong(7)  # type: ignore[attr-defined]
    await ws.send(b"\x00" * 70_000)  # type: ignore[attr-defined]  # over max_frame_bytes
    with pytest.raises(ConnectionClosed) as info:
        await ws.recv()  # type: ignore[attr-defined]
    assert info.value.rcvd is not None and info.value.rcvd.code == 1009

    flood = await _raw_session(server, "v04")
    with pytest.raises(ConnectionClosed) as info:
        for seq in range(1, 5000):
            await flood.send(encode(m.Ping(seq)))  # type: ignore[attr-defined]
        while True:
            await flood.recv()  # type: ignore[attr-defined]
    assert info.value.rcvd is not None and info.value.rcvd.code == 4029

    bystander.send_event(_ev(m.EventKind.ARRIVED, stop_id="messe"))
    await _until(lambda: bystander.unacked_events == 0)
    assert bystander.connects == 1
    await _stop([bystander], tasks)


async def test_handshake_refusals_have_codes_and_reasons(server: GroundServer) -> None:
    with pytest.raises(InvalidStatus) as status:
        async with connect(server.url.replace("/v1/vehicle", "/v2/nope")):
            pass
    assert status.value.response.status_code == 404
    async with connect(server.url, subprotocols=["kaiteki.ground.v9"]) as ws:  # type: ignore[list-item]
        with pytest.raises(ConnectionClosed) as info:
            await ws.recv()
    assert info.value.rcvd is not None and info.value.rcvd.code == 4002
    assert "kaiteki.ground.v1" in info.value.rcvd.reason
    bad = GroundVehicleClient(server.url, m.VehicleId("v05"), "wrong", backoff=FAST)
    task = asyncio.create_task(bad.run())
    await _until(lambda: bad.last_close is not None)
    assert bad.last_close == (4001, "authentication failed")
    await bad.close()
    await asyncio.wait_for(task, 5)  # close() interrupts the long back-off after 4001


async def test_commands_queued_while_offline_are_delivered_on_connect(server: GroundServer) -> None:
    ack = server.send_command("v06", m.Hold(0, "storm"))
    [client], tasks = await _clients(server, ["v06"])
    await _until(lambda: bool(client.session._commands))
    [hold] = client.take_commands()
    assert isinstance(hold, m.Hold) and hold.reason == "storm"
    client.reply(hold.seq, m.ErrorCode.REFUSED, "manual mode")
    answer = await asyncio.wait_for(ack, 5)
    assert not answer.ok and answer.code is m.ErrorCode.REFUSED and answer.msg == "manual mode"
    await _stop([client], tasks)


async def test_operator_can_disconnect_a_vehicle(server: GroundServer) -> None:
    [client], tasks = await _clients(server, ["v07"])
    assert server.disconnect("v07", "token revoked")
    await _until(lambda: client.last_close is not None)
    assert client.last_close == (4001, "token revoked")
    assert not server.disconnect("v08")  # not connected: nothing to do
    await _stop([client], tasks)


async def test_a_vehicle_that_stops_reading_is_cut_off_not_buffered_forever() -> None:
    from fleet import ground_server as gs

    class Stuck:
        """A websocket whose peer reads nothing: send never completes."""

        def __init__(self) -> None:
            self.closed: tuple[int, str] | None = None

        async def send(self, data: bytes) -> None:
            await asyncio.Event().wait()

    outbox = gs._Outbox(Stuck())  # type: ignore[arg-type]
    for i in range(gs.MAX_OUTBOX_FRAMES + 5):
        outbox.put(b"%d" % i)
    assert list(outbox.frames) == [(1011, "not reading: outbound queue full")]
    outbox.put(b"late")  # nothing more is queued once closing
    assert len(outbox.frames) == 1
    outbox.task.cancel()


async def test_client_gives_up_on_a_server_that_never_welcomes() -> None:
    from websockets.asyncio.server import ServerConnection, serve

    hellos = 0

    async def mute(ws: ServerConnection) -> None:
        nonlocal hellos
        async for _ in ws:
            hellos += 1  # reads the hello, never answers

    async with serve(mute, "127.0.0.1", 0, subprotocols=[m.SUBPROTOCOL]) as srv:  # type: ignore[list-item]
        port = srv.sockets[0].getsockname()[1]
        client = GroundVehicleClient(
            f"ws://127.0.0.1:{port}{m.PATH}",
            m.VehicleId("v"),
            "t",
            backoff=FAST,
            open_timeout_s=0.3,
        )
        task = asyncio.create_task(client.run())
        await _until(lambda: client.connects >= 2)  # it gave up and tried again
        assert client.last_close is not None and client.last_close[1] == "no welcome in time"
        assert hellos >= 1 and not client.connected
        await client.close()
        await asyncio.wait_for(task, 5)


async def test_events_as_an_async_iterator(server: GroundServer) -> None:
    got: list[object] = []

    async def consume() -> None:
        async for event in server.events():
            got.append(event)
            if isinstance(event, EventReceived):
                return

    consumer = asyncio.create_task(consume())
    await asyncio.sleep(0)
    [client], tasks = await _clients(server, ["v09"])
    client.send_telemetry(_tm(9, 3.0))
    client.send_event(_ev(m.EventKind.FAULT, code="lidar-blocked", detail="rain"))
    await asyncio.wait_for(consumer, 10)
    assert [type(e) for e in got] == [VehicleConnected, TelemetryReceived, EventReceived]
    fault = got[-1]
    assert isinstance(fault, EventReceived) and fault.event.code == "lidar-blocked"
    await _until(lambda: server._queues == [])  # the iterator cleaned up after itself
    await _stop([client], tasks)


async def test_a_failing_listener_does_not_cost_the_vehicle_its_link(
    server: GroundServer, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(event: object) -> None:
        raise RuntimeError("service bug")

    got: list[object] = []
    server.add_listener(broken)
    server.add_listener(got.append)  # later listeners still run
    [client], tasks = await _clients(server, ["v10"])
    client.send_event(_ev(m.EventKind.ARRIVED, stop_id="messe"))
    await _until(lambda: client.unacked_events == 0)
    assert client.connects == 1 and client.connected
    assert any(isinstance(e, EventReceived) for e in got)
    assert "listener failed" in caplog.text
    await _stop([client], tasks)
