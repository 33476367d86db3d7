/* kaiteki dashboard: the whole fleet on one canvas.
 *
 * A map developer's answer to "1,000 moving vehicles": not 2,000 Leaflet layers (one marker and
 * one heading line per vehicle, each re-projected, re-styled and re-bound on every update), but
 * one canvas that the page redraws at most once per animation frame, when something changed:
 *
 * - it is a Leaflet canvas renderer (`L.Canvas`) with no paths of its own, so Leaflet keeps doing
 *   what it does well (placing the canvas with some padding around the view, moving it with the
 *   map while dragging, scaling it during the zoom animation, high-DPI screens);
 * - positions are projected once per zoom level and per update (cached on the entry), vehicles
 *   outside the canvas are culled, and all vehicles of one style are one path (one fill, one
 *   stroke), so a frame is a few canvas calls per style plus arithmetic per vehicle;
 * - the canvas ignores the pointer: the page finds the vehicle under the mouse with `nearest`.
 *
 * Uses Leaflet 1.9's renderer hooks (`_update`, `_redraw`, `_draw`, `_bounds`, `_ctx`), pinned by
 * the vendored copy in vendor/leaflet.
 */
"use strict";

const VehicleCanvas = L.Canvas.extend({
  options: { padding: 0.1, radiusPx: 5, busRadiusPx: 7, headingPx: 8, styles: {} },

  /* entries: () => iterable of {data: {id, kind, lat, lon, heading, link}, pz, px, py} */
  initialize(entries, options) {
    L.Canvas.prototype.initialize.call(this, options);
    this._entries = entries;
    this.selected = null;
    this.lastDraw = { drawn: 0, culled: 0, ms: 0 };
  },

  onAdd(map) {
    L.Canvas.prototype.onAdd.call(this, map);
    this._container.style.pointerEvents = "none"; // clicks go to the map (see nearest)
    this._container.setAttribute("aria-hidden", "true"); // the vehicle list is the accessible view
  },

  _updatePaths() { // Leaflet moved or resized the canvas: draw everything again
    if (!this._postponeUpdatePaths) this._redraw();
  },

  /* Draw now (the page calls this from its animation frame when vehicles changed). */
  draw() {
    if (this._map && this._bounds && !this._map._animatingZoom) this._redraw();
  },

  _project(entry, zoom) {
    if (entry.pz !== zoom) {
      const p = this._map.project([entry.data.lat, entry.data.lon], zoom);
      entry.px = p.x;
      entry.py = p.y;
      entry.pz = zoom;
    }
  },

  _draw() {
    const map = this._map;
    if (!map || !this._bounds) return;
    const t0 = performance.now();
    const ctx = this._ctx;
    const { min, max } = this._bounds;
    const zoom = map.getZoom();
    const origin = map.getPixelOrigin();
    const o = this.options;
    const margin = o.busRadiusPx + o.headingPx;
    const groups = new Map(); // style key -> {style, lost, bus, xs, ys, hs}
    let drawn = 0;
    let culled = 0;
    let selected = null;
    for (const entry of this._entries()) {
      this._project(entry, zoom);
      const x = entry.px - origin.x;
      const y = entry.py - origin.y;
      if (x < min.x - margin || x > max.x + margin || y < min.y - margin || y > max.y + margin) {
        culled += 1;
        continue;
      }
      const v = entry.data;
      const lost = v.link === "lost";
      const bus = v.kind === "bus";
      const key = `${v.kind}|${lost}`;
      let g = groups.get(key);
      if (!g) {
        g = { style: o.styles[v.kind] || o.styles.drone, lost, bus, xs: [], ys: [], hs: [] };
        groups.set(key, g);
      }
      g.xs.push(x);
      g.ys.push(y);
      g.hs.push(Number.isFinite(v.heading) ? (v.heading * Math.PI) / 180 : NaN);
      if (v.id === this.selected) selected = [x, y, bus];
      drawn += 1;
    }
    ctx.save();
    ctx.lineCap = "round";
    for (const g of groups.values()) { // headings under the discs
      const r = (g.bus ? o.busRadiusPx : o.radiusPx) + o.headingPx;
      ctx.beginPath();
      for (let i = 0; i < g.xs.length; i += 1) {
        const a = g.hs[i];
        if (Number.isNaN(a)) continue;
        ctx.moveTo(g.xs[i], g.ys[i]);
        ctx.lineTo(g.xs[i] + r * Math.sin(a), g.ys[i] - r * Math.cos(a));
      }
      ctx.globalAlpha = g.lost ? 0.4 : 1;
      ctx.strokeStyle = g.style.color;
      ctx.lineWidth = 2;
      ctx.stroke();
    }
    for (const g of groups.values()) {
      const r = g.bus ? o.busRadiusPx : o.radiusPx;
      ctx.beginPath();
      for (let i = 0; i < g.xs.length; i += 1) {
        ctx.moveTo(g.xs[i] + r, g.ys[i]);
        ctx.arc(g.xs[i], g.ys[i], r, 0, 2 * Math.PI);
      }
      ctx.globalAlpha = g.lost ? 0.4 : 1;
      ctx.fillStyle = g.style.color;
      ctx.fill();
      ctx.setLineDash(g.lost ? [2, 2] : []);
      ctx.strokeStyle = "#000";
      ctx.lineWidth = 1;
      ctx.stroke();
    }
    if (selected) { // a ring an operator finds at a glance
      const [x, y, bus] = selected;
      ctx.globalAlpha = 1;
      ctx.setLineDash([]);
      ctx.beginPath();
      ctx.arc(x, y, (bus ? o.busRadiusPx : o.radiusPx) + 4, 0, 2 * Math.PI);
      ctx.strokeStyle = "#ffbf47";
      ctx.lineWidth = 3;
      ctx.stroke();
    }
    ctx.restore();
    this.lastDraw = { drawn, culled, ms: performance.now() - t0 };
  },

  /* The vehicle entry nearest to a layer point, within maxPx, or null. */
  nearest(layerPoint, maxPx = 9) {
    if (!this._map) return null;
    const zoom = this._map.getZoom();
    const origin = this._map.getPixelOrigin();
    let best = null;
    let bestD2 = maxPx * maxPx;
    for (const entry of this._entries()) {
      this._project(entry, zoom);
      const dx = entry.px - origin.x - layerPoint.x;
      const dy = entry.py - origin.y - layerPoint.y;
      const d2 = dx * dx + dy * dy;
      if (d2 <= bestD2) {
        best = entry;
        bestD2 = d2;
      }
    }
    return best;
  },

  /* Where an entry's centre is on the canvas, in canvas pixels (for tests and tools). */
  canvasPixel(entry) {
    const map = this._map;
    this._project(entry, map.getZoom());
    const origin = map.getPixelOrigin();
    const scale = this._container.width / Math.max(1, this._bounds.getSize().x);
    return [
      Math.round((entry.px - origin.x - this._bounds.min.x) * scale),
      Math.round((entry.py - origin.y - this._bounds.min.y) * scale),
    ];
  },
});
