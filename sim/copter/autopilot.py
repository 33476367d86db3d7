"""A simulated ArduPilot Copter as a sans-I/O MAVLink peer: bytes and time in, bytes out.

    ap = CopterAutopilot(CopterConfig(...), sysid=7, now_s=clock.now_s())
    ap.receive_data(datagram, now_s)    # any MAVLink bytes from ground stations
    ap.advance_to(now_s)                # fly, stream telemetry, time out transfers
    transport.send(ap.data_to_send())   # everything the copter has to say

What a ground station sees is ArduPilot Copter's: HEARTBEAT as a quadrotor with the ArduPilot
autopilot id and custom modes; COMMAND_ACK results as ArduPilot gives them (`commands.py`);
the mission protocol for missions, fences and rally points (`mission_protocol.py`); the
parameter protocol (`params.py`); telemetry streams set by REQUEST_DATA_STREAM or
SET_MESSAGE_INTERVAL (`telemetry.py`); STATUSTEXT for every refusal and failsafe. pymavlink is
only the codec: its `MAVLink` object writes into an in-memory outbox, never a connection.
Nothing here reads a clock; `now_s` comes in with every call.
"""

from __future__ import annotations

import math
from typing import Any

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from sim.copter import commands, telemetry
from sim.copter.flight import CopterConfig, FlightController
from sim.copter.mission_items import (
    FENCE,
    MISSION,
    ItemRejectedError,
    MissionItem,
    item_from_message,
)
from sim.copter.mission_protocol import MissionProtocolServer
from sim.copter.params import ParamError
from vehicles.mavlink.codec import parse_datagram

C = mavlink
AUTOPILOT_COMPID = int(C.MAV_COMP_ID_AUTOPILOT1)
MAX_STEP_S = 0.05
GROUNDED_STEP_S = 1.0  # a disarmed copter on the ground steps at most this far at once
SIGNING_EPOCH_UNIX_S = 1_420_070_400  # 2015-01-01T00:00:00Z, MAVLink signing's epoch
PARAMS_PER_ADVANCE = 20
_REQUESTABLE = {
    C.MAVLINK_MSG_ID_AUTOPILOT_VERSION, *telemetry.MESSAGE_IDS,
}


class _Outbox:
    """The file pymavlink writes packed messages into: one entry per packet."""

    def __init__(self) -> None:
        self.packets: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.packets.append(bytes(data))


class CopterAutopilot:
    """One simulated copter speaking MAVLink 2 as system `sysid`, component 1.

    Args:
        config: the airframe, battery, home, wind and parameter overrides.
        sysid: MAVLink system id (also SYSID_THISMAV).
        now_s: the time the autopilot boots, on the caller's clock.
        request_int: ask for uploaded items with MISSION_REQUEST_INT (ArduPilot's default,
            False, asks with legacy MISSION_REQUEST).
        stream_rates_hz: MAV_DATA_STREAM id -> rate at boot (None: `telemetry` defaults).
        signing_key: a 32-byte MAVLink 2 signing secret; when given, outgoing packets are
            signed and unsigned or badly signed incoming packets are dropped and counted.
        stream_phase: 0..1, shifts the telemetry schedule by that fraction of each interval
            (copters booted together then do not all transmit at once).
        unix_time_at_zero_s: Unix time at clock time 0, so signature timestamps follow the
            MAVLink rule (10 us units since 2015); the asyncio edge reads it once. Without it
            timestamps start at 0 and only increase, which a strict receiver may call stale.
    """

    def __init__(
        self,
        config: CopterConfig | None = None,
        sysid: int = 1,
        now_s: float = 0.0,
        *,
        request_int: bool = False,
        stream_rates_hz: dict[int, float] | None = None,
        signing_key: bytes | None = None,
        stream_phase: float = 0.0,
        unix_time_at_zero_s: float | None = None,
    ) -> None:
        if not 1 <= sysid <= 255:
            raise ValueError(f"sysid must be 1..255, got {sysid}")
        config = config or CopterConfig()
        self.sysid = sysid
        self.unix_time_at_zero_s = unix_time_at_zero_s
        self.fc = FlightController(config, now_s)
        self.fc.params.set("SYSID_THISMAV", sysid)
        self.fc.on_mode_change = lambda _mode: None
        self._outbox = _Outbox()
        self.mav = mavlink.MAVLink(self._outbox, srcSystem=sysid, srcComponent=AUTOPILOT_COMPID)
        self.mav.robust_parsing = True
        self._parsers: dict[int, Any] = {}
        if signing_key is not None:
            if len(signing_key) != 32:
                raise ValueError("signing_key must be 32 bytes")
            self.mav.signing.secret_key = signing_key
            self.mav.signing.sign_outgoing = True
            self.mav.signing.link_id = 0
        scale = config.link_time_scale
        if not (math.isfinite(scale) and scale >= 1.0):
            raise ValueError(f"link_time_scale must be >= 1, got {scale!r}")
        rates = dict(telemetry.DEFAULT_STREAM_RATES_HZ if stream_rates_hz is None
                     else stream_rates_hz)
        rates = {sid: hz / scale for sid, hz in rates.items()}  # its SRn_ rates, stretched too
        self.streams = telemetry.StreamSchedule(rates, stream_phase, heartbeat_period_s=scale)
        self.missions = MissionProtocolServer(self.mav, self._home_item, self._on_stored,
                                              request_int=request_int, time_scale=scale)
        self.messages_received = 0
        self.bad_packets = 0
        self.ignored_messages = 0
        self.reached_log: list[int] = []  # every MISSION_ITEM_REACHED sent, in order
        self._param_queue: list[int] = []
        self._last_mission_current: tuple[int, int] = (-1, -1)
        self._home_sent = False
        version = ".".join(str(n) for n in telemetry.VERSION)
        self.fc.say(C.MAV_SEVERITY_INFO, f"ArduCopter V{version} (kaiteki sim)")
        self.fc.say(C.MAV_SEVERITY_INFO, "Frame: QUAD/X")

    # -- the sans-I/O surface --------------------------------------------------------------
    def _parser(self, channel: int) -> Any:
        parser = self._parsers.get(channel)
        if parser is None:
            parser = mavlink.MAVLink(None, srcSystem=self.sysid, srcComponent=AUTOPILOT_COMPID)
            parser.robust_parsing = True
            if self.mav.signing.secret_key is not None:
                parser.signing.secret_key = self.mav.signing.secret_key
            self._parsers[channel] = parser
        return parser

    def receive_data(self, data: bytes, now_s: float, channel: int = 0) -> None:
        """Feed bytes from the wire (any framing: whole or partial packets).

        `channel` keeps one parser per byte stream, so two TCP clients' partial packets
        never mix.
        """
        self._receive(data, now_s, channel, datagram=False)

    def receive_datagram(self, data: bytes, now_s: float, channel: int = 0) -> None:
        """Feed one UDP datagram: MAVLink packets never span datagrams, so a truncated or
        garbled datagram must not swallow the start of the next one. Whole MAVLink 2 packets
        are decoded packet by packet (`vehicles.mavlink.codec.parse_datagram`)."""
        parser = self._parser(channel)
        parser.buf = bytearray()
        parser.buf_index = 0
        parser.expected_length = mavlink.HEADER_LEN_V1 + 2
        self._receive(data, now_s, channel, datagram=True)

    def _receive(self, data: bytes, now_s: float, channel: int, datagram: bool) -> None:
        self.advance_to(now_s)
        parser = self._parser(channel)
        try:
            msgs = parse_datagram(parser, data) if datagram else parser.parse_buffer(data) or []
        except Exception:  # pymavlink raises on some malformed input even when robust
            self.bad_packets += 1
            return
        for msg in msgs:
            if msg.get_type() == "BAD_DATA":
                self.bad_packets += 1
                continue
            self.messages_received += 1
            self._handle(msg, now_s)
        self._flush_events()

    def advance_to(self, now_s: float) -> None:
        """Fly up to `now_s` and queue whatever telemetry is due."""
        fc = self.fc
        while not fc.armed and fc.land_complete and now_s - fc.now_s > 1e-9:
            # disarmed on the ground nothing moves and the battery drains linearly: one step of
            # up to a second gives what twenty of 50 ms would, at a twentieth of the cost
            fc.step(min(GROUNDED_STEP_S, now_s - fc.now_s))
        remaining = now_s - self.fc.now_s
        if remaining > 0:
            steps = max(1, math.ceil(remaining / MAX_STEP_S - 1e-9))
            for _ in range(steps):
                self.fc.step(remaining / steps)
        for msg in self.missions.update(now_s):
            self.queue(msg)
        for name in self.streams.due(now_s):
            self.send_now(name)
        self._flush_events()
        for _ in range(min(PARAMS_PER_ADVANCE, len(self._param_queue))):
            self._send_param(self._param_queue.pop(0))

    def data_to_send(self) -> bytes:
        """Everything queued since the last call, as one byte string."""
        return b"".join(self.packets_to_send())

    def packets_to_send(self) -> list[bytes]:
        """Everything queued since the last call, one MAVLink packet per entry."""
        packets = self._outbox.packets
        self._outbox.packets = []
        return packets

    # -- sending ---------------------------------------------------------------------------
    def queue(self, msg: Any) -> None:
        if self.mav.signing.sign_outgoing and self.unix_time_at_zero_s is not None:
            unix_s = self.unix_time_at_zero_s + self.fc.now_s
            floor = int((unix_s - SIGNING_EPOCH_UNIX_S) * 100_000)
            self.mav.signing.timestamp = max(self.mav.signing.timestamp, floor)
        self.mav.send(msg)

    def send_now(self, name: str) -> None:
        msg = telemetry.BUILDERS[name](self.mav, self.fc)
        if msg is not None:
            self.queue(msg)

    def stream_name(self, message_id: int) -> str | None:
        return telemetry.MESSAGE_IDS.get(message_id)

    def send_requested(self, message_id: int) -> bool:
        """MAV_CMD_REQUEST_MESSAGE: send one message now if the copter has it."""
        if message_id == C.MAVLINK_MSG_ID_AUTOPILOT_VERSION:
            self.queue(telemetry.autopilot_version(self.mav, self.fc, self.sysid))
            return True
        name = telemetry.MESSAGE_IDS.get(message_id)
        if name is None or (name == "HOME_POSITION" and not self.fc.home_set):
            return False
        self.send_now(name)
        return True

    def _flush_events(self) -> None:
        fc = self.fc
        for severity, text in fc.texts:
            self.queue(self.mav.statustext_encode(severity, text[:50].encode()))
        fc.texts.clear()
        for seq in fc.reached:
            self.queue(self.mav.mission_item_reached_encode(seq))
            self.reached_log.append(seq)
        fc.reached.clear()
        total = max(len(fc.mission.items) - 1, 0)
        for seq in fc.mission.completed:  # even if a disarm reset the mission at once
            self.queue(self.mav.mission_current_encode(seq, total, C.MISSION_STATE_COMPLETE, 1))
        fc.mission.completed.clear()
        current = (fc.mission.current_seq, fc.mission.state)
        if current != self._last_mission_current:
            self._last_mission_current = current
            self.send_now("MISSION_CURRENT")
        if fc.home_set and not self._home_sent:
            self._home_sent = True
            self.send_now("HOME_POSITION")

    # -- receiving -------------------------------------------------------------------------
    def _for_us(self, msg: Any) -> bool:
        target = getattr(msg, "target_system", 0)
        compid = getattr(msg, "target_component", 0)
        return target in (0, self.sysid) and compid in (0, AUTOPILOT_COMPID)

    def _handle(self, msg: Any, now_s: float) -> None:
        kind = msg.get_type()
        if kind == "HEARTBEAT":
            if msg.type == C.MAV_TYPE_GCS and msg.get_srcSystem() == self.fc.params["SYSID_MYGCS"]:
                self.fc.gcs_last_heartbeat_s = now_s
            return
        if not self._for_us(msg):
            self.ignored_messages += 1
            return
        if kind in ("COMMAND_LONG", "COMMAND_INT"):
            try:
                result = commands.handle(self, msg, is_int=kind == "COMMAND_INT")
            except (ValueError, OverflowError):  # NaN or huge where an integer is meant
                result = commands.DENIED
            self.queue(self.mav.command_ack_encode(
                msg.command, result, 0, 0, msg.get_srcSystem(), msg.get_srcComponent()))
        elif kind == "SET_MODE":
            # ArduPilot acknowledges SET_MODE (a message, not a command) with a COMMAND_ACK
            # whose command field is the message id, 11
            result = commands.set_mode(self, msg.base_mode, msg.custom_mode)
            self.queue(self.mav.command_ack_encode(
                C.MAVLINK_MSG_ID_SET_MODE, result, 0, 0, msg.get_srcSystem(),
                msg.get_srcComponent()))
        elif kind == "MISSION_COUNT":
            self._queue_all(self.missions.on_count(msg, now_s))
        elif kind in ("MISSION_ITEM_INT", "MISSION_ITEM") and msg.current == 2:
            self._guided_item(msg)
        elif kind in ("MISSION_ITEM_INT", "MISSION_ITEM"):
            self._queue_all(self.missions.on_item(msg, now_s))
        elif kind == "MISSION_REQUEST_LIST":
            self._queue_all(self.missions.on_request_list(msg))
        elif kind in ("MISSION_REQUEST_INT", "MISSION_REQUEST"):
            self._queue_all(self.missions.on_request(msg))
        elif kind == "MISSION_CLEAR_ALL":
            self._queue_all(self.missions.on_clear_all(msg))
        elif kind == "MISSION_SET_CURRENT":
            if self.fc.mission.set_current(int(msg.seq)):
                self.send_now("MISSION_CURRENT")
        elif kind == "REQUEST_DATA_STREAM":
            rate = float(msg.req_message_rate) if msg.start_stop else 0.0
            self.streams.set_group_rate(int(msg.req_stream_id), rate)
        elif kind == "PARAM_REQUEST_LIST":
            self._param_queue = list(range(len(self.fc.params)))
        elif kind == "PARAM_REQUEST_READ":
            self._param_read(msg)
        elif kind == "PARAM_SET":
            self._param_set(msg)
        elif kind == "SET_POSITION_TARGET_GLOBAL_INT":
            self._position_target(msg)
        elif kind == "TIMESYNC":
            if msg.tc1 == 0:
                now_ns = int(now_s * 1e9)
                self.queue(self.mav.timesync_encode(now_ns, msg.ts1))
        else:
            self.ignored_messages += 1

    def _queue_all(self, msgs: list[Any]) -> None:
        for msg in msgs:
            self.queue(msg)

    # -- parameters ------------------------------------------------------------------------
    def _send_param(self, index: int) -> None:
        params = self.fc.params
        name = params.names()[index]
        self.queue(self.mav.param_value_encode(name.encode(), params[name],
                                               params.spec(name).param_type, len(params), index))

    @staticmethod
    def _param_name(raw: Any) -> str:
        if isinstance(raw, bytes):
            raw = raw.decode("ascii", "replace")
        return str(raw).rstrip("\x00")

    def _param_read(self, msg: Any) -> None:
        params = self.fc.params
        if msg.param_index >= 0:
            if msg.param_index < len(params):
                self._send_param(int(msg.param_index))
            return
        name = self._param_name(msg.param_id)
        if name in params.names():
            self._send_param(params.index_of(name))

    def _param_set(self, msg: Any) -> None:
        name = self._param_name(msg.param_id)
        try:
            self.fc.params.set(name, float(msg.param_value))
        except ParamError as exc:
            self.fc.say(C.MAV_SEVERITY_WARNING, f"Param set failed: {exc}"[:50])
            if name not in self.fc.params.names():
                return  # ArduPilot stays silent about unknown names
        self._send_param(self.fc.params.index_of(name))

    # -- guided targets --------------------------------------------------------------------
    def _position_target(self, msg: Any) -> None:
        if msg.type_mask & 0b111 == 0b111:
            return  # position ignored: velocity-only targets are not simulated
        fc = self.fc
        north_m, east_m = fc.frame.to_ne_m(msg.lat_int / 1e7, msg.lon_int / 1e7)
        if msg.coordinate_frame in (C.MAV_FRAME_GLOBAL, C.MAV_FRAME_GLOBAL_INT):
            up_m = msg.alt - fc.frame.origin_alt_amsl_m
        else:
            up_m = fc.home_up_m + msg.alt
        fc.guided_goto(north_m, east_m, up_m)

    def _guided_item(self, msg: Any) -> None:
        """Legacy "fly here" in GUIDED: a mission item with current == 2 (MAVProxy's guided)."""
        fc = self.fc
        result = C.MAV_MISSION_ERROR
        try:
            item = item_from_message(msg, MISSION)
        except ItemRejectedError as exc:
            result = exc.result
        else:
            if item.has_position:
                north_m, east_m = fc.frame.to_ne_m(item.lat_deg, item.lon_deg)
                up_m = fc.mission.up_m_of(item)
                if fc.guided_goto(north_m, east_m, up_m):
                    result = C.MAV_MISSION_ACCEPTED
        self.queue(self.mav.mission_ack_encode(msg.get_srcSystem(), msg.get_srcComponent(),
                                               result, MISSION))

    # -- mission storage callbacks ---------------------------------------------------------
    def _home_item(self) -> MissionItem:
        fc = self.fc
        lat, lon = fc.frame.to_lat_lon_deg(*fc.home_ne_m)
        return MissionItem(0, int(C.MAV_FRAME_GLOBAL), int(C.MAV_CMD_NAV_WAYPOINT),
                           x=round(lat * 1e7), y=round(lon * 1e7),
                           z=fc.frame.origin_alt_amsl_m + fc.home_up_m)

    def _on_stored(self, mission_type: int, items: list[MissionItem]) -> None:
        fc = self.fc
        if mission_type == MISSION:
            fc.mission.set_items(items)
            fc.params.set_internal("MIS_TOTAL", len(items))
        elif mission_type == FENCE:
            fc.set_fence_items(items)
        else:  # rally points: where RTL may go instead of home
            fc.rally_ne_m = [fc.frame.to_ne_m(i.lat_deg, i.lon_deg) for i in items]
            fc.params.set_internal("FENCE_TOTAL", len(items))

