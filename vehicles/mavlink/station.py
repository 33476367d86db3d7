"""The ground station core, sans-I/O: many drones behind one socket, told apart by system id.

`GroundStation.receive(data, address, now_s)` takes whatever arrived (a UDP datagram or a
piece of a TCP stream) from `address`; `poll(now_s)` advances time; `datagrams_to_send()`
returns (bytes, address) pairs for the transport; `events()` returns what happened.

What it does with bytes, in order, each refusal counted in `counters` (never an exception):

1. Flood guard: a token bucket per address (bytes per second, injected time).
2. Parse with that address's own pymavlink parser (partial packets never mix between peers);
   garbage, bad CRCs and truncated packets become BAD_DATA; unknown message ids are counted.
3. System id 0, and heartbeats of other ground stations, are not drones.
4. Signing: a drone with a secret gets every packet verified (unsigned when required, bad
   signature, replayed, stale stream: dropped); with `require_signing`, drones we have no
   secret for are refused.
5. One drone per system id. A drone appears on its first autopilot HEARTBEAT and is bound to
   that address. The same id from another address while the first is alive is a conflict: the
   first keeps the id, the other's packets are dropped, counted, and reported once per address
   (`SysidConflict`). If the first is LOST, the id moves to the new address (`AddressChanged`).
6. Messages addressed to another system (`target_system` not 0 and not ours) are dropped.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vehicles.mavlink.codec import (
    BAD_DATA_ID,
    IFLAG_SIGNED,
    UNKNOWN_ID,
    C,
    Encoder,
    new_parser,
    parse_datagram,
)
from vehicles.mavlink.events import (
    Address,
    AddressChanged,
    DroneDiscovered,
    LinkEvent,
    LinkState,
    SysidConflict,
)
from vehicles.mavlink.link import DroneLink, LinkConfig
from vehicles.mavlink.signing import SignatureVerdict, SignatureVerifier, SigningConfig

_GCS_TYPE = int(C.MAV_TYPE_GCS)
_NO_AUTOPILOT = int(C.MAV_AUTOPILOT_INVALID)


@dataclass(frozen=True)
class GuardConfig:
    """Limits against floods (per source address) and address churn."""

    bytes_per_s: float = 500_000.0  # ~100 drones at 5 KB/s behind one router
    burst_bytes: float = 1_000_000.0
    max_addresses: int = 4096


class GroundStation:
    """Every drone on one transport.

    Args:
        config: link timing and identity, shared by every drone.
        signing: secrets per system id.
        require_signing: refuse drones without a secret (else they may talk unsigned).
        guard: flood and churn limits.
    """

    def __init__(self, config: LinkConfig | None = None,
                 signing: Mapping[int, SigningConfig] | None = None,
                 require_signing: bool = False, guard: GuardConfig | None = None) -> None:
        self.config = config or LinkConfig()
        self.guard = guard or GuardConfig()
        self.require_signing = require_signing
        self.drones: dict[int, DroneLink] = {}
        self.counters: Counter[str] = Counter()
        self._signing = dict(signing or {})
        self._verifiers: dict[int, SignatureVerifier] = {}
        self._parsers: OrderedDict[Address, Any] = OrderedDict()
        self._buckets: dict[Address, tuple[float, float]] = {}
        self._conflicts_reported: set[tuple[int, Address]] = set()
        self._events: list[LinkEvent] = []
        self._peers: list[Address] = []
        self._touched: set[int] = set()  # drones that received something since last asked
        self._pending_out: dict[int, DroneLink] = {}  # drones with packets waiting
        self._pending_events: dict[int, DroneLink] = {}  # drones with events waiting
        self._peer_next: dict[Address, float] = {}
        self._peer_encoder = Encoder(self.config.gcs_sysid, self.config.gcs_compid)
        self._now_s = 0.0

    # -- set-up ----------------------------------------------------------------------------
    def set_signing(self, sysid: int, config: SigningConfig) -> None:
        """Give drone `sysid` a secret (takes effect for its next packets)."""
        self._signing[sysid] = config
        self._verifiers.pop(sysid, None)
        if sysid in self.drones:
            drone = self.drones[sysid]
            drone.encoder = Encoder(self.config.gcs_sysid, self.config.gcs_compid,
                                                config.secret_key, config.link_id)

    def expect(self, sysid: int, now_s: float) -> DroneLink:
        """A drone we wait for: its link exists (CONNECTING) before its first heartbeat."""
        if not 1 <= sysid <= 255:
            raise ValueError(f"system id must be 1..255, got {sysid}")
        drone = self.drones.get(sysid)
        if drone is None:
            drone = self.drones[sysid] = DroneLink(sysid, self.config, now_s,
                                                   self._signing.get(sysid))
            drone.on_pending = self._mark_pending
        return drone

    def _mark_pending(self, drone: DroneLink, is_event: bool) -> None:
        (self._pending_events if is_event else self._pending_out)[drone.sysid] = drone

    def add_peer(self, address: Address) -> None:
        """Send our heartbeat to `address` even before any drone there is known (TCP)."""
        if address not in self._peers:
            self._peers.append(address)

    # -- input -----------------------------------------------------------------------------
    def receive(self, data: bytes, address: Address, now_s: float, datagram: bool = True
                ) -> None:
        """Bytes from `address`: parse, check, route.

        `datagram`: the bytes are one whole UDP datagram, so a packet cut short at its end is
        dropped (counted `truncated`) instead of waiting to swallow the next datagram's bytes.
        A stream transport (TCP) passes False: packets may span reads.
        """
        self._now_s = now_s
        self.counters["bytes"] += len(data)
        if not self._admit(len(data), address, now_s):
            self.counters["flood_dropped_bytes"] += len(data)
            return
        parser = self._parser(address)
        try:
            if datagram and parser.buf_len() == 0:
                msgs = parse_datagram(parser, data)
            else:
                msgs = parser.parse_buffer(data) or []
        except Exception:  # pymavlink can still raise on some malformed input
            self.counters["undecodable"] += 1
            self._parsers.pop(address, None)
            return
        if datagram and parser.buf_len() > 0:
            self.counters["truncated"] += 1
            self._parsers[address] = new_parser()
        for msg in msgs:
            self._route(msg, address, now_s)

    def poll(self, now_s: float) -> None:
        """Advance time on every link."""
        self._now_s = now_s
        for drone in self.drones.values():
            drone.poll(now_s)

    def datagrams_to_send(self) -> list[tuple[bytes, Address]]:
        """Everything to send since the last call, with its destination."""
        out: list[tuple[bytes, Address]] = []
        pending, self._pending_out = self._pending_out, {}
        for drone in pending.values():
            packets = drone.take_output()
            if drone.address is not None:
                out.extend((p, drone.address) for p in packets)
        if self._peers:
            bound = {d.address for d in self.drones.values()}
            for peer in self._peers:
                if peer not in bound:
                    out.extend(self._peer_heartbeat(peer))
        return out

    def take_touched(self) -> set[int]:
        """System ids of the drones that handled a message since the last call."""
        touched, self._touched = self._touched, set()
        return touched

    def events(self) -> list[LinkEvent]:
        """Events since the last call, in order."""
        events, self._events = self._events, []
        pending, self._pending_events = self._pending_events, {}
        for drone in pending.values():
            events.extend(drone.take_events())
        if len(events) > 1:
            events.sort(key=lambda e: e.t_s)
        return events

    # -- internals -------------------------------------------------------------------------
    def _admit(self, size: int, address: Address, now_s: float) -> bool:
        bucket = self._buckets.get(address)
        if bucket is None and len(self._buckets) >= self.guard.max_addresses:
            self._buckets.pop(next(iter(self._buckets)))  # the oldest: bounded memory
        tokens, last_s = bucket or (self.guard.burst_bytes, now_s)
        tokens = min(self.guard.burst_bytes,
                     tokens + max(0.0, now_s - last_s) * self.guard.bytes_per_s)
        ok = tokens >= size
        self._buckets[address] = (tokens - size if ok else tokens, now_s)
        return ok

    def _parser(self, address: Address) -> Any:
        parser = self._parsers.get(address)
        if parser is None:
            if len(self._parsers) >= self.guard.max_addresses:
                old, _ = self._parsers.popitem(last=False)
                self._buckets.pop(old, None)
                self.counters["addresses_evicted"] += 1
            parser = self._parsers[address] = new_parser()
        else:
            self._parsers.move_to_end(address)
        return parser

    def _route(self, msg: Any, address: Address, now_s: float) -> None:
        msgid = msg.get_msgId()
        if msgid == BAD_DATA_ID:
            reason = str(getattr(msg, "reason", ""))
            self.counters["bad_crc" if "CRC" in reason else "bad_data"] += 1
            return
        if msgid == UNKNOWN_ID:
            self.counters["unknown_message"] += 1
            return
        self.counters["messages"] += 1
        sysid = msg.get_srcSystem()
        if sysid == 0:
            self.counters["wrong_sysid"] += 1
            return
        if not self._signature_ok(msg, sysid, msgid):
            return
        drone = self.drones.get(sysid)
        if drone is None or drone.address is None:
            if msg.get_type() != "HEARTBEAT":
                self.counters["before_heartbeat"] += 1
                return
            if msg.type == _GCS_TYPE or msg.autopilot == _NO_AUTOPILOT:
                self.counters["not_a_vehicle"] += 1
                return
            drone = self.expect(sysid, now_s)
            drone.address = address
            self._events.append(DroneDiscovered(sysid, now_s, address, int(msg.autopilot),
                                                int(msg.type)))
        elif drone.address != address:
            if drone.link_state is not LinkState.LOST or msg.get_type() != "HEARTBEAT":
                self.counters["sysid_conflict"] += 1
                if (sysid, address) not in self._conflicts_reported \
                        and len(self._conflicts_reported) < self.guard.max_addresses:
                    self._conflicts_reported.add((sysid, address))
                    self._events.append(SysidConflict(sysid, now_s, drone.address, address))
                return
            self._events.append(AddressChanged(sysid, now_s, drone.address, address))
            drone.address = address
        target = getattr(msg, "target_system", 0)
        if target not in (0, self.config.gcs_sysid):
            self.counters["not_for_us"] += 1
            return
        self._touched.add(sysid)
        drone.handle(msg, now_s)

    def _signature_ok(self, msg: Any, sysid: int, msgid: int) -> bool:
        config = self._signing.get(sysid)
        if config is None:
            if self.require_signing:
                self.counters["no_secret_for_sysid"] += 1
                return False
            return True
        verifier = self._verifiers.get(sysid)
        if verifier is None:
            verifier = self._verifiers[sysid] = SignatureVerifier(config)
        verifier.observe_local(self.config.signing_floor(self._now_s))
        signed = bool(msg._header.incompat_flags & IFLAG_SIGNED)
        verdict = verifier.check(msg._msgbuf, signed, msgid, sysid, msg.get_srcComponent())
        if verdict is SignatureVerdict.OK:
            drone = self.drones.get(sysid)
            if drone is not None and signed:  # our clock never runs behind theirs (standard)
                drone.encoder.observe_timestamp(verifier.local_timestamp)
            return True
        self.counters[verdict.value] += 1
        return False

    def _peer_heartbeat(self, peer: Address) -> list[tuple[bytes, Address]]:
        if self._now_s < self._peer_next.get(peer, self._now_s):
            return []
        self._peer_next[peer] = self._now_s + self.config.heartbeat_period_s
        msg = self._peer_encoder.mav.heartbeat_encode(
            int(C.MAV_TYPE_GCS), int(C.MAV_AUTOPILOT_INVALID), 0, 0, int(C.MAV_STATE_ACTIVE))
        return [(self._peer_encoder.pack(msg), peer)]
