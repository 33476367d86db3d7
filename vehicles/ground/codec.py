"""Sans-I/O codec and validator of the ground protocol: bytes <-> typed messages.

`decode(data)` turns one websocket frame into one of the dataclasses of
`vehicles.ground.messages`, or raises `ProtocolError` with a stable error code and a message
naming the bad field; nothing half-validated ever comes out. `encode(message)` writes the
msgpack map back (optional fields left at None are omitted). Neither touches a socket or a
clock, and `decode` never raises anything but `ProtocolError`, whatever the bytes.

Checks, in order: size (`max_frame_bytes`), msgpack well-formed with nothing trailing, a map with
string keys, a known string tag `t`, then every field of the tag's schema (`vehicles.ground.
schema`): presence, exact type (an int field refuses bools and floats; a number field takes
ints and floats but no NaN or infinity), range, length, enum membership; then the few rules that
span fields (both lat and lon or neither, what each event kind requires, an `ack` with
`ok: false` needs a `code`). Unknown fields are ignored (the evolution rule).
"""

from __future__ import annotations

import math
from typing import Any, cast

import msgpack

from vehicles.ground import messages as m
from vehicles.ground.schema import LIMIT_FIELDS, SCHEMAS, STOP_FIELDS, Field, Kind

DEFAULT_MAX_FRAME_BYTES = m.Limits().max_frame_bytes


class ProtocolError(ValueError):
    """A frame that cannot be accepted; `code` is an `ErrorCode`, `msg` says what and where."""

    def __init__(
        self,
        code: m.ErrorCode,
        msg: str,
        ref_t: str | None = None,
        ref_seq: int | None = None,
    ) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.ref_t = ref_t
        self.ref_seq = ref_seq

    def to_frame(self) -> m.ErrorFrame:
        """The `error` frame that answers the refused frame."""
        return m.ErrorFrame(self.code, self.msg[:500], self.ref_t, self.ref_seq)


_FIELD_INVALID = m.ErrorCode.INVALID_FIELD


def _check(f: Field, value: Any, where: str) -> Any:
    """The validated Python value of `value` for field `f`; raises ProtocolError."""
    name = f"{where}{f.name}"
    kind = f.kind
    if kind is Kind.INT:
        if type(value) is not int:
            raise ProtocolError(_FIELD_INVALID, f"{name}: expected an integer")
        if not f.lo <= value <= f.hi:
            raise ProtocolError(_FIELD_INVALID, f"{name}: {value} out of range {f.lo:g}..{f.hi:g}")
        return value
    if kind is Kind.NUM:
        if type(value) is int:
            value = float(value)
        elif type(value) is not float:
            raise ProtocolError(_FIELD_INVALID, f"{name}: expected a number")
        if not math.isfinite(value):
            raise ProtocolError(_FIELD_INVALID, f"{name}: must be finite")
        if not f.lo <= value <= f.hi:
            raise ProtocolError(_FIELD_INVALID, f"{name}: {value} out of range {f.lo:g}..{f.hi:g}")
        return value
    if kind is Kind.STR:
        return _check_str(f, value, name)
    if kind is Kind.BOOL:
        if type(value) is not bool:
            raise ProtocolError(_FIELD_INVALID, f"{name}: expected a bool")
        return value
    if kind is Kind.ENUM:
        assert f.enum is not None
        if type(value) is not str:
            raise ProtocolError(_FIELD_INVALID, f"{name}: expected a string")
        try:
            return f.enum(value)
        except ValueError:
            raise ProtocolError(_FIELD_INVALID, f"{name}: unknown value {value[:40]!r}") from None
    if kind is Kind.STR_LIST:
        items = _check_list(f, value, name)
        out = tuple(_check_str(f, item, f"{name}[{i}]") for i, item in enumerate(items))
        if len(set(out)) != len(out):
            raise ProtocolError(_FIELD_INVALID, f"{name}: an item is repeated")
        return out
    if kind is Kind.STOPS:
        items = _check_list(f, value, name)
        return tuple(_stop(item, f"{name}[{i}].") for i, item in enumerate(items))
    if kind is Kind.LIMITS:
        if type(value) is not dict:
            raise ProtocolError(_FIELD_INVALID, f"{name}: expected a map")
        return m.Limits(**_fields(LIMIT_FIELDS, value, f"{name}."))
    raise AssertionError(kind)  # pragma: no cover


def _check_str(f: Field, value: Any, name: str) -> str:
    if type(value) is not str:
        raise ProtocolError(_FIELD_INVALID, f"{name}: expected a string")
    if not f.lo <= len(value) <= f.hi:
        raise ProtocolError(_FIELD_INVALID, f"{name}: length must be {f.lo:g}..{f.hi:g}")
    return value


def _check_list(f: Field, value: Any, name: str) -> list[Any]:
    if type(value) is not list:
        raise ProtocolError(_FIELD_INVALID, f"{name}: expected an array")
    if len(value) > f.max_items:
        raise ProtocolError(_FIELD_INVALID, f"{name}: more than {f.max_items} items")
    return value


def _fields(fields: tuple[Field, ...], raw: dict[Any, Any], where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields:
        value = raw.get(f.name)
        if value is None:
            if f.required:
                raise ProtocolError(_FIELD_INVALID, f"{where}{f.name}: missing")
            continue
        # Fast paths for the common valid cases (telemetry is mostly numbers); anything else,
        # including NaN and infinity (which fail the range test), goes to `_check`.
        kind, t = f.kind, type(value)
        if kind is Kind.NUM and (t is float or t is int):
            number = float(value)
            if f.lo <= number <= f.hi:
                out[f.name] = number
                continue
        elif (kind is Kind.INT and t is int and f.lo <= value <= f.hi) or (
            kind is Kind.BOOL and t is bool
        ):
            out[f.name] = value
            continue
        elif kind is Kind.ENUM and t is str and f.enum is not None:
            member = f.enum._value2member_map_.get(value)
            if member is not None:
                out[f.name] = member
                continue
        out[f.name] = _check(f, value, where)
    return out


def _both_or_neither(kw: dict[str, Any], where: str) -> None:
    if ("lat_deg" in kw) != ("lon_deg" in kw):
        raise ProtocolError(_FIELD_INVALID, f"{where}lat_deg/lon_deg: give both or neither")


def _stop(raw: Any, where: str) -> m.PlanStop:
    if type(raw) is not dict:
        raise ProtocolError(_FIELD_INVALID, f"{where[:-1]}: expected a map")
    kw = _fields(STOP_FIELDS, raw, where)
    _both_or_neither(kw, where)
    stop = m.PlanStop(**kw)
    if set(stop.pickups) & set(stop.dropoffs):
        raise ProtocolError(_FIELD_INVALID, f"{where}pickups/dropoffs: a rider is in both")
    return stop


_EVENT_NEEDS: dict[m.EventKind, str] = {
    m.EventKind.ARRIVED: "stop_id",
    m.EventKind.DEPARTED: "stop_id",
    m.EventKind.BOARDED: "rider_id",
    m.EventKind.ALIGHTED: "rider_id",
    m.EventKind.FAULT: "code",
    m.EventKind.FAULT_CLEARED: "code",
}


def _cross_checks(tag: str, kw: dict[str, Any]) -> None:
    if tag == "event":
        _both_or_neither(kw, "")
        need = _EVENT_NEEDS.get(kw["kind"])
        if need is not None and need not in kw:
            raise ProtocolError(_FIELD_INVALID, f"{need}: required for a {kw['kind']} event")
    elif tag == "ack" and not kw["ok"] and "code" not in kw:
        raise ProtocolError(_FIELD_INVALID, "code: required when ok is false")


def decode(data: bytes, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> m.Message:
    """One frame's bytes -> a validated message; raises `ProtocolError`, never anything else."""
    if len(data) > max_frame_bytes:
        raise ProtocolError(m.ErrorCode.TOO_LARGE, f"{len(data)} bytes > {max_frame_bytes}")
    try:
        raw = msgpack.unpackb(data, raw=False, strict_map_key=True, timestamp=0)
    except Exception as exc:  # msgpack raises many kinds for bad bytes; all mean "malformed"
        raise ProtocolError(m.ErrorCode.MALFORMED, f"not msgpack ({type(exc).__name__})") from None
    if type(raw) is not dict:
        raise ProtocolError(m.ErrorCode.MALFORMED, "a frame must be a msgpack map")
    tag = raw.get("t")
    if type(tag) is not str:
        raise ProtocolError(m.ErrorCode.MALFORMED, "a frame needs a string tag `t`")
    seq = raw.get("seq")
    ref_seq = seq if type(seq) is int and 0 <= seq <= 2**63 else None
    schema = SCHEMAS.get(tag)
    if schema is None:
        msg = f"unknown type {tag[:40]!r}"
        raise ProtocolError(m.ErrorCode.UNKNOWN_TYPE, msg, tag[:64], ref_seq)
    cls, fields = schema
    try:
        kw = _fields(fields, raw, "")
        _cross_checks(tag, kw)
    except ProtocolError as exc:
        exc.ref_t, exc.ref_seq = tag, ref_seq
        raise
    return cls(**kw)


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, m.PlanStop | m.Limits):
        return to_map(value)
    return value


def to_map(message: m.Message | m.PlanStop | m.Limits) -> dict[str, Any]:
    """The msgpack-ready map of a message (with its `t`), a stop or limits (without)."""
    out: dict[str, Any] = {}
    if not isinstance(message, m.PlanStop | m.Limits):
        out["t"] = m.tag_of(message)
    for name in type(message).__slots__:
        value = getattr(message, name)
        if value is not None:
            out[name] = _plain(value)
    return out


def encode(message: m.Message, seq: int | None = None) -> bytes:
    """A message -> one frame's bytes (a msgpack map); with `seq`, as a copy of the message
    with that `seq` would encode (a session numbering its telemetry, without the copy)."""
    out = to_map(message)
    if seq is not None:
        out["seq"] = seq
    return cast(bytes, msgpack.packb(out))
