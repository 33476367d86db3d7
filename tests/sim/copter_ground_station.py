"""A scripted ground station for the copter simulator's unit tests (pymavlink as the codec).

It joins a `CopterAutopilot` by in-memory bytes, no sockets: `send` encodes a message to the
copter, `run(seconds)` advances simulated time in small steps and collects every message the
copter sent, so a test reads like a ground station's session. It is a test double for the
simulator's own tests; the real ground station is `vehicles.mavlink`.
"""

from __future__ import annotations

from typing import Any

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from sim.copter.autopilot import CopterAutopilot

C = mavlink
GCS_SYSID = 255
GCS_COMPID = 190


class _Sink:
    def __init__(self) -> None:
        self.buffer = bytearray()

    def write(self, data: bytes) -> None:
        self.buffer += data


class ScriptedGroundStation:
    """Talks to one copter through bytes; keeps everything received in `received`."""

    def __init__(self, copter: CopterAutopilot, now_s: float = 0.0, sysid: int = GCS_SYSID,
                 heartbeat: bool = True) -> None:
        self.copter = copter
        self.now_s = now_s
        self._sink = _Sink()
        self.mav = C.MAVLink(self._sink, srcSystem=sysid, srcComponent=GCS_COMPID)
        self.mav.robust_parsing = True
        self._rx = C.MAVLink(None, srcSystem=sysid, srcComponent=GCS_COMPID)
        self._rx.robust_parsing = True
        self.received: list[Any] = []
        self.heartbeat = heartbeat
        self._next_heartbeat_s = now_s

    @property
    def target(self) -> tuple[int, int]:
        return self.copter.sysid, 1

    def send(self, msg: Any) -> None:
        self.mav.send(msg)
        data = bytes(self._sink.buffer)
        self._sink.buffer.clear()
        self.copter.receive_datagram(data, self.now_s)
        self._collect()

    def _collect(self) -> list[Any]:
        data = self.copter.data_to_send()
        msgs = [m for m in (self._rx.parse_buffer(data) or []) if m.get_type() != "BAD_DATA"]
        self.received.extend(msgs)
        return msgs

    def run(self, seconds: float, dt_s: float = 0.1) -> list[Any]:
        """Advance time; returns the messages received meanwhile."""
        start = len(self.received)
        end_s = self.now_s + seconds
        while self.now_s < end_s - 1e-9:
            self.now_s = min(end_s, self.now_s + dt_s)
            if self.heartbeat and self.now_s >= self._next_heartbeat_s:
                self._next_heartbeat_s = self.now_s + 1.0
                self.send(self.mav.heartbeat_encode(C.MAV_TYPE_GCS, C.MAV_AUTOPILOT_INVALID,
                                                    0, 0, 0))
            self.copter.advance_to(self.now_s)
            self._collect()
        return self.received[start:]

    def run_until(self, predicate: Any, timeout_s: float, dt_s: float = 0.1) -> Any:
        """Run until a received message satisfies `predicate` and return it."""
        end_s = self.now_s + timeout_s
        while self.now_s < end_s:
            for msg in self.run(dt_s, dt_s):
                if predicate(msg):
                    return msg
        raise AssertionError(f"nothing matched within {timeout_s} s")

    def last(self, kind: str) -> Any:
        for msg in reversed(self.received):
            if msg.get_type() == kind:
                return msg
        raise AssertionError(f"no {kind} received")

    def of_type(self, kind: str) -> list[Any]:
        return [m for m in self.received if m.get_type() == kind]

    def texts(self) -> list[str]:
        return [m.text for m in self.of_type("STATUSTEXT")]

    # -- commands --------------------------------------------------------------------------
    def command(self, command: int, *params: float) -> int:
        """COMMAND_LONG; returns the COMMAND_ACK result."""
        p = list(params) + [0.0] * (7 - len(params))
        before = len(self.received)
        self.send(self.mav.command_long_encode(*self.target, command, 0, *p))
        for msg in self.received[before:]:
            if msg.get_type() == "COMMAND_ACK" and msg.command == command:
                return int(msg.result)
        raise AssertionError(f"no COMMAND_ACK for {command}")

    def set_mode(self, custom_mode: int) -> int:
        return self.command(C.MAV_CMD_DO_SET_MODE, C.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED,
                            custom_mode)

    def arm(self, force: bool = False) -> int:
        return self.command(C.MAV_CMD_COMPONENT_ARM_DISARM, 1, 21196 if force else 0)

    def upload(self, items: list[tuple[int, int, float, float, float, float, float, float, float]],
               mission_type: int = C.MAV_MISSION_TYPE_MISSION, use_int: bool = True) -> int:
        """Upload (frame, command, p1, p2, p3, p4, lat, lon, alt) items; returns the MISSION_ACK."""
        before = len(self.received)
        self.send(self.mav.mission_count_encode(*self.target, len(items), mission_type))
        answered = 0
        for _ in range(len(items) * 3 + 3):
            new = self.received[before:]
            before = len(self.received)
            for msg in new:
                kind = msg.get_type()
                if kind == "MISSION_ACK":
                    return int(msg.type)
                if kind in ("MISSION_REQUEST", "MISSION_REQUEST_INT"):
                    frame, cmd, p1, p2, p3, p4, lat, lon, alt = items[msg.seq]
                    answered += 1
                    if use_int:
                        self.send(self.mav.mission_item_int_encode(
                            *self.target, msg.seq, frame, cmd, 0, 1, p1, p2, p3, p4,
                            round(lat * 1e7), round(lon * 1e7), alt, mission_type))
                    else:
                        self.send(self.mav.mission_item_encode(
                            *self.target, msg.seq, frame, cmd, 0, 1, p1, p2, p3, p4,
                            lat, lon, alt, mission_type))
            if not new:
                self.run(0.1)
        raise AssertionError("upload did not finish")
