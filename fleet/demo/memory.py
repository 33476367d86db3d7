"""Fast mode's ground link: the service's ground-server interface over the simulator's memory pipes.

`MemoryGroundServer` has what `FleetService` uses of `fleet.ground_server.GroundServer`
(`add_listener`, `send_plan`, `send_command`, `start`, `stop`, `url`), but behind it is
`sim.ground.fast.MemoryGround`: real msgpack frames between the vehicles' protocol sessions and
the protocol's server core, in lists, under the virtual clock. Nothing else differs from wire
mode, so the same service code runs in both.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from sim.ground.fast import MemoryGround
from vehicles.ground import messages as m
from vehicles.ground.server_session import GroundServerCore
from vehicles.ground.server_types import AppEvent, CommandAnswered


class MemoryGroundServer:
    url = "memory://ground"

    def __init__(self, ground: MemoryGround) -> None:
        self.ground = ground
        self._listeners: list[Callable[[AppEvent], None]] = []
        self._acks: dict[tuple[str, int], asyncio.Future[m.Ack]] = {}
        self._seen = 0

    @property
    def core(self) -> GroundServerCore:
        """The protocol's server core (a restarted service restores vehicles' event numbers)."""
        return self.ground.server

    def restart(self) -> None:
        """The backend process died and a new one started: every vehicle's connection drops
        (frames in flight are lost), the new process has a fresh server core, the vehicles
        reconnect on their next step and resume their sessions. Listeners and commands awaiting
        an answer belonged to the old process and are gone with it."""
        for vid in sorted(self.ground.sessions):
            self.ground.cut(vid, stay_down=False)
        self.ground.server = GroundServerCore(self.ground.credentials)
        for future in self._acks.values():
            future.cancel()
        self._acks.clear()
        self._listeners.clear()
        self._seen = len(self.ground.app_events)

    def add_listener(self, listener: Callable[[AppEvent], None]) -> None:
        self._listeners.append(listener)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def send_command(self, vehicle_id: str, command: m.Command) -> asyncio.Future[m.Ack]:
        numbered = self.ground.send_command(vehicle_id, command)
        future: asyncio.Future[m.Ack] = asyncio.get_running_loop().create_future()
        self._acks[(vehicle_id, numbered.seq)] = future
        return future

    def send_plan(self, vehicle_id: str, stops: Sequence[m.PlanStop]) -> asyncio.Future[m.Ack]:
        numbered = self.ground.send_plan(vehicle_id, stops)
        future: asyncio.Future[m.Ack] = asyncio.get_running_loop().create_future()
        self._acks[(vehicle_id, numbered.seq)] = future
        return future

    def deliver(self) -> None:
        """Hand the events the core reported since the last call to the service, in order."""
        events = self.ground.app_events
        while self._seen < len(events):
            event = events[self._seen]
            self._seen += 1
            if isinstance(event, CommandAnswered):
                future = self._acks.pop((str(event.vehicle_id), event.command.seq), None)
                if future is not None and not future.done():
                    future.set_result(event.ack)
            for listener in self._listeners:
                listener(event)
