"""Commands (COMMAND_LONG / COMMAND_INT) and their COMMAND_ACK, as the MAVLink command protocol.

One outstanding command per command id (the standard: an ack names only the command id). A
command is sent, and re-sent with `confirmation` incremented when no ack arrives within
`ack_timeout_s`, up to `attempts` times. COMMAND_ACK finishes it with its MAV_RESULT:

- ACCEPTED: success; every other final result (TEMPORARILY_REJECTED, DENIED, UNSUPPORTED,
  FAILED, CANCELLED, COMMAND_LONG_ONLY, COMMAND_INT_ONLY, UNSUPPORTED_MAV_FRAME) is reported
  as a `CommandRejectedError` with its name and ArduPilot's reason (STATUSTEXT) left to the events.
- IN_PROGRESS: the command runs; no more retries, the deadline becomes `in_progress_timeout_s`
  from the latest progress ack, and `progress` (param `progress`, percent) is kept.

`CommandSpec` is plain data (command, params, INT or LONG with frame and x/y/z); the builders
below make the ones the fleet uses.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vehicles.mavlink.codec import C, enum_name
from vehicles.mavlink.operation import BusyError, LinkError, Operation, OperationTimeoutError

ACCEPTED = int(C.MAV_RESULT_ACCEPTED)
IN_PROGRESS = int(C.MAV_RESULT_IN_PROGRESS)
FORCE_ARM_MAGIC = 21196.0  # param2 of COMPONENT_ARM_DISARM that skips checks (both autopilots)
NAN = math.nan
_ENC = C.MAVLink(None)  # message constructors only; packing happens in the link


@dataclass(frozen=True)
class CommandSpec:
    """One command as plain data. `use_int` sends COMMAND_INT with `frame` and x/y (degE7)/z."""

    command: int
    params: tuple[float, float, float, float, float, float, float] = (0.0,) * 7
    use_int: bool = False
    frame: int = int(C.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT)
    target_component: int | None = None  # None: the drone's autopilot component

    @property
    def name(self) -> str:
        """The command's name (MAV_CMD_...)."""
        return enum_name("MAV_CMD", self.command)


@dataclass(frozen=True)
class CommandResult:
    """A command's final ACCEPTED ack."""

    command: int
    result: int
    attempts: int
    result_param2: int = 0

    @property
    def result_name(self) -> str:
        """MAV_RESULT name of the result."""
        return enum_name("MAV_RESULT", self.result)


class CommandRejectedError(LinkError):
    """The drone answered with a final result other than ACCEPTED."""

    def __init__(self, spec: CommandSpec, result: int) -> None:
        self.command = spec.command
        self.result = result
        super().__init__(f"{spec.name} refused: {enum_name('MAV_RESULT', result)}")


@dataclass(frozen=True)
class CommandTiming:
    """Retry policy (injected-clock seconds)."""

    ack_timeout_s: float = 1.5
    attempts: int = 3
    in_progress_timeout_s: float = 30.0


class _Pending:
    def __init__(self, spec: CommandSpec, op: Operation[CommandResult], now_s: float,
                 timing: CommandTiming) -> None:
        self.spec = spec
        self.op = op
        self.confirmation = 0
        self.in_progress = False
        self.progress_pct: int | None = None
        self.deadline_s = now_s + timing.ack_timeout_s


class CommandSender:
    """The outstanding commands of one drone. `send` gets a packed message out."""

    def __init__(self, target_system: int, send: Callable[[Any], None],
                 timing: CommandTiming | None = None) -> None:
        self.target_system = target_system
        self.target_component = int(C.MAV_COMP_ID_AUTOPILOT1)
        self.timing = timing or CommandTiming()
        self._send = send
        self._pending: dict[int, _Pending] = {}
        self.retries = 0
        self.timeouts = 0
        self.unexpected_acks = 0

    def start(self, spec: CommandSpec, now_s: float) -> Operation[CommandResult]:
        """Send a command; the operation finishes on its final ack or timeout."""
        op: Operation[CommandResult] = Operation(spec.name)
        if spec.command in self._pending:
            op.fail(BusyError(f"{spec.name} already outstanding"))
            return op
        pending = _Pending(spec, op, now_s, self.timing)
        self._pending[spec.command] = pending
        self._transmit(pending)
        return op

    def progress_pct(self, command: int) -> int | None:
        """The latest IN_PROGRESS percentage of an outstanding command, if any."""
        pending = self._pending.get(command)
        return None if pending is None else pending.progress_pct

    def outstanding(self) -> list[int]:
        """Command ids awaiting their final ack."""
        return list(self._pending)

    def on_ack(self, msg: Any, now_s: float) -> None:
        """Handle a COMMAND_ACK from the drone."""
        pending = self._pending.get(int(msg.command))
        if pending is None:
            self.unexpected_acks += 1
            return
        result = int(msg.result)
        if result == IN_PROGRESS:
            pending.in_progress = True
            progress = int(getattr(msg, "progress", 0))
            pending.progress_pct = None if progress == 255 else progress
            pending.deadline_s = now_s + self.timing.in_progress_timeout_s
            return
        del self._pending[pending.spec.command]
        if result == ACCEPTED:
            pending.op.succeed(CommandResult(pending.spec.command, result,
                                             pending.confirmation + 1,
                                             int(getattr(msg, "result_param2", 0))))
        else:
            pending.op.fail(CommandRejectedError(pending.spec, result))

    def poll(self, now_s: float) -> None:
        """Retry or time out commands whose deadline passed."""
        for command, pending in list(self._pending.items()):
            if now_s < pending.deadline_s:
                continue
            if pending.in_progress or pending.confirmation + 1 >= self.timing.attempts:
                del self._pending[command]
                self.timeouts += 1
                pending.op.fail(OperationTimeoutError(
                    f"{pending.spec.name}: no final COMMAND_ACK after "
                    f"{pending.confirmation + 1} attempt(s)"))
                continue
            pending.confirmation += 1
            pending.deadline_s = now_s + self.timing.ack_timeout_s
            self.retries += 1
            self._transmit(pending)

    def fail_all(self, error: LinkError) -> None:
        """Finish every outstanding command with `error` (e.g. the drone was replaced)."""
        pending, self._pending = list(self._pending.values()), {}
        for p in pending:
            p.op.fail(error)

    def _transmit(self, pending: _Pending) -> None:
        spec, p = pending.spec, pending.spec.params
        component = (spec.target_component if spec.target_component is not None
                     else self.target_component)
        if spec.use_int:
            msg = _ENC.command_int_encode(
                self.target_system, component, spec.frame, spec.command, 0, 0,
                p[0], p[1], p[2], p[3], _deg_e7(p[4]), _deg_e7(p[5]), p[6])
        else:
            msg = _ENC.command_long_encode(self.target_system, component,
                                          spec.command, pending.confirmation, *p)
        self._send(msg)


def _deg_e7(value: float) -> int:
    return 0 if not math.isfinite(value) else round(value * 1e7)


# -- builders ------------------------------------------------------------------------------
def _spec(command: int, *params: float, use_int: bool = False,
          frame: int = int(C.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT)) -> CommandSpec:
    full = tuple(params) + (0.0,) * (7 - len(params))
    return CommandSpec(int(command), full[:7], use_int, frame)  # type: ignore[arg-type]


def arm(force: bool = False) -> CommandSpec:
    """MAV_CMD_COMPONENT_ARM_DISARM param1=1 (param2=21196 skips the pre-arm checks)."""
    return _spec(C.MAV_CMD_COMPONENT_ARM_DISARM, 1.0, FORCE_ARM_MAGIC if force else 0.0)


def disarm(force: bool = False) -> CommandSpec:
    """MAV_CMD_COMPONENT_ARM_DISARM param1=0 (forced disarms even in flight: a kill)."""
    return _spec(C.MAV_CMD_COMPONENT_ARM_DISARM, 0.0, FORCE_ARM_MAGIC if force else 0.0)


def set_mode(params: tuple[float, float, float]) -> CommandSpec:
    """MAV_CMD_DO_SET_MODE with the (base, custom/main, sub) of `modes.mode_request`."""
    return _spec(C.MAV_CMD_DO_SET_MODE, *params)


def takeoff(alt_param_m: float) -> CommandSpec:
    """MAV_CMD_NAV_TAKEOFF; param7 is relative altitude on ArduPilot, AMSL on PX4."""
    return _spec(C.MAV_CMD_NAV_TAKEOFF, 0.0, 0.0, 0.0, NAN, NAN, NAN, alt_param_m)


def land() -> CommandSpec:
    """MAV_CMD_NAV_LAND here (lat/lon NaN: current position)."""
    return _spec(C.MAV_CMD_NAV_LAND, 0.0, 0.0, 0.0, NAN, NAN, NAN, NAN)


def return_to_launch() -> CommandSpec:
    """MAV_CMD_NAV_RETURN_TO_LAUNCH."""
    return _spec(C.MAV_CMD_NAV_RETURN_TO_LAUNCH)


def mission_start(first_seq: int = 0, last_seq: int = 0) -> CommandSpec:
    """MAV_CMD_MISSION_START (ArduPilot switches to AUTO; 0, 0 flies the whole mission)."""
    return _spec(C.MAV_CMD_MISSION_START, float(first_seq), float(last_seq))


def reposition(lat_deg: float, lon_deg: float, alt_rel_m: float,
               speed_m_s: float = -1.0) -> CommandSpec:
    """MAV_CMD_DO_REPOSITION as COMMAND_INT (relative-altitude frame), switching to GUIDED.

    param2 MAV_DO_REPOSITION_FLAGS_CHANGE_MODE asks the autopilot to enter its guided mode
    (ArduPilot Copter: GUIDED; PX4: AUTO.LOITER/reposition); yaw NaN keeps the heading.
    """
    flags = float(C.MAV_DO_REPOSITION_FLAGS_CHANGE_MODE)
    return _spec(C.MAV_CMD_DO_REPOSITION, speed_m_s, flags, 0.0, NAN, lat_deg, lon_deg,
                 alt_rel_m, use_int=True)


def change_speed(speed_m_s: float, ground: bool = True) -> CommandSpec:
    """MAV_CMD_DO_CHANGE_SPEED (param1 1 = ground speed, 0 = airspeed; throttle -1 unchanged)."""
    return _spec(C.MAV_CMD_DO_CHANGE_SPEED, 1.0 if ground else 0.0, speed_m_s, -1.0)


def set_message_interval(msgid: int, rate_hz: float) -> CommandSpec:
    """MAV_CMD_SET_MESSAGE_INTERVAL (param2 interval in us; rate 0 disables: -1)."""
    interval_us = -1.0 if rate_hz <= 0 else 1e6 / rate_hz
    return _spec(C.MAV_CMD_SET_MESSAGE_INTERVAL, float(msgid), interval_us)


def request_message(msgid: int) -> CommandSpec:
    """MAV_CMD_REQUEST_MESSAGE: send `msgid` once (e.g. HOME_POSITION)."""
    return _spec(C.MAV_CMD_REQUEST_MESSAGE, float(msgid))


def gripper_release(instance: int = 1) -> CommandSpec:
    """MAV_CMD_DO_GRIPPER param2 0 = release."""
    return _spec(C.MAV_CMD_DO_GRIPPER, float(instance), float(C.GRIPPER_ACTION_RELEASE))


def fence_enable(enabled: bool = True) -> CommandSpec:
    """MAV_CMD_DO_FENCE_ENABLE (an uploaded fence is only enforced once enabled)."""
    return _spec(C.MAV_CMD_DO_FENCE_ENABLE, 1.0 if enabled else 0.0)


def set_mission_current(seq: int) -> CommandSpec:
    """MAV_CMD_DO_SET_MISSION_CURRENT: continue the mission from item `seq`."""
    return _spec(C.MAV_CMD_DO_SET_MISSION_CURRENT, float(seq))


def pause_continue(resume: bool) -> CommandSpec:
    """MAV_CMD_DO_PAUSE_CONTINUE: param1 0 holds the mission, 1 continues it."""
    return _spec(C.MAV_CMD_DO_PAUSE_CONTINUE, 1.0 if resume else 0.0)
