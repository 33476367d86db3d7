"""pymavlink as a codec only: parse bytes into messages, pack messages into bytes.

No connection objects (`mavutil`) here: the dialect's `MAVLink` class is built with a null
file, `parse_buffer` turns bytes into messages and `msg.pack(mav)` turns a message into bytes.
The transports (ours) move the bytes. MAVLink 2 with the `ardupilotmega` dialect, which is a
superset of `common`, so both ArduPilot's and PX4's messages decode.

Signing of outgoing packets uses pymavlink's packer with the per-drone secret; the signing
timestamp (10 microsecond units since 2015-01-01 UTC) is set from injected time on every pack,
never from a clock read here.
"""

from __future__ import annotations

from typing import Any

from pymavlink.dialects.v20 import ardupilotmega as dialect

C: Any = dialect
"""The dialect module: message classes, `MAV_*` constants and `enums`."""

MavMessage = Any
"""A decoded pymavlink message (pymavlink ships no type information)."""

GCS_SYSID = 255
GCS_COMPID = int(C.MAV_COMP_ID_MISSIONPLANNER)  # 190, what QGroundControl and MAVProxy use
AUTOPILOT_COMPID = int(C.MAV_COMP_ID_AUTOPILOT1)
SIGNING_EPOCH_UNIX_S = 1_420_070_400  # 2015-01-01T00:00:00Z, the MAVLink signing epoch
BAD_DATA_ID = int(C.MAVLINK_MSG_ID_BAD_DATA)
UNKNOWN_ID = int(C.MAVLINK_MSG_ID_UNKNOWN)
IFLAG_SIGNED = int(C.MAVLINK_IFLAG_SIGNED)


def new_parser() -> Any:
    """A pymavlink parser for one byte stream, robust: bad bytes become BAD_DATA messages."""
    parser = C.MAVLink(None, srcSystem=GCS_SYSID, srcComponent=GCS_COMPID)
    parser.robust_parsing = True
    return parser


_MAGIC_V2 = 0xFD
_MIN_V2 = 12  # header 10, checksum 2
_SIGNATURE_LEN = 13


def parse_datagram(parser: Any, data: bytes) -> list[MavMessage]:
    """The messages of one whole datagram, as `parser.parse_buffer(data)` gives them.

    `parser` must hold no bytes of an earlier read (a datagram transport resets it after a
    truncated datagram). The usual datagram, whole MAVLink 2 packets back to back, is cut at
    each packet's length byte and each packet handed to pymavlink's `decode`: the same messages
    without the parser's byte-by-byte buffer keeping (a quarter of the receive cost). From the
    first byte that is not the start of such a packet (MAVLink 1, garbage, a bad checksum, a
    packet cut short) the rest goes to `parse_buffer`, which makes BAD_DATA of it as it always
    has.
    """
    msgs: list[MavMessage] = []
    off, n = 0, len(data)
    while n - off >= _MIN_V2 and data[off] == _MAGIC_V2:
        flags = data[off + 2]
        if flags & ~IFLAG_SIGNED:
            break
        end = off + _MIN_V2 + data[off + 1] + (_SIGNATURE_LEN if flags else 0)
        if end > n:
            break
        try:
            msgs.append(parser.decode(bytearray(data[off:end])))
        except C.MAVError:
            break
        off = end
    if off < n:
        msgs.extend(parser.parse_buffer(data[off:] if off else data) or [])
    return msgs


def signing_timestamp(unix_time_s: float) -> int:
    """The MAVLink 2 signing timestamp (10 us units since 2015-01-01) of a Unix time."""
    return max(0, int((unix_time_s - SIGNING_EPOCH_UNIX_S) * 100_000))


def enum_name(enum: str, value: int) -> str:
    """The dialect's name of `value` in `enum` (e.g. MAV_RESULT 4 is 'MAV_RESULT_FAILED')."""
    entry = C.enums.get(enum, {}).get(int(value))
    return str(entry.name) if entry is not None else f"{enum}_{int(value)}"


class Encoder:
    """Packs messages from one ground station to one drone: its own sequence and signing.

    Args:
        sysid: our system id (255 by convention for a ground station).
        compid: our component id.
        secret_key: the drone's 32-byte signing secret; when given, every packet is signed.
        link_id: the signing link id carried in each signature.
    """

    def __init__(self, sysid: int = GCS_SYSID, compid: int = GCS_COMPID,
                 secret_key: bytes | None = None, link_id: int = 0) -> None:
        self._mav = C.MAVLink(None, srcSystem=sysid, srcComponent=compid)
        self.sysid = sysid
        self.compid = compid
        self.packets = 0
        if secret_key is not None:
            if len(secret_key) != 32:
                raise ValueError("a MAVLink 2 signing secret is 32 bytes")
            self._mav.signing.secret_key = bytes(secret_key)
            self._mav.signing.sign_outgoing = True
            self._mav.signing.link_id = link_id

    @property
    def signing(self) -> bool:
        """Whether outgoing packets are signed."""
        return bool(self._mav.signing.sign_outgoing)

    @property
    def mav(self) -> Any:
        """The dialect object, for its `*_encode` message constructors."""
        return self._mav

    def pack(self, msg: MavMessage, min_timestamp: int = 0) -> bytes:
        """Pack `msg` with the next sequence number (signed, when signing).

        Args:
            msg: a message made by one of the dialect's `*_encode` functions.
            min_timestamp: the signing timestamp floor (from injected time); the timestamp
                also strictly increases packet by packet, as the standard requires.
        """
        signing = self._mav.signing
        if signing.sign_outgoing and signing.timestamp < min_timestamp:
            signing.timestamp = min_timestamp
        data = bytes(msg.pack(self._mav))
        self._mav.seq = (self._mav.seq + 1) % 256
        self.packets += 1
        return data

    def observe_timestamp(self, timestamp: int) -> None:
        """Keep our timestamp at least the newest one accepted from the peer (the standard)."""
        signing = self._mav.signing
        signing.timestamp = max(signing.timestamp, timestamp)
