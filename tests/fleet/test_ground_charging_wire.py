"""Charging over the real wire: the service (`python -m fleet serve`'s code, in-process) sends a
low bus to its depot with the ground protocol's `return_to_depot` over a loopback websocket, the
simulated bus charges there, and a plan over the same socket puts it back on its loop."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fleet.fleet_service_harness import ground_world, until

SPEED = 250.0


@pytest.mark.slow
async def test_a_low_bus_is_sent_to_charge_and_back_over_websockets(tmp_path: Path) -> None:
    async with ground_world(tmp_path, SPEED, {"bus-1": "messe", "bus-2": "wakaba"}) as world:
        service = world.api.service
        bus = world.fleet.runner.vehicle("bus-1")
        bus.battery_soc = 0.29  # under the 30 % charge level
        gv = service.ground.vehicles["bus-1"]
        await until(lambda: gv.out_of_service in ("going to charge", "charging"), wall_s=30)
        await until(lambda: gv.out_of_service == "charging", wall_s=60)
        assert bus.telemetry().charging
        assert service.records.vehicles["bus-1"].telemetry["vehicle_state"] == "charging"
        await until(lambda: gv.out_of_service == "", wall_s=90)
        assert bus.battery_soc >= 0.9
        await until(lambda: bus.state.value == "en_route", wall_s=30)  # back on its loop
        actions = [
            e.data["action"]
            for e in service.journal.history("bus-1")
            if e.kind == "supervisor" and str(e.data["action"]).startswith("charge: ")
        ]
        assert actions == ["charge: to_depot", "charge: charging", "charge: in_service"]
