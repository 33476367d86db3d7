"""`python -m vehicles.mavlink` watches a drone on loopback UDP and reports refused input."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

from tests.vehicles.mavlink_peer import ScriptedAutopilot
from vehicles.mavlink.__main__ import main

pytestmark = pytest.mark.timeout(30)


def test_cli_prints_discovery_status_and_refused_input() -> None:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    process = subprocess.Popen(
        [sys.executable, "-m", "vehicles.mavlink", "--udp", f"127.0.0.1:{port}",
         "--duration", "3", "--status-s", "1"], stdout=subprocess.PIPE, text=True)
    drone = ScriptedAutopilot(4)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for _ in range(20):
            sender.sendto(drone.heartbeat(), ("127.0.0.1", port))
            sender.sendto(b"not mavlink", ("127.0.0.1", port))
            time.sleep(0.1)
        out, _ = process.communicate(timeout=20)
    finally:
        sender.close()
        process.kill()
    assert "DroneDiscovered(sysid=4" in out
    assert "drone 4: up (loss 0%) GUIDED disarmed no position not ready: no 3-D GPS fix" in out
    assert "'bad_data'" in out and process.returncode == 0


@pytest.mark.parametrize("argv", [["--udp", "nonsense"], ["--signing-key", "abcd"],
                                  ["--sysid", "0"]])
def test_cli_refuses_bad_arguments(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
