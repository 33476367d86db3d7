"""Flying the uploaded mission in AUTO, as ArduPilot's AP_Mission and ModeAuto do.

Item 0 is home; the mission starts at item 1. One *navigation* command is active at a time
(takeoff, waypoint, land, RTL, loiter, delay); when it completes the copter sends
MISSION_ITEM_REACHED for it and moves to the next. *DO* commands that follow a navigation
command run when that navigation command starts, in order (a CONDITION_DELAY holds the ones
after it), exactly ArduPilot's rule: so a gripper release meant for after touchdown belongs
after a NAV_DELAY (or NAV_LOITER_TIME) that follows the NAV_LAND. DO_JUMP is followed when
looking for the next navigation command, with its repeat count. When the last command is done
the copter holds position in AUTO (or disarms if it is on the ground).

Landings inside a mission follow ArduCopter 4.x: at the touchdown of a NAV_LAND the copter
disarms, and the mission stops there, unless MIS_OPTIONS bit 2 ("continue after land") is set
and the next navigation command (NAV_DELAYs skipped) is a takeoff. Waiting on the ground in a
NAV_DELAY is still subject to DISARM_DELAY (ArduCopter's auto-disarm runs in AUTO too), so a
land-and-wait longer than DISARM_DELAY ends the mission: operators raise DISARM_DELAY (at most
127 s) or set it to 0.

Waypoints: reached within param2 metres (0: WPNAV_RADIUS) in 3-D, then held param1 seconds.
Latitude and longitude 0 mean "here". Altitudes: relative frames are above home, AMSL frames
are converted, terrain frames are taken above the (flat) ground.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from sim.copter.mission_items import AMSL_FRAMES, NAV_COMMANDS, MissionItem

if TYPE_CHECKING:
    from sim.copter.flight import FlightController

C = mavlink
MIS_OPTION_CONTINUE_AFTER_LAND = 4  # MIS_OPTIONS bit 2
_NAMES = {
    C.MAV_CMD_NAV_WAYPOINT: "WP", C.MAV_CMD_NAV_SPLINE_WAYPOINT: "SplineWP",
    C.MAV_CMD_NAV_TAKEOFF: "Takeoff", C.MAV_CMD_NAV_LAND: "Land",
    C.MAV_CMD_NAV_RETURN_TO_LAUNCH: "RTL", C.MAV_CMD_NAV_LOITER_TIME: "LoitTime",
    C.MAV_CMD_NAV_LOITER_UNLIM: "LoitUnlim", C.MAV_CMD_NAV_LOITER_TURNS: "LoitTurns",
    C.MAV_CMD_NAV_DELAY: "Delay", C.MAV_CMD_DO_CHANGE_SPEED: "ChangeSpeed",
    C.MAV_CMD_DO_JUMP: "Jump", C.MAV_CMD_DO_GRIPPER: "Gripper", C.MAV_CMD_DO_WINCH: "Winch",
    C.MAV_CMD_CONDITION_DELAY: "CondDelay", C.MAV_CMD_DO_FENCE_ENABLE: "FenceEnable",
    C.MAV_CMD_DO_SET_HOME: "SetHome", C.MAV_CMD_DO_LAND_START: "LandStart",
}


@dataclass(frozen=True, slots=True)
class NavTarget:
    """Where the position controller steers: a local point, optionally a landing or takeoff."""

    north_m: float
    east_m: float
    up_m: float
    speed_m_s: float | None = None
    takeoff: bool = False
    land: bool = False
    pass_speed_m_s: float = 0.0  # fly through at this speed rather than stop


class MissionRunner:
    """The AUTO-mode mission executor of one copter."""

    def __init__(self, fc: FlightController) -> None:
        self.fc = fc
        self.items: list[MissionItem] = []
        self.current_seq = 0
        self.state = int(C.MISSION_STATE_NO_MISSION)
        self.speed_m_s: float | None = None
        self.payload_events: list[tuple[float, str]] = []
        self._started = False
        self._target: NavTarget | None = None
        self._arrived_at_s: float | None = None
        self._touched_down = False
        self._jumps_done: dict[int, int] = {}
        self._do_queue: list[MissionItem] = []
        self._do_blocked_until_s = 0.0
        self._winch_release_at_s: float | None = None
        self.paused = False
        self._hold: NavTarget | None = None
        self.completed: list[int] = []  # seqs the mission completed at, for MISSION_CURRENT

    # -- lifecycle ------------------------------------------------------------------------
    def set_items(self, items: list[MissionItem]) -> None:
        self.items = list(items)
        self._jumps_done.clear()
        if len(self.items) <= 1:
            self.state, self.current_seq, self._started = int(C.MISSION_STATE_NO_MISSION), 0, False
        elif not self._started:
            self.state, self.current_seq = int(C.MISSION_STATE_NOT_STARTED), 1
        elif self.current_seq >= len(self.items):
            self.current_seq = len(self.items) - 1

    def first_nav(self) -> MissionItem | None:
        index = self._next_nav_index(1, count_jumps=False)
        return self.items[index] if index is not None else None

    def can_enter(self) -> bool:
        """ArduCopter refuses AUTO on the ground, armed, unless the mission starts by a takeoff."""
        if not (self.fc.armed and self.fc.land_complete):
            return True
        first = self.first_nav()
        return first is not None and first.command == C.MAV_CMD_NAV_TAKEOFF

    def wants_takeoff(self) -> bool:
        return (self.state == C.MISSION_STATE_ACTIVE and 0 < self.current_seq < len(self.items)
                and self.items[self.current_seq].command == C.MAV_CMD_NAV_TAKEOFF)

    def start_or_resume(self) -> None:
        if len(self.items) <= 1:
            self.state = int(C.MISSION_STATE_NO_MISSION)
            return
        self.paused = False
        if self.state == C.MISSION_STATE_COMPLETE or not self._started:
            self._jumps_done.clear()
            start = 1 if self.state == C.MISSION_STATE_COMPLETE else max(self.current_seq, 1)
            self.state = int(C.MISSION_STATE_ACTIVE)
            self._start_from(start)
        else:
            self.state = int(C.MISSION_STATE_ACTIVE)
            self._start_nav(self.items[self.current_seq])

    def on_disarm(self) -> None:
        """ArduCopter resets the mission on disarming: the next start is from the beginning."""
        self._started = False
        self.paused = False
        self._target = None
        self._do_queue = []
        if len(self.items) > 1:
            self.state, self.current_seq = int(C.MISSION_STATE_NOT_STARTED), 1

    def pause(self, hold: NavTarget) -> bool:
        """MAV_CMD_DO_PAUSE_CONTINUE(0): stop where the copter can and hold."""
        if self.state != C.MISSION_STATE_ACTIVE:
            return False
        self.paused, self._hold = True, hold
        return True

    def resume(self) -> bool:
        if not self.paused:
            return False
        self.paused = False
        return True

    def stop(self) -> None:
        if self.state == C.MISSION_STATE_ACTIVE:
            self.state = int(C.MISSION_STATE_PAUSED)

    def set_current(self, seq: int) -> bool:
        """MISSION_SET_CURRENT / DO_SET_MISSION_CURRENT."""
        if not 0 < seq < len(self.items):
            return False
        if self.state == C.MISSION_STATE_ACTIVE and self.fc.mode.name == "AUTO":
            self._start_from(seq)
        else:
            self.current_seq = seq
            if self.state == C.MISSION_STATE_COMPLETE:
                self.state = int(C.MISSION_STATE_NOT_STARTED)
                self._started = False
        return True

    def on_touchdown(self) -> None:
        self._touched_down = True

    # -- navigation -----------------------------------------------------------------------
    def _next_nav_index(self, start: int, count_jumps: bool) -> int | None:
        index, hops = start, 0
        while 0 < index < len(self.items) and hops < 1000:
            item = self.items[index]
            if item.command in NAV_COMMANDS:
                return index
            if item.command == C.MAV_CMD_DO_JUMP:
                target, repeat = int(item.param1), int(item.param2)
                done = self._jumps_done.get(index, 0)
                if 0 < target < len(self.items) and (repeat < 0 or done < repeat):
                    if count_jumps:
                        self._jumps_done[index] = done + 1
                    index, hops = target, hops + 1
                    continue
            index += 1
        return None

    def _start_from(self, start: int) -> None:
        self._started = True
        index = self._next_nav_index(start, count_jumps=True)
        if index is None:
            self._complete()
            return
        self.current_seq = index
        self._start_nav(self.items[index])

    def _start_nav(self, item: MissionItem) -> None:
        fc = self.fc
        self._arrived_at_s = None
        self._touched_down = False
        fc.say(C.MAV_SEVERITY_INFO, f"Mission: {item.seq} {_NAMES.get(item.command, 'Cmd')}")
        here_n, here_e, here_up = fc.body.north_m, fc.body.east_m, fc.body.up_m
        if item.has_position:
            north_m, east_m = fc.frame.to_ne_m(item.lat_deg, item.lon_deg)
        else:
            north_m, east_m = here_n, here_e
        up_m = self.up_m_of(item)
        cmd = item.command
        if cmd == C.MAV_CMD_NAV_TAKEOFF:
            self._target = NavTarget(here_n, here_e, max(up_m, here_up), takeoff=True)
        elif cmd in (C.MAV_CMD_NAV_LAND, C.MAV_CMD_NAV_RETURN_TO_LAUNCH):
            self._target = NavTarget(north_m, east_m, here_up, speed_m_s=self.speed_m_s)
            if cmd == C.MAV_CMD_NAV_RETURN_TO_LAUNCH:
                fc.start_rtl()
        elif cmd == C.MAV_CMD_NAV_DELAY:
            self._target = NavTarget(here_n, here_e, here_up)
            self._arrived_at_s = fc.now_s
        else:
            self._target = NavTarget(north_m, east_m, up_m, speed_m_s=self.speed_m_s,
                                     pass_speed_m_s=self._corner_speed_m_s(item, north_m, east_m))
        self._do_queue = []
        index = item.seq + 1
        while index < len(self.items) and self.items[index].command not in NAV_COMMANDS:
            if self.items[index].command == C.MAV_CMD_DO_JUMP:
                break
            self._do_queue.append(self.items[index])
            index += 1
        self._run_do_commands()

    def _corner_speed_m_s(self, item: MissionItem, north_m: float, east_m: float) -> float:
        """Speed to pass a waypoint without a hold on to the next one (0: stop there).

        ArduPilot flies through such waypoints along a curve; here the copter keeps
        (1 + cos(turn)) / 2 of its speed: all of it straight on, half at a right angle.
        """
        fc = self.fc
        if item.command not in (C.MAV_CMD_NAV_WAYPOINT, C.MAV_CMD_NAV_SPLINE_WAYPOINT) or (
            item.param1 > 0
        ):
            return 0.0
        index = self._next_nav_index(item.seq + 1, count_jumps=False)
        if index is None:
            return 0.0
        nxt = self.items[index]
        if nxt.command not in (C.MAV_CMD_NAV_WAYPOINT, C.MAV_CMD_NAV_SPLINE_WAYPOINT,
                               C.MAV_CMD_NAV_LOITER_TIME) or not nxt.has_position:
            return 0.0
        next_n, next_e = fc.frame.to_ne_m(nxt.lat_deg, nxt.lon_deg)
        in_n, in_e = north_m - fc.body.north_m, east_m - fc.body.east_m
        out_n, out_e = next_n - north_m, next_e - east_m
        norm = math.hypot(in_n, in_e) * math.hypot(out_n, out_e)
        if norm < 1e-6:
            return 0.0
        cos_turn = (in_n * out_n + in_e * out_e) / norm
        return (self.speed_m_s or fc.wp_speed_m_s()) * (1.0 + cos_turn) / 2.0

    def up_m_of(self, item: MissionItem) -> float:
        """An item's altitude in the local frame (metres above home's ground)."""
        if item.frame in AMSL_FRAMES:
            return item.z - self.fc.frame.origin_alt_amsl_m
        if item.frame in (C.MAV_FRAME_GLOBAL_TERRAIN_ALT, C.MAV_FRAME_GLOBAL_TERRAIN_ALT_INT):
            return item.z
        return self.fc.home_up_m + item.z

    def update(self, dt_s: float) -> NavTarget | None:
        """The target for this step (None: hold where the copter is)."""
        fc = self.fc
        if self._winch_release_at_s is not None and fc.now_s >= self._winch_release_at_s:
            self._winch_release_at_s = None
            self._release_payload("winch")
        if self.state != C.MISSION_STATE_ACTIVE or self._target is None:
            return None
        if self.paused:
            return self._hold
        self._run_do_commands()
        if not fc.auto_armed:
            return None
        item = self.items[self.current_seq]
        if self._verify(item):
            fc.reached.append(item.seq)
            index = self._next_nav_index(item.seq + 1, count_jumps=True)
            if index is None:
                self._complete()
                return None
            self.current_seq = index
            self._start_nav(self.items[index])
        return self._nav_target(self.items[self.current_seq])

    @property
    def arrived(self) -> bool:
        """The current item is reached and being held (a delay, a loiter, a waypoint's hold)."""
        return self._arrived_at_s is not None

    def steering(self) -> NavTarget | None:
        """Where the mission steers now if no item completes first (read only, for a
        simulator looking ahead); None to hold where the copter is, or for a return to launch
        (which steers by RTL's stages)."""
        if self.state != C.MISSION_STATE_ACTIVE or self._target is None:
            return None
        if self.paused:
            return self._hold
        item = self.items[self.current_seq]
        if item.command == C.MAV_CMD_NAV_RETURN_TO_LAUNCH:
            return None
        return self._nav_target(item)

    def _nav_target(self, item: MissionItem) -> NavTarget | None:
        fc, target = self.fc, self._target
        if target is None:
            return None
        cmd = item.command
        if cmd == C.MAV_CMD_NAV_RETURN_TO_LAUNCH:
            return fc.rtl_target()
        if cmd == C.MAV_CMD_NAV_LAND:
            if fc.land_complete:
                return None
            if math.hypot(target.north_m - fc.body.north_m, target.east_m - fc.body.east_m) < (
                fc.wp_radius_m()
            ) and fc.body.ground_speed_m_s < 1.0:
                return fc.land_target(target.north_m, target.east_m)
            return NavTarget(target.north_m, target.east_m, fc.body.up_m,
                             speed_m_s=self.speed_m_s)
        if fc.land_complete and cmd != C.MAV_CMD_NAV_TAKEOFF:
            return None
        return target

    def _verify(self, item: MissionItem) -> bool:
        fc, target, cmd = self.fc, self._target, item.command
        if target is None:
            return False
        if cmd == C.MAV_CMD_NAV_TAKEOFF:
            return fc.body.up_m >= target.up_m - 0.5
        if cmd == C.MAV_CMD_NAV_LAND:
            if self._touched_down and fc.armed and not self.continue_after_land(item.seq):
                # ArduCopter's verify_land: without MIS_OPTIONS "continue after land" and a
                # takeoff next, the mission stops on the ground and the copter disarms (which
                # resets the mission); the landing item is never reported reached
                fc.disarm(force=True, reason="landed")
                return False
            return self._touched_down
        if cmd == C.MAV_CMD_NAV_RETURN_TO_LAUNCH:
            return self._touched_down
        if cmd == C.MAV_CMD_NAV_LOITER_UNLIM:
            return False
        hold_s = _hold_s(item)
        if self._arrived_at_s is None:
            radius_m = item.param2 if cmd in (C.MAV_CMD_NAV_WAYPOINT,
                                              C.MAV_CMD_NAV_SPLINE_WAYPOINT) else 0.0
            radius_m = radius_m if radius_m > 0 else fc.wp_radius_m()
            dist_m = math.dist((fc.body.north_m, fc.body.east_m, fc.body.up_m),
                               (target.north_m, target.east_m, target.up_m))
            if dist_m > radius_m:
                return False
            self._arrived_at_s = fc.now_s
        return fc.now_s - self._arrived_at_s >= hold_s

    def next_change_s(self) -> float:
        """The earliest time the mission moves on by the clock alone, whatever the copter does
        meanwhile (a hold or delay ending, DO commands after a CONDITION_DELAY, a winch release);
        inf if none. A simulator taking steps longer than 50 ms must not step over it."""
        t = math.inf if self._winch_release_at_s is None else self._winch_release_at_s
        if self._do_queue:
            t = min(t, self._do_blocked_until_s)
        if (self.state == C.MISSION_STATE_ACTIVE and self._arrived_at_s is not None
                and 0 < self.current_seq < len(self.items)):
            item = self.items[self.current_seq]
            if item.command not in (C.MAV_CMD_NAV_LAND, C.MAV_CMD_NAV_RETURN_TO_LAUNCH,
                                    C.MAV_CMD_NAV_TAKEOFF, C.MAV_CMD_NAV_LOITER_UNLIM):
                t = min(t, self._arrived_at_s + _hold_s(item))
        return t

    def continue_after_land(self, land_seq: int) -> bool:
        """AP_Mission::continue_after_land_check_for_takeoff: MIS_OPTIONS bit 2 is set and the
        next navigation command after the landing, NAV_DELAYs skipped, is a takeoff."""
        if not int(self.fc.params["MIS_OPTIONS"]) & MIS_OPTION_CONTINUE_AFTER_LAND:
            return False
        index = self._next_nav_index(land_seq + 1, count_jumps=False)
        for _ in range(16):  # ArduPilot looks at most 16 items ahead (missions can loop)
            if index is None:
                return False
            command = self.items[index].command
            if command == C.MAV_CMD_NAV_TAKEOFF:
                return True
            if command != C.MAV_CMD_NAV_DELAY:
                return False
            index = self._next_nav_index(index + 1, count_jumps=False)
        return False

    def _complete(self) -> None:
        fc = self.fc
        self.state = int(C.MISSION_STATE_COMPLETE)
        self.completed.append(self.current_seq)
        self._started = False
        self._target = None
        fc.say(C.MAV_SEVERITY_INFO, "Mission complete")
        if fc.land_complete and fc.armed:
            fc.disarm(force=True, reason="mission complete")

    # -- DO commands ----------------------------------------------------------------------
    def _run_do_commands(self) -> None:
        fc = self.fc
        while self._do_queue and fc.now_s >= self._do_blocked_until_s:
            item = self._do_queue.pop(0)
            fc.say(C.MAV_SEVERITY_INFO, f"Mission: {item.seq} {_NAMES.get(item.command, 'Cmd')}")
            self.run_do(item)

    def run_do(self, item: MissionItem) -> None:
        """Execute one DO/CONDITION command (also used for COMMAND_LONG equivalents)."""
        fc, cmd = self.fc, item.command
        if cmd == C.MAV_CMD_DO_CHANGE_SPEED and item.param2 > 0:
            self.speed_m_s = min(item.param2, fc.config.limits.max_airspeed_m_s)
            if self._target is not None:
                self._target = replace(self._target, speed_m_s=self.speed_m_s)
        elif cmd == C.MAV_CMD_CONDITION_DELAY:
            self._do_blocked_until_s = fc.now_s + max(item.param1, 0.0)
        elif cmd == C.MAV_CMD_DO_GRIPPER and int(item.param2) == C.GRIPPER_ACTION_RELEASE:
            self._release_payload("gripper")
        elif cmd == C.MAV_CMD_DO_WINCH and int(item.param2) == C.WINCH_RELATIVE_LENGTH_CONTROL:
            rate_m_s = item.param4 if item.param4 > 0 else 0.5
            self._winch_release_at_s = fc.now_s + max(item.param3, 0.0) / rate_m_s
            fc.say(C.MAV_SEVERITY_INFO, f"Winch: lowering {item.param3:.1f} m")
        elif cmd == C.MAV_CMD_DO_FENCE_ENABLE:
            fc.params.set("FENCE_ENABLE", 1.0 if int(item.param1) == 1 else 0.0)
        elif cmd == C.MAV_CMD_DO_SET_HOME:
            if int(item.param1) == 1 or not item.has_position:
                fc.set_home_here()
            else:
                fc.set_home(item.lat_deg, item.lon_deg, item.z)

    def _release_payload(self, how: str) -> None:
        fc = self.fc
        released_kg = fc.payload_kg
        fc.payload_kg = 0.0
        self.payload_events.append((fc.now_s, how))
        text = "Gripper load released" if how == "gripper" else "Winch: payload released"
        fc.say(C.MAV_SEVERITY_INFO, f"{text} ({released_kg:.1f} kg)")


def _hold_s(item: MissionItem) -> float:
    """How long a navigation item holds once arrived (NAV_DELAY, loiters, a waypoint's param1)."""
    if item.command == C.MAV_CMD_NAV_DELAY:
        return max(item.param1, 0.0)
    if item.command == C.MAV_CMD_NAV_LOITER_TURNS:
        return item.param1 * 2.0 * math.pi * max(abs(item.param3), 1.0) / 5.0
    return item.param1
