"""Fast mode: simulated copters and a ground-station core joined by in-memory datagrams.

No sockets and no event loop: the caller moves time (`step(now_s)`), each copter flies up to
then, its packets are handed to the ground core as datagrams from the copter's own address, and
what the core sends back is handed to the addressed copter. Any core with the
`vehicles.mavlink.GroundStation` shape (receive / poll / datagrams_to_send) fits, so the link
runs here exactly as it does on UDP, only deterministically: the same steps give the same
packets, the same events and the same flights, whatever the machine's load. Link faults
(`LinkFaults`: cuts, seeded loss) apply per copter, in both directions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sim.copter.autopilot import CopterAutopilot
from sim.copter.channel import LinkCut, LinkFaults

Address = tuple[str, int]


class GroundCore(Protocol):
    """What the network needs of the ground side (`vehicles.mavlink.GroundStation` has it)."""

    def receive(self, data: bytes, address: Address, now_s: float) -> None: ...

    def poll(self, now_s: float) -> None: ...

    def datagrams_to_send(self) -> list[tuple[bytes, Address]]: ...


@dataclass(slots=True)
class NetCopter:
    """One copter on the in-memory network."""

    autopilot: CopterAutopilot
    address: Address
    faults: LinkFaults
    cut: LinkCut


class InMemoryNetwork:
    """Copters and one ground core, stepped together."""

    def __init__(self, ground: GroundCore, now_s: float = 0.0) -> None:
        self.ground = ground
        self.now_s = now_s
        self.copters: dict[Address, NetCopter] = {}
        self.datagrams_up = 0
        self.datagrams_down = 0
        self.undeliverable = 0

    def add(self, autopilot: CopterAutopilot) -> NetCopter:
        """Put a copter on the network at its own address (one per system id)."""
        address = ("sim", 20_000 + autopilot.sysid)
        if address in self.copters:
            raise ValueError(f"system id {autopilot.sysid} is already on the network")
        cut = LinkCut()
        copter = NetCopter(autopilot, address, LinkFaults(cut), cut)
        self.copters[address] = copter
        return copter

    def step(self, now_s: float) -> None:
        """Everyone up to `now_s`: copters fly and talk, the ground core answers."""
        if now_s < self.now_s:
            raise ValueError(f"time cannot go back: now {self.now_s}, asked {now_s}")
        self.now_s = now_s
        for copter in self.copters.values():
            copter.autopilot.advance_to(now_s)
            for packet in copter.autopilot.packets_to_send():
                if copter.faults.passes("down", packet):
                    self.datagrams_down += 1
                    self.ground.receive(packet, copter.address, now_s)
        self.ground.poll(now_s)
        for data, address in self.ground.datagrams_to_send():
            target = self.copters.get(address)
            if target is None:
                self.undeliverable += 1
            elif target.faults.passes("up", data):
                self.datagrams_up += 1
                target.autopilot.receive_datagram(data, now_s)

    def run_until(self, done: Callable[[], bool], timeout_s: float, dt_s: float = 0.05) -> float:
        """Step by `dt_s` until `done()`; the time it took (TimeoutError past `timeout_s`)."""
        start_s = self.now_s
        while not done():
            if self.now_s - start_s > timeout_s:
                raise TimeoutError(f"not done within {timeout_s} s of simulated time")
            self.step(self.now_s + dt_s)
        return self.now_s - start_s
