"""A scripted autopilot for the link's unit tests: pymavlink encodes, no sockets, no sim.

It is a test double of one piece (the drone end of a `GroundStation`): `packet(msg)` packs what
the test wants the drone to say, `heard(data)` decodes what the ground station sent. The
`LinkHarness` joins it to a `GroundStation` at a virtual time the test moves by hand.
"""

from __future__ import annotations

from typing import Any

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from vehicles.mavlink.events import Address
from vehicles.mavlink.link import LinkConfig
from vehicles.mavlink.station import GroundStation

C: Any = mavlink
DRONE_ADDR: Address = ("127.0.0.1", 14555)
GUIDED = 4


class ScriptedAutopilot:
    """Says what a test scripts, as an ArduPilot (or PX4) autopilot would."""

    def __init__(self, sysid: int = 1, autopilot: int = C.MAV_AUTOPILOT_ARDUPILOTMEGA,
                 secret_key: bytes | None = None, timestamp: int = 0) -> None:
        self.sysid = sysid
        self.autopilot = autopilot
        self.mav = C.MAVLink(None, srcSystem=sysid, srcComponent=1)
        if secret_key is not None:
            self.mav.signing.secret_key = secret_key
            self.mav.signing.sign_outgoing = True
            self.mav.signing.timestamp = timestamp
        self._rx = C.MAVLink(None)
        self._rx.robust_parsing = True

    def packet(self, msg: Any) -> bytes:
        data = bytes(msg.pack(self.mav))
        self.mav.seq = (self.mav.seq + 1) % 256
        return data

    def heartbeat(self, custom_mode: int = GUIDED, armed: bool = False) -> bytes:
        base = C.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED | (
            C.MAV_MODE_FLAG_SAFETY_ARMED if armed else 0)
        return self.packet(self.mav.heartbeat_encode(C.MAV_TYPE_QUADROTOR, self.autopilot,
                                                     base, custom_mode, C.MAV_STATE_STANDBY))

    def ack(self, command: int, result: int, progress: int = 0) -> bytes:
        return self.packet(self.mav.command_ack_encode(command, result, progress, 0, 255, 190))

    def heard(self, data: bytes) -> list[Any]:
        return [m for m in (self._rx.parse_buffer(data) or []) if m.get_type() != "BAD_DATA"]


class LinkHarness:
    """A GroundStation and scripted autopilots on a hand-moved virtual time."""

    def __init__(self, config: LinkConfig | None = None, **kwargs: Any) -> None:
        self.station = GroundStation(config or LinkConfig(stream_rates_hz={}), **kwargs)
        self.now_s = 0.0
        self.sent: list[tuple[Any, Address]] = []

    def deliver(self, data: bytes, address: Address = DRONE_ADDR) -> list[Any]:
        """Give bytes to the station; the messages it sent back (decoded)."""
        self.station.receive(data, address, self.now_s)
        return self.collect()

    def advance(self, dt_s: float) -> list[Any]:
        self.now_s += dt_s
        self.station.poll(self.now_s)
        return self.collect()

    def collect(self) -> list[Any]:
        rx = C.MAVLink(None)
        out = []
        for data, address in self.station.datagrams_to_send():
            for msg in rx.parse_buffer(data) or []:
                self.sent.append((msg, address))
                out.append(msg)
        return out

    @staticmethod
    def of_type(msgs: list[Any], kind: str) -> list[Any]:
        return [m for m in msgs if m.get_type() == kind]
