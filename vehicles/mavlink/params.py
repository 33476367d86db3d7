"""The MAVLink parameter protocol, ground side: read and write single parameters.

Write: PARAM_SET; the autopilot answers with PARAM_VALUE carrying the value it now holds
(mavlink.io parameter protocol); no answer within `timeout_s` sends PARAM_SET again, up to
`attempts` times. If the value it holds is not the one we asked for (a value out of range that
the autopilot kept its old value for), the write fails with `ParamRejectedError`. Read:
PARAM_REQUEST_READ by name (param_index -1) until its PARAM_VALUE arrives.

Encoding: ArduPilot carries every value in the float field as a number ("C cast"); PX4 carries
integers byte-wise in the float field (MAV_PROTOCOL_CAPABILITY_PARAM_ENCODE_BYTEWISE). One
outstanding operation per parameter name.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vehicles.mavlink.codec import C
from vehicles.mavlink.modes import PX4
from vehicles.mavlink.operation import BusyError, LinkError, Operation, OperationTimeoutError

REAL32 = int(C.MAV_PARAM_TYPE_REAL32)
INT32 = int(C.MAV_PARAM_TYPE_INT32)
_INT_FORMATS = {int(C.MAV_PARAM_TYPE_UINT8): "<B", int(C.MAV_PARAM_TYPE_INT8): "<b",
                int(C.MAV_PARAM_TYPE_UINT16): "<H", int(C.MAV_PARAM_TYPE_INT16): "<h",
                int(C.MAV_PARAM_TYPE_UINT32): "<I", int(C.MAV_PARAM_TYPE_INT32): "<i"}
_ENC = C.MAVLink(None)


@dataclass(frozen=True)
class ParamValue:
    """A parameter as the autopilot reported it."""

    name: str
    value: float
    param_type: int


class ParamRejectedError(LinkError):
    """The autopilot kept another value than the one we wrote."""

    def __init__(self, name: str, wanted: float, held: float) -> None:
        self.name, self.wanted, self.held = name, wanted, held
        super().__init__(f"parameter {name}: asked {wanted!r}, the autopilot holds {held!r}")


def encode_value(value: float, param_type: int, autopilot: int) -> float:
    """The float field's content for `value` of `param_type` on `autopilot`."""
    fmt = _INT_FORMATS.get(param_type)
    if autopilot == PX4 and fmt is not None:
        raw = struct.pack(fmt, int(value)).ljust(4, b"\0")
        return float(struct.unpack("<f", raw)[0])
    return float(value)


def decode_value(field: float, param_type: int, autopilot: int) -> float:
    """The parameter's value from a PARAM_VALUE float field."""
    fmt = _INT_FORMATS.get(param_type)
    if autopilot == PX4 and fmt is not None:
        raw = struct.pack("<f", field)[:struct.calcsize(fmt)]
        return float(struct.unpack(fmt, raw)[0])
    return float(field)


@dataclass(frozen=True)
class ParamTiming:
    """Retry policy (injected-clock seconds)."""

    timeout_s: float = 1.0
    attempts: int = 3


class _Pending:
    def __init__(self, op: Operation[ParamValue], msg: Any, wanted: float | None,
                 deadline_s: float) -> None:
        self.op, self.msg, self.wanted = op, msg, wanted
        self.deadline_s = deadline_s
        self.attempts = 1


class ParamClient:
    """One drone's parameter reads and writes. `send` gets a message out."""

    def __init__(self, target_system: int, send: Callable[[Any], None],
                 autopilot: Callable[[], int], timing: ParamTiming | None = None) -> None:
        self.target_system = target_system
        self.target_component = int(C.MAV_COMP_ID_AUTOPILOT1)
        self.timing = timing or ParamTiming()
        self.values: dict[str, ParamValue] = {}
        self._send = send
        self._autopilot = autopilot
        self._pending: dict[str, _Pending] = {}

    def set(self, name: str, value: float, now_s: float, param_type: int = REAL32
            ) -> Operation[ParamValue]:
        """Write `name` = `value`; finishes with the value the autopilot confirms."""
        op: Operation[ParamValue] = Operation(f"set {name}")
        if not (0 < len(name) <= 16 and name.isascii()) or not math.isfinite(value):
            raise ValueError(f"invalid parameter {name!r} = {value!r}")
        msg = _ENC.param_set_encode(self.target_system, self.target_component, name.encode(),
                                    encode_value(value, param_type, self._autopilot()),
                                    param_type)
        return self._start(name, op, msg, float(value), now_s)

    def get(self, name: str, now_s: float) -> Operation[ParamValue]:
        """Read `name`."""
        op: Operation[ParamValue] = Operation(f"get {name}")
        if not (0 < len(name) <= 16 and name.isascii()):
            raise ValueError(f"invalid parameter name {name!r}")
        msg = _ENC.param_request_read_encode(self.target_system, self.target_component,
                                             name.encode(), -1)
        return self._start(name, op, msg, None, now_s)

    def on_value(self, msg: Any) -> None:
        """Handle a PARAM_VALUE."""
        name = msg.param_id if isinstance(msg.param_id, str) else msg.param_id.decode(
            "ascii", "replace")
        name = name.rstrip("\0")
        value = ParamValue(name, decode_value(msg.param_value, int(msg.param_type),
                                              self._autopilot()), int(msg.param_type))
        self.values[name] = value
        pending = self._pending.pop(name, None)
        if pending is None:
            return
        wanted = pending.wanted
        if wanted is not None and not math.isclose(value.value, wanted, rel_tol=1e-6,
                                                   abs_tol=1e-6):
            pending.op.fail(ParamRejectedError(name, wanted, value.value))
        else:
            pending.op.succeed(value)

    def poll(self, now_s: float) -> None:
        """Resend or give up on timeouts."""
        for name, pending in list(self._pending.items()):
            if now_s < pending.deadline_s:
                continue
            if pending.attempts >= self.timing.attempts:
                del self._pending[name]
                pending.op.fail(OperationTimeoutError(
                    f"parameter {name}: no PARAM_VALUE after {pending.attempts} attempts"))
                continue
            pending.attempts += 1
            pending.deadline_s = now_s + self.timing.timeout_s
            self._send(pending.msg)

    def fail_all(self, error: LinkError) -> None:
        """Finish every outstanding read or write with `error`."""
        pending, self._pending = list(self._pending.values()), {}
        for p in pending:
            p.op.fail(error)

    def _start(self, name: str, op: Operation[ParamValue], msg: Any, wanted: float | None,
               now_s: float) -> Operation[ParamValue]:
        if name in self._pending:
            op.fail(BusyError(f"parameter {name}: an operation is outstanding"))
            return op
        self._pending[name] = _Pending(op, msg, wanted, now_s + self.timing.timeout_s)
        self._send(msg)
        return op
