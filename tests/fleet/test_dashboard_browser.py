"""The operator dashboard in a real browser (Debian's chromium driven by Playwright) against the
real service with simulated vehicles: personal mobility vehicles over the ground websocket and a
copter over real MAVLink (loopback UDP). Vehicles move on the map, a trip and a parcel order
submitted from the page appear and are assigned (the trip to a vehicle, the parcel to the
drone), and a viewer's action is refused.

Skipped, with the reason, where no chromium is installed (`.ci/run` installs it, so CI runs it).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from fleet.api import create_app
from fleet.config import parse_config
from fleet.drones import DroneOperations, link_config
from fleet.service import FleetService
from sim.copter.battery import BatterySpec
from sim.copter.flight import CopterConfig
from sim.copter.swarm import CopterSwarm
from sim.ground.mobility import PersonalMobility
from sim.ground.network import load_network
from sim.ground.wire import WireFleet
from vehicles.clock import ScaledClock
from vehicles.mavlink import UdpEndpoint

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright_api = pytest.importorskip("playwright.async_api", reason="playwright is not installed")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None, reason="no chromium on this machine: apt-get install chromium"
    ),
]
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SPEED = 25.0  # the copter re-asks for mission items after 1 s of its clock: keep that >= 40 ms wall
WAREHOUSE, PORT = "narashino-akanehama", "port-cross-tower"
ORDER_ASSIGNED_OR_LATER = ("assigned", "loaded", "in_flight", "delivered")
TRIP_ASSIGNED_OR_LATER = ("assigned", "picked_up", "dropped_off")


def _data(tmp: Path, port: int) -> dict[str, Any]:
    return {
        "service": {"journal": str(tmp / "journal.sqlite")},
        "listen": {"http": f"127.0.0.1:{port}", "vehicle_ws": "127.0.0.1:0"},
        "supervisor": {"link_degraded_s": 3 * SPEED, "ground_lost_s": 6 * SPEED},
        "operators": [
            {"name": "mobility-op", "token": "tok-mobility-1", "role": "mobility"},
            {"name": "logistics-op", "token": "tok-logistics-1", "role": "logistics"},
            {"name": "viewer-op", "token": "tok-viewer-1", "role": "viewer"},
        ],
        "sites": [
            {
                "id": WAREHOUSE,
                "kind": "warehouse",
                "name": "Akanehama south tip",
                "name_ja": "茜浜南端",
                "lat_deg": 35.655,
                "lon_deg": 140.0,
            },
            {
                "id": PORT,
                "kind": "drone_port",
                "name": "Cross Tower drone port",
                "name_ja": "クロスタワー ドローンポート",
                "lat_deg": 35.6472,
                "lon_deg": 140.0486,
            },
            {
                "id": "pm-depot",
                "kind": "depot",
                "name": "PM port",
                "name_ja": "ポート",
                "lat_deg": 35.646247,
                "lon_deg": 140.041516,
            },
            {
                "id": "home-utase-1",
                "kind": "home",
                "name": "Utase 1",
                "name_ja": "打瀬1丁目",
                "lat_deg": 35.642727,
                "lon_deg": 140.045138,
            },
            {
                "id": "messe",
                "kind": "stop",
                "name": "Makuhari Messe",
                "name_ja": "幕張メッセ",
                "lat_deg": 35.64833,
                "lon_deg": 140.03472,
            },
        ],
        "vehicles": [
            {
                "id": f"pm-0{i}",
                "kind": "mobility",
                "home": "pm-depot",
                "token": f"pm-0{i}-secret-token",
            }
            for i in (1, 2)
        ]
        + [{"id": "drone-07", "kind": "drone", "home": WAREHOUSE, "sysid": 7}],
    }


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[str]:
    clock = ScaledClock(SPEED)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    service = FleetService(parse_config(_data(tmp_path, port)), clock=clock)
    await service.start()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(service),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
            ws="websockets-sansio",
        )
    )
    task = asyncio.create_task(server.serve())
    assert service.ground_server is not None
    fleet = WireFleet(
        service.ground_server.url,
        clock,
        {"pm-01": "pm-01-secret-token", "pm-02": "pm-02-secret-token"},
        telemetry_period_s=SPEED / 4,
    )
    net = load_network()
    fleet.add(PersonalMobility("pm-01", net, start="pm-depot"))
    fleet.add(PersonalMobility("pm-02", net, start="home-utase-1"))
    await fleet.start()
    # the drone: a simulated copter speaking MAVLink to the service's endpoint over loopback UDP
    service._air_leg_s(WAREHOUSE, PORT)  # build the airspace matrix before the link runs
    endpoint = await UdpEndpoint.start(
        host="127.0.0.1", port=0, clock=clock, config=link_config(SPEED)
    )
    ops = DroneOperations(service, endpoint)
    service.drone_link = ops
    ops.start()
    swarm = CopterSwarm(clock, step_s=0.05 * SPEED / 5.0)
    home = service.sites[WAREHOUSE]
    battery = BatterySpec(capacity_mah=service.config.drone.battery_wh / 22.2 * 1000.0)
    await swarm.add_udp(
        7,
        ("127.0.0.1", endpoint.port),
        CopterConfig(
            home_lat_deg=home.lat_deg,
            home_lon_deg=home.lon_deg,
            home_alt_amsl_m=0.0,
            battery=battery,
        ),
    )
    swarm.start()
    try:
        async with asyncio.timeout(30):
            while not server.started:
                await asyncio.sleep(0.05)
            await fleet.wait_connected()
            while not service.drones.drones["drone-07"].online:
                await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        await ops.stop()
        await swarm.close()
        await endpoint.close()
        await fleet.stop()
        server.should_exit = True
        await task
        await service.stop()


async def _login(browser: Any, base: str, token: str) -> Any:
    page = await (await browser.new_context(viewport={"width": 1400, "height": 900})).new_page()
    await page.goto(f"{base}/dashboard/")
    await page.fill("#token", token)
    await page.press("#token", "Enter")
    await page.wait_for_function("state.vehicles.size >= 3", timeout=30_000)
    return page


async def test_dashboard_shows_moving_vehicles_takes_requests_and_refuses_a_viewer(
    site: str,
) -> None:
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            # a mobility operator submits a trip from the page: it appears and is assigned
            page = await _login(browser, site, "tok-mobility-1")
            assert "mobility" in await page.inner_text("#who")
            await page.select_option("#trip-from", "home-utase-1")
            await page.select_option("#trip-to", "messe")
            await page.click("#trip-form button[type=submit]")
            # the answer is at once ("assigned"); the vehicle may pick the rider up before we look
            assigned = ", ".join(f"#trips li .badge.{s}" for s in TRIP_ASSIGNED_OR_LATER)
            await page.wait_for_selector(assigned, timeout=30_000)
            trip_row = await page.inner_text("#trips li")
            assert "home-utase-1 → messe" in trip_row and "pm-0" in trip_row
            # the map shows the vehicles moving (their markers' positions change)
            before = await page.evaluate(
                "[...state.vehicles.values()].map(e => [e.data.lat, e.data.lon])"
            )
            await page.wait_for_function(
                "JSON.stringify([...state.vehicles.values()].map(e => [e.data.lat, e.data.lon]))"
                " !== "
                f"'{json.dumps(before, separators=(',', ':'))}'",
                timeout=30_000,
            )
            last = await page.evaluate("vehicleLayer.lastDraw")
            drawn = last["drawn"] + last["culled"] + last["unplaced"] + last["hidden"]
            assert drawn == await page.evaluate("state.vehicles.size") >= 3
            # a logistics operator submits a parcel from the page: it is assigned to the drone
            desk = await _login(browser, site, "tok-logistics-1")
            await desk.select_option("#order-from", WAREHOUSE)
            await desk.select_option("#order-to", PORT)
            await desk.fill("#order-weight", "1.0")
            await desk.click("#order-form button[type=submit]")
            # the answer is at once ("assigned"); the flight may move it on before we look
            flown = ", ".join(f"#orders li .badge.{s}" for s in ORDER_ASSIGNED_OR_LATER)
            await desk.wait_for_selector(flown, timeout=30_000)
            order_row = await desk.inner_text("#orders li")
            assert f"{WAREHOUSE} → {PORT}" in order_row and "drone-07" in order_row, order_row
            assert "Order ord-" in await desk.inner_text("#status")
            assert "drone offline" not in order_row
            shot = os.environ.get("KAITEKI_DASHBOARD_SCREENSHOT")  # docs/dashboard.png is made so
            if shot:
                await page.screenshot(path=shot)
            # a viewer sees everything but the service refuses its action, and the page says so
            viewer = await _login(browser, site, "tok-viewer-1")
            await viewer.wait_for_selector("#trips li", timeout=20_000)  # a viewer sees the trip
            await viewer.select_option("#trip-from", "home-utase-1")
            await viewer.select_option("#trip-to", "messe")
            await viewer.click("#trip-form button[type=submit]")
            await viewer.wait_for_function(
                "document.querySelector('#status').textContent.includes('role')", timeout=20_000
            )
            assert "Your role may not do this" in await viewer.inner_text("#status")
            assert await viewer.locator("#trips li").count() == 1  # nothing was created
        finally:
            await browser.close()
