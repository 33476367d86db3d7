"""kill -9 the real service mid-run: every acknowledged submission survives with the same id."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from fleet.lifecycle import document

ROOT = Path(__file__).parents[2]
TOKEN = "change-me-logistics-token"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(tmp: Path) -> Path:
    text = (ROOT / "kaiteki.example.toml").read_text(encoding="utf-8")
    text = text.replace('http = "127.0.0.1:8080"', f'http = "127.0.0.1:{_free_port()}"')
    text = text.replace('vehicle_ws = "127.0.0.1:8765"', 'vehicle_ws = "127.0.0.1:0"')
    path = tmp / "kaiteki.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _port(config: Path) -> int:
    line = next(x for x in config.read_text().splitlines() if x.startswith("http = "))
    return int(line.split('"')[1].rsplit(":", 1)[1])


def _post(port: int, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _get(port: int, path: str) -> Any:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def _start(config: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "fleet", "serve", "--config", str(config)],
        cwd=config.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    port = _port(config)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            _get(port, "/api/v1/me")
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("the service did not start")


@pytest.mark.slow
def test_sigkill_loses_nothing_acknowledged(tmp_path: Path) -> None:
    config = _config(tmp_path)
    port = _port(config)
    proc = _start(config)
    acknowledged: dict[str, dict[str, Any]] = {}
    try:
        for i in range(25):
            status, order = _post(
                port,
                "/api/v1/orders",
                {
                    "warehouse": "ichikawa-shiohama",
                    "drone_port": "port-cross-tower",
                    "weight_kg": 1.0 + i % 3,
                    "deadline_in_s": 3600,
                    "idempotency_key": f"parcel-{i}",
                },
            )
            assert status == 201, order
            acknowledged[order["key"]] = order
    finally:
        os.kill(proc.pid, signal.SIGKILL)  # no clean shutdown, mid-run
        proc.wait()
    proc = _start(config)
    try:
        orders = {o["key"]: o for o in _get(port, "/api/v1/orders")["items"]}
        assert set(orders) == set(acknowledged)
        for key, before in acknowledged.items():
            assert orders[key]["id"] == before["id"]
            assert orders[key]["state"] == before["state"]
        # a retry after the restart is recognised: same order, no new one
        status, again = _post(
            port,
            "/api/v1/orders",
            {
                "warehouse": "ichikawa-shiohama",
                "drone_port": "port-cross-tower",
                "weight_kg": 1.0,
                "deadline_in_s": 3600,
                "idempotency_key": "parcel-0",
            },
        )
        assert status == 200 and again["id"] == acknowledged["parcel-0"]["id"]
        assert len(_get(port, "/api/v1/orders")["items"]) == 25
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_lifecycle_document_matches_the_tables() -> None:
    assert (ROOT / "docs" / "lifecycles.md").read_text(encoding="utf-8") == document()
