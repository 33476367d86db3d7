"""The server side of the ground protocol as one sans-I/O state machine for all connections.

`GroundServerCore` holds two kinds of state: per *connection* (handshake stage, rate-limit
bucket, which vehicle it speaks for) and per *vehicle* (`VehicleRecord`: the counters that must
survive reconnects, i.e. the highest event and telemetry seq per `boot_id`, the command counter,
the commands awaiting an answer, plan versions and the latest telemetry). The edge reports
`connect`, `receive`, `disconnected` and `tick(now_s)`, then carries out `outputs()` (`Send`,
`Close`) and hands `events()` (`VehicleConnected`, `TelemetryReceived`, `EventReceived`,
`CommandAnswered`, ...) to the service. No sockets, no clock: `now_s` comes in with every call.

Rules enforced here (docs/ground-protocol.md): hello first and within `hello_timeout_s`, token
check in constant time, version = negotiated subprotocol, a newer connection for a vehicle
replaces the older (close 4009), per-connection token-bucket rate limit with `rate_limited`
errors and a 4029 close for floods, idle timeout, events deduplicated by seq and acknowledged,
telemetry latest-wins by seq, commands numbered, kept until answered and resent after a
reconnect, plan versions that only grow. A refused frame changes no state.
"""

from __future__ import annotations

import dataclasses
import hmac
import itertools
from collections.abc import Mapping

from vehicles.ground import messages as m
from vehicles.ground.codec import ProtocolError, decode, encode
from vehicles.ground.server_types import (
    AppEvent,
    Close,
    CommandAnswered,
    ConnId,
    EventReceived,
    Output,
    PeerError,
    Send,
    ServerStats,
    StalePlanError,
    TelemetryReceived,
    UnknownVehicleError,
    VehicleConnected,
    VehicleDisconnected,
    VehicleRecord,
    _Conn,
    _Stage,
)

FLOOD_WINDOW_S = 10.0
FLOOD_DROPS = 100
MAX_PENDING_COMMANDS = 256
RECENT_EVENTS_KEPT = 256  # fingerprints to tell a resend from a reused seq
_C = m.CloseCode


def negotiate(offered: list[str], versions: tuple[int, ...] = m.SUPPORTED_VERSIONS) -> str | None:
    """The subprotocol to select among those a vehicle offers (highest common), or None."""
    for v in sorted(versions, reverse=True):
        if m.subprotocol_for(v) in offered:
            return m.subprotocol_for(v)
    return None


class GroundServerCore:
    """All vehicle connections of one server (see the module docstring)."""

    def __init__(
        self,
        credentials: Mapping[str, str],
        limits: m.Limits | None = None,
        *,
        versions: tuple[int, ...] = m.SUPPORTED_VERSIONS,
    ) -> None:
        self.credentials = credentials
        self.limits = limits or m.Limits()
        self.versions = versions
        self.stats = ServerStats()
        self._conns: dict[ConnId, _Conn] = {}
        self._vehicles: dict[str, VehicleRecord] = {}
        self._ids = itertools.count(1)
        self._out: list[Output] = []
        self._events: list[AppEvent] = []

    # --- queries -------------------------------------------------------------------------------

    def vehicle(self, vehicle_id: str) -> VehicleRecord:
        """The record of a registered vehicle (created on first use)."""
        if vehicle_id not in self.credentials:
            raise UnknownVehicleError(vehicle_id)
        record = self._vehicles.get(vehicle_id)
        if record is None:
            record = self._vehicles[vehicle_id] = VehicleRecord(m.VehicleId(vehicle_id))
        return record

    def restore_vehicle(
        self,
        vehicle_id: str,
        *,
        boot_id: str,
        last_event_seq: int,
        next_cmd_seq: int = 1,
        plan_version_sent: int = -1,
    ) -> None:
        """Reload what a previous run of the server knew (from the journal).

        Call it before vehicles connect, so that events the previous run accepted (whose acks
        may have been lost in the crash) are still recognised as duplicates.
        """
        record = self.vehicle(vehicle_id)
        record.boot_id = boot_id
        record.last_event_seq = max(record.last_event_seq, last_event_seq)
        record.next_cmd_seq = max(record.next_cmd_seq, next_cmd_seq)
        record.plan_version_sent = max(record.plan_version_sent, plan_version_sent)

    def connected_vehicles(self) -> list[str]:
        return [v for v, r in self._vehicles.items() if r.conn is not None]

    def outputs(self) -> list[Output]:
        """Frames to send and connections to close, in order (handed over)."""
        out, self._out = self._out, []
        return out

    def events(self) -> list[AppEvent]:
        """What the service should learn, in order (handed over)."""
        out, self._events = self._events, []
        return out

    # --- transport side ------------------------------------------------------------------------

    def connect(self, now_s: float, subprotocol: str | None) -> ConnId:
        """A websocket was accepted with `subprotocol` (None: no common version)."""
        conn = _Conn(ConnId(next(self._ids)), opened_s=now_s, last_rx_s=now_s)
        conn.tokens = float(self.limits.burst_frames)
        conn.bucket_s = now_s
        self._conns[conn.id] = conn
        self.stats.connections += 1
        version = None
        for v in self.versions:
            if subprotocol == m.subprotocol_for(v):
                version = v
        if version is None:
            supported = ", ".join(m.subprotocol_for(v) for v in self.versions)
            reason = f"unsupported version; supported: {supported}"
            self._close(conn, _C.UNSUPPORTED_VERSION, reason)
        else:
            conn.version = version
        return conn.id

    def disconnected(self, conn_id: ConnId, now_s: float) -> None:
        """The transport of `conn_id` is gone (for any reason)."""
        conn = self._conns.pop(conn_id, None)
        if conn is None:
            return
        record = self._vehicles.get(conn.vehicle_id) if conn.vehicle_id else None
        if record is not None and record.conn == conn_id:
            record.conn = None
            record.disconnected_s = now_s
            self._events.append(VehicleDisconnected(record.vehicle_id, conn_id, conn.close_reason))

    def tick(self, now_s: float) -> None:
        """Enforce the hello and idle timeouts."""
        for conn in list(self._conns.values()):
            if conn.stage is _Stage.AWAITING_HELLO:
                if now_s - conn.opened_s >= self.limits.hello_timeout_s:
                    self._close(conn, _C.HELLO_TIMEOUT, "no hello in time")
            elif conn.stage is _Stage.OPEN and now_s - conn.last_rx_s >= self.limits.idle_timeout_s:
                self._close(conn, _C.IDLE_TIMEOUT, "idle")

    def receive(self, conn_id: ConnId, data: bytes | str, now_s: float) -> None:
        """One frame from connection `conn_id`."""
        conn = self._conns.get(conn_id)
        if conn is None or conn.stage is _Stage.CLOSED:
            return
        self.stats.frames_in += 1
        conn.last_rx_s = now_s
        if conn.stage is _Stage.AWAITING_HELLO:
            self._on_hello_frame(conn, data, now_s)
            return
        if not self._admit(conn, now_s):
            return
        if isinstance(data, str):
            self._send(conn, m.ErrorFrame(m.ErrorCode.MALFORMED, "binary frames only"))
            return
        try:
            msg = decode(data, self.limits.max_frame_bytes)
        except ProtocolError as exc:
            self._refuse(conn, exc)
            return
        record = self._vehicles[conn.vehicle_id]
        if isinstance(msg, m.Telemetry):
            self._on_telemetry(conn, record, msg, now_s)
        elif isinstance(msg, m.Event):
            self._on_event(conn, record, msg, now_s)
        elif isinstance(msg, m.Ack):
            self._on_ack(record, msg, now_s)
        elif isinstance(msg, m.Ping):
            self._send(conn, m.Pong(msg.nonce))
        elif isinstance(msg, m.Pong):
            pass
        elif isinstance(msg, m.ErrorFrame):
            self._events.append(PeerError(record.vehicle_id, msg))
        elif isinstance(msg, m.Hello):
            self._close(conn, _C.PROTOCOL_ERROR, "hello sent twice")
        else:
            tag = m.tag_of(msg)
            self._send(conn, m.ErrorFrame(m.ErrorCode.UNEXPECTED, f"{tag} is server->vehicle", tag))

    # --- service side --------------------------------------------------------------------------

    def send_command(self, vehicle_id: str, command: m.Command) -> m.Command:
        """Number `command` (its seq is replaced), keep it until answered, send it if online.

        A `Plan` must carry a `plan_version` above every plan sent to this vehicle before and
        above the one it reports (else `StalePlanError`); `next_plan_version` gives one. A command
        that would not pass the codec raises `ValueError` and is not queued. Returns the command
        as numbered.
        """
        record = self.vehicle(vehicle_id)
        if len(record.pending) >= MAX_PENDING_COMMANDS:
            raise OverflowError(f"{vehicle_id}: {MAX_PENDING_COMMANDS} commands await an answer")
        lowest = self.next_plan_version(vehicle_id)
        if isinstance(command, m.Plan) and command.plan_version < lowest:
            raise StalePlanError(
                f"{vehicle_id}: plan {command.plan_version} is not newer than {lowest - 1}"
            )
        numbered = dataclasses.replace(command, seq=record.next_cmd_seq)
        try:
            data = encode(numbered)
            decode(data, self.limits.max_frame_bytes)
        except (ProtocolError, TypeError, ValueError) as exc:
            raise ValueError(f"{vehicle_id}: command refused before sending: {exc}") from None
        record.next_cmd_seq += 1
        if isinstance(numbered, m.Plan):
            record.plan_version_sent = numbered.plan_version
        record.pending[numbered.seq] = numbered
        conn = self._conns.get(record.conn) if record.conn is not None else None
        if conn is not None and conn.stage is _Stage.OPEN:
            self._out.append(Send(conn.id, data))
            self.stats.frames_out += 1
        return numbered

    def disconnect(self, vehicle_id: str, code: m.CloseCode, reason: str) -> bool:
        """Close the vehicle's connection (e.g. its token was revoked); False if not connected."""
        record = self.vehicle(vehicle_id)
        conn = self._conns.get(record.conn) if record.conn is not None else None
        if conn is None or conn.stage is _Stage.CLOSED:
            return False
        self._close(conn, code, reason)
        return True

    def next_plan_version(self, vehicle_id: str) -> int:
        """The lowest plan version a new plan for this vehicle may carry."""
        record = self.vehicle(vehicle_id)
        return max(record.plan_version_sent, record.plan_version_reported) + 1

    # --- internals -----------------------------------------------------------------------------

    def _send(self, conn: _Conn, msg: m.Message) -> None:
        self._out.append(Send(conn.id, encode(msg)))
        self.stats.frames_out += 1

    def _close(self, conn: _Conn, code: m.CloseCode, reason: str) -> None:
        if conn.stage is _Stage.CLOSED:
            return
        conn.stage = _Stage.CLOSED
        conn.close_reason = f"{int(code)} {reason}"
        self.stats.closes[int(code)] = self.stats.closes.get(int(code), 0) + 1
        self._out.append(Close(conn.id, int(code), reason))

    def _refuse(self, conn: _Conn, exc: ProtocolError) -> None:
        self.stats.frames_refused += 1
        invalid = exc.code is m.ErrorCode.INVALID_FIELD
        if exc.ref_t == "event" and exc.ref_seq is not None and invalid:
            self._send(conn, m.Ack(exc.ref_seq, ok=False, code=exc.code, msg=exc.msg[:500]))
        else:
            self._send(conn, exc.to_frame())

    def _admit(self, conn: _Conn, now_s: float) -> bool:
        """Token bucket: True if the frame may be processed; else drop, answer, maybe close."""
        lim = self.limits
        conn.tokens = min(
            float(lim.burst_frames), conn.tokens + (now_s - conn.bucket_s) * lim.max_frames_per_s
        )
        conn.bucket_s = now_s
        if conn.tokens >= 1.0:
            conn.tokens -= 1.0
            return True
        self.stats.frames_rate_limited += 1
        conn.drops = [t for t in conn.drops if now_s - t < FLOOD_WINDOW_S]
        conn.drops.append(now_s)
        if len(conn.drops) >= FLOOD_DROPS:
            self._close(conn, _C.RATE_LIMIT, f"over {lim.max_frames_per_s:g} frames/s")
        elif now_s - conn.last_rate_error_s >= 1.0:
            conn.last_rate_error_s = now_s
            msg = f"over {lim.max_frames_per_s:g} frames/s: frame dropped"
            self._send(conn, m.ErrorFrame(m.ErrorCode.RATE_LIMITED, msg))
        return False

    def _on_hello_frame(self, conn: _Conn, data: bytes | str, now_s: float) -> None:
        try:
            if isinstance(data, str):
                raise ProtocolError(m.ErrorCode.MALFORMED, "binary frames only")
            hello = decode(data, self.limits.max_frame_bytes)
        except ProtocolError as exc:
            self._close(conn, _C.PROTOCOL_ERROR, f"expected a valid hello: {exc}"[:120])
            return
        if not isinstance(hello, m.Hello):
            self._close(conn, _C.PROTOCOL_ERROR, "the first frame must be hello")
            return
        if hello.v != conn.version:
            self._close(conn, _C.UNSUPPORTED_VERSION, f"hello v={hello.v} != subprotocol version")
            return
        expected = self.credentials.get(hello.vehicle_id)
        if expected is None or not hmac.compare_digest(
            expected.encode(), hello.token.encode()
        ):
            self.stats.auth_failures += 1
            self._close(conn, _C.AUTH_FAILED, "authentication failed")
            return
        record = self.vehicle(hello.vehicle_id)
        if record.conn is not None and record.conn in self._conns:
            old = self._conns[record.conn]
            self._close(old, _C.REPLACED, "replaced by a newer connection")
            self._events.append(VehicleDisconnected(record.vehicle_id, old.id, old.close_reason))
        if record.boot_id != hello.boot_id:
            record.boot_id = hello.boot_id
            record.last_event_seq = 0
            record.last_tm_seq = 0
            record.recent_events.clear()
        record.next_cmd_seq = max(record.next_cmd_seq, hello.last_cmd_seq + 1)
        record.plan_version_reported = max(record.plan_version_reported, hello.plan_version)
        record.conn = conn.id
        record.connects += 1
        conn.stage = _Stage.OPEN
        conn.vehicle_id = hello.vehicle_id
        session_id = f"c{conn.id}"
        self._send(conn, m.Welcome(conn.version, session_id, record.last_event_seq, self.limits))
        for command in record.pending.values():
            self._send(conn, command)
        self._events.append(VehicleConnected(record.vehicle_id, conn.id, hello, now_s))

    def _on_telemetry(
        self, conn: _Conn, record: VehicleRecord, tm: m.Telemetry, now_s: float
    ) -> None:
        if tm.seq <= record.last_tm_seq:
            self.stats.telemetry_stale += 1
            latest = record.telemetry
            if latest is not None and tm.t_s > latest.t_s and not conn.warned_tm_seq:
                conn.warned_tm_seq = True  # newer data, older seq: a counter reset, once per conn
                msg = (
                    f"telemetry seq {tm.seq} <= {record.last_tm_seq} but newer t_s: dropped; "
                    "use a new boot_id whenever the counters restart"
                )
                self._send(conn, m.ErrorFrame(m.ErrorCode.UNEXPECTED, msg, "telemetry", tm.seq))
            return
        record.last_tm_seq = tm.seq
        record.telemetry = tm
        record.telemetry_s = now_s
        record.plan_version_reported = max(record.plan_version_reported, tm.plan_version)
        self.stats.telemetry_accepted += 1
        self._events.append(TelemetryReceived(record.vehicle_id, tm, now_s))

    def _on_event(self, conn: _Conn, record: VehicleRecord, ev: m.Event, now_s: float) -> None:
        fingerprint = (ev.t_s, str(ev.kind))
        if ev.seq <= record.last_event_seq:
            seen = record.recent_events.get(ev.seq)
            if seen is not None and seen != fingerprint:  # not a resend: the seq was reused
                self.stats.events_seq_reused += 1
                msg = (
                    f"event seq {ev.seq} was already used by another event; "
                    "use a new boot_id whenever the counters restart"
                )
                self._send(conn, m.Ack(ev.seq, ok=False, code=m.ErrorCode.UNEXPECTED, msg=msg))
                return
            self.stats.events_duplicate += 1
            self._send(conn, m.Ack(ev.seq, ok=True, dup=True))
            return
        record.last_event_seq = ev.seq
        record.recent_events[ev.seq] = fingerprint
        while len(record.recent_events) > RECENT_EVENTS_KEPT:
            record.recent_events.popitem(last=False)
        self.stats.events_accepted += 1
        self._send(conn, m.Ack(ev.seq, ok=True))
        self._events.append(EventReceived(record.vehicle_id, ev, now_s, record.boot_id or ""))

    def _on_ack(self, record: VehicleRecord, ack: m.Ack, now_s: float) -> None:
        command = record.pending.pop(ack.seq, None)
        if command is None:
            self.stats.acks_unmatched += 1
            return
        if ack.ok and isinstance(command, m.Plan):
            record.plan_version_acked = max(record.plan_version_acked, command.plan_version)
        self._events.append(CommandAnswered(record.vehicle_id, command, ack, now_s))
