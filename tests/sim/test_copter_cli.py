"""`python -m sim.copter`: arguments are checked, and the copters it starts reach the GCS port."""

from __future__ import annotations

import asyncio
import socket

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from sim.copter.__main__ import _configs, parse_args, run


def test_bad_arguments_are_refused() -> None:
    for argv in (["--count", "3"], ["--udp", "nowhere", "--count", "1"],
                 ["--udp", "127.0.0.1:1", "--count", "0"],
                 ["--udp", "127.0.0.1:1", "--count", "5", "--sysid", "253"],
                 ["--udp", "127.0.0.1:1", "--param", "FS_GCS_ENABLE"],
                 ["--udp", "127.0.0.1:1", "--signing-key", "abcd"]):
        with pytest.raises(SystemExit):
            parse_args(argv)
    args = parse_args(["--udp", "127.0.0.1:14550", "--param", "fs_gcs_enable=1"])
    assert args.param == [("FS_GCS_ENABLE", 1.0)] and args.udp == ("127.0.0.1", 14550)
    assert parse_args(["--tcp", "5760", "--signing-key", "ab" * 32]).signing_key == b"\xab" * 32
    scenario = _configs(parse_args(["--udp", "127.0.0.1:1", "--scenario", "--sysid", "20",
                                    "--param", "FS_GCS_ENABLE=1"]))
    assert len(scenario) == 14 and scenario[0][0] == 20
    assert scenario[0][2].params["FS_GCS_ENABLE"] == 1.0


async def test_the_command_runs_copters_that_reach_the_ground_station() -> None:
    gcs = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    gcs.bind(("127.0.0.1", 0))
    gcs.setblocking(False)
    port = gcs.getsockname()[1]
    args = parse_args(["--udp", f"127.0.0.1:{port}", "--count", "2", "--sysid", "40",
                       "--speed", "20", "--duration", "4"])
    await run(args)
    parser = mavlink.MAVLink(None)
    senders = set()
    while True:
        try:
            data = gcs.recv(65536)
        except BlockingIOError:
            break
        for msg in parser.parse_buffer(data) or []:
            if msg.get_type() == "HEARTBEAT":
                senders.add(msg.get_srcSystem())
    gcs.close()
    assert senders == {40, 41}
    await asyncio.sleep(0)
