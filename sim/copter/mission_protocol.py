"""The vehicle side of the MAVLink mission protocol, for missions, fences and rally points.

Upload (ground station to copter): MISSION_COUNT, then the copter asks for each item in turn
and the station answers with MISSION_ITEM_INT (or legacy MISSION_ITEM); after the last item the
copter answers MISSION_ACK. Like ArduPilot (`MissionItemProtocol`), the copter asks with the
legacy MISSION_REQUEST by default (`request_int=False`; True asks with MISSION_REQUEST_INT as
the protocol now recommends), re-asks an item after 1 s of silence, and abandons the upload with
MAV_MISSION_OPERATION_CANCELLED after 8 s without an item. A second station starting an upload
while one is in progress is answered MAV_MISSION_DENIED; the first may restart.

Download: MISSION_REQUEST_LIST is answered with MISSION_COUNT, then each MISSION_REQUEST_INT with
MISSION_ITEM_INT and each legacy MISSION_REQUEST with MISSION_ITEM. MISSION_CLEAR_ALL empties a
list. Sans-I/O: handlers take the decoded message and `now_s`, and return the messages to send.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from sim.copter.mission_items import (
    FENCE,
    GLOBAL_FRAMES,
    MAX_ITEMS_BY_TYPE,
    MISSION,
    RALLY,
    ItemRejectedError,
    MissionItem,
    check_fence_items,
    item_from_message,
)

REREQUEST_AFTER_S = 1.0
UPLOAD_TIMEOUT_S = 8.0
MISSION_TYPES = (MISSION, FENCE, RALLY)


@dataclass(slots=True)
class _Upload:
    peer: tuple[int, int]
    count: int
    received: list[MissionItem] = field(default_factory=list)
    last_receive_s: float = 0.0
    last_request_s: float = 0.0


class MissionProtocolServer:
    """Stored missions, fences and rally points, and the transfers that change them.

    Args:
        mav: the pymavlink codec used to build replies.
        home_item: returns the home position as item 0 of a downloaded mission.
        on_stored: called with the mission type and its new items once an upload or a clear
            completes; it may raise `ItemRejectedError` to refuse the whole list.
        request_int: ask for items with MISSION_REQUEST_INT instead of legacy MISSION_REQUEST.
    """

    def __init__(
        self,
        mav: Any,
        home_item: Callable[[], MissionItem],
        on_stored: Callable[[int, list[MissionItem]], None],
        request_int: bool = False,
        time_scale: float = 1.0,
    ) -> None:
        self._mav = mav
        self.time_scale = time_scale  # stretches the re-ask and give-up times (sped-up clocks)
        self._home_item = home_item
        self._on_stored = on_stored
        self.request_int = request_int
        self.items: dict[int, list[MissionItem]] = {t: [] for t in MISSION_TYPES}
        self._uploads: dict[int, _Upload] = {}

    def receiving(self, mission_type: int) -> bool:
        return mission_type in self._uploads

    # -- helpers -------------------------------------------------------------------------
    def _ack(self, peer: tuple[int, int], result: int, mission_type: int) -> Any:
        return self._mav.mission_ack_encode(peer[0], peer[1], result, mission_type)

    def _request(self, mission_type: int, upload: _Upload, now_s: float) -> Any:
        upload.last_request_s = now_s
        seq = len(upload.received)
        if self.request_int:
            return self._mav.mission_request_int_encode(*upload.peer, seq, mission_type)
        return self._mav.mission_request_encode(*upload.peer, seq, mission_type)

    def _store(self, mission_type: int, items: list[MissionItem], peer: tuple[int, int]) -> Any:
        try:
            if mission_type == FENCE:
                check_fence_items(items)
            self._on_stored(mission_type, items)
        except ItemRejectedError as exc:
            return self._ack(peer, exc.result, mission_type)
        self.items[mission_type] = items
        return self._ack(peer, mavlink.MAV_MISSION_ACCEPTED, mission_type)

    # -- upload --------------------------------------------------------------------------
    def on_count(self, msg: Any, now_s: float) -> list[Any]:
        peer = (msg.get_srcSystem(), msg.get_srcComponent())
        mission_type = int(msg.mission_type)
        if mission_type not in MISSION_TYPES:
            return [self._ack(peer, mavlink.MAV_MISSION_UNSUPPORTED, mission_type)]
        current = self._uploads.get(mission_type)
        if current is not None and current.peer != peer:
            return [self._ack(peer, mavlink.MAV_MISSION_DENIED, mission_type)]
        self._uploads.pop(mission_type, None)
        if msg.count > MAX_ITEMS_BY_TYPE[mission_type]:
            return [self._ack(peer, mavlink.MAV_MISSION_NO_SPACE, mission_type)]
        if msg.count == 0:
            return [self._store(mission_type, [], peer)]
        upload = _Upload(peer=peer, count=int(msg.count), last_receive_s=now_s)
        self._uploads[mission_type] = upload
        return [self._request(mission_type, upload, now_s)]

    def on_item(self, msg: Any, now_s: float) -> list[Any]:
        peer = (msg.get_srcSystem(), msg.get_srcComponent())
        mission_type = int(msg.mission_type)
        upload = self._uploads.get(mission_type)
        if upload is None:
            return [self._ack(peer, mavlink.MAV_MISSION_ERROR, mission_type)]
        if msg.seq != len(upload.received):
            return [self._ack(peer, mavlink.MAV_MISSION_INVALID_SEQUENCE, mission_type)]
        if peer != upload.peer:
            return [self._ack(peer, mavlink.MAV_MISSION_DENIED, mission_type)]
        try:
            item = item_from_message(msg, mission_type)
        except ItemRejectedError as exc:
            del self._uploads[mission_type]
            return [self._ack(peer, exc.result, mission_type)]
        upload.received.append(item)
        upload.last_receive_s = now_s
        if len(upload.received) < upload.count:
            return [self._request(mission_type, upload, now_s)]
        del self._uploads[mission_type]
        return [self._store(mission_type, upload.received, peer)]

    def update(self, now_s: float) -> list[Any]:
        """Re-ask for late items; abandon stalled uploads."""
        out = []
        for mission_type, upload in list(self._uploads.items()):
            if now_s - upload.last_receive_s > UPLOAD_TIMEOUT_S * self.time_scale:
                del self._uploads[mission_type]
                out.append(self._ack(upload.peer, mavlink.MAV_MISSION_OPERATION_CANCELLED,
                                     mission_type))
            elif now_s - upload.last_request_s > REREQUEST_AFTER_S * self.time_scale:
                out.append(self._request(mission_type, upload, now_s))
        return out

    # -- download and clear --------------------------------------------------------------
    def on_request_list(self, msg: Any) -> list[Any]:
        peer = (msg.get_srcSystem(), msg.get_srcComponent())
        mission_type = int(msg.mission_type)
        if mission_type not in MISSION_TYPES:
            return [self._ack(peer, mavlink.MAV_MISSION_UNSUPPORTED, mission_type)]
        if self.receiving(mission_type):
            return [self._ack(peer, mavlink.MAV_MISSION_DENIED, mission_type)]
        count = len(self.items[mission_type])
        if mission_type == MISSION and count == 0:
            count = 1  # ArduPilot always has home at 0
        return [self._mav.mission_count_encode(peer[0], peer[1], count, mission_type)]

    def on_request(self, msg: Any) -> list[Any]:
        """MISSION_REQUEST_INT, or legacy MISSION_REQUEST (answered with MISSION_ITEM)."""
        peer = (msg.get_srcSystem(), msg.get_srcComponent())
        mission_type = int(msg.mission_type)
        if mission_type not in MISSION_TYPES:
            return [self._ack(peer, mavlink.MAV_MISSION_UNSUPPORTED, mission_type)]
        if self.receiving(mission_type):
            return [self._ack(peer, mavlink.MAV_MISSION_DENIED, mission_type)]
        items = self.items[mission_type]
        seq = int(msg.seq)
        if mission_type == MISSION and seq == 0:
            item = self._home_item()
        elif seq < len(items):
            item = items[seq]
        else:
            return [self._ack(peer, mavlink.MAV_MISSION_INVALID_SEQUENCE, mission_type)]
        if msg.get_type() == "MISSION_REQUEST_INT":
            return [self._mav.mission_item_int_encode(
                peer[0], peer[1], seq, item.frame, item.command, 0, item.autocontinue,
                item.param1, item.param2, item.param3, item.param4, item.x, item.y, item.z,
                mission_type)]
        is_global = item.frame in GLOBAL_FRAMES
        return [self._mav.mission_item_encode(
            peer[0], peer[1], seq, item.frame, item.command, 0, item.autocontinue,
            item.param1, item.param2, item.param3, item.param4,
            item.x / 1e7 if is_global else float(item.x),
            item.y / 1e7 if is_global else float(item.y), item.z, mission_type)]

    def on_clear_all(self, msg: Any) -> list[Any]:
        peer = (msg.get_srcSystem(), msg.get_srcComponent())
        mission_type = int(msg.mission_type)
        types = MISSION_TYPES if mission_type == mavlink.MAV_MISSION_TYPE_ALL else (mission_type,)
        if any(t not in MISSION_TYPES for t in types):
            return [self._ack(peer, mavlink.MAV_MISSION_UNSUPPORTED, mission_type)]
        for t in types:
            upload = self._uploads.get(t)
            if upload is not None and upload.peer != peer:
                return [self._ack(peer, mavlink.MAV_MISSION_DENIED, mission_type)]
        for t in types:
            self._uploads.pop(t, None)
            reply = self._store(t, [], peer)
            if reply.type != mavlink.MAV_MISSION_ACCEPTED:
                return [reply]
        return [self._ack(peer, mavlink.MAV_MISSION_ACCEPTED, mission_type)]
