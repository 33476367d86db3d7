"""Rider events that are not vehicle faults: a rider who does not show up fails that trip with
the reason, and the vehicle stays in service (before, a `no_show` put the whole vehicle in fault
and re-planned everyone). Real service and protocol cores in memory (`test_ground_charging`'s
world)."""

from __future__ import annotations

from pathlib import Path

from tests.fleet.test_ground_charging import world


async def test_a_no_show_fails_that_trip_only(tmp_path: Path) -> None:
    async with world(tmp_path, buses=1, pms=1) as w:
        trip = w.trip("home-utase-1", "kaihin-makuhari", "mobility")
        record = w.service.records.trips[trip]
        assert record.state == "assigned" and record.vehicle_id == "pm-01"
        w.vehicle("pm-01").no_show(trip)
        await w.run_until(lambda: record.state == "failed", 1800.0)
        assert "did not show up at home-utase-1" in record.reason
        gv = w.service.ground.vehicles["pm-01"]
        assert gv.out_of_service == "" and gv.stops == []
        states = [
            e.data["state"] for e in w.service.journal.history("pm-01") if e.kind == "vehicle.state"
        ]
        assert "fault" not in states
        again = w.trip("home-utase-1", "kaihin-makuhari", "mobility")
        assert w.service.records.trips[again].vehicle_id == "pm-01"
        await w.run_until(lambda: w.service.records.trips[again].state == "dropped_off", 3600.0)
