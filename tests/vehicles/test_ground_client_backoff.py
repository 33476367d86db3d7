"""Reconnect back-off of the vehicle client: exponential, capped, jittered, slow after 4001."""

from __future__ import annotations

import random

import pytest

from vehicles.ground import messages as m
from vehicles.ground.client import Backoff


def test_waits_grow_exponentially_up_to_the_cap() -> None:
    b = Backoff(initial_s=0.5, max_s=30.0, factor=2.0, jitter=0.0)
    rng = random.Random(1)
    assert [b.delay_s(n, None, rng) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert b.delay_s(10_000, 1006, rng) == 30.0  # no overflow after a very long outage


@pytest.mark.parametrize("code", [m.CloseCode.AUTH_FAILED, m.CloseCode.UNSUPPORTED_VERSION])
def test_refusals_wait_the_maximum_at_once(code: int) -> None:
    b = Backoff(initial_s=0.5, max_s=30.0, jitter=0.0)
    assert b.delay_s(1, code, random.Random(1)) == 30.0


def test_jitter_spreads_the_fleet_within_bounds() -> None:
    b = Backoff(initial_s=1.0, max_s=1.0, jitter=0.2)
    rng = random.Random(7)
    waits = [b.delay_s(1, None, rng) for _ in range(500)]
    assert all(0.8 <= w <= 1.2 for w in waits)
    assert max(waits) - min(waits) > 0.3  # not all vehicles come back at the same instant


def test_invalid_backoff_is_refused() -> None:
    with pytest.raises(ValueError):
        Backoff(initial_s=0.0)
    with pytest.raises(ValueError):
        Backoff(initial_s=5.0, max_s=1.0)
    with pytest.raises(ValueError):
        Backoff(jitter=1.0)
