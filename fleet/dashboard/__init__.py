"""The operator dashboard: a static single page (Leaflet map + panels) served by the operator API.

The page talks only to the public operator API and live feed, with the operator's token, so it
can do nothing a script with the same token could not. Leaflet ships in `static/vendor/` so the
dashboard works offline; base map tiles are optional.
"""

from __future__ import annotations

from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"
"""Directory holding index.html, app.js, app.css and the vendored Leaflet."""
