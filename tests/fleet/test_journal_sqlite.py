"""The SQLite journal: ordered appends, idempotent submissions, replay, and a real `kill -9`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from fleet.journal import IdempotencyConflictError, JournalStore, SqliteJournal
from fleet.records import Records

ROOT = Path(__file__).resolve().parents[2]
ORDER = {"warehouse": "w", "drone_port": "p", "weight_kg": 1.0, "ready_s": 0.0, "deadline_s": 900.0}


def test_submit_is_idempotent_and_a_different_body_conflicts(tmp_path: Path) -> None:
    journal: JournalStore = SqliteJournal(tmp_path / "j.sqlite")
    entry, subject = journal.submit(1.0, "order.submitted", "ord", "op", ORDER, "k1")
    assert entry is not None and subject == "ord-000001"
    again, same = journal.submit(2.0, "order.submitted", "ord", "op", dict(ORDER), "k1")
    assert again is None and same == subject
    with pytest.raises(IdempotencyConflictError, match="k1"):
        journal.submit(3.0, "order.submitted", "ord", "op", {**ORDER, "weight_kg": 2.0}, "k1")
    _, second = journal.submit(4.0, "order.submitted", "ord", "op", ORDER, "k2")
    assert second == "ord-000002"
    assert [e.subject for e in journal.entries()] == ["ord-000001", "ord-000002"]
    journal.close()


def test_replay_after_reopen_rebuilds_the_same_records(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    journal = SqliteJournal(path)
    live = Records()
    entry, subject = journal.submit(
        1.0, "order.submitted", "ord", "alice", {**ORDER, "key": "a"}, "a"
    )
    assert entry is not None
    live.apply(entry)
    for state in ("planned", "assigned"):
        live.apply(
            journal.append(
                2.0,
                "order.state",
                subject,
                "dispatch",
                {"state": state, "vehicle_id": "drone-01", "promised_window": [5, 9]},
            )
        )
    journal.close()
    reopened = SqliteJournal(path)
    replayed = Records()
    for e in reopened.entries():
        replayed.apply(e)
    assert replayed.orders[subject].to_json() == live.orders[subject].to_json()
    assert replayed.orders[subject].state == "assigned"
    assert [e.kind for e in reopened.history(subject)] == [
        "order.submitted",
        "order.state",
        "order.state",
    ]
    reopened.close()


def test_an_illegal_transition_in_the_journal_is_refused_on_apply(tmp_path: Path) -> None:
    journal = SqliteJournal(tmp_path / "j.sqlite")
    records = Records()
    entry, subject = journal.submit(1.0, "order.submitted", "ord", "op", {**ORDER, "key": "a"}, "a")
    assert entry is not None
    records.apply(entry)
    bad = journal.append(2.0, "order.state", subject, "x", {"state": "delivered"})
    with pytest.raises(ValueError, match="cannot go from 'received' to 'delivered'"):
        records.apply(bad)
    journal.close()


CHILD = """
import sys
from fleet.journal import SqliteJournal
j = SqliteJournal(sys.argv[1])
i = 0
while True:
    i += 1
    body = {"warehouse": "w", "drone_port": "p", "weight_kg": 1.0, "ready_s": 0.0,
            "deadline_s": float(i), "key": f"key-{i}"}
    entry, subject = j.submit(float(i), "order.submitted", "ord", "child", body, f"key-{i}")
    j.append(float(i), "order.state", subject, "child", {"state": "planned"})
    print(f"{subject} key-{i}", flush=True)  # acknowledged only after both appends returned
"""


@pytest.mark.slow
def test_sigkill_mid_run_loses_nothing_acknowledged(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert child.stdout is not None
    acknowledged: list[tuple[str, str]] = []
    for line in child.stdout:
        acknowledged.append(tuple(line.split()))  # type: ignore[arg-type]
        if len(acknowledged) == 150:
            break
    child.send_signal(signal.SIGKILL)
    rest = child.stdout.read()  # lines written before the kill still count as acknowledged
    acknowledged += [tuple(x.split()) for x in rest.splitlines() if x.strip()]  # type: ignore[misc]
    child.wait(10)
    assert child.returncode == -signal.SIGKILL
    journal = SqliteJournal(path)
    records = Records()
    for e in journal.entries():
        records.apply(e)
    for subject, key in acknowledged:
        assert records.orders[subject].key == key
        assert records.orders[subject].state == "planned"
    # a retry of an acknowledged submission after the restart finds the same order
    subject, key = acknowledged[-1]
    body = {
        "warehouse": "w",
        "drone_port": "p",
        "weight_kg": 1.0,
        "ready_s": 0.0,
        "deadline_s": float(key.split("-")[1]),
        "key": key,
    }
    entry, again = journal.submit(0.0, "order.submitted", "ord", "child", body, key)
    assert entry is None and again == subject
    journal.close()
