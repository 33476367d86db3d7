"""A vehicle session and a server core joined in memory (no sockets), with a lossy link."""

from __future__ import annotations

from vehicles.ground import messages as m
from vehicles.ground.codec import decode
from vehicles.ground.server_session import GroundServerCore
from vehicles.ground.server_types import AppEvent, Close, ConnId, Send
from vehicles.ground.vehicle_session import VehicleSession

VID = m.VehicleId("bus-1")
TOKEN = "s3cret"


class Pair:
    """`vehicle` <-> `server` over an in-memory link that can be cut at any moment."""

    def __init__(self, limits: m.Limits | None = None, boot_id: str = "boot-1") -> None:
        self.server = GroundServerCore({VID: TOKEN, "bus-2": "other"}, limits)
        self.vehicle = VehicleSession(VID, TOKEN, boot_id=boot_id)
        self.conn: ConnId | None = None
        self.now_s = 0.0
        self.app_events: list[AppEvent] = []
        self.to_vehicle: list[bytes] = []
        self.closes: list[Close] = []

    def connect(self) -> None:
        self.conn = self.server.connect(self.now_s, m.SUBPROTOCOL)
        self.vehicle.connection_made(self.now_s)
        self.pump()

    def uplink(self) -> None:
        """Deliver what the vehicle queued to the server (and collect the server's answers)."""
        for frame in self.vehicle.data_to_send():
            if self.conn is not None:
                self.server.receive(self.conn, frame, self.now_s)
        self._collect()

    def downlink(self) -> None:
        """Deliver the server's queued frames to the vehicle."""
        frames, self.to_vehicle = self.to_vehicle, []
        for frame in frames:
            if self.conn is not None:
                self.vehicle.receive(frame, self.now_s)

    def pump(self) -> None:
        """Exchange frames until both sides are quiet."""
        for _ in range(50):
            self.uplink()
            if not self.to_vehicle:
                return
            self.downlink()

    def cut(self) -> None:
        """The link dies: frames in flight both ways are lost."""
        if self.conn is not None:
            self.server.disconnected(self.conn, self.now_s)
            self._collect()
        self.vehicle.connection_lost()
        self.conn = None
        self.to_vehicle.clear()

    def _collect(self) -> None:
        for out in self.server.outputs():
            if isinstance(out, Send) and out.conn == self.conn:
                self.to_vehicle.append(out.data)
            elif isinstance(out, Close):
                self.closes.append(out)
        self.app_events.extend(self.server.events())

    def server_saw(self) -> list[m.Message]:
        return [decode(f) for f in self.to_vehicle]
