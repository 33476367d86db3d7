"""The MAVLink mission protocol, ground-station side, for missions, fences and rally points.

Upload: MISSION_COUNT, then the drone asks for each item with MISSION_REQUEST_INT (or the
legacy MISSION_REQUEST, which ArduPilot still sends) and we answer with MISSION_ITEM_INT; the
drone's MISSION_ACK ends it. Download: MISSION_REQUEST_LIST, the drone's MISSION_COUNT, then we
ask for each item with MISSION_REQUEST_INT and end with our MISSION_ACK. Clear:
MISSION_CLEAR_ALL and the drone's MISSION_ACK. Every step carries the `mission_type`
(MAV_MISSION_TYPE_MISSION, _FENCE, _RALLY).

Timeouts (mavlink.io: 1500 ms per step, a few retries): when the drone says nothing within
`item_timeout_s` we send our last message again, up to `retries` times, then give up with
`OperationTimeoutError` and tell the drone MAV_MISSION_OPERATION_CANCELLED. Every MAV_MISSION_RESULT
other than ACCEPTED finishes the transfer with a `MissionRejectedError` carrying its code and name,
except MAV_MISSION_INVALID_SEQUENCE during an upload: ArduPilot sends it for an item that
arrived out of order (a retry crossing its re-request) and keeps the upload going, so the link
keeps serving; only if the transfer then stalls is it the reported reason.
One transfer at a time per drone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from vehicles.mavlink.codec import C, enum_name
from vehicles.mavlink.operation import BusyError, LinkError, Operation, OperationTimeoutError

MISSION = int(C.MAV_MISSION_TYPE_MISSION)
FENCE = int(C.MAV_MISSION_TYPE_FENCE)
RALLY = int(C.MAV_MISSION_TYPE_RALLY)
ACCEPTED = int(C.MAV_MISSION_ACCEPTED)
CANCELLED = int(C.MAV_MISSION_OPERATION_CANCELLED)
INVALID_SEQUENCE = int(C.MAV_MISSION_INVALID_SEQUENCE)
ERROR = int(C.MAV_MISSION_ERROR)
_ENC = C.MAVLink(None)


@dataclass(frozen=True)
class MissionItem:
    """One mission/fence/rally item as MISSION_ITEM_INT carries it (x/y in degE7)."""

    command: int
    frame: int = int(C.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT)
    param1: float = 0.0
    param2: float = 0.0
    param3: float = 0.0
    param4: float = 0.0
    x: int = 0
    y: int = 0
    z: float = 0.0
    autocontinue: int = 1
    current: int = 0

    @property
    def name(self) -> str:
        """The command's MAV_CMD name."""
        return enum_name("MAV_CMD", self.command)

    @staticmethod
    def from_message(msg: Any) -> MissionItem:
        """From a MISSION_ITEM_INT or a legacy MISSION_ITEM (float degrees)."""
        if msg.get_type() == "MISSION_ITEM":
            x, y = round(msg.x * 1e7), round(msg.y * 1e7)
        else:
            x, y = int(msg.x), int(msg.y)
        return MissionItem(int(msg.command), int(msg.frame), msg.param1, msg.param2, msg.param3,
                           msg.param4, x, y, msg.z, int(msg.autocontinue), int(msg.current))


class MissionRejectedError(LinkError):
    """The drone ended a transfer with a MAV_MISSION_RESULT other than ACCEPTED."""

    def __init__(self, result: int, mission_type: int, operation: str) -> None:
        self.result = result
        self.result_name = enum_name("MAV_MISSION_RESULT", result)
        entry = C.enums["MAV_MISSION_RESULT"].get(result)
        self.detail = str(entry.description) if entry is not None else "unknown result"
        super().__init__(f"{operation} of {enum_name('MAV_MISSION_TYPE', mission_type)} "
                         f"refused: {self.result_name} ({self.detail})")


@dataclass(frozen=True)
class MissionTiming:
    """Per-step timeout and retries (injected-clock seconds)."""

    item_timeout_s: float = 1.5
    retries: int = 5


class _Transfer:
    def __init__(self, kind: str, mission_type: int, op: Operation[Any], now_s: float,
                 items: Sequence[MissionItem] = ()) -> None:
        self.kind = kind
        self.mission_type = mission_type
        self.op = op
        self.items = list(items)
        self.count: int | None = len(items) if kind == "upload" else None
        self.received: list[MissionItem] = []
        self.requested: set[int] = set()
        self.last_msg: Any = None
        self.deadline_s = now_s
        self.retries_used = 0
        self.soft_result: int | None = None  # a non-final MISSION_ACK seen (INVALID_SEQUENCE)
        self.final_item_sends = 0  # how often the last item of an upload went out
        self.expected: list[MissionItem] = []  # what a "verify" download must find


class MissionClient:
    """One drone's mission transfers. `send` gets a message out (the link packs it)."""

    def __init__(self, target_system: int, send: Callable[[Any], None],
                 timing: MissionTiming | None = None, target_component: int = 1) -> None:
        self.target_system = target_system
        self.target_component = target_component
        self.timing = timing or MissionTiming()
        self._send = send
        self._transfer: _Transfer | None = None
        self.retries = 0
        self.unexpected = 0
        self.legacy_requests = 0
        self.invalid_sequence_acks = 0
        self.verifications = 0  # uploads read back because their final ack was lost

    @property
    def busy(self) -> bool:
        """Whether a transfer is under way."""
        return self._transfer is not None

    def upload(self, items: Sequence[MissionItem], mission_type: int, now_s: float
               ) -> Operation[int]:
        """Upload `items` (seq = index); the result is the count the drone accepted."""
        op: Operation[int] = Operation(f"upload {len(items)} items")
        if self._begin(op):
            t = self._transfer = _Transfer("upload", mission_type, op, now_s, items)
            self._out(t, _ENC.mission_count_encode(self.target_system, self.target_component,
                                                   len(items), mission_type), now_s)
        return op

    def download(self, mission_type: int, now_s: float) -> Operation[list[MissionItem]]:
        """Read the drone's stored items of `mission_type`."""
        op: Operation[list[MissionItem]] = Operation("download")
        if self._begin(op):
            t = self._transfer = _Transfer("download", mission_type, op, now_s)
            self._out(t, _ENC.mission_request_list_encode(
                self.target_system, self.target_component, mission_type), now_s)
        return op

    def clear(self, mission_type: int, now_s: float) -> Operation[int]:
        """Delete the drone's stored items of `mission_type`."""
        op: Operation[int] = Operation("clear")
        if self._begin(op):
            t = self._transfer = _Transfer("clear", mission_type, op, now_s)
            self._out(t, _ENC.mission_clear_all_encode(
                self.target_system, self.target_component, mission_type), now_s)
        return op

    def on_message(self, msg: Any, now_s: float) -> None:
        """Handle a mission-protocol message from the drone."""
        t = self._transfer
        kind = msg.get_type()
        if t is None or int(getattr(msg, "mission_type", MISSION)) != t.mission_type:
            self.unexpected += 1
            return
        if kind in ("MISSION_REQUEST_INT", "MISSION_REQUEST") and t.kind == "upload":
            self.legacy_requests += kind == "MISSION_REQUEST"
            self._serve(t, int(msg.seq), now_s)
        elif kind == "MISSION_ACK":
            self._on_ack(t, int(msg.type), now_s)
        elif kind == "MISSION_COUNT" and t.kind in ("download", "verify"):
            if t.count is None:
                t.count = int(msg.count)
            self._request_next(t, now_s)
        elif kind in ("MISSION_ITEM_INT", "MISSION_ITEM") and t.kind in ("download", "verify"):
            if t.count is not None and int(msg.seq) == len(t.received):
                t.received.append(MissionItem.from_message(msg))
                self._request_next(t, now_s)
            else:
                self.unexpected += 1
        else:
            self.unexpected += 1

    def poll(self, now_s: float) -> None:
        """Resend on timeout; give up after the retries."""
        t = self._transfer
        if t is None or now_s < t.deadline_s:
            return
        if t.retries_used >= self.timing.retries:
            self._transfer = None
            self._send(_ENC.mission_ack_encode(self.target_system, self.target_component,
                                               CANCELLED, t.mission_type))
            if t.soft_result is not None:  # what the drone said last explains the stall
                t.op.fail(MissionRejectedError(t.soft_result, t.mission_type, t.kind))
            else:
                t.op.fail(OperationTimeoutError(f"mission {t.kind}: no answer after "
                                                f"{t.retries_used + 1} attempts"))
            return
        t.retries_used += 1
        self.retries += 1
        if t.kind == "upload" and getattr(t.last_msg, "seq", -1) == len(t.items) - 1 \
                and t.last_msg.get_type() == "MISSION_ITEM_INT":
            t.final_item_sends += 1
        self._out(t, t.last_msg, now_s)

    def fail(self, error: LinkError) -> None:
        """Abandon the transfer under way (e.g. the drone was replaced)."""
        t, self._transfer = self._transfer, None
        if t is not None:
            t.op.fail(error)

    # -- steps -------------------------------------------------------------------------------
    def _begin(self, op: Operation[Any]) -> bool:
        if self._transfer is not None:
            op.fail(BusyError(f"a mission {self._transfer.kind} is under way"))
            return False
        return True

    def _out(self, t: _Transfer, msg: Any, now_s: float) -> None:
        t.last_msg = msg
        t.deadline_s = now_s + self.timing.item_timeout_s
        self._send(msg)

    def _serve(self, t: _Transfer, seq: int, now_s: float) -> None:
        if not 0 <= seq < len(t.items):
            self.unexpected += 1
            return
        if seq not in t.requested:
            t.requested.add(seq)
            t.retries_used = 0  # progress: a fresh budget for the next step
        if seq == len(t.items) - 1:
            t.final_item_sends += 1
        item = t.items[seq]
        self._out(t, _ENC.mission_item_int_encode(
            self.target_system, self.target_component, seq, item.frame, item.command,
            item.current, item.autocontinue, item.param1, item.param2, item.param3, item.param4,
            item.x, item.y, item.z, t.mission_type), now_s)

    def _request_next(self, t: _Transfer, now_s: float) -> None:
        assert t.count is not None
        t.retries_used = 0
        if len(t.received) >= t.count:
            self._transfer = None
            self._send(_ENC.mission_ack_encode(self.target_system, self.target_component,
                                               ACCEPTED, t.mission_type))
            if t.kind == "verify":
                if _same_mission(t.expected, t.received):
                    t.op.succeed(len(t.expected))
                else:
                    t.op.fail(MissionRejectedError(int(C.MAV_MISSION_ERROR), t.mission_type,
                                                   "upload (read back different)"))
                return
            t.op.succeed(list(t.received))
            return
        self._out(t, _ENC.mission_request_int_encode(
            self.target_system, self.target_component, len(t.received), t.mission_type), now_s)

    def _on_ack(self, t: _Transfer, result: int, now_s: float) -> None:
        if t.kind == "upload" and result == ERROR and len(t.requested) == len(t.items) \
                and t.final_item_sends >= 2:
            # ArduPilot answers MAV_MISSION_ERROR to an item it no longer waits for: our resend
            # of the last item after its final ACCEPTED was lost. Read the mission back to know.
            self.verifications += 1
            v = self._transfer = _Transfer("verify", t.mission_type, t.op, now_s)
            v.expected = t.items
            self._out(v, _ENC.mission_request_list_encode(
                self.target_system, self.target_component, t.mission_type), now_s)
            return
        if t.kind in ("download", "verify"):
            if result == ACCEPTED:
                self.unexpected += 1  # a stale ack of an earlier transfer
                return
            self._transfer = None  # the drone ends a download early only to refuse it
            t.op.fail(MissionRejectedError(result, t.mission_type, "download"))
            return
        if result == INVALID_SEQUENCE and t.kind == "upload":
            # an item arrived out of order (our retry crossed the drone's re-request):
            # ArduPilot answers so but keeps the upload going and asks again; so do we
            self.invalid_sequence_acks += 1
            t.soft_result = result
            return
        if result != ACCEPTED:
            self._transfer = None
            t.op.fail(MissionRejectedError(result, t.mission_type, t.kind))
            return
        if t.kind == "upload" and len(t.requested) < len(t.items):
            self.unexpected += 1  # an early ACCEPTED: keep serving until every item went out
            return
        self._transfer = None
        t.op.succeed(len(t.items))


def _same_mission(sent: list[MissionItem], stored: list[MissionItem]) -> bool:
    """Whether the autopilot holds what we sent (item 0 may be ArduPilot's own home)."""
    if len(sent) != len(stored):
        return False
    for i, (a, b) in enumerate(zip(sent, stored, strict=True)):
        if a.command != b.command:
            return False
        if i > 0 and (a.x, a.y) != (b.x, b.y):
            return False
    return True
