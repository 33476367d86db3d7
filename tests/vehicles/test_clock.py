"""The injected clocks: virtual time moves only when told, and wakes sleepers in order."""

from __future__ import annotations

import asyncio

import pytest

from vehicles.clock import Clock, ScaledClock, SystemClock, VirtualClock


def test_all_clocks_satisfy_the_protocol() -> None:
    for clock in (SystemClock(), ScaledClock(10.0), VirtualClock()):
        assert isinstance(clock, Clock)


def test_scaled_clock_rejects_non_positive_speed() -> None:
    with pytest.raises(ValueError, match="speed"):
        ScaledClock(0.0)


async def test_virtual_clock_wakes_sleepers_in_deadline_order() -> None:
    clock = VirtualClock(start_s=100.0)
    woken: list[tuple[str, float]] = []

    async def sleeper(name: str, dt_s: float) -> None:
        await clock.sleep(dt_s)
        woken.append((name, clock.now_s()))

    tasks = [asyncio.create_task(sleeper(n, dt)) for n, dt in (("c", 3.0), ("a", 1.0), ("b", 2.0))]
    await asyncio.sleep(0)
    assert clock.next_deadline_s() == 101.0
    await clock.advance(1.5)
    assert woken == [("a", 101.0)]
    assert clock.now_s() == 101.5
    await clock.advance_to(110.0)
    assert woken == [("a", 101.0), ("b", 102.0), ("c", 103.0)]
    assert clock.now_s() == 110.0
    await asyncio.gather(*tasks)


async def test_virtual_clock_cannot_go_back() -> None:
    clock = VirtualClock(start_s=5.0)
    with pytest.raises(ValueError, match="back"):
        await clock.advance_to(4.0)
