"""What the link tells the fleet: events (tagged dataclasses) and the link state.

Events come out of `GroundStation.events()` in the order they happened; each names its drone's
system id and the injected time `t_s`. New event kinds may be added; fields are only appended.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

Address = tuple[str, int]
"""Where a drone's packets come from (host, port); for TCP the connected peer."""


class LinkState(Enum):
    """Link health from heartbeat timing."""

    CONNECTING = "connecting"  # expected, no heartbeat yet
    UP = "up"  # heartbeats arriving
    DEGRADED = "degraded"  # heartbeats late (more than `degraded_after_s`)
    LOST = "lost"  # nothing for `lost_after_s`


@dataclass(frozen=True)
class LinkEvent:
    """Base of every event."""

    sysid: int
    t_s: float


@dataclass(frozen=True)
class DroneDiscovered(LinkEvent):
    """A drone's first heartbeat."""

    address: Address
    autopilot: int
    vehicle_type: int


@dataclass(frozen=True)
class LinkStateChanged(LinkEvent):
    """The link state moved (e.g. up -> degraded -> lost -> up)."""

    old: LinkState
    new: LinkState


@dataclass(frozen=True)
class StatusText(LinkEvent):
    """A STATUSTEXT (chunks joined): where an autopilot explains a refusal."""

    severity: int
    text: str


@dataclass(frozen=True)
class ArmedChanged(LinkEvent):
    """Armed or disarmed (from HEARTBEAT)."""

    armed: bool


@dataclass(frozen=True)
class ModeChanged(LinkEvent):
    """The flight mode changed (from HEARTBEAT)."""

    mode: str


@dataclass(frozen=True)
class LandedStateChanged(LinkEvent):
    """EXTENDED_SYS_STATE's landed state changed."""

    landed_state: str


@dataclass(frozen=True)
class HomeChanged(LinkEvent):
    """A new HOME_POSITION."""

    lat_deg: float
    lon_deg: float
    alt_amsl_m: float


@dataclass(frozen=True)
class MissionCurrentChanged(LinkEvent):
    """MISSION_CURRENT moved to another item."""

    seq: int


@dataclass(frozen=True)
class MissionItemReached(LinkEvent):
    """MISSION_ITEM_REACHED."""

    seq: int


@dataclass(frozen=True)
class SysidConflict(LinkEvent):
    """A second address claims a system id whose drone is alive elsewhere; it is ignored."""

    kept_address: Address
    other_address: Address


@dataclass(frozen=True)
class AddressChanged(LinkEvent):
    """A lost drone came back from another address (e.g. a rebooted radio); it moved there."""

    old_address: Address | None
    new_address: Address
