"""Fast mode: simulated vehicles and the protocol's server core joined by in-memory byte pipes.

The same cores as wire mode, minus the sockets: each vehicle's `VehicleSession` (the sans-I/O
vehicle side of the ground protocol) exchanges real msgpack frames with one `GroundServerCore`
(the sans-I/O server side) through lists of bytes, all under a `VirtualClock`, so a day of
Makuhari runs in seconds and the same seed gives the same frames. Links can be cut and restored
per vehicle (`cut`, `restore`): frames in flight are lost, exactly as on a dropped websocket.

Whoever plays the backend reads `server` (send commands with `send_plan` / `send_command`) and
the `app_events` the core reported, after each `step`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sim.ground.runner import GroundRunner
from sim.ground.vehicle import GroundVehicle
from sim.ground.wire import ProtocolLink, vehicle_kind
from vehicles.clock import VirtualClock
from vehicles.ground import messages as m
from vehicles.ground.server_session import GroundServerCore
from vehicles.ground.server_types import AppEvent, Close, ConnId, Send
from vehicles.ground.vehicle_session import VehicleSession


class _SessionEndpoint:
    """A `VehicleSession` with the client's method shapes (time from the clock)."""

    def __init__(self, session: VehicleSession, clock: VirtualClock) -> None:
        self.session = session
        self.clock = clock

    def send_telemetry(self, telemetry: m.Telemetry) -> int:
        return self.session.send_telemetry(telemetry)

    def send_event(self, event: m.Event) -> int:
        return self.session.send_event(event, self.clock.now_s())

    def take_commands(self) -> list[m.Command]:
        return self.session.take_commands()

    def reply(self, seq: int, code: m.ErrorCode | None = None, msg: str | None = None) -> None:
        self.session.reply(seq, code, msg)


class MemoryGround:
    """Vehicles, their sessions and one server core, stepped together (module docstring)."""

    def __init__(
        self,
        credentials: Mapping[str, str],
        clock: VirtualClock,
        *,
        limits: m.Limits | None = None,
        epoch_s: float = 0.0,
        step_s: float = 1.0,
        telemetry_period_s: float = 1.0,
    ) -> None:
        self.clock = clock
        self.credentials = dict(credentials)
        self.server = GroundServerCore(self.credentials, limits)
        self.runner = GroundRunner(clock, step_s=step_s, telemetry_period_s=telemetry_period_s)
        self.step_s = step_s
        self.epoch_s = epoch_s
        self.sessions: dict[str, VehicleSession] = {}
        self.links: dict[str, ProtocolLink] = {}
        self.app_events: list[AppEvent] = []
        self.closes: list[Close] = []
        self._conn: dict[str, ConnId] = {}
        self._vehicle_of: dict[ConnId, str] = {}
        self._down: set[str] = set()

    def add(self, vehicle: GroundVehicle) -> None:
        """Add a vehicle and connect it (its id must have credentials)."""
        vid = vehicle.vehicle_id
        session = VehicleSession(
            m.VehicleId(vid),
            self.credentials[vid],
            boot_id=f"{vid}-boot",
            kind=vehicle_kind(vehicle),
            sw="kaiteki-sim",
        )
        self.sessions[vid] = session
        self.links[vid] = ProtocolLink(_SessionEndpoint(session, self.clock), self.epoch_s)
        self.runner.add(vehicle, self.links[vid])
        self._connect(vid)

    # --- link faults ---------------------------------------------------------------------------

    def cut(self, vehicle_id: str, *, stay_down: bool = True) -> None:
        """Drop the vehicle's connection (frames in flight are lost); it stays down until
        `restore` unless `stay_down` is False (then it reconnects on the next step)."""
        conn = self._conn.pop(vehicle_id, None)
        if conn is not None:
            self._vehicle_of.pop(conn, None)
            self.server.disconnected(conn, self.clock.now_s())
        self.sessions[vehicle_id].connection_lost()
        if stay_down:
            self._down.add(vehicle_id)

    def restore(self, vehicle_id: str) -> None:
        """Let the vehicle reconnect (on the next step)."""
        self._down.discard(vehicle_id)

    # --- backend side --------------------------------------------------------------------------

    def send_plan(self, vehicle_id: str, stops: Sequence[m.PlanStop]) -> m.Command:
        """Number and send a plan with the next version (delivered on the next step)."""
        version = self.server.next_plan_version(vehicle_id)
        return self.server.send_command(vehicle_id, m.Plan(0, version, tuple(stops)))

    def send_command(self, vehicle_id: str, command: m.Command) -> m.Command:
        return self.server.send_command(vehicle_id, command)

    # --- time ----------------------------------------------------------------------------------

    def step(self) -> None:
        """One tick at the clock's now: reconnect, step vehicles, exchange frames until quiet."""
        now_s = self.clock.now_s()
        for vid in self.sessions:
            if vid not in self._conn and vid not in self._down:
                self._connect(vid)
        self._pump()
        self.runner.tick()
        for session in self.sessions.values():
            session.tick(now_s)
        self.server.tick(now_s)
        self._pump()

    async def run_for(self, duration_s: float) -> None:
        """Step every `step_s` of virtual time for `duration_s`."""
        end_s = self.clock.now_s() + duration_s
        while self.clock.now_s() < end_s - 1e-9:
            await self.clock.advance(min(self.step_s, end_s - self.clock.now_s()))
            self.step()

    def _connect(self, vid: str) -> None:
        now_s = self.clock.now_s()
        conn = self.server.connect(now_s, m.SUBPROTOCOL)
        self._conn[vid] = conn
        self._vehicle_of[conn] = vid
        self.sessions[vid].connection_made(now_s)

    def _pump(self) -> None:
        now_s = self.clock.now_s()
        for _ in range(100):
            moved = False
            for vid, session in self.sessions.items():
                conn = self._conn.get(vid)
                for frame in session.data_to_send():
                    if conn is not None:
                        self.server.receive(conn, frame, now_s)
                        moved = True
            for out in self.server.outputs():
                vid_out = self._vehicle_of.get(out.conn)
                if vid_out is None:
                    continue
                if isinstance(out, Send):
                    self.sessions[vid_out].receive(out.data, now_s)
                    moved = True
                else:
                    self.closes.append(out)
                    self.cut(vid_out, stay_down=False)
            self.app_events.extend(self.server.events())
            if not moved:
                return
