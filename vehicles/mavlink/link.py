"""One drone's link, sans-I/O: messages and time in, state, events and packets out.

`DroneLink` is what the ground station holds per drone (per system id). `GroundStation`
(`station.py`) parses bytes and hands it the drone's messages; the link keeps the typed
`DroneState`, the link state from heartbeat timing, the outstanding commands
(`CommandSender`) and mission transfers (`MissionClient`), our 1 Hz GCS heartbeat, and the
stream-rate requests (SET_MESSAGE_INTERVAL for each configured message when the drone appears
and again when it comes back after a loss; REQUEST_DATA_STREAM if the autopilot refuses).

Every method that can send takes `now_s` (injected time); packets wait in `take_output()`.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from vehicles.mavlink import commands, telemetry
from vehicles.mavlink.codec import C, Encoder, MavMessage, signing_timestamp
from vehicles.mavlink.commands import CommandResult, CommandSender, CommandSpec, CommandTiming
from vehicles.mavlink.events import (
    Address,
    ArmedChanged,
    HomeChanged,
    LandedStateChanged,
    LinkEvent,
    LinkState,
    LinkStateChanged,
    MissionCurrentChanged,
    MissionItemReached,
    ModeChanged,
    StatusText,
)
from vehicles.mavlink.mission import MISSION, MissionClient, MissionItem, MissionTiming
from vehicles.mavlink.modes import PX4, FlightMode, mode_request
from vehicles.mavlink.operation import LinkError, Operation
from vehicles.mavlink.params import REAL32, ParamClient, ParamTiming, ParamValue
from vehicles.mavlink.quality import LossMeter
from vehicles.mavlink.signing import SigningConfig
from vehicles.mavlink.telemetry import DroneState, Readiness

DEFAULT_STREAM_RATES_HZ: dict[str, float] = {
    "GLOBAL_POSITION_INT": 5.0, "SYS_STATUS": 1.0, "GPS_RAW_INT": 1.0,
    "EXTENDED_SYS_STATE": 1.0, "BATTERY_STATUS": 1.0, "MISSION_CURRENT": 1.0,
    "HOME_POSITION": 0.5,
}
_LEGACY_STREAMS = (  # REQUEST_DATA_STREAM fallback (ArduPilot before SET_MESSAGE_INTERVAL)
    (int(C.MAV_DATA_STREAM_EXTENDED_STATUS), 1), (int(C.MAV_DATA_STREAM_POSITION), 5),
    (int(C.MAV_DATA_STREAM_EXTRA3), 1),
)
_ENC = C.MAVLink(None)


def _require(ok: bool, what: str) -> None:
    if not ok:
        raise ValueError(f"invalid {what}")


class NotConnectedError(LinkError):
    """The drone has not been heard from yet: there is nowhere to send."""


@dataclass(frozen=True)
class LinkConfig:
    """Timing and identity of the ground station's links (injected-clock seconds).

    Attributes:
        heartbeat_period_s: our GCS heartbeat period (1 Hz as QGroundControl / MAVProxy).
        degraded_after_s: no heartbeat for this long: DEGRADED.
        lost_after_s: no heartbeat for this long: LOST (ArduPilot's FS_GCS_TIMEOUT default, 5 s).
        degraded_loss / recovered_loss: packet loss (from sequence numbers, an exponential
            average) above which an otherwise UP link is DEGRADED, and below which it is UP again.
        stream_rates_hz: messages to request by SET_MESSAGE_INTERVAL (name -> Hz; 0 disables).
        unix_time_at_zero_s: Unix time at clock time 0, for signing timestamps (the asyncio
            edge sets it; None signs with a counter that only has to increase).
        gcs_sysid / gcs_compid: who we are on the wire.
    """

    heartbeat_period_s: float = 1.0
    degraded_after_s: float = 2.5
    lost_after_s: float = 5.0
    degraded_loss: float = 0.25
    recovered_loss: float = 0.10
    stream_rates_hz: dict[str, float] = field(
        default_factory=lambda: dict(DEFAULT_STREAM_RATES_HZ))
    unix_time_at_zero_s: float | None = None
    gcs_sysid: int = 255
    gcs_compid: int = int(C.MAV_COMP_ID_MISSIONPLANNER)
    command_timing: CommandTiming = field(default_factory=CommandTiming)
    mission_timing: MissionTiming = field(default_factory=MissionTiming)
    param_timing: ParamTiming = field(default_factory=ParamTiming)

    def for_clock_speed(self, speed: float) -> LinkConfig:
        """This config for a clock running `speed` times faster than the wall clock.

        Heartbeat periods and link-state timeouts stay in clock time (a simulated drone beats
        at 1 Hz of its own time), but a round trip over a real socket takes wall time: the
        ack, mission-item and parameter timeouts are stretched by `speed`, so that at 60x a
        1.5 s ack timeout is still 1.5 s of wall time and not 25 ms.
        """
        if not speed >= 1.0:
            return self
        c, m = self.command_timing, self.mission_timing
        return replace(
            self,
            command_timing=replace(c, ack_timeout_s=c.ack_timeout_s * speed),
            mission_timing=replace(m, item_timeout_s=m.item_timeout_s * speed),
            param_timing=replace(self.param_timing,
                                 timeout_s=self.param_timing.timeout_s * speed))

    def signing_floor(self, now_s: float) -> int:
        """The signing timestamp floor at `now_s` (0 without a Unix time reference)."""
        if self.unix_time_at_zero_s is None:
            return 0
        return signing_timestamp(self.unix_time_at_zero_s + now_s)


class DroneLink:
    """The ground station's side of one drone (one system id)."""

    def __init__(self, sysid: int, config: LinkConfig, now_s: float,
                 signing: SigningConfig | None = None, address: Address | None = None) -> None:
        self.sysid = sysid
        self.config = config
        self.address = address
        self.autopilot_compid = int(C.MAV_COMP_ID_AUTOPILOT1)
        self._state = DroneState(sysid)
        self._snapshot: DroneState | None = None
        self.state_version = 0  # counts the changes of `state` (telemetry applied)
        self.link_state = LinkState.CONNECTING
        self.encoder = Encoder(config.gcs_sysid, config.gcs_compid,
                               signing.secret_key if signing else None,
                               signing.link_id if signing else 0)
        self.commands = CommandSender(sysid, self._queue, config.command_timing)
        self.missions = MissionClient(sysid, self._queue, config.mission_timing)
        self.params = ParamClient(sysid, self._queue, self._autopilot, config.param_timing)
        self.statustexts: deque[StatusText] = deque(maxlen=200)
        self.messages_received = 0
        self.loss = LossMeter()
        self.last_heartbeat_s: float | None = None
        self.last_message_s: float | None = None
        self._events: list[LinkEvent] = []
        self._out: list[bytes] = []
        # told when packets (False) or events (True) start waiting: the station's index
        self.on_pending: Callable[[DroneLink, bool], None] | None = None
        self._now_s = now_s
        self._next_heartbeat_s = now_s
        self._interval_queue: list[tuple[int, float]] = []
        self.streams_refused: list[int] = []  # message ids the autopilot would not stream
        self._chunks: dict[int, list[str]] = {}

    @property
    def state(self) -> DroneState:
        """The latest telemetry (a copy: safe to keep, never changes under you)."""
        if self._snapshot is None:
            self._snapshot = telemetry.snapshot(self._state)
        return self._snapshot

    # -- input -----------------------------------------------------------------------------
    def handle(self, msg: MavMessage, now_s: float) -> None:
        """One message from this drone (already routed, signature-checked, for us)."""
        self._now_s = now_s
        self.messages_received += 1
        self.last_message_s = now_s
        kind = msg.get_type()
        compid = msg.get_srcComponent()
        if kind == "HEARTBEAT":
            if self.last_heartbeat_s is None:
                self.autopilot_compid = compid
                self.commands.target_component = compid
                self.missions.target_component = compid
                self.params.target_component = compid
            if compid != self.autopilot_compid:
                return  # a camera, gimbal or companion: not the autopilot's link health
            self.last_heartbeat_s = now_s
            if self.link_state in (LinkState.CONNECTING, LinkState.LOST):
                self._set_link_state(LinkState.UP, now_s)
        if compid == self.autopilot_compid:
            self.loss.observe(msg.get_seq())
        if kind == "COMMAND_ACK":
            self.commands.on_ack(msg, now_s)
            self._pump_intervals(now_s)
            return
        if kind == "PARAM_VALUE":
            self.params.on_value(msg)
            return
        if kind.startswith("MISSION_") and kind not in ("MISSION_CURRENT",
                                                        "MISSION_ITEM_REACHED"):
            self.missions.on_message(msg, now_s)
            return
        if compid != self.autopilot_compid:
            return
        s = self._state
        before = (s.armed, s.mode, s.landed_state, s.home, s.mission_seq)
        if not telemetry.apply(s, msg, now_s):
            return
        self._snapshot = None
        self.state_version += 1
        if kind == "STATUSTEXT":
            self._statustext(msg, now_s)
        elif kind == "MISSION_ITEM_REACHED":
            self._emit(MissionItemReached(self.sysid, now_s, int(msg.seq)))
        if before != (s.armed, s.mode, s.landed_state, s.home, s.mission_seq):
            self._diff(before, now_s)

    def poll(self, now_s: float) -> None:
        """Advance time: heartbeats, link state, retries and timeouts."""
        self._now_s = now_s
        if self.last_heartbeat_s is not None:
            silent_s = now_s - self.last_heartbeat_s
            state = (LinkState.UP if silent_s < self.config.degraded_after_s else
                     LinkState.DEGRADED if silent_s < self.config.lost_after_s else
                     LinkState.LOST)
            if state is LinkState.UP:  # on time; is too much lost on the way?
                lossy = self.config.degraded_loss if self.link_state is LinkState.UP \
                    else self.config.recovered_loss
                if self.loss.loss > lossy:
                    state = LinkState.DEGRADED
            if state is LinkState.LOST and self.link_state is not LinkState.LOST:
                self.loss.reset()
            if state is not self.link_state:
                self._set_link_state(state, now_s)
        if self.address is not None and now_s >= self._next_heartbeat_s:
            self._next_heartbeat_s = now_s + self.config.heartbeat_period_s
            self._queue(_ENC.heartbeat_encode(int(C.MAV_TYPE_GCS), int(C.MAV_AUTOPILOT_INVALID),
                                              0, 0, int(C.MAV_STATE_ACTIVE)))
        self.commands.poll(now_s)
        self.missions.poll(now_s)
        self.params.poll(now_s)
        self._pump_intervals(now_s)

    def take_output(self) -> list[bytes]:
        """Packets to send to the drone, in order."""
        out, self._out = self._out, []
        return out

    def take_events(self) -> list[LinkEvent]:
        """Events since the last call."""
        events, self._events = self._events, []
        return events

    # -- operations ------------------------------------------------------------------------
    def command(self, spec: CommandSpec, now_s: float) -> Operation[CommandResult]:
        """Send any command; see `commands` for the builders."""
        self._now_s = now_s
        if self.address is None:
            op: Operation[CommandResult] = Operation(spec.name)
            op.fail(NotConnectedError(f"drone {self.sysid} not heard from yet"))
            return op
        return self.commands.start(spec, now_s)

    def set_mode(self, mode: FlightMode, now_s: float) -> Operation[CommandResult]:
        """MAV_CMD_DO_SET_MODE in the drone's autopilot's own mode numbers."""
        return self.command(commands.set_mode(mode_request(self._autopilot(), mode)), now_s)

    def arm(self, now_s: float, force: bool = False) -> Operation[CommandResult]:
        """Arm (refused with a STATUSTEXT reason when the autopilot is not ready)."""
        return self.command(commands.arm(force), now_s)

    def disarm(self, now_s: float, force: bool = False) -> Operation[CommandResult]:
        """Disarm (forced: even in flight)."""
        return self.command(commands.disarm(force), now_s)

    def takeoff(self, alt_rel_m: float, now_s: float) -> Operation[CommandResult]:
        """Take off to `alt_rel_m` above home (ArduPilot: in GUIDED, armed)."""
        _require(math.isfinite(alt_rel_m) and 0.0 < alt_rel_m <= 10_000.0,
                 f"takeoff altitude {alt_rel_m!r} m")
        alt = alt_rel_m
        if self._autopilot() == PX4:  # PX4's param7 is AMSL
            home = self.state.home
            alt = (home.alt_amsl_m + alt_rel_m) if home is not None else float("nan")
        return self.command(commands.takeoff(alt), now_s)

    def land(self, now_s: float) -> Operation[CommandResult]:
        """Land where it is."""
        return self.command(commands.land(), now_s)

    def return_to_launch(self, now_s: float) -> Operation[CommandResult]:
        """Return to launch."""
        return self.command(commands.return_to_launch(), now_s)

    def start_mission(self, now_s: float) -> Operation[CommandResult]:
        """MAV_CMD_MISSION_START (fly the uploaded mission from its start)."""
        return self.command(commands.mission_start(), now_s)

    def goto(self, lat_deg: float, lon_deg: float, alt_rel_m: float, now_s: float,
             speed_m_s: float = -1.0) -> Operation[CommandResult]:
        """Fly to a point (MAV_CMD_DO_REPOSITION; GUIDED on ArduPilot)."""
        _require(math.isfinite(lat_deg) and -90.0 <= lat_deg <= 90.0
                 and math.isfinite(lon_deg) and -180.0 <= lon_deg <= 180.0,
                 f"position ({lat_deg!r}, {lon_deg!r})")
        _require(math.isfinite(alt_rel_m) and abs(alt_rel_m) <= 10_000.0,
                 f"altitude {alt_rel_m!r} m")
        _require(math.isfinite(speed_m_s), f"speed {speed_m_s!r} m/s")
        return self.command(commands.reposition(lat_deg, lon_deg, alt_rel_m, speed_m_s), now_s)

    def change_speed(self, speed_m_s: float, now_s: float) -> Operation[CommandResult]:
        """MAV_CMD_DO_CHANGE_SPEED (ground speed)."""
        _require(math.isfinite(speed_m_s) and 0.0 < speed_m_s <= 100.0,
                 f"speed {speed_m_s!r} m/s")
        return self.command(commands.change_speed(speed_m_s), now_s)

    def upload(self, items: list[MissionItem], now_s: float, mission_type: int = MISSION
               ) -> Operation[int]:
        """Upload a mission or a fence (see `mission_plan` to build the items)."""
        self._now_s = now_s
        if self.address is None:
            op: Operation[int] = Operation("upload")
            op.fail(NotConnectedError(f"drone {self.sysid} not heard from yet"))
            return op
        return self.missions.upload(items, mission_type, now_s)

    def download(self, now_s: float, mission_type: int = MISSION
                 ) -> Operation[list[MissionItem]]:
        """Read back the stored mission or fence."""
        self._now_s = now_s
        return self.missions.download(mission_type, now_s)

    def clear(self, now_s: float, mission_type: int = MISSION) -> Operation[int]:
        """Delete the stored mission or fence."""
        self._now_s = now_s
        return self.missions.clear(mission_type, now_s)

    def set_param(self, name: str, value: float, now_s: float, param_type: int = REAL32
                  ) -> Operation[ParamValue]:
        """Write a parameter (PARAM_SET, confirmed by PARAM_VALUE)."""
        self._now_s = now_s
        return self.params.set(name, value, now_s, param_type)

    def get_param(self, name: str, now_s: float) -> Operation[ParamValue]:
        """Read a parameter."""
        self._now_s = now_s
        return self.params.get(name, now_s)

    def abandon(self, error: LinkError) -> None:
        """Finish every outstanding command, transfer and parameter operation with `error`."""
        self.commands.fail_all(error)
        self.missions.fail(error)
        self.params.fail_all(error)

    def readiness(self) -> Readiness:
        """Would the autopilot arm now, and why not."""
        return telemetry.readiness(self._state)

    def request_streams(self, now_s: float) -> None:
        """(Re)send SET_MESSAGE_INTERVAL for every configured message."""
        queued = {msgid for msgid, _ in self._interval_queue}
        for name, rate_hz in self.config.stream_rates_hz.items():
            msgid = int(getattr(C, f"MAVLINK_MSG_ID_{name}"))
            if msgid not in queued:
                self._interval_queue.append((msgid, rate_hz))
        self._pump_intervals(now_s)

    # -- internals -------------------------------------------------------------------------
    def _autopilot(self) -> int:
        return self._state.autopilot if self._state.autopilot is not None else 3

    def _queue(self, msg: Any) -> None:
        self._out.append(self.encoder.pack(msg, self.config.signing_floor(self._now_s)))
        if self.on_pending is not None:
            self.on_pending(self, False)

    def _emit(self, event: LinkEvent) -> None:
        self._events.append(event)
        if self.on_pending is not None:
            self.on_pending(self, True)

    def _set_link_state(self, new: LinkState, now_s: float) -> None:
        old, self.link_state = self.link_state, new
        self._emit(LinkStateChanged(self.sysid, now_s, old, new))
        if new is LinkState.UP and old in (LinkState.CONNECTING, LinkState.LOST):
            self.request_streams(now_s)  # first contact, or back (maybe rebooted)

    def _pump_intervals(self, now_s: float) -> None:
        command = int(C.MAV_CMD_SET_MESSAGE_INTERVAL)
        if not self._interval_queue or command in self.commands.outstanding():
            return
        if self.address is None:
            return
        msgid, rate_hz = self._interval_queue.pop(0)
        op = self.commands.start(commands.set_message_interval(msgid, rate_hz), now_s)
        op.on_done(lambda done: self._interval_done(done, msgid))

    def _interval_done(self, op: Operation[CommandResult], msgid: int) -> None:
        """UNSUPPORTED: the autopilot predates SET_MESSAGE_INTERVAL (legacy stream groups).
        DENIED or FAILED: it cannot stream that one message; the others still go out."""
        error = op.error
        if isinstance(error, commands.CommandRejectedError):
            self.streams_refused.append(msgid)
        if isinstance(error, commands.CommandRejectedError) \
                and error.result == int(C.MAV_RESULT_UNSUPPORTED):
            self._interval_queue.clear()
            for stream, rate in _LEGACY_STREAMS:
                self._queue(_ENC.request_data_stream_encode(self.sysid, self.autopilot_compid,
                                                            stream, rate, 1))

    def _statustext(self, msg: Any, now_s: float) -> None:
        text = msg.text if isinstance(msg.text, str) else bytes(msg.text).decode("utf-8", "replace")
        chunk_id = int(getattr(msg, "id", 0))
        if chunk_id:
            parts = self._chunks.setdefault(chunk_id, [])
            parts.append(text)
            if len(text) >= 50 and len(parts) < 20:
                return  # more chunks follow
            text = "".join(self._chunks.pop(chunk_id))
        event = StatusText(self.sysid, now_s, int(msg.severity), text)
        self.statustexts.append(event)
        self._emit(event)

    def _diff(self, before: tuple[Any, ...], now_s: float) -> None:
        new = self._state
        armed, mode, landed_state, home, mission_seq = before
        if new.armed != armed:
            self._emit(ArmedChanged(self.sysid, now_s, new.armed))
        if new.mode != mode:
            self._emit(ModeChanged(self.sysid, now_s, new.mode))
        if new.landed_state != landed_state:
            self._emit(LandedStateChanged(self.sysid, now_s, new.landed_state))
        if new.home != home and new.home is not None:
            h = new.home
            self._emit(HomeChanged(self.sysid, now_s, h.lat_deg, h.lon_deg, h.alt_amsl_m))
        if new.mission_seq != mission_seq and new.mission_seq is not None:
            self._emit(MissionCurrentChanged(self.sysid, now_s, new.mission_seq))
