"""The vehicle side of the ground protocol as a sans-I/O state machine.

A `VehicleSession` lives as long as the vehicle's counters (its `boot_id`), across any number of
connections. The transport tells it `connection_made`, hands it each frame with `receive`, and
says `connection_lost`; it sends whatever `data_to_send()` returns, in order. The application
offers telemetry and events and answers commands; every call returns at once. Time comes in as
`now_s` (only used for the event ack timeout).

What the session guarantees (docs/ground-protocol.md, section 3):
- telemetry is numbered and sent at once while the session is open; while it is not, only the
  newest snapshot is kept and it goes out right after the next `welcome` (latest-wins);
- events are numbered and kept until acknowledged; after `welcome` those the server already holds
  (`last_event_seq`) are dropped and the rest resent in order; an event unacknowledged for
  `ack_timeout_s` on an open connection is resent too;
- a command is handed to the application once: a resent one (seq at or below the highest answered,
  or still awaiting its answer) is answered again from memory, never surfaced twice;
- a `plan` not newer than the last accepted plan, and a `cancel` naming another plan, are answered
  `stale_plan` by the session itself.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from dataclasses import dataclass
from enum import StrEnum

from vehicles.ground import messages as m
from vehicles.ground.codec import ProtocolError, decode, encode

_ANSWERS_KEPT = 512


class SessionState(StrEnum):
    DISCONNECTED = "disconnected"
    AWAITING_WELCOME = "awaiting_welcome"
    OPEN = "open"


@dataclass(slots=True)
class VehicleSessionStats:
    """Counters for logs and tests."""

    telemetry_sent: int = 0
    telemetry_superseded: int = 0
    events_sent: int = 0
    events_resent: int = 0
    events_acked: int = 0
    events_refused: int = 0
    events_dropped_overflow: int = 0
    commands_received: int = 0
    commands_duplicate: int = 0
    errors_received: int = 0
    welcomes: int = 0


@dataclass(slots=True)
class _Pending:
    event: m.Event
    sent_s: float | None = None  # None: not sent on the current connection


class VehicleSession:
    """One vehicle's protocol state (see the module docstring)."""

    def __init__(
        self,
        vehicle_id: m.VehicleId,
        token: str,
        *,
        boot_id: str,
        kind: str | None = None,
        sw: str | None = None,
        version: int = m.VERSION,
        ack_timeout_s: float = 5.0,
        max_unacked_events: int = 100_000,
    ) -> None:
        self.vehicle_id = vehicle_id
        self.token = token
        self.boot_id = boot_id
        self.kind = kind
        self.sw = sw
        self.version = version
        self.ack_timeout_s = ack_timeout_s
        self.max_unacked_events = max_unacked_events
        self.state = SessionState.DISCONNECTED
        self.limits = m.Limits()
        self.session_id: str | None = None
        self.stats = VehicleSessionStats()
        self.plan_version = -1  # of the last plan the application accepted
        self.last_cmd_seq = 0  # highest command seq answered
        self._tm_seq = 0
        self._ev_seq = 0
        self._latest_tm: m.Telemetry | None = None
        self._events: OrderedDict[int, _Pending] = OrderedDict()
        self._out: list[bytes] = []
        self._commands: list[m.Command] = []
        self._awaiting: dict[int, m.Command] = {}
        self._answers: OrderedDict[int, m.Ack] = OrderedDict()
        self._errors: list[m.ErrorFrame] = []
        self._queued = 0  # frames ever queued, to see whether the link was quiet
        self._quiet_since: tuple[int, float] = (0, 0.0)
        self._ping_nonce = 0

    # --- transport side ------------------------------------------------------------------------

    def connection_made(self, now_s: float) -> None:
        """A websocket is open: say hello."""
        del now_s
        self.state = SessionState.AWAITING_WELCOME
        for pending in self._events.values():
            pending.sent_s = None
        hello = m.Hello(
            v=self.version,
            vehicle_id=self.vehicle_id,
            token=self.token,
            boot_id=self.boot_id,
            last_cmd_seq=self.last_cmd_seq,
            plan_version=self.plan_version,
            kind=self.kind,
            sw=self.sw,
        )
        self._out.append(encode(hello))

    def connection_lost(self) -> None:
        """The websocket is gone; unsent frames are discarded (events stay kept)."""
        self.state = SessionState.DISCONNECTED
        self._out.clear()
        for pending in self._events.values():
            pending.sent_s = None

    def data_to_send(self) -> list[bytes]:
        """Frames to write, in order; the list is handed over (the session keeps none)."""
        out, self._out = self._out, []
        return out

    def receive(self, data: bytes, now_s: float) -> None:
        """Process one frame from the server."""
        try:
            msg = decode(data, self.limits.max_frame_bytes)
        except ProtocolError as exc:
            self._send(exc.to_frame())
            return
        if isinstance(msg, m.Welcome):
            self._on_welcome(msg, now_s)
        elif self.state is not SessionState.OPEN:
            self._send(m.ErrorFrame(m.ErrorCode.UNEXPECTED, "expected welcome", m.tag_of(msg)))
        elif isinstance(msg, m.Ack):
            self._on_ack(msg)
        elif isinstance(msg, m.Plan | m.Hold | m.Resume | m.ReturnToDepot | m.Cancel):
            self._on_command(msg)
        elif isinstance(msg, m.Ping):
            self._send(m.Pong(msg.nonce))
        elif isinstance(msg, m.ErrorFrame):
            self.stats.errors_received += 1
            self._errors.append(msg)
        elif isinstance(msg, m.Pong):
            pass
        else:
            tag = m.tag_of(msg)
            self._send(m.ErrorFrame(m.ErrorCode.UNEXPECTED, f"{tag} is vehicle->server", tag))

    def tick(self, now_s: float) -> None:
        """Resend events whose ack is overdue; ping when the link has been quiet.

        A ping goes out when nothing was sent for a third of the server's idle timeout, so a
        vehicle with nothing to say is not closed as idle.
        """
        if self.state is not SessionState.OPEN:
            return
        if self._queued != self._quiet_since[0]:
            self._quiet_since = (self._queued, now_s)
        elif now_s - self._quiet_since[1] >= self.limits.idle_timeout_s / 3.0:
            self._ping_nonce += 1
            self._send(m.Ping(self._ping_nonce))
            self._quiet_since = (self._queued, now_s)
        for pending in self._events.values():
            if pending.sent_s is not None and now_s - pending.sent_s >= self.ack_timeout_s:
                self._send_event(pending, now_s)
                self.stats.events_resent += 1

    # --- application side ----------------------------------------------------------------------

    def send_telemetry(self, telemetry: m.Telemetry) -> int:
        """Number and send `telemetry` (its `seq` is replaced); returns the seq given."""
        self._tm_seq += 1
        if self.state is SessionState.OPEN:
            self._out.append(encode(telemetry, seq=self._tm_seq))  # as `_send` of a copy
            self._queued += 1
            self.stats.telemetry_sent += 1
        else:
            if self._latest_tm is not None:
                self.stats.telemetry_superseded += 1
            self._latest_tm = dataclasses.replace(telemetry, seq=self._tm_seq)
        return self._tm_seq

    def send_event(self, event: m.Event, now_s: float = 0.0) -> int:
        """Number `event` (its `seq` is replaced), keep it until acked; returns the seq given."""
        self._ev_seq += 1
        pending = _Pending(dataclasses.replace(event, seq=self._ev_seq))
        self._events[self._ev_seq] = pending
        while len(self._events) > self.max_unacked_events:
            self._events.popitem(last=False)
            self.stats.events_dropped_overflow += 1
        if self.state is SessionState.OPEN:
            self._send_event(pending, now_s)
        return self._ev_seq

    def take_commands(self) -> list[m.Command]:
        """New commands since the last call, oldest first; answer each with `reply`."""
        out, self._commands = self._commands, []
        return out

    def reply(
        self, seq: int, code: m.ErrorCode | None = None, msg: str | None = None
    ) -> None:
        """Answer command `seq`: accepted if `code` is None, else refused with `code`."""
        command = self._awaiting.pop(seq, None)
        if command is None:
            raise KeyError(f"no command {seq} awaits an answer")
        if code is None and isinstance(command, m.Plan):
            self.plan_version = max(self.plan_version, command.plan_version)
        self._answer(m.Ack(seq, ok=code is None, code=code, msg=msg))

    def take_errors(self) -> list[m.ErrorFrame]:
        """Error frames received from the server since the last call."""
        out, self._errors = self._errors, []
        return out

    @property
    def unacked_events(self) -> int:
        return len(self._events)

    @property
    def is_open(self) -> bool:
        return self.state is SessionState.OPEN

    # --- internals -----------------------------------------------------------------------------

    def _send(self, msg: m.Message) -> None:
        self._out.append(encode(msg))
        self._queued += 1

    def _send_event(self, pending: _Pending, now_s: float) -> None:
        self._send(pending.event)
        pending.sent_s = now_s
        self.stats.events_sent += 1

    def _on_welcome(self, welcome: m.Welcome, now_s: float) -> None:
        if self.state is not SessionState.AWAITING_WELCOME:
            self._send(m.ErrorFrame(m.ErrorCode.UNEXPECTED, "welcome twice", "welcome"))
            return
        self.state = SessionState.OPEN
        self.session_id = welcome.session_id
        self.limits = welcome.limits
        self.stats.welcomes += 1
        for seq in [s for s in self._events if s <= welcome.last_event_seq]:
            del self._events[seq]  # the server has it: its ack was lost with the connection
            self.stats.events_acked += 1
        if self._latest_tm is not None:
            self._send(self._latest_tm)
            self.stats.telemetry_sent += 1
            self._latest_tm = None
        for pending in self._events.values():
            self._send_event(pending, now_s)
            self.stats.events_resent += 1

    def _on_ack(self, ack: m.Ack) -> None:
        if self._events.pop(ack.seq, None) is None:
            return  # already acked (a duplicate ack): nothing to do
        if ack.ok:
            self.stats.events_acked += 1
        else:
            self.stats.events_refused += 1

    def _on_command(self, command: m.Command) -> None:
        self.stats.commands_received += 1
        seq = command.seq
        if seq in self._awaiting:
            self.stats.commands_duplicate += 1  # resent before the application answered
            return
        if seq <= self.last_cmd_seq:
            self.stats.commands_duplicate += 1
            old = self._answers.get(seq)
            ack = dataclasses.replace(old, dup=True) if old else m.Ack(seq, ok=True, dup=True)
            self._send(ack)
            return
        stale = None
        if isinstance(command, m.Plan) and command.plan_version <= self.plan_version:
            stale = f"plan {command.plan_version} is not newer than {self.plan_version}"
        elif (
            isinstance(command, m.Cancel)
            and command.plan_version is not None
            and command.plan_version != self.plan_version
        ):
            stale = f"plan {command.plan_version} is not current ({self.plan_version})"
        if stale is not None:
            self._answer(m.Ack(seq, ok=False, code=m.ErrorCode.STALE_PLAN, msg=stale))
            return
        self._awaiting[seq] = command
        self._commands.append(command)

    def _answer(self, ack: m.Ack) -> None:
        self.last_cmd_seq = max(self.last_cmd_seq, ack.seq)
        self._answers[ack.seq] = ack
        while len(self._answers) > _ANSWERS_KEPT:
            self._answers.popitem(last=False)
        if self.state is SessionState.OPEN:
            self._send(ack)
