"""A simulated ArduPilot Copter that speaks MAVLink 2, for ground stations to fly.

`CopterAutopilot` (sans-I/O: bytes and `now_s` in, bytes out) wraps a `FlightController`
(modes, arming, missions, failsafes) over point-mass kinematics (`physics`) and a battery
model (`battery`). `transport` puts copters on UDP or TCP sockets; `swarm` runs many in one
process under an injected clock; `python -m sim.copter` runs them for a ground station.
"""

from sim.copter.autopilot import CopterAutopilot
from sim.copter.flight import CopterConfig, FlightController
from sim.copter.modes import CopterMode
from sim.copter.physics import KinematicLimits, Wind

__all__ = ["CopterAutopilot", "CopterConfig", "CopterMode", "FlightController",
           "KinematicLimits", "Wind"]
