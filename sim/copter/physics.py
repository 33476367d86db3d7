"""Point-mass multicopter kinematics: velocity tracking with speed and acceleration limits, wind.

The body is a point in a local north-east-up frame (`geo.LocalFrame`). A position controller
(`velocity_towards`) turns a target into a desired ground velocity that slows down in time to
stop at the target (v = sqrt(2 a d)), like ArduPilot's waypoint navigation (WPNAV_SPEED,
WPNAV_ACCEL). `CopterBody.step` then moves the velocity towards the desired one at most
`horiz_accel_m_s2` / `vert_accel_m_s2` and integrates the position.

Wind: the autopilot holds its ground track against a steady wind, so wind does not push the
copter off course; it changes the airspeed (what the battery pays for) and caps the ground speed
where the airspeed would exceed `max_airspeed_m_s`. In modes without position hold (STABILIZE,
ALT_HOLD) the copter drifts with the wind. The ground is flat at `up_m == 0` (home's ground).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Wind:
    """A wind, as the velocity of the air (towards where it blows) in m/s.

    `gust_m_s` adds gusts along the mean direction: a deterministic sum of two slow sines
    whose phases come from `seed`, peaking at `gust_m_s` (the same at any step size, and
    different for copters given different seeds).
    """

    north_m_s: float = 0.0
    east_m_s: float = 0.0
    gust_m_s: float = 0.0
    seed: int = 0

    @classmethod
    def from_direction(cls, speed_m_s: float, from_deg: float, gust_m_s: float = 0.0,
                       seed: int = 0) -> Wind:
        """A wind of `speed_m_s` blowing from the compass bearing `from_deg` (meteorological)."""
        to_rad = math.radians(from_deg + 180.0)
        return cls(speed_m_s * math.cos(to_rad), speed_m_s * math.sin(to_rad), gust_m_s, seed)

    def at(self, t_s: float) -> Wind:
        """The wind blowing at time `t_s`, gust included, as a steady `Wind`."""
        if self.gust_m_s == 0.0:
            return self
        phase1, phase2, un, ue = _gust_form(self.north_m_s, self.east_m_s, self.seed)
        gust = self.gust_m_s * (0.5 + 0.3 * math.sin(2.0 * math.pi * t_s / 17.0 + phase1)
                                + 0.2 * math.sin(2.0 * math.pi * t_s / 6.3 + phase2))
        return Wind(self.north_m_s + gust * un, self.east_m_s + gust * ue)


@functools.lru_cache(maxsize=256)
def _gust_form(north_m_s: float, east_m_s: float, seed: int) -> tuple[float, float, float, float]:
    """A gusty wind's two sine phases (from its seed) and the unit vector of its mean direction,
    which stay the same at every step."""
    phase1 = (seed * 0.7548776662) % 1.0 * 2.0 * math.pi
    phase2 = (seed * 0.5698402910) % 1.0 * 2.0 * math.pi
    mean = math.hypot(north_m_s, east_m_s)
    if mean > 1e-9:
        return phase1, phase2, north_m_s / mean, east_m_s / mean
    return phase1, phase2, 1.0, 0.0


@dataclass(frozen=True, slots=True)
class KinematicLimits:
    """The airframe's limits (defaults: a mid-size delivery quadrotor)."""

    max_airspeed_m_s: float = 18.0
    horiz_accel_m_s2: float = 2.5
    vert_accel_m_s2: float = 2.5
    max_climb_m_s: float = 5.0
    max_descent_m_s: float = 3.0

    def __post_init__(self) -> None:
        for name in ("max_airspeed_m_s", "horiz_accel_m_s2", "vert_accel_m_s2", "max_climb_m_s",
                     "max_descent_m_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0.0):
                raise ValueError(f"{name} must be a positive number, got {value!r}")


def _approach_speed_m_s(dist_m: float, speed_m_s: float, accel_m_s2: float,
                        pass_speed_m_s: float = 0.0) -> float:
    """Fastest speed from which the copter can slow to `pass_speed_m_s` within `dist_m`."""
    return min(speed_m_s,
               math.sqrt(pass_speed_m_s**2 + 2.0 * accel_m_s2 * max(dist_m, 0.0)))


@dataclass(slots=True)
class CopterBody:
    """Position and velocity of the copter in the local frame."""

    north_m: float = 0.0
    east_m: float = 0.0
    up_m: float = 0.0
    vn_m_s: float = 0.0
    ve_m_s: float = 0.0
    vu_m_s: float = 0.0
    heading_deg: float = 0.0

    @property
    def ground_speed_m_s(self) -> float:
        return math.hypot(self.vn_m_s, self.ve_m_s)

    def airspeed_m_s(self, wind: Wind) -> float:
        """Speed through the air (what rotor power depends on)."""
        return math.hypot(self.vn_m_s - wind.north_m_s, self.ve_m_s - wind.east_m_s)

    def velocity_towards(
        self,
        north_m: float,
        east_m: float,
        up_m: float,
        speed_m_s: float,
        limits: KinematicLimits,
        climb_m_s: float,
        descent_m_s: float,
        pass_speed_m_s: float = 0.0,
    ) -> tuple[float, float, float]:
        """Desired ground velocity to reach a target and stop there (or pass it).

        Horizontal and vertical channels are independent (ArduPilot's position controller
        treats them so), each slowing down on approach within its acceleration limit; a
        waypoint flown through is reached at `pass_speed_m_s` instead of a stop.
        """
        dn, de = north_m - self.north_m, east_m - self.east_m
        dist_m = math.hypot(dn, de)
        if dist_m > 1e-6:
            v = _approach_speed_m_s(dist_m, speed_m_s, limits.horiz_accel_m_s2,
                                    min(pass_speed_m_s, speed_m_s))
            vn, ve = dn / dist_m * v, de / dist_m * v
        else:
            vn = ve = 0.0
        du = up_m - self.up_m
        cap = climb_m_s if du > 0 else descent_m_s
        vu = math.copysign(_approach_speed_m_s(abs(du), cap, limits.vert_accel_m_s2), du)
        return vn, ve, vu

    def step(
        self,
        dt_s: float,
        want_vn_m_s: float,
        want_ve_m_s: float,
        want_vu_m_s: float,
        limits: KinematicLimits,
        wind: Wind,
    ) -> None:
        """Advance `dt_s` seconds, tracking the wanted ground velocity within the limits."""
        # the airspeed cap: shrink the wanted ground velocity until the airspeed fits
        air_n, air_e = want_vn_m_s - wind.north_m_s, want_ve_m_s - wind.east_m_s
        air = math.hypot(air_n, air_e)
        if air > limits.max_airspeed_m_s:
            want_vn_m_s, want_ve_m_s = _cap_ground_velocity(
                want_vn_m_s, want_ve_m_s, wind, limits.max_airspeed_m_s
            )
        dvn, dve = want_vn_m_s - self.vn_m_s, want_ve_m_s - self.ve_m_s
        dv = math.hypot(dvn, dve)
        max_dv = limits.horiz_accel_m_s2 * dt_s
        if dv > max_dv:
            dvn, dve = dvn / dv * max_dv, dve / dv * max_dv
        self.vn_m_s += dvn
        self.ve_m_s += dve
        want_vu_m_s = max(-limits.max_descent_m_s, min(limits.max_climb_m_s, want_vu_m_s))
        dvu = want_vu_m_s - self.vu_m_s
        max_dvu = limits.vert_accel_m_s2 * dt_s
        self.vu_m_s += max(-max_dvu, min(max_dvu, dvu))
        self.north_m += self.vn_m_s * dt_s
        self.east_m += self.ve_m_s * dt_s
        self.up_m += self.vu_m_s * dt_s
        if self.up_m <= 0.0:
            self.up_m = 0.0
            self.vu_m_s = max(self.vu_m_s, 0.0)
        if self.ground_speed_m_s > 0.5:
            self.heading_deg = math.degrees(math.atan2(self.ve_m_s, self.vn_m_s)) % 360.0

    def stop_on_ground(self) -> None:
        """Touched down: no more motion."""
        self.up_m = 0.0
        self.vn_m_s = self.ve_m_s = self.vu_m_s = 0.0


def _cap_ground_velocity(
    vn_m_s: float, ve_m_s: float, wind: Wind, max_airspeed_m_s: float
) -> tuple[float, float]:
    """Scale a ground velocity down (same direction) so the airspeed is at most the cap."""
    lo, hi = 0.0, 1.0
    for _ in range(20):
        mid = (lo + hi) / 2.0
        if math.hypot(vn_m_s * mid - wind.north_m_s, ve_m_s * mid - wind.east_m_s) <= (
            max_airspeed_m_s
        ):
            lo = mid
        else:
            hi = mid
    return vn_m_s * lo, ve_m_s * lo
