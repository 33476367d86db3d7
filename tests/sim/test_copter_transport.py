"""Simulated copters on real loopback sockets: UDP to a ground station port, TCP like SITL."""

from __future__ import annotations

import asyncio

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from sim.copter.channel import LinkFaults, RandomLoss
from sim.copter.swarm import CopterSwarm
from vehicles.clock import VirtualClock

C = mavlink


class _Gcs(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.parser = C.MAVLink(None, srcSystem=255, srcComponent=190)
        self.parser.robust_parsing = True
        self.received: list[tuple[object, tuple[str, int]]] = []

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        for msg in self.parser.parse_buffer(data) or []:
            self.received.append((msg, addr))


async def pump(swarm: CopterSwarm, clock: VirtualClock, seconds: float) -> None:
    for _ in range(round(seconds / 0.1)):
        await clock.advance(0.1)
        swarm.step()
        await asyncio.sleep(0.002)  # let the datagrams arrive


async def test_three_copters_send_to_one_ground_port_from_their_own_ports() -> None:
    loop = asyncio.get_running_loop()
    transport, gcs = await loop.create_datagram_endpoint(_Gcs, local_addr=("127.0.0.1", 0))
    gcs_addr = transport.get_extra_info("sockname")
    clock = VirtualClock()
    swarm = CopterSwarm(clock)
    try:
        copters = [await swarm.add_udp(sysid, gcs_addr) for sysid in (11, 12, 13)]
        await pump(swarm, clock, 3.0)
        beats = {(m.get_srcSystem(), addr[1]) for m, addr in gcs.received  # type: ignore[attr-defined]
                 if m.get_type() == "HEARTBEAT"}  # type: ignore[attr-defined]
        assert beats == {(c.sysid, c.port) for c in copters}
        # answer copter 12 at the address it sent from: it arms, the others do not
        sender = C.MAVLink(None, srcSystem=255, srcComponent=190)
        arm = sender.command_long_encode(12, 1, C.MAV_CMD_COMPONENT_ARM_DISARM, 0,
                                         1, 0, 0, 0, 0, 0, 0).pack(sender)
        transport.sendto(arm, ("127.0.0.1", copters[1].port))
        await asyncio.sleep(0.05)
        await pump(swarm, clock, 0.5)
        acks = [m for m, _ in gcs.received if m.get_type() == "COMMAND_ACK"]  # type: ignore[attr-defined]
        assert [(a.get_srcSystem(), a.result) for a in acks] == [(12, C.MAV_RESULT_ACCEPTED)]  # type: ignore[attr-defined]
        assert [c.autopilot.fc.armed for c in copters] == [False, True, False]
    finally:
        await swarm.close()
        transport.close()


async def test_a_cut_link_goes_silent_and_recovers() -> None:
    loop = asyncio.get_running_loop()
    transport, gcs = await loop.create_datagram_endpoint(_Gcs, local_addr=("127.0.0.1", 0))
    clock = VirtualClock()
    swarm = CopterSwarm(clock)
    try:
        copter = await swarm.add_udp(5, transport.get_extra_info("sockname"))
        await pump(swarm, clock, 1.0)
        copter.cut.cut()
        gcs.received.clear()
        await pump(swarm, clock, 2.0)
        assert gcs.received == [] and copter.cut.dropped > 0
        copter.cut.restore()
        await pump(swarm, clock, 2.0)
        assert any(m.get_type() == "HEARTBEAT" for m, _ in gcs.received)  # type: ignore[attr-defined]
    finally:
        await swarm.close()
        transport.close()


async def test_latency_delays_both_directions() -> None:
    loop = asyncio.get_running_loop()
    transport, gcs = await loop.create_datagram_endpoint(_Gcs, local_addr=("127.0.0.1", 0))
    clock = VirtualClock()
    swarm = CopterSwarm(clock)
    try:
        copter = await swarm.add_udp(6, transport.get_extra_info("sockname"))
        copter.faults.delay_s = 0.5
        copter.autopilot.advance_to(clock.now_s())
        copter.autopilot.send_now("HEARTBEAT")
        swarm.step()
        await asyncio.sleep(0.01)
        assert gcs.received == []  # the heartbeat is still in flight
        await pump(swarm, clock, 0.4)
        assert gcs.received == []
        await pump(swarm, clock, 0.2)
        assert any(m.get_type() == "HEARTBEAT" for m, _ in gcs.received)  # type: ignore[attr-defined]
    finally:
        await swarm.close()
        transport.close()


def test_random_loss_is_seeded_and_directional() -> None:
    a, b = RandomLoss(0.3, seed=4), RandomLoss(0.3, seed=4)
    pattern_a = [a.passes("down", b"x") for _ in range(200)]
    assert pattern_a == [b.passes("down", b"x") for _ in range(200)]
    assert 30 < pattern_a.count(False) < 90
    up_only = LinkFaults(RandomLoss(1.0, direction="up"))
    assert up_only.passes("down", b"x") and not up_only.passes("up", b"x")


async def test_tcp_copter_serves_a_client_like_sitl() -> None:
    clock = VirtualClock()
    swarm = CopterSwarm(clock)
    try:
        copter = await swarm.add_tcp(7)
        reader, writer = await asyncio.open_connection("127.0.0.1", copter.port)
        await asyncio.sleep(0.01)
        sender = C.MAVLink(None, srcSystem=255, srcComponent=190)
        request = sender.command_long_encode(7, 1, C.MAV_CMD_REQUEST_MESSAGE, 0,
                                             C.MAVLINK_MSG_ID_AUTOPILOT_VERSION,
                                             0, 0, 0, 0, 0, 0).pack(sender)
        writer.write(request[:7])  # a packet split across two writes
        await writer.drain()
        await asyncio.sleep(0.01)
        writer.write(request[7:])
        await writer.drain()
        await asyncio.sleep(0.02)
        await clock.advance(0.1)
        swarm.step()
        data = await asyncio.wait_for(reader.read(65536), 5.0)
        parser = C.MAVLink(None)
        kinds = [m.get_type() for m in parser.parse_buffer(data) or []]
        assert "AUTOPILOT_VERSION" in kinds and "COMMAND_ACK" in kinds
        writer.close()
    finally:
        await swarm.close()
