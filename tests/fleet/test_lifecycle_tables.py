"""Lifecycle tables: illegal transitions raise, the docs page is generated from the tables."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleet.lifecycle import (
    LIFECYCLES,
    MISSION,
    ORDER,
    TRIP,
    VEHICLE,
    IllegalTransitionError,
    document,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "lifecycles.md"


def test_docs_page_matches_the_tables() -> None:
    assert DOC.read_text(encoding="utf-8") == document(), (
        "docs/lifecycles.md is stale: run `python -m fleet.lifecycle > docs/lifecycles.md`"
    )


def test_order_happy_path_and_illegal_jumps() -> None:
    path = ["received", "planned", "assigned", "loaded", "in_flight", "delivered"]
    for a, b in itertools.pairwise(path):
        ORDER.check(a, b)
    with pytest.raises(IllegalTransitionError, match="cannot go from 'received' to 'delivered'"):
        ORDER.check("received", "delivered")
    with pytest.raises(IllegalTransitionError, match="terminal"):
        ORDER.check("delivered", "failed")
    with pytest.raises(IllegalTransitionError):
        ORDER.check("loaded", "cancelled")  # a parcel aboard cannot be cancelled away
    with pytest.raises(IllegalTransitionError, match="unknown state"):
        ORDER.check("lost", "planned")


def test_trip_and_vehicle_and_mission_paths() -> None:
    for a, b in [
        ("received", "planned"),
        ("planned", "assigned"),
        ("assigned", "picked_up"),
        ("picked_up", "dropped_off"),
        ("assigned", "planned"),
        ("received", "rejected"),
    ]:
        TRIP.check(a, b)
    with pytest.raises(IllegalTransitionError):
        TRIP.check("picked_up", "cancelled")
    VEHICLE.check("offline", "idle")
    VEHICLE.check("busy", "holding")
    with pytest.raises(IllegalTransitionError):
        VEHICLE.check("offline", "holding")
    MISSION.check("planned", "uploading")
    MISSION.check("uploading", "upload_failed")
    with pytest.raises(IllegalTransitionError):
        MISSION.check("planned", "started")


def test_terminal_states_have_no_exits_and_every_state_is_reachable() -> None:
    for lc in LIFECYCLES:
        seen, todo = {lc.initial}, [lc.initial]
        while todo:
            for nxt in lc.table[todo.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        assert seen == set(lc.states), f"{lc.name}: unreachable {set(lc.states) - seen}"
        for state in lc.terminal:
            assert not lc.table[state]


@given(st.sampled_from(LIFECYCLES), st.data())
def test_check_agrees_with_allowed(lc: object, data: st.DataObject) -> None:
    from fleet.lifecycle import Lifecycle

    assert isinstance(lc, Lifecycle)
    a = data.draw(st.sampled_from(lc.states))
    b = data.draw(st.sampled_from(lc.states))
    if lc.allowed(a, b):
        lc.check(a, b)
    else:
        with pytest.raises(IllegalTransitionError):
            lc.check(a, b)
