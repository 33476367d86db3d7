"""What the server core (`vehicles.ground.server_session`) keeps and what it tells its edge.

Outputs for the transport: `Send(conn, data)` and `Close(conn, code, reason)`. Events for the
service: `VehicleConnected`, `VehicleDisconnected`, `TelemetryReceived` (only newer telemetry),
`EventReceived` (each event once), `CommandAnswered` (a command's ack) and `PeerError` (an error
frame a vehicle sent). `VehicleRecord` is the per-vehicle state that outlives connections.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NewType

from vehicles.ground import messages as m

ConnId = NewType("ConnId", int)


class UnknownVehicleError(KeyError):
    """A vehicle id that is not in the server's credentials."""


class StalePlanError(ValueError):
    """A plan whose version is not above every plan version already sent or reported."""


@dataclass(frozen=True, slots=True)
class Send:
    conn: ConnId
    data: bytes


@dataclass(frozen=True, slots=True)
class Close:
    conn: ConnId
    code: int
    reason: str


Output = Send | Close


@dataclass(frozen=True, slots=True)
class VehicleConnected:
    vehicle_id: m.VehicleId
    conn: ConnId
    hello: m.Hello
    t_s: float


@dataclass(frozen=True, slots=True)
class VehicleDisconnected:
    vehicle_id: m.VehicleId
    conn: ConnId
    reason: str


@dataclass(frozen=True, slots=True)
class TelemetryReceived:
    vehicle_id: m.VehicleId
    telemetry: m.Telemetry
    t_s: float  # server time of receipt


@dataclass(frozen=True, slots=True)
class EventReceived:
    """A new event (never a duplicate).

    Journal `(vehicle_id, boot_id, event.seq)` with it, so that
    `GroundServerCore.restore_vehicle` keeps recognising duplicates after a restart.
    """

    vehicle_id: m.VehicleId
    event: m.Event
    t_s: float
    boot_id: str = ""


@dataclass(frozen=True, slots=True)
class CommandAnswered:
    vehicle_id: m.VehicleId
    command: m.Command
    ack: m.Ack
    t_s: float


@dataclass(frozen=True, slots=True)
class PeerError:
    vehicle_id: m.VehicleId
    error: m.ErrorFrame


AppEvent = (
    VehicleConnected
    | VehicleDisconnected
    | TelemetryReceived
    | EventReceived
    | CommandAnswered
    | PeerError
)


@dataclass(slots=True)
class VehicleRecord:
    """Per-vehicle protocol state kept across connections."""

    vehicle_id: m.VehicleId
    conn: ConnId | None = None
    boot_id: str | None = None
    last_event_seq: int = 0
    last_tm_seq: int = 0
    telemetry: m.Telemetry | None = None
    telemetry_s: float | None = None
    next_cmd_seq: int = 1
    pending: OrderedDict[int, m.Command] = field(default_factory=OrderedDict)
    recent_events: OrderedDict[int, tuple[float, str]] = field(default_factory=OrderedDict)
    plan_version_sent: int = -1
    plan_version_reported: int = -1
    plan_version_acked: int = -1
    connects: int = 0
    disconnected_s: float | None = None


class _Stage(StrEnum):
    AWAITING_HELLO = "awaiting_hello"
    OPEN = "open"
    CLOSED = "closed"


@dataclass(slots=True)
class _Conn:
    id: ConnId
    opened_s: float
    last_rx_s: float
    stage: _Stage = _Stage.AWAITING_HELLO
    version: int = 0
    vehicle_id: str = ""
    tokens: float = 0.0
    bucket_s: float = 0.0
    drops: list[float] = field(default_factory=list)
    last_rate_error_s: float = float("-inf")
    close_reason: str = ""
    warned_tm_seq: bool = False


@dataclass(slots=True)
class ServerStats:
    """Counters for logs, tests and the benchmark."""

    connections: int = 0
    frames_in: int = 0
    frames_out: int = 0
    frames_refused: int = 0
    frames_rate_limited: int = 0
    telemetry_accepted: int = 0
    telemetry_stale: int = 0
    events_accepted: int = 0
    events_duplicate: int = 0
    events_seq_reused: int = 0
    acks_unmatched: int = 0
    auth_failures: int = 0
    closes: dict[int, int] = field(default_factory=dict)
