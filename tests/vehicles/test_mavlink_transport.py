"""The asyncio edges over real loopback sockets: a UDP endpoint serving two drones, a TCP client.

The drones are small scripted autopilots (pymavlink encodes) on their own sockets: they send
heartbeats, answer commands with COMMAND_ACK, and answer a mission upload as ArduPilot does
(legacy MISSION_REQUEST) or as PX4 does (MISSION_REQUEST_INT).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from tests.vehicles.mavlink_peer import C, ScriptedAutopilot
from vehicles.mavlink import mission_plan as mp
from vehicles.mavlink.commands import CommandRejectedError
from vehicles.mavlink.events import DroneDiscovered, LinkState
from vehicles.mavlink.link import LinkConfig
from vehicles.mavlink.modes import FlightMode
from vehicles.mavlink.transport import TcpClient, UdpEndpoint

pytestmark = pytest.mark.timeout(30)
CONFIG = LinkConfig(stream_rates_hz={"GLOBAL_POSITION_INT": 10.0})


class Responder:
    """The scripted autopilot's brain: what it answers to each message from the GCS."""

    def __init__(self, sysid: int, legacy_requests: bool, refuse_arm: bool = False) -> None:
        self.ap = ScriptedAutopilot(sysid)
        self.legacy = legacy_requests
        self.refuse_arm = refuse_arm
        self.mission: list[Any] = []
        self.count = 0
        self.commands: list[Any] = []

    def answer(self, data: bytes) -> list[bytes]:
        out: list[bytes] = []
        m = self.ap.mav
        for msg in self.ap.heard(data):
            kind = msg.get_type()
            if kind == "COMMAND_LONG" or kind == "COMMAND_INT":
                self.commands.append(msg)
                refused = self.refuse_arm and msg.command == C.MAV_CMD_COMPONENT_ARM_DISARM
                if refused:
                    out.append(self.ap.packet(m.statustext_encode(
                        C.MAV_SEVERITY_CRITICAL, b"PreArm: Need 3D Fix")))
                out.append(self.ap.ack(msg.command, C.MAV_RESULT_FAILED if refused
                                       else C.MAV_RESULT_ACCEPTED))
            elif kind == "MISSION_COUNT":
                self.count, self.mission = msg.count, []
                out.append(self._request(0, msg.mission_type))
            elif kind == "MISSION_ITEM_INT":
                if msg.seq == len(self.mission):
                    self.mission.append(msg)
                if len(self.mission) < self.count:
                    out.append(self._request(len(self.mission), msg.mission_type))
                else:
                    out.append(self.ap.packet(m.mission_ack_encode(255, 190, 0,
                                                                   msg.mission_type)))
        return out

    def _request(self, seq: int, mission_type: int) -> bytes:
        m = self.ap.mav
        encode = m.mission_request_encode if self.legacy else m.mission_request_int_encode
        return self.ap.packet(encode(255, 190, seq, mission_type))


class UdpDrone(asyncio.DatagramProtocol):
    def __init__(self, responder: Responder, gcs: tuple[str, int]) -> None:
        self.responder = responder
        self.gcs = gcs
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        for packet in self.responder.answer(data):
            self.transport.sendto(packet, addr)

    async def beat(self) -> None:
        while True:
            assert self.transport is not None
            self.transport.sendto(self.responder.ap.heartbeat(), self.gcs)
            await asyncio.sleep(0.2)


async def test_udp_endpoint_serves_two_drones_commands_and_missions() -> None:
    endpoint = await UdpEndpoint.start(port=0, config=CONFIG)
    events = endpoint.subscribe()
    loop = asyncio.get_running_loop()
    drones, tasks = [], []
    for sysid, legacy in ((1, True), (2, False)):
        proto = UdpDrone(Responder(sysid, legacy, refuse_arm=sysid == 2),
                         ("127.0.0.1", endpoint.port))
        await loop.create_datagram_endpoint(lambda p=proto: p, local_addr=("127.0.0.1", 0))
        drones.append(proto)
        tasks.append(asyncio.create_task(proto.beat()))
    try:
        one = await endpoint.wait_for_drone(1, timeout_s=5)
        two = await endpoint.wait_for_drone(2, timeout_s=5)
        assert one.link_state is LinkState.UP and two.link_state is LinkState.UP
        plan = mp.MissionPlan((mp.Takeoff(20), mp.Waypoint(35.65, 140.04, 30, speed_m_s=9),
                               mp.ReturnToLaunch()), home=(35.648, 140.035, 5.0))
        rows = mp.mission_items(plan)
        counts = await asyncio.gather(one.upload_mission(rows), two.upload_mission(rows))
        assert counts == [len(rows), len(rows)]
        for proto in drones:
            got = proto.responder.mission
            assert [(m.seq, m.command, m.x, m.y) for m in got] == [
                (i, r.command, r.x, r.y) for i, r in enumerate(rows)]
        assert (await one.set_mode(FlightMode.GUIDED)).result == C.MAV_RESULT_ACCEPTED
        assert (await one.arm()).attempts == 1
        with pytest.raises(CommandRejectedError, match="FAILED"):
            await two.arm()
        assert [e.text for e in two.link.statustexts] == ["PreArm: Need 3D Fix"]
        await one.goto(35.65, 140.04, 30)
        assert drones[0].responder.commands[-1].get_type() == "COMMAND_INT"
        stream_requests = [c for c in drones[1].responder.commands
                           if c.command == C.MAV_CMD_SET_MESSAGE_INTERVAL]
        assert stream_requests and stream_requests[0].param2 == pytest.approx(100_000)
        seen = set()
        while not events.empty():
            event = events.get_nowait()
            if isinstance(event, DroneDiscovered):
                seen.add(event.sysid)
        assert seen == {1, 2}
    finally:
        for task in tasks:
            task.cancel()
        for proto in drones:
            assert proto.transport is not None
            proto.transport.close()
        await endpoint.close()


async def test_tcp_client_talks_to_a_listening_autopilot_and_reconnects() -> None:
    responder = Responder(1, legacy_requests=False)
    connections: list[asyncio.StreamWriter] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        writer.write(responder.ap.heartbeat())
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(4096):
                for packet in responder.answer(data):
                    for i in range(0, len(packet), 5):  # packets split across TCP segments
                        writer.write(packet[i:i + 5])
                    await writer.drain()
                writer.write(responder.ap.heartbeat())

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = await TcpClient.connect("127.0.0.1", port, reconnect_s=0.1, config=CONFIG)
    try:
        drone = await client.wait_for_drone(1, timeout_s=5)
        assert (await drone.takeoff(15.0)).attempts == 1
        rows = mp.fence_items([mp.FencePolygon(((35.64, 140.03), (35.66, 140.03),
                                                (35.66, 140.05)))])
        assert await drone.upload_fence(rows) == 3
        assert responder.mission[0].mission_type == C.MAV_MISSION_TYPE_FENCE
        connections[0].close()  # the autopilot drops the connection
        await asyncio.sleep(0.5)
        assert len(connections) == 2 and client.station.counters["tcp_disconnects"] == 1
        assert (await drone.land()).attempts == 1
    finally:
        await client.close()
        server.close()
        await server.wait_closed()


class Recorder(asyncio.DatagramProtocol):
    """A drone socket that only records what the ground station sends."""

    def __init__(self) -> None:
        self.ap = ScriptedAutopilot(7)
        self.heard: list[Any] = []

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.heard += self.ap.heard(data)


async def test_timeouts_at_the_edge_run_on_the_injected_clock() -> None:
    from vehicles.clock import VirtualClock
    from vehicles.mavlink.events import LinkStateChanged
    from vehicles.mavlink.operation import OperationTimeoutError

    clock = VirtualClock()
    endpoint = await UdpEndpoint.start(port=0, clock=clock,
                                       config=LinkConfig(stream_rates_hz={}))
    events = endpoint.subscribe()
    recorder = Recorder()
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: recorder, local_addr=("127.0.0.1", 0))
    try:
        transport.sendto(recorder.ap.heartbeat(), ("127.0.0.1", endpoint.port))
        drone = await endpoint.wait_for_drone(7, timeout_s=5)
        land = asyncio.create_task(drone.land())
        await clock.advance(6.0)  # virtual seconds: no wall-clock wait
        with pytest.raises(OperationTimeoutError):
            await land
        assert drone.link_state is LinkState.LOST
        changes = []
        while not events.empty():
            event = events.get_nowait()
            if isinstance(event, LinkStateChanged):
                changes.append(event.new)
        assert changes == [LinkState.UP, LinkState.DEGRADED, LinkState.LOST]
        for _ in range(50):  # the datagrams already sent reach the recorder
            if len([m for m in recorder.heard if m.get_type() == "HEARTBEAT"]) >= 6:
                break
            await asyncio.sleep(0.01)
        beats = [m for m in recorder.heard if m.get_type() == "HEARTBEAT"]
        lands = [m.confirmation for m in recorder.heard
                 if m.get_type() == "COMMAND_LONG" and m.command == C.MAV_CMD_NAV_LAND]
        assert 6 <= len(beats) <= 7 and lands == [0, 1, 2]
    finally:
        transport.close()
        await endpoint.close()


async def test_signed_drone_over_udp_and_replays_and_impostors_are_dropped() -> None:
    import time

    from vehicles.mavlink.codec import signing_timestamp
    from vehicles.mavlink.signing import SigningConfig

    key = bytes(range(100, 132))
    endpoint = await UdpEndpoint.start(port=0, config=CONFIG,
                                       signing={3: SigningConfig(key)}, require_signing=True)
    loop = asyncio.get_running_loop()
    responder = Responder(3, legacy_requests=False)
    responder.ap = ScriptedAutopilot(3, secret_key=key, timestamp=signing_timestamp(time.time()))
    responder.ap._rx.signing.secret_key = key  # it verifies what we send
    responder.ap._rx.signing.timestamp = signing_timestamp(time.time()) - 1000
    proto = UdpDrone(responder, ("127.0.0.1", endpoint.port))
    await loop.create_datagram_endpoint(lambda: proto, local_addr=("127.0.0.1", 0))
    beat = asyncio.create_task(proto.beat())
    impostor, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol,
                                                      local_addr=("127.0.0.1", 0))
    try:
        drone = await endpoint.wait_for_drone(3, timeout_s=5)
        assert (await drone.arm()).attempts == 1  # our signed command verified by the drone
        assert responder.ap._rx.signing.goodsig_count > 0
        assert responder.ap._rx.signing.badsig_count == 0
        recorded = responder.ap.heartbeat()
        assert proto.transport is not None
        proto.transport.sendto(recorded, ("127.0.0.1", endpoint.port))
        proto.transport.sendto(recorded, ("127.0.0.1", endpoint.port))  # a replay
        unsigned = ScriptedAutopilot(3).heartbeat()
        impostor.sendto(unsigned, ("127.0.0.1", endpoint.port))
        proto.transport.sendto(unsigned, ("127.0.0.1", endpoint.port))
        for _ in range(100):
            counters = endpoint.station.counters
            if counters["replayed"] and counters["unsigned"] >= 2:
                break
            await asyncio.sleep(0.01)
        assert counters["replayed"] >= 1 and counters["unsigned"] == 2
        assert drone.link.address == proto.transport.get_extra_info("sockname")[:2]
    finally:
        beat.cancel()
        impostor.close()
        assert proto.transport is not None
        proto.transport.close()
        await endpoint.close()


async def test_tcp_client_waits_for_a_late_listener_and_gives_up_in_time() -> None:
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    with pytest.raises(ConnectionError, match="nothing accepts"):
        await TcpClient.connect("127.0.0.1", port, reconnect_s=0.05, timeout_s=0.2)
    responder = Responder(1, legacy_requests=False)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(responder.ap.heartbeat())
        await writer.drain()
        with contextlib.suppress(ConnectionError):
            while await reader.read(4096):
                pass

    async def listen_later() -> asyncio.Server:
        await asyncio.sleep(0.3)
        return await asyncio.start_server(serve, "127.0.0.1", port)

    later = asyncio.create_task(listen_later())
    client = await TcpClient.connect("127.0.0.1", port, reconnect_s=0.05, timeout_s=5.0,
                                     config=CONFIG)
    server = await later
    try:
        drone = await client.wait_for_drone(1, timeout_s=5)
        assert drone.link_state is LinkState.UP
    finally:
        await client.close()
        server.close()
        await server.wait_closed()


async def test_closing_the_endpoint_fails_what_is_still_awaited() -> None:
    from vehicles.mavlink.operation import LinkError

    endpoint = await UdpEndpoint.start(port=0, config=CONFIG)
    recorder = Recorder()
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: recorder, local_addr=("127.0.0.1", 0))
    try:
        transport.sendto(recorder.ap.heartbeat(), ("127.0.0.1", endpoint.port))
        drone = await endpoint.wait_for_drone(7, timeout_s=5)
        waiting = [asyncio.create_task(drone.land()),
                   asyncio.create_task(drone.upload_mission([])),
                   asyncio.create_task(drone.get_param("RTL_ALT"))]
        await asyncio.sleep(0.05)
        await endpoint.close()
        for task in waiting:
            with pytest.raises(LinkError, match="closed"):
                await asyncio.wait_for(task, 2)
    finally:
        transport.close()


async def test_a_waiter_with_a_condition_wakes_only_when_it_holds_or_its_time_is_up() -> None:
    """`wait_changed` with a condition: messages that leave it false do not wake the task (the
    condition is asked as each is handled); the first after which it holds does; the deadline,
    seen at a tick, wakes one whose condition never holds."""
    from vehicles.clock import VirtualClock

    clock = VirtualClock()
    endpoint = await UdpEndpoint.start(port=0, clock=clock, config=LinkConfig(stream_rates_hz={}))
    recorder = Recorder()
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: recorder, local_addr=("127.0.0.1", 0))

    async def beat() -> None:  # one heartbeat from the drone, handled by the station
        before = endpoint.station.counters["bytes"]
        transport.sendto(recorder.ap.heartbeat(), ("127.0.0.1", endpoint.port))
        for _ in range(200):
            if endpoint.station.counters["bytes"] > before:
                return
            await asyncio.sleep(0.005)
        raise AssertionError("the heartbeat never arrived")

    try:
        await beat()
        await endpoint.wait_for_drone(7, timeout_s=5)
        holds, asked = False, []

        def condition() -> bool:
            asked.append(holds)
            return holds

        waiting = asyncio.create_task(endpoint.wait_changed(7, 30.0, condition))
        never = asyncio.create_task(endpoint.wait_changed(7, 30.0, lambda: False))
        await asyncio.sleep(0)
        for _ in range(2):
            await beat()
            await asyncio.sleep(0)
        assert not waiting.done() and asked == [False, False]
        holds = True
        await beat()
        await asyncio.sleep(0)
        assert waiting.done() and asked == [False, False, True]
        assert not never.done()
        await clock.advance(31.0)
        assert never.done()
    finally:
        transport.close()
        await endpoint.close()
