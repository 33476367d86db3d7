"""The copter's flight logic: arming, modes, navigation targets, landing and failsafes.

`FlightController` is the vehicle behind the MAVLink peer (`autopilot.py`): it owns the body,
battery, home, mode and failsafe state and advances them with `step(dt_s)`. What a ground
station sees of it goes out through `texts` (STATUSTEXT, as ArduPilot explains itself) and
`reached` (MISSION_ITEM_REACHED). Mission flying is in `mission_run.py`.

Behaviour follows ArduPilot Copter 4.x: arming checks report "PreArm: ..." reasons; a takeoff
is accepted only in GUIDED while armed and landed; LAND and RTL disarm on touchdown; any landed
copter auto-disarms after DISARM_DELAY; failsafes (battery, GCS heartbeat, fence) switch to RTL
or LAND per FS_GCS_ENABLE, BATT_FS_LOW_ACT / BATT_FS_CRT_ACT and FENCE_ACTION.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from sim.copter import fence as fence_mod
from sim.copter.battery import Battery, BatterySpec, PowerModel
from sim.copter.failsafe import check_battery, check_ekf, check_fence, check_gcs
from sim.copter.geo import LocalFrame
from sim.copter.mission_items import MissionItem
from sim.copter.mission_run import MissionRunner, NavTarget
from sim.copter.modes import ARMABLE, HOLDS_POSITION, NEEDS_POSITION, CopterMode
from sim.copter.params import ParamTable
from sim.copter.physics import CopterBody, KinematicLimits, Wind

SEV_CRITICAL = mavlink.MAV_SEVERITY_CRITICAL
SEV_WARNING = mavlink.MAV_SEVERITY_WARNING
SEV_INFO = mavlink.MAV_SEVERITY_INFO
FORCE_ARM_MAGIC = 21196
PREARM_REPORT_PERIOD_S = 30.0
FENCE_GIVE_UP_DISTANCE_M = 100.0
_NO_GPS = int(mavlink.GPS_FIX_TYPE_NO_GPS)
_NO_FIX = int(mavlink.GPS_FIX_TYPE_NO_FIX)
_FIX_3D = int(mavlink.GPS_FIX_TYPE_3D_FIX)


@dataclass(frozen=True, slots=True)
class CopterConfig:
    """What makes one simulated copter (units in names; defaults: a delivery quadrotor)."""

    home_lat_deg: float = 35.6480
    home_lon_deg: float = 140.0350
    home_alt_amsl_m: float = 5.0
    payload_kg: float = 0.0
    battery_soc: float = 1.0
    battery: BatterySpec = field(default_factory=BatterySpec)
    power: PowerModel = field(default_factory=PowerModel)
    limits: KinematicLimits = field(default_factory=KinematicLimits)
    wind: Wind = field(default_factory=Wind)
    gps_fix_delay_s: float = 2.0  # time from boot to a 3-D fix (and home)
    params: dict[str, float] = field(default_factory=dict)  # ArduPilot parameter overrides
    # simulator only: on a clock sped up against the wall, the copter's own link timing (its
    # heartbeat period, the mission protocol's re-ask and give-up times) stretched by this, as
    # a ground station stretches its own; 1 is ArduPilot's timing
    link_time_scale: float = 1.0


class FlightController:
    """One copter's flight state, stepped by `step(dt_s)` (sans-I/O: time comes in)."""

    def __init__(self, config: CopterConfig, now_s: float = 0.0) -> None:
        self.config = config
        self.params = ParamTable(config.params)
        self.frame = LocalFrame(config.home_lat_deg, config.home_lon_deg, config.home_alt_amsl_m)
        self.body = CopterBody()
        self.battery = Battery(config.battery, config.battery_soc)
        self.payload_kg = config.payload_kg
        self.wind = config.wind
        self.boot_s = now_s
        self.now_s = now_s
        self.mode = CopterMode.STABILIZE
        self.armed = False
        self.land_complete = True
        self.auto_armed = False
        self.home_set = False
        self.home_ne_m = (0.0, 0.0)
        self.home_up_m = 0.0
        self.texts: list[tuple[int, str]] = []
        self.reached: list[int] = []
        self.target: NavTarget | None = None
        self.guided_speed_m_s: float | None = None
        self.fence_zones: list[fence_mod.Zone] = []
        self._zone_memo = fence_mod.ZoneMemo()  # for `fence_zones`, renewed with them
        # what steps ask of the parameters again and again, for one version of them
        self._from_params = (-1, False, fence_mod.FenceLimits(0, 0.0, 0.0, 0.0))
        self.fence_breach = int(mavlink.FENCE_BREACH_NONE)
        self.fence_breach_count = 0
        self.fence_breach_time_s = 0.0
        self.gcs_last_heartbeat_s: float | None = None
        self.gcs_failsafe = False
        self.ekf_failsafe = False
        self._no_position_since_s: float | None = None
        self.battery_failsafe = 0  # 0 none, 1 low, 2 critical
        self._failsafe_battery = self.battery  # swapping `battery` clears the failsafe
        self._batt_low_since_s: float | None = None
        self._batt_crt_since_s: float | None = None
        self._landed_since_s: float | None = None
        self._last_prearm_report_s = now_s
        self.rtl_stage = ""
        self._rtl_dest_ne_m = (0.0, 0.0)
        self.rally_ne_m: list[tuple[float, float]] = []
        self._stage_until_s = 0.0
        self.mission = MissionRunner(self)
        self.on_mode_change: Callable[[CopterMode], None] | None = None

    # -- sensors --------------------------------------------------------------------------
    @property
    def gps_fix_type(self) -> int:
        if self._params_derived()[0]:
            return _NO_GPS
        if self.now_s - self.boot_s < self.config.gps_fix_delay_s:
            return _NO_FIX
        return _FIX_3D

    @property
    def has_position(self) -> bool:
        """A 3-D fix (asked several times a step: `gps_fix_type`'s rule, without the int)."""
        return (not self._params_derived()[0]
                and self.now_s - self.boot_s >= self.config.gps_fix_delay_s)

    @property
    def lat_lon_deg(self) -> tuple[float, float]:
        return self.frame.to_lat_lon_deg(self.body.north_m, self.body.east_m)

    @property
    def alt_amsl_m(self) -> float:
        return self.frame.origin_alt_amsl_m + self.body.up_m

    @property
    def relative_alt_m(self) -> float:
        return self.body.up_m - self.home_up_m

    def say(self, severity: int, text: str) -> None:
        """Queue a STATUSTEXT (ArduPilot's texts are at most 50 characters per chunk)."""
        self.texts.append((severity, text))

    # -- parameters in SI units -----------------------------------------------------------
    def wp_speed_m_s(self) -> float:
        return self.params["WPNAV_SPEED"] / 100.0

    def climb_m_s(self) -> float:
        return self.params["WPNAV_SPEED_UP"] / 100.0

    def descent_m_s(self) -> float:
        return self.params["WPNAV_SPEED_DN"] / 100.0

    def wp_radius_m(self) -> float:
        return self.params["WPNAV_RADIUS"] / 100.0

    def fence_limits(self) -> fence_mod.FenceLimits:
        return self._params_derived()[1]

    def _params_derived(self) -> tuple[bool, fence_mod.FenceLimits]:
        """(GPS off, the fence limits): asked several times a step, worked out again only when
        a parameter changed."""
        p = self.params
        if self._from_params[0] != p.version:
            self._from_params = (p.version, bool(p["SIM_GPS_DISABLE"] or p["GPS_TYPE"] == 0),
                                 fence_mod.FenceLimits(
                                     fence_type=int(p["FENCE_TYPE"]), alt_max_m=p["FENCE_ALT_MAX"],
                                     alt_min_m=p["FENCE_ALT_MIN"], radius_m=p["FENCE_RADIUS"]))
        return self._from_params[1], self._from_params[2]

    def current_breach(self) -> int:
        return fence_mod.breach(self.body.north_m, self.body.east_m, self.relative_alt_m,
                                self.home_ne_m, self.fence_zones, self.fence_limits(),
                                self._zone_memo)

    def set_fence_items(self, items: list[MissionItem]) -> None:
        self.fence_zones = fence_mod.zones_from_items(items, self.frame)
        self._zone_memo = fence_mod.ZoneMemo()

    # -- home -----------------------------------------------------------------------------
    def set_home_here(self) -> None:
        self.home_set = True
        self.home_ne_m = (self.body.north_m, self.body.east_m)
        self.home_up_m = self.body.up_m if self.land_complete else self.home_up_m

    def set_home(self, lat_deg: float, lon_deg: float, alt_amsl_m: float) -> None:
        self.home_set = True
        self.home_ne_m = self.frame.to_ne_m(lat_deg, lon_deg)
        self.home_up_m = alt_amsl_m - self.frame.origin_alt_amsl_m

    # -- arming ---------------------------------------------------------------------------
    def prearm_failures(self) -> list[str]:
        """Why the copter may not arm now (ArduPilot's PreArm reasons); empty when ready."""
        if self.params["ARMING_CHECK"] == 0:
            return []
        reasons = []
        if not self.has_position:
            reasons.append("PreArm: Need 3D Fix")
        elif not self.home_set:
            reasons.append("PreArm: AHRS: waiting for home")
        if self.params["BATT_ARM_MAH"] > 0 and self.battery.remaining_mah < (
            self.params["BATT_ARM_MAH"]
        ):
            reasons.append("PreArm: Battery 1 below minimum arming capacity")
        arm_volt = self.params["BATT_ARM_VOLT"]
        if arm_volt > 0 and self.battery.voltage_v < arm_volt:
            reasons.append("PreArm: Battery 1 below minimum arming voltage")
        if self.battery_failsafe:
            reasons.append("PreArm: Battery failsafe on")
        elif self.battery.remaining_mah < self.params["BATT_LOW_MAH"]:
            reasons.append("PreArm: Battery 1 low")
        if self.gcs_failsafe:
            reasons.append("PreArm: GCS failsafe on")
        if self.params["FENCE_ENABLE"] and self.has_position and self.current_breach():
            reasons.append("PreArm: vehicle outside fence")
        return reasons

    def arm(self, force: bool) -> bool:
        """Arm, or explain in STATUSTEXT why not."""
        if self.armed:
            return True
        if not force:
            if self.mode not in ARMABLE and not (
                self.mode == CopterMode.AUTO and int(self.params["AUTO_OPTIONS"]) & 1
            ):
                self.say(SEV_CRITICAL, "Arm: Mode not armable")
                return False
            failures = self.prearm_failures()
            if failures:
                for reason in failures:
                    self.say(SEV_CRITICAL, reason)
                return False
        self.armed = True
        self.land_complete = True
        self.auto_armed = False
        self._landed_since_s = self.now_s
        if self.has_position:
            self.set_home_here()  # ArduPilot resets home on arming
        return True

    def disarm(self, force: bool, reason: str = "") -> bool:
        if not self.armed:
            return True
        if not self.land_complete and not force:
            self.say(SEV_CRITICAL, "Disarm: vehicle is flying")
            return False
        self.armed = False
        self.auto_armed = False
        self.target = None
        self.mission.on_disarm()
        if reason:
            self.say(SEV_INFO, f"Disarming motors: {reason}")
        return True

    # -- modes ----------------------------------------------------------------------------
    def set_mode(self, mode: CopterMode) -> bool:
        """Change flight mode as ArduCopter's set_mode does, or say why not."""
        if mode in NEEDS_POSITION and not self.has_position:
            self.say(SEV_WARNING, f"Mode change to {mode.name} failed: requires position")
            return False
        if mode == self.mode:
            return True
        if mode == CopterMode.AUTO and not self.mission.can_enter():
            self.say(SEV_CRITICAL, "Auto: Missing Takeoff Cmd")
            self.say(SEV_WARNING, "Mode change to AUTO failed: initialisation failed")
            return False
        previous = self.mode
        self.mode = mode
        self._enter_mode(previous)
        if self.on_mode_change is not None:
            self.on_mode_change(mode)
        return True

    def _enter_mode(self, previous: CopterMode) -> None:
        here = NavTarget(self.body.north_m, self.body.east_m, self.body.up_m)
        self.target = None
        if self.mode in (CopterMode.LOITER, CopterMode.BRAKE, CopterMode.POSHOLD,
                         CopterMode.GUIDED):
            self.target = None if self.land_complete else self.stopping_point(here)
            self.guided_speed_m_s = None
        elif self.mode in (CopterMode.RTL, CopterMode.SMART_RTL):
            self.start_rtl()
        elif self.mode == CopterMode.AUTO:
            if int(self.params["AUTO_OPTIONS"]) & 2:
                self.auto_armed = True
            self.mission.start_or_resume()
        if previous == CopterMode.AUTO and self.mode != CopterMode.AUTO:
            self.mission.stop()

    def stopping_point(self, here: NavTarget) -> NavTarget:
        """Where the copter can stop from its current velocity (ArduPilot's stopping point)."""
        a = self.config.limits.horiz_accel_m_s2
        v = self.body.ground_speed_m_s
        if v < 0.01:
            return here
        d = v * v / (2.0 * a)
        return NavTarget(here.north_m + self.body.vn_m_s / v * d,
                         here.east_m + self.body.ve_m_s / v * d, here.up_m)

    def takeoff(self, alt_rel_m: float) -> bool:
        """GUIDED takeoff (MAV_CMD_NAV_TAKEOFF): only armed, landed and in GUIDED."""
        if self.mode != CopterMode.GUIDED or not self.armed or not self.land_complete:
            return False
        alt_rel_m = max(alt_rel_m, self.params["PILOT_TKOFF_ALT"] / 100.0, 1.0)
        self.auto_armed = True
        self.land_complete = False
        self.target = NavTarget(self.body.north_m, self.body.east_m, self.home_up_m + alt_rel_m,
                                takeoff=True)
        return True

    def guided_goto(self, north_m: float, east_m: float, up_m: float) -> bool:
        if self.mode != CopterMode.GUIDED or not self.armed or self.land_complete:
            return False
        self.target = NavTarget(north_m, east_m, up_m, speed_m_s=self.guided_speed_m_s)
        return True

    # -- stepping -------------------------------------------------------------------------
    def step(self, dt_s: float) -> None:
        """Advance the copter by `dt_s` seconds of simulated time."""
        self.now_s += dt_s
        self.wind = self.config.wind.at(self.now_s)
        if self.has_position and not self.home_set:
            self.set_home_here()
        want = self._desired_velocity(dt_s)
        if self.armed and self.land_complete and self.auto_armed and want[2] > 0.05:
            self.land_complete = False  # lift-off (takeoff in GUIDED or AUTO)
        flying = self.armed and not self.land_complete
        if flying:
            self.body.step(dt_s, *want, self.config.limits, self.wind)
            if self.body.up_m <= 0.0 and want[2] < 0.0:
                self._touchdown()
        else:
            self.body.stop_on_ground()
        self._draw_power(dt_s, flying)
        self._check_failsafes()
        self._auto_disarm()
        self._prearm_report()

    def _desired_velocity(self, dt_s: float) -> tuple[float, float, float]:
        if not self.armed or (self.land_complete and not self.auto_armed):
            return 0.0, 0.0, 0.0
        mode = self.mode
        if mode == CopterMode.AUTO:
            target = self.mission.update(dt_s)
        elif mode in (CopterMode.RTL, CopterMode.SMART_RTL):
            target = self.rtl_target()
        elif mode == CopterMode.LAND:
            target = self.land_target(self.body.north_m, self.body.east_m)
        elif mode in HOLDS_POSITION:
            target = self.target
            if target is not None and target.takeoff and self.body.up_m >= target.up_m - 0.2:
                self.target = target = NavTarget(target.north_m, target.east_m, target.up_m)
        else:  # STABILIZE / ALT_HOLD with neutral sticks: hold altitude, drift with the wind
            return self.wind.north_m_s, self.wind.east_m_s, 0.0
        if not self.has_position:  # no GPS: no horizontal control, the copter drifts
            _, _, vu = self._track(target)
            return self.wind.north_m_s, self.wind.east_m_s, vu
        return self._track(target)

    def _track(self, target: NavTarget | None) -> tuple[float, float, float]:
        if target is None:
            if self.land_complete:
                return 0.0, 0.0, 0.0
            self.target = target = self.stopping_point(
                NavTarget(self.body.north_m, self.body.east_m, self.body.up_m))
        if target.land:
            vn, ve, _ = self.body.velocity_towards(
                target.north_m, target.east_m, self.body.up_m, self.wp_speed_m_s(),
                self.config.limits, 1.0, 1.0)
            return vn, ve, -self.land_speed_m_s()
        speed = target.speed_m_s or self.wp_speed_m_s()
        return self.body.velocity_towards(target.north_m, target.east_m, target.up_m, speed,
                                          self.config.limits, self.climb_m_s(),
                                          self.descent_m_s(), target.pass_speed_m_s)

    def land_speed_m_s(self) -> float:
        if self.relative_alt_m > self.params["LAND_ALT_LOW"] / 100.0:
            high = self.params["LAND_SPEED_HIGH"]
            return (high if high > 0 else self.params["WPNAV_SPEED_DN"]) / 100.0
        return self.params["LAND_SPEED"] / 100.0

    def land_target(self, north_m: float, east_m: float) -> NavTarget:
        return NavTarget(north_m, east_m, 0.0, land=True)

    def start_rtl(self) -> None:
        """Begin a return: to home or the nearest rally point (ArduPilot, RALLY_INCL_HOME=1)."""
        self.rtl_stage = "climb"
        here = (self.body.north_m, self.body.east_m)
        self._rtl_dest_ne_m = min([self.home_ne_m, *self.rally_ne_m],
                                  key=lambda p: math.dist(p, here))

    def rtl_target(self) -> NavTarget | None:
        """Where RTL steers now: climb, return, loiter, then land (or hold at RTL_ALT_FINAL)."""
        if self.land_complete:
            return None
        home_n, home_e = self._rtl_dest_ne_m
        rtl_alt_m = self.home_up_m + self.params["RTL_ALT"] / 100.0
        if self.params["FENCE_ENABLE"] and int(self.params["FENCE_TYPE"]) & 1:
            rtl_alt_m = min(rtl_alt_m, self.home_up_m + self.params["FENCE_ALT_MAX"] - 2.0)
        rtl_alt_m = max(rtl_alt_m, self.body.up_m)
        speed = self.params["RTL_SPEED"] / 100.0 or self.wp_speed_m_s()
        dist_home = ((self.body.north_m - home_n) ** 2 + (self.body.east_m - home_e) ** 2) ** 0.5
        if self.rtl_stage == "climb":
            if self.body.up_m >= rtl_alt_m - 0.5 or dist_home < self.wp_radius_m():
                self.rtl_stage = "return"
            else:
                return NavTarget(self.body.north_m, self.body.east_m, rtl_alt_m)
        if self.rtl_stage == "return":
            if dist_home < self.wp_radius_m() and self.body.ground_speed_m_s < 0.5:
                self.rtl_stage = "loiter"
                self._stage_until_s = self.now_s + self.params["RTL_LOIT_TIME"] / 1000.0
            else:
                return NavTarget(home_n, home_e, rtl_alt_m, speed_m_s=speed)
        if self.rtl_stage == "loiter" and self.now_s < self._stage_until_s:
            return NavTarget(home_n, home_e, self.body.up_m)
        final_m = self.params["RTL_ALT_FINAL"] / 100.0
        if final_m > 0:
            return NavTarget(home_n, home_e, self.home_up_m + final_m)
        self.rtl_stage = "land"
        return self.land_target(home_n, home_e)

    def _touchdown(self) -> None:
        self.body.stop_on_ground()
        self.land_complete = True
        self._landed_since_s = self.now_s
        self.target = None
        if self.mode in (CopterMode.LAND, CopterMode.RTL, CopterMode.SMART_RTL):
            self.disarm(force=True, reason="landed")
        elif self.mode == CopterMode.AUTO:
            self.mission.on_touchdown()

    def _draw_power(self, dt_s: float, flying: bool) -> None:
        if not self.armed:
            self.battery.draw(self.config.power.avionics_w, dt_s)
            return
        if not flying:
            self.battery.draw(self.config.power.avionics_w + 60.0, dt_s)  # spinning at idle
            return
        power_w = self.config.power.power_w(
            self.payload_kg, self.body.airspeed_m_s(self.wind), self.body.vu_m_s)
        self.battery.draw(power_w, dt_s)

    def _auto_disarm(self) -> None:
        delay_s = self.params["DISARM_DELAY"]
        if not self.armed or not self.land_complete or delay_s <= 0:
            return
        if self.auto_armed and self.mode in (CopterMode.GUIDED, CopterMode.AUTO) and (
            self.target is not None and self.target.takeoff
        ):
            return
        if self.mode == CopterMode.AUTO and self.mission.wants_takeoff():
            return
        if self._landed_since_s is None:
            self._landed_since_s = self.now_s
        if self.now_s - self._landed_since_s >= delay_s:
            self.disarm(force=True, reason="auto-disarm")

    def _prearm_report(self) -> None:
        if self.armed or self.now_s - self._last_prearm_report_s < PREARM_REPORT_PERIOD_S:
            return
        self._last_prearm_report_s = self.now_s
        failures = self.prearm_failures()
        if failures:
            self.say(SEV_CRITICAL, failures[0])

    def next_change_s(self) -> float:
        """The earliest time the copter's state changes by the clock alone (the mission's
        `next_change_s`, an auto-disarm, the GCS failsafe, a low-voltage timer, the end of RTL's
        loiter), just after it; inf if none. Steps longer than 50 ms stop there."""
        p, t = self.params, self.mission.next_change_s()
        if self.armed and self.land_complete and p["DISARM_DELAY"] > 0 and (
                self._landed_since_s is not None):
            t = min(t, self._landed_since_s + p["DISARM_DELAY"])
        if self.gcs_last_heartbeat_s is not None and not self.gcs_failsafe:
            t = min(t, self.gcs_last_heartbeat_s + p["FS_GCS_TIMEOUT"])
        for since in (self._batt_low_since_s, self._batt_crt_since_s):
            if since is not None:
                t = min(t, since + p["BATT_LOW_TIMER"])
        if self.rtl_stage == "loiter":
            t = min(t, self._stage_until_s)
        return t + 1e-6

    # -- failsafes ------------------------------------------------------------------------
    def _check_failsafes(self) -> None:
        check_battery(self)
        check_gcs(self)
        check_fence(self)
        check_ekf(self)
