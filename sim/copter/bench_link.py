"""The `link` tracker of `sim.copter.bench`: kaiteki's MAVLink link following every copter.

A `vehicles.mavlink.UdpEndpoint` on one UDP port, asking each copter for GLOBAL_POSITION_INT
at 10 Hz and the usual status messages at their link defaults (SET_MESSAGE_INTERVAL, as the
link does with a real autopilot). Positions are counted as the link handles them (a counting
wrapper around each drone's `DroneLink.handle`; the link itself is unchanged), so a position
counts only once it has been parsed, routed and applied to the drone's typed state.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from vehicles.mavlink import LinkConfig, UdpEndpoint
from vehicles.mavlink.link import DEFAULT_STREAM_RATES_HZ

POSITION_ID = 33  # GLOBAL_POSITION_INT


class LinkTracker:
    """The link under test, at 10 Hz positions."""

    def __init__(self, position_hz: float = 10.0) -> None:
        rates = dict(DEFAULT_STREAM_RATES_HZ)
        rates["GLOBAL_POSITION_INT"] = position_hz
        self._config = LinkConfig(stream_rates_hz=rates)
        self._endpoint: UdpEndpoint | None = None
        self._counts: Counter[int] = Counter()

    async def open(self) -> int:
        self._endpoint = await UdpEndpoint.start(port=0, config=self._config)
        return self._endpoint.port

    def expect(self, sysids: list[int]) -> None:
        """Create each drone's link now and count the positions it applies."""
        assert self._endpoint is not None
        for sysid in sysids:
            link = self._endpoint.drone(sysid).link
            handle = link.handle

            def counting(msg: Any, now_s: float, _handle: Any = handle,
                         _sysid: int = sysid) -> None:
                if msg.get_msgId() == POSITION_ID:
                    self._counts[_sysid] += 1
                _handle(msg, now_s)

            link.handle = counting  # type: ignore[method-assign]

    def positions_received(self) -> Counter[int]:
        return Counter(self._counts)

    def drones_tracked(self) -> int:
        """Drones whose link is up with a fresh position."""
        assert self._endpoint is not None
        return sum(1 for link in self._endpoint.station.drones.values()
                   if link.link_state.value == "up" and link.state.lat_deg is not None)

    async def close(self) -> None:
        if self._endpoint is not None:
            await self._endpoint.close()
