"""MAVLink 2 message signing: verifying what a drone sends us.

A signed packet ends with 13 bytes: link id (1), timestamp (6, 10 us units since 2015-01-01),
and the first 6 bytes of SHA-256(secret + header + payload + CRC + link id + timestamp). Per the
MAVLink signing guide, a packet is accepted when its signature matches and its timestamp is
newer than the last one accepted on the same stream (link id, system id, component id); a new
stream is accepted only if its timestamp is at most one minute behind our own timestamp.

The check is ours (not pymavlink's) so each drone has its own secret even though one UDP
socket serves them all: the parser stays key-less and this verifier runs after the packet's
system id has picked the drone. What fails is reported as a `SignatureVerdict`; the link drops
and counts it.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from dataclasses import dataclass, field
from enum import Enum

NEW_STREAM_MAX_LAG = 6_000_000  # one minute in 10 us units (the standard's replay window)


class SignatureVerdict(Enum):
    """The answer for one incoming packet."""

    OK = "ok"
    UNSIGNED = "unsigned"
    BAD_SIGNATURE = "bad_signature"
    REPLAYED = "replayed"
    STALE_STREAM = "stale_stream"


@dataclass(frozen=True)
class SigningConfig:
    """One drone's signing set-up.

    Attributes:
        secret_key: the 32-byte shared secret.
        link_id: the link id we put in our own signatures.
        require: drop unsigned packets (else accept them, counted). Signed packets that fail the
            check are dropped either way.
        unsigned_allowed_msgids: message ids accepted unsigned even when `require` (e.g.
            RADIO_STATUS from a radio that cannot sign); empty by default.
    """

    secret_key: bytes
    link_id: int = 0
    require: bool = True
    unsigned_allowed_msgids: frozenset[int] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if len(self.secret_key) != 32:
            raise ValueError("a MAVLink 2 signing secret is 32 bytes")
        if not 0 <= self.link_id <= 255:
            raise ValueError("link_id is 0..255")

    @staticmethod
    def from_passphrase(passphrase: str, **kwargs: object) -> SigningConfig:
        """The secret as MAVProxy and Mission Planner derive it: SHA-256 of a passphrase."""
        key = hashlib.sha256(passphrase.encode()).digest()
        return SigningConfig(key, **kwargs)  # type: ignore[arg-type]


_TS = struct.Struct("<IH")


class SignatureVerifier:
    """Checks signatures and timestamps of one drone's packets (one secret)."""

    def __init__(self, config: SigningConfig) -> None:
        self.config = config
        self.local_timestamp = 0
        self._streams: dict[tuple[int, int, int], int] = {}

    def observe_local(self, timestamp: int) -> None:
        """Our own current timestamp (from injected time), the base of the new-stream rule."""
        self.local_timestamp = max(self.local_timestamp, timestamp)

    def check(self, msgbuf: bytes, signed: bool, msgid: int, sysid: int, compid: int
              ) -> SignatureVerdict:
        """Verify one whole packet (`msgbuf`, as received, signature included)."""
        if not signed:
            if not self.config.require or msgid in self.config.unsigned_allowed_msgids:
                return SignatureVerdict.OK
            return SignatureVerdict.UNSIGNED
        if len(msgbuf) < 13 + 12:
            return SignatureVerdict.BAD_SIGNATURE
        link_id = msgbuf[-13]
        low, high = _TS.unpack(bytes(msgbuf[-12:-6]))
        timestamp = low + (high << 32)
        digest = hashlib.sha256(self.config.secret_key + bytes(msgbuf[:-6])).digest()[:6]
        if not hmac.compare_digest(digest, bytes(msgbuf[-6:])):
            return SignatureVerdict.BAD_SIGNATURE
        key = (link_id, sysid, compid)
        last = self._streams.get(key)
        if last is not None:
            if timestamp <= last:
                return SignatureVerdict.REPLAYED
        elif timestamp + NEW_STREAM_MAX_LAG < self.local_timestamp:
            return SignatureVerdict.STALE_STREAM
        self._streams[key] = timestamp
        self.local_timestamp = max(self.local_timestamp, timestamp)
        return SignatureVerdict.OK
