"""`python -m fleet.bench [--json OUT]`: what durability costs, measured.

Two figures: journal appends per second with `synchronous=FULL` (every append on disk before it
returns, the service's setting) against `NORMAL`, and the operator API's answer time for a trip
submission over real loopback HTTP (validation, idempotency check, journal, dispatch, answer),
with no vehicle connected so every request is answered by a rejection with its reason (two
journal entries each). Figures depend on the disk and the machine's load: compare runs on one
machine only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def journal_rate(path: Path, synchronous: str, n: int) -> float:
    """Appends per second (one transaction each) with the given `synchronous` setting."""
    from fleet.journal import SqliteJournal

    journal = SqliteJournal(path)
    journal._db.execute(f"PRAGMA synchronous={synchronous}")  # measured against the default
    t0 = time.perf_counter()
    for i in range(n):
        journal.append(float(i), "bench", "subject", "bench", {"i": i, "state": "planned"})
    rate = n / (time.perf_counter() - t0)
    journal.close()
    return rate


async def submit_latency(tmp: Path, n: int) -> list[float]:
    """Seconds per POST /api/v1/trips over loopback HTTP."""
    import uvicorn

    from fleet.api import create_app
    from fleet.config import load_config
    from fleet.service import FleetService

    text = (ROOT / "kaiteki.example.toml").read_text(encoding="utf-8")
    text = text.replace('"127.0.0.1:8080"', '"127.0.0.1:0"').replace(
        '"127.0.0.1:8765"', '"127.0.0.1:0"'
    )
    text = text.replace('journal = "kaiteki.sqlite"', f'journal = "{tmp / "api.sqlite"}"')
    (tmp / "k.toml").write_text(text, encoding="utf-8")
    service = FleetService(load_config(tmp / "k.toml"))
    await service.start()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(service), host="127.0.0.1", port=0, log_level="warning", lifespan="off"
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]

    def one(i: int) -> float:
        body = json.dumps({"origin": "messe", "destination": "wakaba", "idempotency_key": f"b{i}"})
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/trips",
            data=body.encode(),
            method="POST",
            headers={
                "Authorization": "Bearer change-me-mobility-token",
                "Content-Type": "application/json",
            },
        )
        t0 = time.perf_counter()
        with urllib.request.urlopen(req, timeout=10) as r:
            r.read()
        return time.perf_counter() - t0

    try:
        return [await asyncio.to_thread(one, i) for i in range(n)]
    finally:
        server.should_exit = True
        await task
        await service.stop()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m fleet.bench", description=__doc__)
    parser.add_argument("--appends", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--json", default=None, help="write the figures to this file")
    args = parser.parse_args()
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        out["journal_appends_per_s_full"] = round(
            journal_rate(tmp / "full.sqlite", "FULL", args.appends)
        )
        out["journal_appends_per_s_normal"] = round(
            journal_rate(tmp / "normal.sqlite", "NORMAL", args.appends)
        )
        lat = sorted(asyncio.run(submit_latency(tmp, args.requests)))
        out["trip_submit_ms_median"] = round(statistics.median(lat) * 1000, 2)
        out["trip_submit_ms_p95"] = round(lat[int(0.95 * (len(lat) - 1))] * 1000, 2)
        out["sqlite_version"] = sqlite3.sqlite_version
    for key, value in out.items():
        print(f"{key:32} {value}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
