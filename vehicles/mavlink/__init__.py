"""The ground station's MAVLink 2 link to drones (ArduPilot Copter, PX4), sans-I/O.

- `station.GroundStation`: the core for many drones on one transport (bytes in, bytes out).
- `link.DroneLink`: one drone: telemetry (`telemetry.DroneState`), link state, commands
  (`commands`), mission/fence transfers (`mission`), heartbeats, stream rates.
- `transport.UdpEndpoint` / `transport.TcpClient`: the asyncio edges; `drone.Drone`: the
  awaitable handle of one drone.
- `mission_plan`: missions and fences from plain data; `modes`: flight modes per autopilot;
  `signing`: MAVLink 2 signatures; `codec`: pymavlink as a codec only.

See docs/mavlink.md.
"""

from vehicles.mavlink.drone import Drone
from vehicles.mavlink.events import LinkState
from vehicles.mavlink.link import DroneLink, LinkConfig
from vehicles.mavlink.modes import FlightMode
from vehicles.mavlink.operation import LinkError
from vehicles.mavlink.signing import SigningConfig
from vehicles.mavlink.station import GroundStation
from vehicles.mavlink.telemetry import DroneState
from vehicles.mavlink.transport import TcpClient, UdpEndpoint

__all__ = [
    "Drone", "DroneLink", "DroneState", "FlightMode", "GroundStation", "LinkConfig",
    "LinkError", "LinkState", "SigningConfig", "TcpClient", "UdpEndpoint",
]
