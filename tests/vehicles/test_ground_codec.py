"""The ground codec: round trips, strict validation, and no crash on any bytes."""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.vehicles import ground_strategies as gs
from vehicles.ground import messages as m
from vehicles.ground.codec import ProtocolError, decode, encode, to_map
from vehicles.ground.schema import SCHEMAS, markdown_tables

E = m.ErrorCode


def _tm(**override: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "t": "telemetry",
        "seq": 7,
        "t_s": 1.0e9,
        "lat_deg": 35.65,
        "lon_deg": 140.04,
        "heading_deg": 129.0,
        "speed_m_s": 5.0,
        "battery_soc": 0.8,
        "occupancy": 3,
        "doors_open": False,
        "state": "en_route",
    }
    raw.update(override)
    return {k: v for k, v in raw.items() if v is not ...}


def _refused(raw: Any) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        decode(msgpack.packb(raw))
    return info.value


@given(gs.messages)
@settings(max_examples=400, deadline=None)
def test_every_message_round_trips(message: m.Message) -> None:
    assert decode(encode(message)) == message


@given(gs.messages.filter(lambda msg: hasattr(msg, "seq")), st.integers(0, 2**63))
@settings(max_examples=200, deadline=None)
def test_encoding_with_a_seq_is_encoding_a_copy_with_that_seq(message: m.Message,
                                                              seq: int) -> None:
    """What a session sends for its numbered telemetry: the bytes of the renumbered copy."""
    assert encode(message, seq=seq) == encode(dataclasses.replace(message, seq=seq))


@given(st.binary(max_size=300))
@settings(max_examples=1000, deadline=None)
def test_random_bytes_never_crash_the_decoder(data: bytes) -> None:
    try:
        decode(data)
    except ProtocolError as exc:
        assert exc.code in (E.MALFORMED, E.UNKNOWN_TYPE, E.INVALID_FIELD)


@given(gs.messages, st.data())
@settings(max_examples=400, deadline=None)
def test_corrupted_frames_are_refused_or_decoded_never_crash(
    message: m.Message, data: st.DataObject
) -> None:
    frame = bytearray(encode(message))
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(frame) - 1))
        frame[i] = data.draw(st.integers(0, 255))
    try:
        out = decode(bytes(frame))
    except ProtocolError:
        return
    assert decode(encode(out)) == out  # whatever passes is a fully valid message


_ANY = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats()
    | st.text(max_size=5)
    | st.binary(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@given(gs.messages, st.data())
@settings(max_examples=200, deadline=None)
def test_a_field_replaced_by_any_value_is_refused_or_still_valid(
    message: m.Message, data: st.DataObject
) -> None:
    raw = to_map(message)
    key = data.draw(
        st.sampled_from(sorted(k for k in raw if k != "t")) if len(raw) > 1 else st.just("x")
    )
    raw[key] = data.draw(_ANY)
    try:
        out = decode(msgpack.packb(raw))
    except ProtocolError as exc:
        assert exc.ref_t == raw["t"]
        return
    assert decode(encode(out)) == out


@pytest.mark.parametrize(
    ("raw", "code", "where"),
    [
        (_tm(lat_deg=float("nan")), E.INVALID_FIELD, "lat_deg: must be finite"),
        (_tm(speed_m_s=float("inf")), E.INVALID_FIELD, "speed_m_s: must be finite"),
        (_tm(lat_deg=91.0), E.INVALID_FIELD, "lat_deg: 91.0 out of range"),
        (_tm(battery_soc=1.01), E.INVALID_FIELD, "battery_soc"),
        (_tm(heading_deg=-0.5), E.INVALID_FIELD, "heading_deg"),
        (_tm(occupancy=True), E.INVALID_FIELD, "occupancy: expected an integer"),
        (_tm(occupancy=2.0), E.INVALID_FIELD, "occupancy: expected an integer"),
        (_tm(occupancy=-1), E.INVALID_FIELD, "occupancy"),
        (_tm(seq=0), E.INVALID_FIELD, "seq"),
        (_tm(seq=2**53), E.INVALID_FIELD, "seq"),
        (_tm(doors_open=0), E.INVALID_FIELD, "doors_open: expected a bool"),
        (_tm(state="flying"), E.INVALID_FIELD, "state: unknown value"),
        (_tm(state=b"idle"), E.INVALID_FIELD, "state: expected a string"),
        (_tm(lat_deg="35.6"), E.INVALID_FIELD, "lat_deg: expected a number"),
        (_tm(t_s=...), E.INVALID_FIELD, "t_s: missing"),
        (_tm(t_s=None), E.INVALID_FIELD, "t_s: missing"),
        (_tm(next_stop_id="x" * 65), E.INVALID_FIELD, "next_stop_id: length"),
        (
            {"t": "event", "seq": 3, "t_s": 1.0, "kind": "arrived"},
            E.INVALID_FIELD,
            "stop_id: required",
        ),
        (
            {"t": "event", "seq": 3, "t_s": 1.0, "kind": "boarded"},
            E.INVALID_FIELD,
            "rider_id: required",
        ),
        ({"t": "event", "seq": 3, "t_s": 1.0, "kind": "fault"}, E.INVALID_FIELD, "code: required"),
        (
            {"t": "event", "seq": 3, "t_s": 1.0, "kind": "at_depot", "lat_deg": 35.0},
            E.INVALID_FIELD,
            "give both",
        ),
        ({"t": "ack", "seq": 3, "ok": False}, E.INVALID_FIELD, "code: required"),
        (
            {
                "t": "plan",
                "seq": 1,
                "plan_version": 2,
                "stops": [{"stop_id": "a", "pickups": ["r", "r"]}],
            },
            E.INVALID_FIELD,
            "stops[0].pickups: an item is repeated",
        ),
        (
            {
                "t": "plan",
                "seq": 1,
                "plan_version": 2,
                "stops": [{"stop_id": "a", "pickups": ["r"], "dropoffs": ["r"]}],
            },
            E.INVALID_FIELD,
            "a rider is in both",
        ),
        (
            {"t": "plan", "seq": 1, "plan_version": 2, "stops": [{"stop_id": "a"}] * 201},
            E.INVALID_FIELD,
            "more than 200",
        ),
        (
            {"t": "plan", "seq": 1, "plan_version": 2, "stops": ["a"]},
            E.INVALID_FIELD,
            "stops[0]: expected a map",
        ),
        ({"t": "frob", "seq": 5}, E.UNKNOWN_TYPE, "unknown type 'frob'"),
        ({"t": 1}, E.MALFORMED, "string tag"),
        ({"seq": 1}, E.MALFORMED, "string tag"),
        ([1, 2], E.MALFORMED, "must be a msgpack map"),
        ("hello", E.MALFORMED, "must be a msgpack map"),
    ],
)
def test_bad_fields_are_refused_with_a_clear_message(
    raw: Any, code: m.ErrorCode, where: str
) -> None:
    exc = _refused(raw)
    assert exc.code is code
    assert where in exc.msg


def test_refusal_names_the_frame_it_refuses() -> None:
    exc = _refused(_tm(lat_deg=float("nan")))
    assert (exc.ref_t, exc.ref_seq) == ("telemetry", 7)
    assert exc.to_frame() == m.ErrorFrame(E.INVALID_FIELD, exc.msg, "telemetry", 7)


def test_not_msgpack_trailing_bytes_and_oversize_are_refused() -> None:
    frame = encode(m.Ping(1))
    for bad in (b"", b"\xc1", b"{json: 1}", frame + b"\x00", frame[:-1]):
        with pytest.raises(ProtocolError) as info:
            decode(bad)
        assert info.value.code is E.MALFORMED
    with pytest.raises(ProtocolError) as info:
        decode(frame, max_frame_bytes=len(frame) - 1)
    assert info.value.code is E.TOO_LARGE
    deep = b"\x91" * 100_000 + b"\xc0"
    with pytest.raises(ProtocolError):
        decode(deep, max_frame_bytes=200_000)


def test_unknown_fields_are_ignored_and_ints_are_numbers() -> None:
    out = decode(msgpack.packb(_tm(lat_deg=35, future_field={"x": [1]})))
    assert isinstance(out, m.Telemetry)
    assert out.lat_deg == 35.0 and isinstance(out.lat_deg, float)


def test_nil_optional_fields_mean_absent() -> None:
    out = decode(msgpack.packb(_tm(capacity=None, plan_version=None)))
    assert isinstance(out, m.Telemetry)
    assert (out.capacity, out.plan_version) == (None, -1)


def test_float32_numbers_are_accepted() -> None:
    data = msgpack.packb(_tm(speed_m_s=5.5), use_single_float=True)
    out = decode(data)
    assert isinstance(out, m.Telemetry) and math.isclose(out.speed_m_s, 5.5)


def test_every_tag_has_a_schema_and_a_class() -> None:
    assert set(SCHEMAS) == set(m.TAGS.values())
    for tag, (cls, fields) in SCHEMAS.items():
        assert m.TAGS[cls] == tag
        assert [f.name for f in fields] == list(cls.__slots__)


def test_the_protocol_document_carries_the_schema_tables() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "ground-protocol.md").read_text()
    assert markdown_tables() in doc
    for code in m.CloseCode:
        if code >= 4000:
            assert re.search(rf"\| {int(code)} \|", doc), code
    for code in m.ErrorCode:
        assert f"| `{code}` |" in doc
