"""`report.html`: the run as a person would rather look at than read.

One self-contained page (inline SVG and CSS, no scripts, no network): a map of the coastline,
the airspace volumes and every vehicle's track; KPI tables; plots of delivery times, on-time
rates, rider waits and rides, utilisation; and the safety figures against their limits.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sim.scenario.record import RunRecord

LonLat = tuple[float, float]


@dataclass(frozen=True, slots=True)
class MapLayer:
    """Polygons (rings of lon/lat) drawn in one style, listed in the map's legend."""

    label: str
    rings: Sequence[Sequence[LonLat]]
    fill: str
    stroke: str
    opacity: float = 0.35


TRACK_COLOURS = {"drone": "#d62728", "bus": "#1f77b4", "mobility": "#2ca02c"}


class _Frame:
    """Equirectangular projection of a lon/lat box onto an SVG canvas."""

    def __init__(self, box: tuple[float, float, float, float], width: float) -> None:
        self.lon0, self.lat0, self.lon1, self.lat1 = box
        k = math.cos(math.radians((self.lat0 + self.lat1) / 2))
        self.width = width
        self.height = width * (self.lat1 - self.lat0) / ((self.lon1 - self.lon0) * k)

    def xy(self, lon: float, lat: float) -> str:
        x = (lon - self.lon0) / (self.lon1 - self.lon0) * self.width
        y = (self.lat1 - lat) / (self.lat1 - self.lat0) * self.height
        return f"{x:.1f},{y:.1f}"


def _map_svg(
    record: RunRecord,
    layers: Sequence[MapLayer],
    box: tuple[float, float, float, float],
    sites: Sequence[tuple[str, float, float]],
) -> str:
    frame = _Frame(box, 900.0)
    parts = [
        f'<svg viewBox="0 0 {frame.width:.0f} {frame.height:.0f}" role="img" '
        'aria-label="Map of the run: coastline, airspace and vehicle tracks" class="map">',
        f'<rect width="{frame.width:.0f}" height="{frame.height:.0f}" fill="#cfe8f7"/>',
    ]
    for layer in layers:
        for ring in layer.rings:
            points = " ".join(frame.xy(lon, lat) for lon, lat in ring)
            parts.append(
                f'<polygon points="{points}" fill="{layer.fill}" fill-opacity="{layer.opacity}" '
                f'stroke="{layer.stroke}" stroke-width="0.6"/>'
            )
    for name in sorted(record.tracks):
        track = record.tracks[name]
        if len(track.points) < 2:
            continue
        colour = TRACK_COLOURS.get(track.kind, "#555")
        points = " ".join(frame.xy(p.lon_deg, p.lat_deg) for p in track.points)
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.2" '
            f'stroke-opacity="0.7"><title>{html.escape(name)}</title></polyline>'
        )
    for label, lat, lon in sites:
        x, y = frame.xy(lon, lat).split(",")
        parts.append(
            f'<circle cx="{x}" cy="{y}" r="4" fill="#000"/><text x="{float(x) + 6:.1f}" '
            f'y="{float(y) - 4:.1f}" class="site">{html.escape(label)}</text>'
        )
    legend_y = 18.0
    legend = [(layer.label, layer.fill) for layer in layers] + [
        (f"{kind} tracks", colour) for kind, colour in TRACK_COLOURS.items()
    ]
    for label, colour in legend:
        parts.append(
            f'<rect x="10" y="{legend_y - 10:.0f}" width="14" height="10" fill="{colour}"/>'
            f'<text x="30" y="{legend_y:.0f}" class="legend">{html.escape(label)}</text>'
        )
        legend_y += 16
    parts.append("</svg>")
    return "".join(parts)


def _bars(
    title: str, items: Sequence[tuple[str, float]], unit: str, limit: float | None = None
) -> str:
    """A horizontal bar chart; `limit` draws a dashed threshold line."""
    if not items:
        return f"<figure><figcaption>{html.escape(title)}</figcaption><p>No data.</p></figure>"
    top = max([v for _, v in items] + ([limit] if limit is not None else [])) or 1.0
    row, width, label_w = 22, 420.0, 150.0
    height = row * len(items) + 10
    parts = [
        f"<figure><figcaption>{html.escape(title)}</figcaption>"
        f'<svg viewBox="0 0 {label_w + width + 80:.0f} {height}" class="chart" role="img" '
        f'aria-label="{html.escape(title)}">'
    ]
    for i, (label, value) in enumerate(items):
        y = i * row + 4
        w = width * value / top
        parts.append(
            f'<text x="{label_w - 6:.0f}" y="{y + 13}" text-anchor="end">{html.escape(label)}</text>'
            f'<rect x="{label_w:.0f}" y="{y}" width="{w:.1f}" height="16" fill="#4c78a8"/>'
            f'<text x="{label_w + w + 4:.1f}" y="{y + 13}">{value:.4g} {html.escape(unit)}</text>'
        )
    if limit is not None:
        x = label_w + width * limit / top
        parts.append(
            f'<line x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{height}" stroke="#d62728" stroke-dasharray="4 3"/>'
        )
    parts.append("</svg></figure>")
    return "".join(parts)


def _histogram(
    title: str, values: Sequence[float], unit_scale: float, unit: str, bins: int = 12
) -> str:
    if not values:
        return _bars(title, [], unit)
    lo, hi = min(values), max(values)
    step = (hi - lo) / bins or 1.0
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, int((v - lo) / step))] += 1
    items = [
        (
            f"{(lo + i * step) / unit_scale:.0f}-{(lo + (i + 1) * step) / unit_scale:.0f} {unit}",
            float(c),
        )
        for i, c in enumerate(counts)
    ]
    return _bars(title, items, "")


def _table(rows: Sequence[tuple[str, Any]]) -> str:
    body = "".join(
        f"<tr><th scope='row'>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in rows
    )
    return f"<table>{body}</table>"


CSS = """
body{font-family:system-ui,-apple-system,"Hiragino Sans","Noto Sans JP",sans-serif;margin:0;color:#1b1b1b;background:#fafafa}
header{background:#0b3d5c;color:#fff;padding:16px 24px}header h1{margin:0;font-size:1.4rem}
main{padding:16px 24px;display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:20px}
section{background:#fff;border:1px solid #ddd;border-radius:8px;padding:12px 16px}
section.wide{grid-column:1/-1}.map{width:100%;height:auto;border:1px solid #bbb}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eee}
.ok{color:#0a6b2d;font-weight:bold}.bad{color:#b00020;font-weight:bold}
.chart{width:100%;height:auto;font-size:11px}.site{font-size:11px}.legend{font-size:12px}
figure{margin:8px 0}figcaption{font-weight:600;margin-bottom:4px}
"""


def render_html(
    record: RunRecord,
    report: dict[str, Any],
    layers: Sequence[MapLayer],
    box: tuple[float, float, float, float],
    sites: Sequence[tuple[str, float, float]],
) -> str:
    """The whole page."""
    safety = report["safety"]
    orders, trips = report["orders"], report["trips"]

    def verdict(ok: bool) -> str:
        return "<span class='ok'>OK</span>" if ok else "<span class='bad'>NOT MET</span>"

    min_soc = safety["min_landing_battery_soc"]
    min_sep = safety["min_drone_separation_m"]
    safety_rows = (
        f"<tr><th scope='row'>Airspace violations</th><td>{safety['airspace_violations']}</td>"
        f"<td>must be 0</td><td>{verdict(safety['airspace_violations'] == 0)}</td></tr>"
        f"<tr><th scope='row'>Lowest landing battery</th><td>{'-' if min_soc is None else f'{min_soc:.1%}'}</td>"
        f"<td>reserve {safety['reserve_soc']:.0%}</td><td>{verdict(bool(safety['landing_reserve_held']))}</td></tr>"
        f"<tr><th scope='row'>Minimum drone separation</th><td>{'-' if min_sep is None else f'{min_sep:.0f} m'}</td>"
        f"<td>threshold {safety['separation_threshold_m']:.0f} m</td>"
        f"<td>{verdict(min_sep is None or min_sep >= safety['separation_threshold_m'])}</td></tr>"
    )
    parcels = [o for o in record.outcomes if o.kind == "parcel"]
    trip_list = [o for o in record.outcomes if o.kind == "trip"]
    delivery_times = [o.completed_s - o.submitted_s for o in parcels if o.completed_s is not None]
    waits = [
        o.picked_up_s - (o.earliest_s or o.submitted_s)
        for o in trip_list
        if o.picked_up_s is not None
    ]
    rides = [
        o.completed_s - o.picked_up_s
        for o in trip_list
        if o.completed_s is not None and o.picked_up_s is not None
    ]
    outcome_bars = [
        (f"{kind} {status}", float(table[status]))
        for kind, table in (("orders", orders), ("trips", trips))
        for status in ("completed", "on_time", "rejected", "failed")
    ]
    utilisation = [(k, 100.0 * v) for k, v in report["utilisation"].items() if v is not None]
    losses = (
        "".join(
            f"<tr><td>{html.escape(loss.vehicle)}</td><td>{loss.at_s:.0f}</td>"
            f"<td>{'-' if loss.restored_s is None else f'{loss.restored_s:.0f}'}</td><td>{html.escape(loss.action)}</td></tr>"
            for loss in record.link_losses
        )
        or "<tr><td colspan='4'>No link losses.</td></tr>"
    )
    drones = report["drones"]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>kaiteki run report: {
        html.escape(record.scenario)
    }</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><style>{CSS}</style></head>
<body><header><h1>kaiteki 快適 · {html.escape(record.scenario)} · seed {record.seed} · {
        html.escape(record.mode)
    } mode</h1>
<p>{report["sim_hours"]} simulated hours in {report["wall_s"]} s of wall time</p></header>
<main>
<section class="wide"><h2>Map</h2>{_map_svg(record, layers, box, sites)}</section>
<section><h2>Safety</h2><table><tr><th>Figure</th><th>Value</th><th>Limit</th><th></th></tr>{
        safety_rows
    }</table></section>
<section><h2>Deliveries and trips</h2>{
        _table(
            [
                ("Parcel orders", orders["total"]),
                ("delivered", orders["completed"]),
                ("on time", orders["on_time"]),
                ("rejected", orders["rejected"]),
                ("failed", orders["failed"]),
                ("Trip requests", trips["total"]),
                ("completed", trips["completed"]),
                ("on time", trips["on_time"]),
                ("rejected", trips["rejected"]),
                ("failed", trips["failed"]),
                ("Drone distance", f"{drones['distance_km']} km"),
                (
                    "over water",
                    "-"
                    if drones["over_water_fraction"] is None
                    else f"{drones['over_water_fraction']:.0%}",
                ),
                ("Drone energy", f"{drones['energy_wh']} Wh"),
                ("Supervisor actions", report["supervisor_actions"]),
            ]
        )
    }</section>
<section>{_bars("Outcomes", outcome_bars, "")}</section>
<section>{_bars("Vehicle utilisation", utilisation, "%")}</section>
<section>{
        _histogram("Delivery time (submission to delivery)", delivery_times, 60.0, "min")
    }</section>
<section>{_histogram("Rider wait (earliest pickup to pickup)", waits, 60.0, "min")}</section>
<section>{_histogram("Ride time", rides, 60.0, "min")}</section>
<section><h2>Link losses and how they were handled</h2><table><tr><th>Vehicle</th><th>Lost at (s)</th><th>Restored at (s)</th><th>Action</th></tr>{
        losses
    }</table></section>
</main></body></html>
"""
