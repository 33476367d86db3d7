"""The ground-vehicle protocol's messages: one frozen dataclass per wire tag (`t`).

Every frame on the websocket is one msgpack map with a string tag `t`; its other keys are the
fields of the dataclass of that tag, with the same names (units in the names). These classes are
the typed, validated form of the frames: `vehicles.ground.codec.decode` produces them only after
every field has been checked (type, range, length), and `encode` writes them back. Nothing else
in the project needs to know the wire layout.

Directions: `Hello`, `Telemetry`, `Event` go vehicle -> server; `Welcome`, the five commands
(`Plan`, `Hold`, `Resume`, `ReturnToDepot`, `Cancel`) go server -> vehicle; `Ack`, `ErrorFrame`,
`Ping`, `Pong` go both ways. Sequence numbers (`seq`) are per sender and per kind: the vehicle
numbers its telemetry and its events (two counters), the server numbers its commands; an `Ack`
names the `seq` of the peer's message it answers. `docs/ground-protocol.md` is the specification.

The evolution rule: new fields are optional; tags, field names, units and meanings never change;
receivers ignore unknown fields and answer unknown tags with an `ErrorFrame(unknown_type)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import NewType

VehicleId = NewType("VehicleId", str)

#: The websocket path vehicles connect to.
PATH = "/v1/vehicle"
#: Protocol major version spoken by this implementation.
VERSION = 1
#: Subprotocol name prefix; the full name carries the version: `kaiteki.ground.v1`.
SUBPROTOCOL_PREFIX = "kaiteki.ground.v"
SUBPROTOCOL = f"{SUBPROTOCOL_PREFIX}{VERSION}"
#: Versions this implementation can speak, highest first.
SUPPORTED_VERSIONS: tuple[int, ...] = (VERSION,)


def subprotocol_for(version: int) -> str:
    """The subprotocol name for a protocol version (`kaiteki.ground.v<version>`)."""
    return f"{SUBPROTOCOL_PREFIX}{version}"


class VehicleState(StrEnum):
    """What a vehicle reports itself to be doing (telemetry `state`)."""

    IDLE = "idle"
    EN_ROUTE = "en_route"
    AT_STOP = "at_stop"
    HOLDING = "holding"
    RETURNING = "returning"
    CHARGING = "charging"
    FAULT = "fault"
    MANUAL = "manual"


class EventKind(StrEnum):
    """What happened (event `kind`)."""

    ARRIVED = "arrived"  # at stop `stop_id`
    DEPARTED = "departed"  # from stop `stop_id`
    BOARDED = "boarded"  # rider `rider_id` got on (at `stop_id` if known)
    ALIGHTED = "alighted"  # rider `rider_id` got off
    FAULT = "fault"  # fault `code` raised; the vehicle stopped or degraded
    FAULT_CLEARED = "fault_cleared"  # fault `code` cleared
    MANUAL_TAKEOVER = "manual_takeover"  # a safety driver or remote operator took control
    MANUAL_RELEASED = "manual_released"  # control handed back to the autonomy
    PLAN_COMPLETED = "plan_completed"  # the last stop of plan `plan_version` is done
    AT_DEPOT = "at_depot"  # reached its depot (`stop_id`)


class ErrorCode(StrEnum):
    """Error codes of `Ack.code` and `ErrorFrame.code` (stable strings)."""

    MALFORMED = "malformed"  # not msgpack, not a map, or no string `t`
    UNKNOWN_TYPE = "unknown_type"  # a tag this receiver does not know
    INVALID_FIELD = "invalid_field"  # missing, wrong type, NaN or out of range; `msg` names it
    TOO_LARGE = "too_large"  # frame over the size limit
    RATE_LIMITED = "rate_limited"  # over the frame-rate budget; the frame was dropped
    UNEXPECTED = "unexpected"  # a valid message that is not allowed now or in this direction
    STALE_PLAN = "stale_plan"  # plan_version not newer than the vehicle's current plan
    REFUSED = "refused"  # valid command the vehicle cannot carry out; `msg` says why
    UNSUPPORTED = "unsupported"  # a command this vehicle does not implement


class CloseCode(IntEnum):
    """Websocket close codes the server uses (4000-4999 are application codes)."""

    NORMAL = 1000
    GOING_AWAY = 1001  # server shutting down: reconnect with back-off
    MESSAGE_TOO_BIG = 1009  # frame over max_frame_bytes (sent by the websocket layer)
    INTERNAL_ERROR = 1011
    PROTOCOL_ERROR = 4000  # first frame was not a valid hello, or hello sent twice
    AUTH_FAILED = 4001  # unknown vehicle id or wrong token: do not retry fast
    UNSUPPORTED_VERSION = 4002  # no common subprotocol, or hello `v` != negotiated version
    HELLO_TIMEOUT = 4008  # no hello within hello_timeout_s
    REPLACED = 4009  # a newer connection authenticated for the same vehicle
    IDLE_TIMEOUT = 4010  # nothing received for idle_timeout_s
    RATE_LIMIT = 4029  # kept flooding after rate_limited errors


# --- vehicle -> server -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hello:
    """First frame of every connection: who the vehicle is and where its counters stand."""

    v: int
    vehicle_id: VehicleId
    token: str
    boot_id: str
    last_cmd_seq: int = 0
    plan_version: int = -1
    kind: str | None = None
    sw: str | None = None


@dataclass(frozen=True, slots=True)
class Telemetry:
    """A snapshot of the vehicle; latest-wins (never acknowledged)."""

    seq: int
    t_s: float
    lat_deg: float
    lon_deg: float
    heading_deg: float
    speed_m_s: float
    battery_soc: float
    occupancy: int
    doors_open: bool
    state: VehicleState
    plan_version: int = -1
    capacity: int | None = None
    next_stop_id: str | None = None
    odometer_m: float | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened; delivered reliably (acknowledged, resent, deduplicated)."""

    seq: int
    t_s: float
    kind: EventKind
    plan_version: int = -1
    stop_id: str | None = None
    rider_id: str | None = None
    code: str | None = None
    detail: str | None = None
    lat_deg: float | None = None
    lon_deg: float | None = None


# --- server -> vehicle -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Limits:
    """The limits a server enforces, announced in `Welcome.limits`."""

    max_frame_bytes: int = 65_536
    max_frames_per_s: float = 20.0
    burst_frames: int = 60
    telemetry_period_s: float = 1.0
    idle_timeout_s: float = 30.0
    hello_timeout_s: float = 10.0


@dataclass(frozen=True, slots=True)
class Welcome:
    """The server's answer to a valid hello: the session is open."""

    v: int
    session_id: str
    last_event_seq: int
    limits: Limits = Limits()


@dataclass(frozen=True, slots=True)
class PlanStop:
    """One stop of a plan: a named place, or a lat/lon point (both or neither)."""

    stop_id: str
    lat_deg: float | None = None
    lon_deg: float | None = None
    pickups: tuple[str, ...] = ()
    dropoffs: tuple[str, ...] = ()
    dwell_s: float | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    """Command: follow these stops in order; replaces any earlier plan as a whole."""

    seq: int
    plan_version: int
    stops: tuple[PlanStop, ...]


@dataclass(frozen=True, slots=True)
class Hold:
    """Command: stop safely where allowed and wait (doors stay as they are at a stop)."""

    seq: int
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Resume:
    """Command: carry on after a hold."""

    seq: int


@dataclass(frozen=True, slots=True)
class ReturnToDepot:
    """Command: drop off the riders on board, then go to the depot (`depot_id` or the home one)."""

    seq: int
    depot_id: str | None = None


@dataclass(frozen=True, slots=True)
class Cancel:
    """Command: drop the current plan (riders on board are still dropped off).

    With `plan_version`, only if that plan is still the current one (else `stale_plan`).
    """

    seq: int
    plan_version: int | None = None


# --- both directions ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ack:
    """Answer to an event (server -> vehicle) or a command (vehicle -> server), by its `seq`."""

    seq: int
    ok: bool
    code: ErrorCode | None = None
    msg: str | None = None
    dup: bool = False


@dataclass(frozen=True, slots=True)
class ErrorFrame:
    """A frame was refused (tag `error`); `ref_t`/`ref_seq` name it when they could be read."""

    code: ErrorCode
    msg: str
    ref_t: str | None = None
    ref_seq: int | None = None


@dataclass(frozen=True, slots=True)
class Ping:
    """Liveness probe; the peer answers `Pong` with the same nonce."""

    nonce: int


@dataclass(frozen=True, slots=True)
class Pong:
    nonce: int


Command = Plan | Hold | Resume | ReturnToDepot | Cancel
Message = (
    Hello
    | Welcome
    | Telemetry
    | Event
    | Plan
    | Hold
    | Resume
    | ReturnToDepot
    | Cancel
    | Ack
    | ErrorFrame
    | Ping
    | Pong
)

#: Wire tag of each message class.
TAGS: dict[type[Message], str] = {
    Hello: "hello",
    Welcome: "welcome",
    Telemetry: "telemetry",
    Event: "event",
    Plan: "plan",
    Hold: "hold",
    Resume: "resume",
    ReturnToDepot: "return_to_depot",
    Cancel: "cancel",
    Ack: "ack",
    ErrorFrame: "error",
    Ping: "ping",
    Pong: "pong",
}
COMMAND_TYPES: tuple[type[Message], ...] = (Plan, Hold, Resume, ReturnToDepot, Cancel)
_BOTH = frozenset({"ack", "error", "ping", "pong"})
#: Tags a vehicle may send, and tags the server may send.
FROM_VEHICLE: frozenset[str] = frozenset({"hello", "telemetry", "event"}) | _BOTH
FROM_SERVER: frozenset[str] = (
    frozenset({"welcome", "plan", "hold", "resume", "return_to_depot", "cancel"}) | _BOTH
)


def tag_of(message: Message) -> str:
    """The wire tag `t` of a message."""
    return TAGS[type(message)]
