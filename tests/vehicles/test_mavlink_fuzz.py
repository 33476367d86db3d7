"""Random bytes and mutated packets never break the ground station (Hypothesis)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.vehicles.mavlink_peer import DRONE_ADDR, LinkHarness, ScriptedAutopilot

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
