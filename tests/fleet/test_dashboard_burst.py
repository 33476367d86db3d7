"""The dashboard keeps up with a burst of 1,000 vehicles: every one counted and drawn.

The real service and operator API on loopback; 1,000 position updates published into its live
feed in one go (as the vehicle servers publish them), laid out on a grid of the map so that no
two discs overlap; then the page in headless chromium must count 1,000 vehicles and show each
one's colour at its position on the vehicle canvas (read back pixel by pixel); panned so that part
of the fleet leaves the canvas, the page must cull those and still draw every other one where it
is; a vehicle's disc answers the mouse (tooltip, selection); a kind switched off in the legend
is not drawn; events beyond the page's queue are
shown as missed. Correctness, not speed: nothing is timed.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from fleet.dashboard_bench import CHROMIUM_ARGS, TOKEN, serving
from fleet.service import FleetService

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright_api = pytest.importorskip("playwright.async_api", reason="playwright is not installed")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.timeout(120),
    pytest.mark.skipif(
        CHROMIUM is None, reason="no chromium on this machine: apt-get install chromium"
    ),
]
N, COLUMNS, SPACING_PX = 1000, 40, 20
COLOURS = {"drone": (0xC0, 0x39, 0x2B), "bus": (0x1F, 0x5F, 0xA8), "mobility": (0x18, 0x81, 0x3A)}

GRID = """([n, columns, spacing]) => {
  map.setView([35.645, 140.04], 15, { animate: false });
  const out = [];
  for (let i = 0; i < n; i += 1) {
    const p = L.point(30 + (i % columns) * spacing, 30 + Math.floor(i / columns) * spacing);
    const ll = map.containerPointToLatLng(p);
    out.push([ll.lat, ll.lng]);
  }
  return out;
}"""

# each vehicle's colour at the centre of its disc on the vehicle canvas
PIXELS = """() => {
  const canvas = vehicleLayer._container;
  const img = vehicleLayer._ctx.getImageData(0, 0, canvas.width, canvas.height);
  const out = {};
  for (const [id, entry] of state.vehicles) {
    const [x, y] = vehicleLayer.canvasPixel(entry);
    if (x < 0 || y < 0 || x >= canvas.width || y >= canvas.height) continue; // off the canvas
    const k = (y * canvas.width + x) * 4;
    out[id] = [entry.data.kind, img.data[k], img.data[k + 1], img.data[k + 2], img.data[k + 3]];
  }
  return out;
}"""


# where a vehicle is in the page, in CSS pixels
ON_SCREEN = """(id) => {
  const d = state.vehicles.get(id).data;
  const p = map.latLngToContainerPoint([d.lat, d.lon]);
  const r = map.getContainer().getBoundingClientRect();
  return [r.left + p.x, r.top + p.y];
}"""


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[tuple[FleetService, int]]:
    async with serving(tmp_path) as (service, port):
        yield service, port


def burst(service: FleetService, grid: list[list[float]]) -> None:
    kinds = ("drone", "bus", "mobility")
    for i, (lat, lon) in enumerate(grid):
        kind = kinds[i % 3]
        message = {
            "type": "vehicle",
            "id": f"{kind}-{i:04d}",
            "kind": kind,
            "state": "busy",
            "link": "up",
            "lat_deg": lat,
            "lon_deg": lon,
            "heading_deg": 0.0,
            "battery_soc": 0.8,
        }
        service.feed.publish(message, kind=kind, lat=lat, lon=lon)


async def test_a_burst_of_1000_vehicles_is_counted_drawn_and_culled(
    site: tuple[FleetService, int],
) -> None:
    service, port = site
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await (
                await browser.new_context(viewport={"width": 1400, "height": 900})
            ).new_page()
            await page.goto(f"http://127.0.0.1:{port}/dashboard/")
            await page.fill("#token", TOKEN)
            await page.press("#token", "Enter")
            await page.wait_for_function("state.feedUp", timeout=30_000)
            grid: list[list[float]] = await page.evaluate(GRID, [N, COLUMNS, SPACING_PX])
            burst(service, grid)  # 1,000 updates in one go, as fast as the service can publish
            await page.wait_for_function(
                f"state.vehicles.size === {N} && !state.needsDraw"
                f" && vehicleLayer.lastDraw.drawn === {N}",
                timeout=30_000,
            )
            pixels: dict[str, list[Any]] = await page.evaluate(PIXELS)
            wrong = {
                vid: p for vid, p in pixels.items() if tuple(p[1:4]) != COLOURS[p[0]] or p[4] != 255
            }
            assert len(pixels) == N and not wrong, list(wrong.items())[:5]
            assert await page.evaluate("feedStats.positions") == N
            await page.wait_for_function(
                f"document.querySelector('#vehicle-count').textContent === '{N}'", timeout=20_000
            )
            assert await page.locator("#vehicles li[data-id]").count() == 100  # the first 100
            assert "900 more" in await page.inner_text("#vehicles-more")
            # the operator hides the drones in the legend: they are not drawn, the others are
            await page.click("#legend input[data-kind=drone]")
            drones = sum(1 for p in pixels.values() if p[0] == "drone")
            await page.wait_for_function(
                f"vehicleLayer.lastDraw.hidden === {drones}", timeout=20_000
            )
            shown: dict[str, list[Any]] = await page.evaluate(PIXELS)
            assert all(p[4] == 0 for p in shown.values() if p[0] == "drone")  # transparent
            assert all(tuple(p[1:4]) == COLOURS[p[0]] for p in shown.values() if p[0] != "drone")
            await page.click("#legend input[data-kind=drone]")
            await page.wait_for_function(f"vehicleLayer.lastDraw.drawn === {N}", timeout=20_000)
            # a click on a vehicle's disc selects it (the canvas finds the nearest vehicle)
            target = "bus-0001"
            x, y = await page.evaluate(ON_SCREEN, target)
            await page.mouse.move(x + 2, y + 1)
            await page.wait_for_selector(".leaflet-tooltip", timeout=20_000)
            assert target in await page.inner_text(".leaflet-tooltip")
            await page.mouse.click(x + 2, y + 1)
            await page.wait_for_function(
                f"document.querySelector('#vehicle-detail').textContent.includes('{target}')",
                timeout=20_000,
            )
            assert await page.evaluate("vehicleLayer.selected") == target
            # the view moved 500 px east: the western columns leave the canvas and are culled
            await page.evaluate("void map.panBy([500, 0], { animate: false })")
            await page.wait_for_function("vehicleLayer.lastDraw.culled > 0", timeout=20_000)
            last = await page.evaluate("vehicleLayer.lastDraw")
            assert last["drawn"] + last["culled"] == N and 0 < last["drawn"] < N
            # the canvas moved with the view: the vehicles still on it are drawn where they are
            on_canvas: dict[str, list[Any]] = await page.evaluate(PIXELS)
            wrong = {
                vid: p
                for vid, p in on_canvas.items()
                if tuple(p[1:4]) != COLOURS[p[0]] or p[4] != 255
            }
            assert 0 < len(on_canvas) <= last["drawn"] and not wrong, list(wrong.items())[:5]
            # zoomed in: positions are projected again for the new zoom level
            await page.evaluate("void map.setZoom(16, { animate: false })")
            await page.wait_for_function(
                "vehicleLayer.lastDraw.drawn + vehicleLayer.lastDraw.culled === 1000"
                " && [...state.vehicles.values()].every(e => e.pz === 16)",
                timeout=20_000,
            )
            zoomed: dict[str, list[Any]] = await page.evaluate(PIXELS)
            wrong = {
                vid: p for vid, p in zoomed.items() if tuple(p[1:4]) != COLOURS[p[0]] or p[4] != 255
            }
            assert 0 < len(zoomed) < len(on_canvas) and not wrong, list(wrong.items())[:5]
            # 1,500 events at once: the page's queue holds 1,000; it shows the rest as missed
            for seq in range(1500):
                service.feed.publish(
                    {
                        "type": "supervisor",
                        "seq": seq,
                        "kind": "supervisor",
                        "subject": "bus-0001",
                        "actor": "supervisor",
                        "data": {"action": "hold", "detail": f"event {seq}"},
                    }
                )
            await page.wait_for_function(
                "document.querySelector('#feed-health').textContent.includes('500 events missed')",
                timeout=20_000,
            )
            newest = await page.inner_text("#events li.supervisor >> nth=0")
            assert "event 1499" in newest
        finally:
            await browser.close()
