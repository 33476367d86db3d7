"""The operator dashboard: a static single page (Leaflet map + panels) served by the operator API.

The page talks only to the public operator API and live feed, with the operator's token, so it
can do nothing a script with the same token could not. Leaflet ships in `static/vendor/` so the
dashboard works offline; base map tiles are optional. `static/app.js` is the page,
`static/feed.js` folds the live feed into it, `static/vehicle-layer.js` draws the whole fleet on
one canvas (see docs/dashboard.md for how it stays smooth at 1,000 vehicles). `bench_fleet.py`
and `bench_probe.js` serve the benchmark `python -m fleet.dashboard_bench`.
"""

from __future__ import annotations

from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"
"""Directory holding index.html, app.js, feed.js, vehicle-layer.js, app.css and vendored Leaflet."""
