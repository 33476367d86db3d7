"""`Drone`: the awaitable handle of one drone, at the asyncio edge.

Each call starts an operation in the sans-I/O `DroneLink`, sends what it queued at once, and
awaits the operation's end (COMMAND_ACK, MISSION_ACK, timeout): `LinkError`s are raised.

    drone = endpoint.drone(1)
    await drone.upload_mission(mission_plan.mission_items(plan))
    await drone.set_mode(FlightMode.GUIDED)
    await drone.arm()
    await drone.takeoff(30.0)
    await drone.start_mission()
    await drone.wait_for(lambda s: s.landed_state == "ON_GROUND", timeout_s=600)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from vehicles.mavlink import commands
from vehicles.mavlink.commands import CommandResult, CommandSpec
from vehicles.mavlink.events import LinkState
from vehicles.mavlink.link import DroneLink
from vehicles.mavlink.mission import FENCE, MISSION, RALLY, MissionItem
from vehicles.mavlink.modes import FlightMode
from vehicles.mavlink.operation import Operation, OperationTimeoutError
from vehicles.mavlink.params import REAL32, ParamValue
from vehicles.mavlink.telemetry import DroneState, Readiness

if TYPE_CHECKING:
    from vehicles.mavlink.transport import Endpoint

T = TypeVar("T")


class Drone:
    """One drone over one endpoint."""

    def __init__(self, link: DroneLink, endpoint: Endpoint) -> None:
        self.link = link
        self._endpoint = endpoint

    @property
    def sysid(self) -> int:
        """The drone's MAVLink system id."""
        return self.link.sysid

    @property
    def state(self) -> DroneState:
        """The latest telemetry."""
        return self.link.state

    @property
    def link_state(self) -> LinkState:
        """connecting / up / degraded / lost."""
        return self.link.link_state

    def readiness(self) -> Readiness:
        """Would it arm now, and why not."""
        return self.link.readiness()

    async def _run(self, op: Operation[T]) -> T:
        self._endpoint.flush()
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()

        def done(o: Operation[T]) -> None:
            if future.done():
                return
            if o.error is not None:
                future.set_exception(o.error)
            else:
                future.set_result(o.result)  # type: ignore[arg-type]

        op.on_done(done)
        return await future

    def _now(self) -> float:
        return self._endpoint.clock.now_s()

    async def command(self, spec: CommandSpec) -> CommandResult:
        """Any command (see `vehicles.mavlink.commands` for builders)."""
        return await self._run(self.link.command(spec, self._now()))

    async def set_mode(self, mode: FlightMode) -> CommandResult:
        """Switch flight mode."""
        return await self._run(self.link.set_mode(mode, self._now()))

    async def arm(self, force: bool = False) -> CommandResult:
        """Arm; a refusal raises `CommandRejectedError` (reason in `link.statustexts`)."""
        return await self._run(self.link.arm(self._now(), force))

    async def disarm(self, force: bool = False) -> CommandResult:
        """Disarm."""
        return await self._run(self.link.disarm(self._now(), force))

    async def takeoff(self, alt_rel_m: float) -> CommandResult:
        """Take off to `alt_rel_m` above home."""
        return await self._run(self.link.takeoff(alt_rel_m, self._now()))

    async def land(self) -> CommandResult:
        """Land here."""
        return await self._run(self.link.land(self._now()))

    async def return_to_launch(self) -> CommandResult:
        """Return to launch."""
        return await self._run(self.link.return_to_launch(self._now()))

    async def start_mission(self) -> CommandResult:
        """Fly the uploaded mission."""
        return await self._run(self.link.start_mission(self._now()))

    async def goto(self, lat_deg: float, lon_deg: float, alt_rel_m: float,
                   speed_m_s: float = -1.0) -> CommandResult:
        """Fly to a point in GUIDED."""
        return await self._run(self.link.goto(lat_deg, lon_deg, alt_rel_m, self._now(),
                                              speed_m_s))

    async def change_speed(self, speed_m_s: float) -> CommandResult:
        """Change the cruise speed."""
        return await self._run(self.link.change_speed(speed_m_s, self._now()))

    async def enable_fence(self, enabled: bool = True) -> CommandResult:
        """Enforce (or stop enforcing) the uploaded fence (MAV_CMD_DO_FENCE_ENABLE)."""
        return await self.command(commands.fence_enable(enabled))

    async def pause_mission(self) -> CommandResult:
        """Hold where it is, keeping the mission (MAV_CMD_DO_PAUSE_CONTINUE 0)."""
        return await self.command(commands.pause_continue(resume=False))

    async def resume_mission(self) -> CommandResult:
        """Continue the held mission (MAV_CMD_DO_PAUSE_CONTINUE 1)."""
        return await self.command(commands.pause_continue(resume=True))

    async def set_mission_current(self, seq: int) -> CommandResult:
        """Fly the mission on from item `seq` (MAV_CMD_DO_SET_MISSION_CURRENT)."""
        return await self.command(commands.set_mission_current(seq))

    async def set_param(self, name: str, value: float, param_type: int = REAL32) -> ParamValue:
        """Write an autopilot parameter (e.g. FENCE_ENABLE, FS_GCS_ENABLE); confirmed value."""
        return await self._run(self.link.set_param(name, value, self._now(), param_type))

    async def get_param(self, name: str) -> ParamValue:
        """Read an autopilot parameter."""
        return await self._run(self.link.get_param(name, self._now()))

    async def upload_mission(self, items: list[MissionItem]) -> int:
        """Upload a mission; the number of items the drone accepted."""
        return await self._run(self.link.upload(items, self._now(), MISSION))

    async def upload_fence(self, items: list[MissionItem]) -> int:
        """Upload a fence."""
        return await self._run(self.link.upload(items, self._now(), FENCE))

    async def upload_rally(self, items: list[MissionItem]) -> int:
        """Upload rally points (`mission_plan.rally_items`)."""
        return await self._run(self.link.upload(items, self._now(), RALLY))

    async def download_mission(self, mission_type: int = MISSION) -> list[MissionItem]:
        """Read back the stored mission (or fence)."""
        return await self._run(self.link.download(self._now(), mission_type))

    async def clear_mission(self, mission_type: int = MISSION) -> int:
        """Delete the stored mission (or fence)."""
        return await self._run(self.link.clear(self._now(), mission_type))

    async def wait_for(self, predicate: Callable[[DroneState], bool],
                       timeout_s: float) -> DroneState:
        """Wait (clock time) until `predicate(state)` holds; the state then. The predicate is
        asked again whenever the drone's state may have changed (a message from it handled)."""
        deadline_s = self._now() + timeout_s
        while not predicate(self.link.state):
            remaining_s = deadline_s - self._now()
            if remaining_s <= 0:
                raise OperationTimeoutError(f"drone {self.sysid}: condition not met in "
                                            f"{timeout_s} s")
            await self._endpoint.wait_changed(self.sysid, remaining_s,
                                              lambda: predicate(self.link.state))
        return self.link.state
