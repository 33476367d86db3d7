"""The ground protocol's field table: for every tag, each field's type, unit, range and meaning.

One table drives three things: the validator in `vehicles.ground.codec`, the encoder, and the
field tables of `docs/ground-protocol.md` (`python -m vehicles.ground.schema` prints them; a test
checks the document carries exactly these tables). Types on the wire:

- `int`: a msgpack integer (never a bool, never a float), within `lo..hi`;
- `number`: a msgpack float or integer, finite (no NaN, no infinity), within `lo..hi`;
- `str`: a msgpack str (UTF-8), length in characters within `lo..hi`;
- `bool`, `enum` (a str from a closed list), `list[str]`, and nested maps (`stops`, `limits`).

Optional fields may be absent or nil; both mean "not given" (the default applies).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from enum import Enum, StrEnum

from vehicles.ground import messages as m

MAX_INT = 2**53 - 1  # every integer fits a JavaScript number exactly
ID_LEN = 64
TEXT_LEN = 500


class Kind(StrEnum):
    INT = "int"
    NUM = "number"
    STR = "str"
    BOOL = "bool"
    ENUM = "enum"
    STR_LIST = "list[str]"
    STOPS = "list[stop]"
    LIMITS = "limits"


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a message: wire name (= dataclass attribute), type, range, unit, meaning."""

    name: str
    kind: Kind
    required: bool = True
    lo: float = 0
    hi: float = MAX_INT
    unit: str = ""
    doc: str = ""
    enum: type[Enum] | None = None
    max_items: int = 0  # lists


def _seq(doc: str, lo: int = 1) -> Field:
    return Field("seq", Kind.INT, lo=lo, doc=doc)


def _id(name: str, doc: str, required: bool = True) -> Field:
    return Field(name, Kind.STR, required, lo=1, hi=ID_LEN, doc=doc)


def _plan_version(doc: str, required: bool = False) -> Field:
    return Field("plan_version", Kind.INT, required, lo=-1, doc=doc)


_T_S = Field("t_s", Kind.NUM, lo=0, hi=1e10, unit="s", doc="when it was measured: Unix time (UTC)")
_LAT = Field("lat_deg", Kind.NUM, lo=-90, hi=90, unit="deg", doc="WGS-84 latitude")
_LON = Field("lon_deg", Kind.NUM, lo=-180, hi=180, unit="deg", doc="WGS-84 longitude")

STOP_FIELDS: tuple[Field, ...] = (
    _id("stop_id", "stop or place id (known to both sides) or a free label"),
    Field("lat_deg", Kind.NUM, False, -90, 90, "deg", "stop position (give both or neither)"),
    Field("lon_deg", Kind.NUM, False, -180, 180, "deg", "stop position (give both or neither)"),
    Field("pickups", Kind.STR_LIST, False, 1, ID_LEN, doc="rider ids boarding here", max_items=64),
    Field("dropoffs", Kind.STR_LIST, False, 1, ID_LEN, doc="rider ids getting off", max_items=64),
    Field("dwell_s", Kind.NUM, False, 0, 3600, "s", "minimum dwell; absent: vehicle default"),
)

LIMIT_FIELDS: tuple[Field, ...] = (
    Field("max_frame_bytes", Kind.INT, lo=256, hi=16_777_216, unit="byte", doc="largest frame"),
    Field("max_frames_per_s", Kind.NUM, lo=0.1, hi=10_000, unit="1/s", doc="sustained frame rate"),
    Field("burst_frames", Kind.INT, lo=1, hi=100_000, unit="frame", doc="token-bucket depth"),
    Field("telemetry_period_s", Kind.NUM, lo=0.05, hi=60, unit="s", doc="suggested period"),
    Field("idle_timeout_s", Kind.NUM, lo=1, hi=3600, unit="s", doc="close after this silence"),
    Field("hello_timeout_s", Kind.NUM, lo=1, hi=3600, unit="s", doc="hello deadline"),
)

SCHEMAS: dict[str, tuple[type[m.Message], tuple[Field, ...]]] = {
    "hello": (m.Hello, (
        Field("v", Kind.INT, lo=1, hi=1000, doc="protocol version; must match the subprotocol"),
        _id("vehicle_id", "the vehicle's registered id ([A-Za-z0-9._-] recommended)"),
        Field("token", Kind.STR, lo=1, hi=256, doc="the vehicle's secret token"),
        _id("boot_id", "names the vehicle's sequence counters; new value = counters restarted"),
        Field("last_cmd_seq", Kind.INT, False, doc="highest command seq processed; 0: none"),
        _plan_version("current plan version; -1: none"),
        Field("kind", Kind.STR, False, 1, ID_LEN, doc="vehicle type, e.g. `bus`, `pm`"),
        Field("sw", Kind.STR, False, 1, ID_LEN, doc="vehicle software version"),
    )),
    "welcome": (m.Welcome, (
        Field("v", Kind.INT, lo=1, hi=1000, doc="the negotiated protocol version"),
        _id("session_id", "this connection's id (for logs)"),
        Field("last_event_seq", Kind.INT, doc="highest event seq held for this boot_id"),
        Field("limits", Kind.LIMITS, False, doc="the server's limits (map, see below)"),
    )),
    "telemetry": (m.Telemetry, (
        _seq("telemetry counter: +1 per frame, per boot_id"),
        _T_S,
        _LAT,
        _LON,
        Field("heading_deg", Kind.NUM, lo=0, hi=360, unit="deg", doc="course, clockwise from N"),
        Field("speed_m_s", Kind.NUM, lo=0, hi=100, unit="m/s", doc="ground speed"),
        Field("battery_soc", Kind.NUM, lo=0, hi=1, unit="1", doc="state of charge (fraction)"),
        Field("occupancy", Kind.INT, lo=0, hi=1000, unit="rider", doc="riders on board"),
        Field("doors_open", Kind.BOOL, doc="true if any passenger door is open"),
        Field("state", Kind.ENUM, enum=m.VehicleState, doc="vehicle state"),
        _plan_version("plan being followed; -1: none"),
        Field("capacity", Kind.INT, False, 0, 1000, "rider", "seats available to riders"),
        Field("next_stop_id", Kind.STR, False, 1, ID_LEN, doc="stop driven to, if any"),
        Field("odometer_m", Kind.NUM, False, 0, 1e9, "m", "distance driven"),
    )),
    "event": (m.Event, (
        _seq("event counter: +1 per event, per boot_id; resent events keep theirs"),
        _T_S,
        Field("kind", Kind.ENUM, enum=m.EventKind, doc="what happened"),
        _plan_version("plan in force when it happened; -1: none"),
        _id("stop_id", "required for arrived, departed", False),
        _id("rider_id", "required for boarded, alighted", False),
        _id("code", "fault code; required for fault, fault_cleared", False),
        Field("detail", Kind.STR, False, 0, TEXT_LEN, doc="free text for humans"),
        Field("lat_deg", Kind.NUM, False, -90, 90, "deg", "where (give both or neither)"),
        Field("lon_deg", Kind.NUM, False, -180, 180, "deg", "where (give both or neither)"),
    )),
    "plan": (m.Plan, (
        _seq("command counter of the server, per vehicle"),
        Field("plan_version", Kind.INT, doc="grows with every new plan for this vehicle"),
        Field("stops", Kind.STOPS, doc="ordered stops (see `stop`)", max_items=200),
    )),
    "hold": (m.Hold, (
        _seq("command counter"),
        Field("reason", Kind.STR, False, 0, TEXT_LEN, doc="why, for the vehicle's log and HMI"),
    )),
    "resume": (m.Resume, (_seq("command counter"),)),
    "return_to_depot": (m.ReturnToDepot, (
        _seq("command counter"),
        _id("depot_id", "depot to go to; absent: the vehicle's home depot", False),
    )),
    "cancel": (m.Cancel, (
        _seq("command counter"),
        Field("plan_version", Kind.INT, False, doc="cancel only if this plan is current"),
    )),
    "ack": (m.Ack, (
        _seq("the seq of the event or command answered"),
        Field("ok", Kind.BOOL, doc="true: accepted (or already had it)"),
        Field("code", Kind.ENUM, False, enum=m.ErrorCode, doc="error code; needed if not ok"),
        Field("msg", Kind.STR, False, 0, TEXT_LEN, doc="explanation for humans"),
        Field("dup", Kind.BOOL, False, doc="true: a duplicate, already processed before"),
    )),
    "error": (m.ErrorFrame, (
        Field("code", Kind.ENUM, enum=m.ErrorCode, doc="error code"),
        Field("msg", Kind.STR, lo=0, hi=TEXT_LEN, doc="explanation for humans"),
        Field("ref_t", Kind.STR, False, 0, ID_LEN, doc="tag of the refused frame, if readable"),
        Field("ref_seq", Kind.INT, False, doc="seq of the refused frame, if readable"),
    )),
    "ping": (m.Ping, (Field("nonce", Kind.INT, doc="any integer; echoed in the pong"),)),
    "pong": (m.Pong, (Field("nonce", Kind.INT, doc="the ping's nonce"),)),
}


def _range(f: Field) -> str:
    if f.kind is Kind.ENUM and f.enum is not None:
        return ", ".join(f"`{e.value}`" for e in f.enum)
    if f.kind in (Kind.BOOL, Kind.LIMITS):
        return ""
    if f.kind in (Kind.STOPS, Kind.STR_LIST):
        each = f" of {f.lo:g}..{f.hi:g} chars" if f.kind is Kind.STR_LIST else ""
        return f"<= {f.max_items} items{each}"
    hi = "2^53-1" if f.hi == MAX_INT else f"{f.hi:g}"
    if f.kind is Kind.STR:
        return f"{f.lo:g}..{hi} chars"
    return f"{f.lo:g}..{hi}"


def markdown_table(fields: tuple[Field, ...]) -> str:
    """A Markdown table of `fields` (as in docs/ground-protocol.md)."""
    rows = ["| field | type | req. | unit | range | meaning |", "|---|---|---|---|---|---|"]
    for f in fields:
        req = "yes" if f.required else "no"
        rows.append(f"| `{f.name}` | {f.kind} | {req} | {f.unit} | {_range(f)} | {f.doc} |")
    return "\n".join(rows)


def markdown_tables() -> str:
    """Every message's table, then the nested `stop` and `limits` maps."""
    parts = [f"#### `{tag}`\n\n{markdown_table(fields)}" for tag, (_, fields) in SCHEMAS.items()]
    parts.append(f"#### `stop` (inside `plan.stops`)\n\n{markdown_table(STOP_FIELDS)}")
    parts.append(f"#### `limits` (inside `welcome`)\n\n{markdown_table(LIMIT_FIELDS)}")
    return "\n\n".join(parts) + "\n"


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(markdown_tables())
