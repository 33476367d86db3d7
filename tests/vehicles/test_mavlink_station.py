"""Many drones on one endpoint: routing by system id, conflicts, bad input, floods, signing."""

from __future__ import annotations

from tests.vehicles.mavlink_peer import DRONE_ADDR, C, LinkHarness, ScriptedAutopilot
from vehicles.mavlink.codec import signing_timestamp
from vehicles.mavlink.events import AddressChanged, LinkState, SysidConflict
from vehicles.mavlink.link import LinkConfig
from vehicles.mavlink.signing import SigningConfig
from vehicles.mavlink.station import GuardConfig

OTHER_ADDR = ("127.0.0.1", 14556)
KEY = bytes(range(32))


def test_two_drones_on_two_addresses_are_kept_apart() -> None:
    h = LinkHarness()
    a, b = ScriptedAutopilot(1), ScriptedAutopilot(2)
    h.deliver(a.heartbeat(custom_mode=4), DRONE_ADDR)
    h.deliver(b.heartbeat(custom_mode=6), OTHER_ADDR)
    h.station.drones[2].arm(h.now_s)
    h.station.poll(h.now_s)
    sent = h.station.datagrams_to_send()
    assert {addr for _, addr in sent} == {DRONE_ADDR, OTHER_ADDR}
    to_second = [m.get_type() for d, addr in sent if addr == OTHER_ADDR
                 for m in C.MAVLink(None).parse_buffer(d) or []]
    to_first = [m.get_type() for d, addr in sent if addr == DRONE_ADDR
                for m in C.MAVLink(None).parse_buffer(d) or []]
    assert "COMMAND_LONG" in to_second and to_first == ["HEARTBEAT"]
    assert (h.station.drones[1].state.mode, h.station.drones[2].state.mode) == ("GUIDED", "RTL")


def test_a_second_drone_claiming_an_alive_id_is_dropped_counted_and_reported_once() -> None:
    h = LinkHarness()
    first, impostor = ScriptedAutopilot(1), ScriptedAutopilot(1)
    h.deliver(first.heartbeat(custom_mode=4), DRONE_ADDR)
    h.station.events()
    for _ in range(3):
        h.deliver(impostor.heartbeat(custom_mode=9), OTHER_ADDR)
    drone = h.station.drones[1]
    assert drone.address == DRONE_ADDR and drone.state.mode == "GUIDED"
    assert h.station.counters["sysid_conflict"] == 3
    conflicts = [e for e in h.station.events() if isinstance(e, SysidConflict)]
    assert len(conflicts) == 1 and conflicts[0].other_address == OTHER_ADDR


def test_a_lost_drone_moves_to_its_new_address() -> None:
    h = LinkHarness()
    ap = ScriptedAutopilot(1)
    h.deliver(ap.heartbeat(), DRONE_ADDR)
    h.advance(6.0)
    assert h.station.drones[1].link_state is LinkState.LOST
    h.station.events()
    h.deliver(ap.heartbeat(), OTHER_ADDR)
    assert h.station.drones[1].address == OTHER_ADDR
    assert any(isinstance(e, AddressChanged) for e in h.station.events())


def test_bad_input_is_dropped_and_counted_and_the_drone_keeps_working() -> None:
    h = LinkHarness()
    ap = ScriptedAutopilot(1)
    h.deliver(ap.heartbeat())
    good = ap.packet(ap.mav.mission_item_reached_encode(3))
    bad_crc = bytearray(ap.packet(ap.mav.mission_item_reached_encode(4)))
    bad_crc[-1] ^= 0xFF
    unknown = bytearray(ap.packet(ap.mav.mission_item_reached_encode(5)))
    unknown[7:10] = (60000).to_bytes(3, "little")  # a message id no dialect knows
    zero = ScriptedAutopilot(0).heartbeat()
    gcs = ScriptedAutopilot(9).packet(ap.mav.heartbeat_encode(C.MAV_TYPE_GCS, 8, 0, 0, 0))
    not_us = ap.packet(ap.mav.command_ack_encode(400, 0, 0, 0, 42, 190))
    before = ScriptedAutopilot(7).packet(ap.mav.mission_item_reached_encode(1))
    for data in (b"\x00garbage\xff" * 10, bytes(bad_crc), bytes(unknown), good[:7], zero, gcs,
                 not_us, before):
        h.deliver(data, DRONE_ADDR if data is not gcs else OTHER_ADDR)
    c = h.station.counters
    assert c["bad_data"] >= 1 and c["bad_crc"] == 1 and c["unknown_message"] == 1
    assert c["truncated"] == 1
    assert c["wrong_sysid"] == 1 and c["not_a_vehicle"] == 1 and c["not_for_us"] == 1
    assert c["before_heartbeat"] == 1 and list(h.station.drones) == [1]
    h.deliver(ap.heartbeat())  # the truncated packet's remainder never poisons the next one
    h.deliver(good)
    assert h.station.drones[1].state.mission_reached_seq == 3


def test_a_flood_from_one_address_does_not_starve_another() -> None:
    h = LinkHarness(guard=GuardConfig(bytes_per_s=10_000, burst_bytes=20_000))
    flooder, quiet = ScriptedAutopilot(1), ScriptedAutopilot(2)
    h.deliver(quiet.heartbeat(), OTHER_ADDR)
    h.deliver(flooder.heartbeat(), DRONE_ADDR)
    packet = flooder.packet(flooder.mav.mission_item_reached_encode(1))
    for _ in range(2000):
        h.station.receive(packet, DRONE_ADDR, h.now_s)
    assert h.station.counters["flood_dropped_bytes"] > 0
    assert h.station.drones[1].messages_received < 2000
    h.deliver(quiet.packet(quiet.mav.mission_item_reached_encode(9)), OTHER_ADDR)
    assert h.station.drones[2].state.mission_reached_seq == 9
    h.advance(10.0)  # the bucket refills
    h.deliver(flooder.packet(flooder.mav.mission_item_reached_encode(7)))
    assert h.station.drones[1].state.mission_reached_seq == 7


def signed_harness(require: bool = True) -> tuple[LinkHarness, ScriptedAutopilot]:
    config = LinkConfig(stream_rates_hz={}, unix_time_at_zero_s=1.8e9)
    h = LinkHarness(config, signing={1: SigningConfig(KEY, require=require)})
    ap = ScriptedAutopilot(1, secret_key=KEY, timestamp=signing_timestamp(1.8e9))
    return h, ap


def test_signed_drone_accepted_and_we_sign_what_we_send() -> None:
    h, ap = signed_harness()
    h.deliver(ap.heartbeat())
    assert 1 in h.station.drones
    h.station.poll(h.now_s)
    datagrams = h.station.datagrams_to_send()
    checker = C.MAVLink(None)
    checker.signing.secret_key = KEY
    checker.signing.timestamp = signing_timestamp(1.8e9) - 100
    msgs = [m for data, _ in datagrams for m in checker.parse_buffer(data) or []]
    assert msgs and all(m._signed for m in msgs)  # pymavlink verified our signatures
    assert checker.signing.goodsig_count == len(msgs)


def test_unsigned_badly_signed_replayed_and_stale_packets_are_dropped() -> None:
    h, ap = signed_harness()
    h.deliver(ap.heartbeat())
    good = ap.packet(ap.mav.mission_item_reached_encode(4))
    unsigned = ScriptedAutopilot(1).packet(ap.mav.mission_item_reached_encode(5))
    wrong_key = ScriptedAutopilot(1, secret_key=bytes(32), timestamp=signing_timestamp(1.8e9) + 9)
    forged = wrong_key.packet(ap.mav.mission_item_reached_encode(6))
    stale = ScriptedAutopilot(1, secret_key=KEY, timestamp=1000)  # a new stream, years old
    stale.mav.signing.link_id = 3
    old = stale.packet(ap.mav.mission_item_reached_encode(7))
    for data in (good, unsigned, forged, good, old):
        h.deliver(data)
    c = h.station.counters
    assert (c["unsigned"], c["bad_signature"], c["replayed"], c["stale_stream"]) == (1, 1, 1, 1)
    assert h.station.drones[1].state.mission_reached_seq == 4


def test_unsigned_allowed_when_not_required_and_unknown_drones_refused_when_required() -> None:
    h, _ = signed_harness(require=False)
    h.deliver(ScriptedAutopilot(1).heartbeat())
    assert 1 in h.station.drones
    h2 = LinkHarness(signing={1: SigningConfig(KEY)}, require_signing=True)
    h2.deliver(ScriptedAutopilot(2).heartbeat())
    assert 2 not in h2.station.drones and h2.station.counters["no_secret_for_sysid"] == 1


def test_memory_per_source_address_is_bounded() -> None:
    h = LinkHarness(guard=GuardConfig(max_addresses=8))
    ap = ScriptedAutopilot(1)
    h.deliver(ap.heartbeat(), DRONE_ADDR)
    for port in range(100):  # a spoofing flood from ever new addresses, some claiming id 1
        h.deliver(ap.heartbeat() if port % 2 else b"\xfd\x09junk", ("127.0.0.1", 1000 + port))
    s = h.station
    assert len(s._parsers) <= 8 and len(s._buckets) <= 8 and len(s._conflicts_reported) <= 8
    assert s.counters["sysid_conflict"] == 50 and s.drones[1].address == DRONE_ADDR
