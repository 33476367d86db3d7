"""Random bytes and mutated packets never break the ground station (Hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.vehicles.mavlink_peer import DRONE_ADDR, LinkHarness, ScriptedAutopilot
from vehicles.mavlink.codec import new_parser, parse_datagram

STREAM = ("127.0.0.1", 20000)


def valid_packets() -> list[bytes]:
    ap = ScriptedAutopilot(3)
    m = ap.mav
    return [ap.heartbeat(), ap.packet(m.mission_item_reached_encode(2)),
            ap.packet(m.command_ack_encode(400, 0, 0, 0, 255, 190)),
            ap.packet(m.mission_request_int_encode(255, 190, 0, 0)),
            ap.packet(m.global_position_int_encode(1, 2, 3, 4, 5, 6, 7, 8, 9)),
            ap.packet(m.statustext_encode(4, b"PreArm: hello"))]


PACKETS = valid_packets()


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(PACKETS)))
    for _ in range(draw(st.integers(0, 4))):
        i = draw(st.integers(0, len(data) - 1))
        data[i] = draw(st.integers(0, 255))
    cut = draw(st.integers(1, len(data)))
    return bytes(data[:cut])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.binary(max_size=300), mutated()), max_size=20))
def test_random_and_mutated_input_is_survived(chunks: list[bytes]) -> None:
    h = LinkHarness()
    honest = ScriptedAutopilot(1)
    h.deliver(honest.heartbeat(), DRONE_ADDR)
    for chunk in chunks:
        h.station.receive(chunk, DRONE_ADDR, h.now_s)  # as UDP datagrams
        h.station.receive(chunk, STREAM, h.now_s, datagram=False)  # as a TCP byte stream
        h.advance(0.05)
    h.station.events()
    # the next honest datagram gets through whole
    drone = h.station.drones[1]
    before = drone.messages_received
    h.station.receive(honest.packet(honest.mav.mission_item_reached_encode(11)), DRONE_ADDR,
                      h.now_s)
    assert drone.messages_received == before + 1
    assert drone.state.mission_reached_seq == 11
    # the byte stream resynchronises: a drone speaking on it after the noise is found
    other = ScriptedAutopilot(2)
    for _ in range(20):
        h.station.receive(other.heartbeat(), STREAM, h.now_s, datagram=False)
    assert 2 in h.station.drones and h.station.drones[2].address == STREAM


def _signed_packet() -> bytes:
    ap = ScriptedAutopilot(4)
    ap.mav.signing.secret_key = bytes(range(32))
    ap.mav.signing.sign_outgoing = True
    ap.mav.signing.link_id = 1
    return ap.heartbeat()


def _v1_packet() -> bytes:
    ap = ScriptedAutopilot(5)
    return bytes(ap.mav.heartbeat_encode(2, 3, 0, 0, 0).pack(ap.mav, force_mavlink1=True))


def _unknown_id_packet() -> bytes:
    """A MAVLink 2 packet of an id the dialect lacks (a valid frame; its CRC cannot be known)."""
    body = bytes([0xFD, 2, 0, 0, 7, 1, 1, 0x39, 0x30, 0x00, 0xAA, 0xBB])
    return body + b"\x00\x00"


FRAMES = [*PACKETS, _signed_packet(), _v1_packet(), _unknown_id_packet()]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(FRAMES), mutated(), st.binary(max_size=40)),
                max_size=8))
def test_parse_datagram_gives_what_parse_buffer_gives(chunks: list[bytes]) -> None:
    """The station's datagram fast path (`parse_datagram`) decodes exactly what pymavlink's
    robust byte-by-byte parser decodes: the same messages, bad data and unknown ids, in order."""
    data = b"".join(chunks)
    fast, slow = new_parser(), new_parser()
    try:
        expected = [(m.get_type(), bytes(m.get_msgbuf())) for m in slow.parse_buffer(data) or []]
    except Exception as exc:  # pymavlink raises on some input: the fast path must raise too
        with pytest.raises(type(exc)):
            parse_datagram(fast, data)
        return
    got = [(m.get_type(), bytes(m.get_msgbuf())) for m in parse_datagram(fast, data)]
    assert got == expected


def test_parse_datagram_decodes_whole_packets_without_the_byte_parser() -> None:
    """The fast path is taken for whole MAVLink 2 packets, signed ones included: nothing of the
    datagram goes through the parser's byte buffer."""
    parser = new_parser()
    frames = [*PACKETS, _signed_packet(), _unknown_id_packet()]
    msgs = parse_datagram(parser, b"".join(frames))
    assert [bytes(m.get_msgbuf()) for m in msgs] == frames
    assert msgs[-1].get_type() == "UNKNOWN_12345"
    assert parser.total_bytes_received == 0
