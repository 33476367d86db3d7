"""Mission, fence and rally items as the copter stores them, and their validation on upload.

Items are kept in the MISSION_ITEM_INT form (latitude and longitude in 1e-7 degrees), whichever
of MISSION_ITEM or MISSION_ITEM_INT brought them, as ArduPilot does. Item 0 of a mission is the
home position (a ground station uploads a placeholder there; the copter reports its real home
when the mission is downloaded). Validation answers with the MAV_MISSION_RESULT a real
ArduPilot would give: an unknown command is MAV_MISSION_UNSUPPORTED, an unusable frame
MAV_MISSION_UNSUPPORTED_FRAME, a non-finite parameter MAV_MISSION_INVALID_PARAMn (a NaN yaw
in a navigation command means "default" and is kept), a latitude or longitude out of range
MAV_MISSION_INVALID_PARAM5_X / 6_Y.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from pymavlink.dialects.v20 import ardupilotmega as mavlink

MISSION = mavlink.MAV_MISSION_TYPE_MISSION
FENCE = mavlink.MAV_MISSION_TYPE_FENCE
RALLY = mavlink.MAV_MISSION_TYPE_RALLY

GLOBAL_FRAMES = frozenset({
    mavlink.MAV_FRAME_GLOBAL, mavlink.MAV_FRAME_GLOBAL_INT,
    mavlink.MAV_FRAME_GLOBAL_RELATIVE_ALT, mavlink.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT,
    mavlink.MAV_FRAME_GLOBAL_TERRAIN_ALT, mavlink.MAV_FRAME_GLOBAL_TERRAIN_ALT_INT,
})
AMSL_FRAMES = frozenset({mavlink.MAV_FRAME_GLOBAL, mavlink.MAV_FRAME_GLOBAL_INT})
ACCEPTED_FRAMES = GLOBAL_FRAMES | {mavlink.MAV_FRAME_MISSION}

# Commands that take a position (x, y are latitude and longitude).
NAV_COMMANDS = frozenset({
    mavlink.MAV_CMD_NAV_WAYPOINT, mavlink.MAV_CMD_NAV_SPLINE_WAYPOINT,
    mavlink.MAV_CMD_NAV_TAKEOFF, mavlink.MAV_CMD_NAV_LAND,
    mavlink.MAV_CMD_NAV_RETURN_TO_LAUNCH, mavlink.MAV_CMD_NAV_LOITER_TIME,
    mavlink.MAV_CMD_NAV_LOITER_UNLIM, mavlink.MAV_CMD_NAV_LOITER_TURNS,
    mavlink.MAV_CMD_NAV_DELAY,
})
DO_COMMANDS = frozenset({
    mavlink.MAV_CMD_DO_CHANGE_SPEED, mavlink.MAV_CMD_DO_JUMP, mavlink.MAV_CMD_DO_GRIPPER,
    mavlink.MAV_CMD_DO_WINCH, mavlink.MAV_CMD_DO_LAND_START, mavlink.MAV_CMD_DO_SET_SERVO,
    mavlink.MAV_CMD_DO_SET_RELAY, mavlink.MAV_CMD_DO_SET_ROI, mavlink.MAV_CMD_DO_FENCE_ENABLE,
    mavlink.MAV_CMD_DO_SET_HOME, mavlink.MAV_CMD_CONDITION_DELAY, mavlink.MAV_CMD_CONDITION_YAW,
    mavlink.MAV_CMD_DO_SET_CAM_TRIGG_DIST, mavlink.MAV_CMD_DO_DIGICAM_CONTROL,
    mavlink.MAV_CMD_DO_MOUNT_CONTROL, mavlink.MAV_CMD_DO_SET_ROI_NONE,
})
FENCE_COMMANDS = frozenset({
    mavlink.MAV_CMD_NAV_FENCE_RETURN_POINT,
    mavlink.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION,
    mavlink.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION,
    mavlink.MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION,
    mavlink.MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION,
})
RALLY_COMMANDS = frozenset({mavlink.MAV_CMD_NAV_RALLY_POINT})
COMMANDS_BY_TYPE: dict[int, frozenset[int]] = {
    MISSION: NAV_COMMANDS | DO_COMMANDS,
    FENCE: FENCE_COMMANDS,
    RALLY: RALLY_COMMANDS,
}
MAX_ITEMS_BY_TYPE = {MISSION: 700, FENCE: 84, RALLY: 20}


@dataclass(frozen=True, slots=True)
class MissionItem:
    """One stored item (the fields of MISSION_ITEM_INT)."""

    seq: int
    frame: int
    command: int
    param1: float = 0.0
    param2: float = 0.0
    param3: float = 0.0
    param4: float = 0.0
    x: int = 0  # latitude * 1e7 in global frames
    y: int = 0  # longitude * 1e7 in global frames
    z: float = 0.0  # altitude, m (frame says relative to home or AMSL)
    autocontinue: int = 1
    mission_type: int = MISSION

    @property
    def lat_deg(self) -> float:
        return self.x / 1e7

    @property
    def lon_deg(self) -> float:
        return self.y / 1e7

    @property
    def has_position(self) -> bool:
        return self.x != 0 or self.y != 0

    def with_seq(self, seq: int) -> MissionItem:
        return replace(self, seq=seq)


class ItemRejectedError(ValueError):
    """An uploaded item cannot be stored; `result` is the MAV_MISSION_RESULT to answer."""

    def __init__(self, result: int, reason: str) -> None:
        super().__init__(reason)
        self.result = result


def item_from_message(msg: Any, mission_type: int) -> MissionItem:
    """Validate a received MISSION_ITEM or MISSION_ITEM_INT into a stored item."""
    is_int = msg.get_type() == "MISSION_ITEM_INT"
    command, frame = int(msg.command), int(msg.frame)
    if command not in COMMANDS_BY_TYPE.get(mission_type, frozenset()):
        raise ItemRejectedError(mavlink.MAV_MISSION_UNSUPPORTED, f"unsupported command {command}")
    if frame not in ACCEPTED_FRAMES:
        raise ItemRejectedError(mavlink.MAV_MISSION_UNSUPPORTED_FRAME, f"unsupported frame {frame}")
    params = (msg.param1, msg.param2, msg.param3, msg.param4)
    for n, value in enumerate(params, start=1):
        # ArduPilot's sanity check: NaN only where it means "default", the yaw of NAV commands
        if math.isnan(value) and n == 4 and command in NAV_COMMANDS:
            continue
        if not math.isfinite(value):
            raise ItemRejectedError(getattr(mavlink, f"MAV_MISSION_INVALID_PARAM{n}"),
                               f"param{n} is not finite")
    if not math.isfinite(msg.z):
        raise ItemRejectedError(mavlink.MAV_MISSION_INVALID_PARAM7, "z is not finite")
    if frame in GLOBAL_FRAMES:
        if is_int:
            x, y = int(msg.x), int(msg.y)
        else:
            if not (math.isfinite(msg.x) and math.isfinite(msg.y)):
                raise ItemRejectedError(mavlink.MAV_MISSION_INVALID_PARAM5_X, "position not finite")
            x, y = round(msg.x * 1e7), round(msg.y * 1e7)
        if not -900_000_000 <= x <= 900_000_000:
            raise ItemRejectedError(mavlink.MAV_MISSION_INVALID_PARAM5_X, "latitude out of range")
        if not -1_800_000_000 <= y <= 1_800_000_000:
            raise ItemRejectedError(mavlink.MAV_MISSION_INVALID_PARAM6_Y, "longitude out of range")
    else:
        x = y = 0
    return MissionItem(
        seq=int(msg.seq), frame=frame, command=command, param1=float(msg.param1),
        param2=float(msg.param2), param3=float(msg.param3), param4=float(msg.param4),
        x=x, y=y, z=float(msg.z), autocontinue=int(msg.autocontinue), mission_type=mission_type,
    )


def check_fence_items(items: list[MissionItem]) -> None:
    """A fence's polygon vertices come in complete runs of `param1` vertices (at least 3)."""
    i = 0
    while i < len(items):
        item = items[i]
        if item.command in (mavlink.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION,
                            mavlink.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION):
            n = int(item.param1)
            if n < 3:
                raise ItemRejectedError(mavlink.MAV_MISSION_INVALID_PARAM1,
                                   f"fence polygon at item {i} has {n} vertices")
            run = items[i:i + n]
            if len(run) < n or any(v.command != item.command or int(v.param1) != n for v in run):
                raise ItemRejectedError(mavlink.MAV_MISSION_INVALID,
                                   f"fence polygon at item {i} is incomplete")
            i += n
            continue
        if item.command in (mavlink.MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION,
                            mavlink.MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION) and not item.param1 > 0:
            raise ItemRejectedError(mavlink.MAV_MISSION_INVALID_PARAM1,
                               f"fence circle at item {i} has no radius")
        i += 1
