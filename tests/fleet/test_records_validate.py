"""An illegal transition is refused before it reaches the journal (it would poison replay)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleet.journal import SqliteJournal
from fleet.lifecycle import IllegalTransitionError
from fleet.records import Records


def test_illegal_transition_is_refused_before_it_is_journaled(tmp_path: Path) -> None:
    journal = SqliteJournal(tmp_path / "j.sqlite")
    records = Records()
    trip = {
        "key": "k",
        "origin": "a",
        "destination": "b",
        "riders": 1,
        "earliest_pickup_s": 0.0,
        "latest_dropoff_s": 100.0,
    }
    entry, subject = journal.submit(0.0, "trip.submitted", "trip", "op", trip, "k")
    assert entry is not None
    records.apply(entry)
    for state in ("planned", "assigned", "picked_up", "dropped_off"):
        records.validate("trip.state", subject, {"state": state})
        records.apply(journal.append(1.0, "trip.state", subject, "op", {"state": state}))
    with pytest.raises(IllegalTransitionError, match="dropped_off"):
        records.validate("trip.state", subject, {"state": "planned"})
    replayed = Records()
    for e in journal.entries():
        replayed.apply(e)  # the journal replays cleanly
    assert replayed.trips[subject].state == "dropped_off"
