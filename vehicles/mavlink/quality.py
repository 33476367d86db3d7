"""Link quality from MAVLink sequence numbers: the share of a drone's packets that went missing.

Every packet carries an 8-bit sequence number per sender (system, component). A jump from the
expected number means packets were lost on the way. `LossMeter` keeps an exponential average of
loss (each packet, received or missed, weighs `alpha`), the way ground stations show "link
quality". A jump of more than half the sequence space is a duplicate or a reordered packet, not
counted. After a silence the numbers mean nothing (they wrap every 256 packets): the link resets
the meter when it declares the drone lost.
"""

from __future__ import annotations


class LossMeter:
    """Packet loss of one sender, from its sequence numbers."""

    def __init__(self, alpha: float = 0.05) -> None:
        if not 0.0 < alpha <= 1.0:
            raise ValueError(f"alpha must be in (0, 1], got {alpha!r}")
        self.alpha = alpha
        self.loss = 0.0
        self.received = 0
        self.lost = 0
        self._expected: int | None = None

    def observe(self, seq: int) -> None:
        """One packet with sequence number `seq` arrived."""
        keep = 1.0 - self.alpha
        if self._expected is not None:
            gap = (seq - self._expected) % 256
            if gap > 128:
                return  # a duplicate or a late packet
            if gap:
                self.lost += gap
                self.loss = 1.0 - (1.0 - self.loss) * keep ** gap
        self.received += 1
        self.loss *= keep
        self._expected = (seq + 1) % 256

    def reset(self) -> None:
        """Forget the sequence (after a silence); the average restarts at no loss."""
        self._expected = None
        self.loss = 0.0
