"""Faults on a copter's radio link, as composable decorators of the packet path.

Every packet between a simulated copter and its ground station passes `LinkFaults.passes`;
the transports drop what does not pass. Faults compose (a cut link with random loss on top):

    faults = LinkFaults(RandomLoss(0.05, seed=7), cut := LinkCut())
    cut.cut()      # nothing gets through, both ways, until
    cut.restore()

Loss is drawn from a seeded generator, so a run is repeatable packet for packet.
"""

from __future__ import annotations

import random
from typing import Literal, Protocol

Direction = Literal["up", "down"]  # up: ground station to copter; down: copter to ground


class LinkFault(Protocol):
    """One fault: says whether a packet survives."""

    def passes(self, direction: Direction, packet: bytes) -> bool: ...


class LinkCut:
    """A link that can be cut and restored (out of range, jammed, radio unplugged)."""

    def __init__(self) -> None:
        self.is_cut = False
        self.dropped = 0

    def cut(self) -> None:
        self.is_cut = True

    def restore(self) -> None:
        self.is_cut = False

    def passes(self, direction: Direction, packet: bytes) -> bool:
        if self.is_cut:
            self.dropped += 1
            return False
        return True


class RandomLoss:
    """Independent packet loss with probability `rate` (each direction, or one)."""

    def __init__(self, rate: float, seed: int = 0, direction: Direction | None = None) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"loss rate must be in [0, 1], got {rate!r}")
        self.rate = rate
        self.direction = direction
        self.dropped = 0
        self._rng = random.Random(seed)

    def passes(self, direction: Direction, packet: bytes) -> bool:
        if self.direction is not None and direction != self.direction:
            return True
        if self._rng.random() < self.rate:
            self.dropped += 1
            return False
        return True


class LinkFaults:
    """All faults on one link; a packet passes when every fault lets it.

    `delay_s` adds one-way latency (simulated seconds) in both directions: the transports
    hold packets until it has passed.
    """

    def __init__(self, *faults: LinkFault, delay_s: float = 0.0) -> None:
        if not delay_s >= 0.0:
            raise ValueError(f"delay_s must be >= 0, got {delay_s!r}")
        self.faults = list(faults)
        self.delay_s = delay_s

    def add(self, fault: LinkFault) -> None:
        self.faults.append(fault)

    def passes(self, direction: Direction, packet: bytes) -> bool:
        return all(f.passes(direction, packet) for f in self.faults)
