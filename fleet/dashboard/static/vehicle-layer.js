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
 *   outside the canvas are culled;
 * - each vehicle is one copy of a pre-rendered sprite (an ImageBitmap per kind, link state and
 *   10-degree heading) at a whole pixel: without a GPU, rasterising 1,000 anti-aliased vector
 *   discs and ticks per frame was most of the browser's work, copying bitmaps is a fraction;
 * - the canvas ignores the pointer: the page finds the vehicle under the mouse with `nearest`.
 *
 * Uses Leaflet 1.9's renderer hooks (`_update`, `_redraw`, `_draw`, `_bounds`, `_ctx`), pinned by
 * the vendored copy in vendor/leaflet.
 */
"use strict";

const SPRITE_PX = 36; // room for a bus's disc and heading tick
const HEADING_STEP_DEG = 10; // headings are drawn to the nearest 10 degrees

const VehicleCanvas = L.Canvas.extend({
  options: { padding: 0.1, radiusPx: 5, busRadiusPx: 7, headingPx: 8, styles: {} },

  /* entries: () => iterable of {data: {id, kind, lat, lon, heading, link}, pz, px, py} */
  initialize(entries, options) {
    L.Canvas.prototype.initialize.call(this, options);
    this._entries = entries;
    this.selected = null;
    this.hiddenKinds = new Set(); // kinds the operator switched off in the legend
    this.lastDraw = { drawn: 0, culled: 0, unplaced: 0, hidden: 0, ms: 0 };
    this._sprites = new Map(); // kind|lost|heading bucket -> ImageBitmap (or canvas)
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
      if (!Number.isFinite(entry.data.lat) || !Number.isFinite(entry.data.lon)) {
        entry.px = entry.py = NaN; // not placed (no position yet)
        entry.pz = zoom;
        return;
      }
      const p = this._map.project([entry.data.lat, entry.data.lon], zoom);
      entry.px = p.x;
      entry.py = p.y;
      entry.pz = zoom;
    }
  },

  /* A vehicle's look (disc, outline, heading tick) drawn once into a small canvas; a frame then
   * copies it to each vehicle's place, which costs far less to rasterise than 1,000 paths. */
  _sprite(kind, lost, bucket) {
    const key = `${kind}|${lost}|${bucket}`;
    let sprite = this._sprites.get(key);
    if (sprite) return sprite;
    const o = this.options;
    const dpr = window.devicePixelRatio || 1;
    const px = Math.ceil(SPRITE_PX * dpr);
    const canvas = typeof OffscreenCanvas === "function" ? new OffscreenCanvas(px, px) : document.createElement("canvas");
    canvas.width = canvas.height = px;
    const c = canvas.getContext("2d");
    c.scale(dpr, dpr);
    const mid = SPRITE_PX / 2;
    const r = kind === "bus" ? o.busRadiusPx : o.radiusPx;
    const color = (o.styles[kind] || o.styles.drone).color;
    c.globalAlpha = lost ? 0.4 : 1;
    if (bucket >= 0) { // the heading, under the disc
      const a = (bucket * HEADING_STEP_DEG * Math.PI) / 180;
      c.beginPath();
      c.moveTo(mid, mid);
      c.lineTo(mid + (r + o.headingPx) * Math.sin(a), mid - (r + o.headingPx) * Math.cos(a));
      c.lineCap = "round";
      c.lineWidth = 2;
      c.strokeStyle = color;
      c.stroke();
    }
    c.beginPath();
    c.arc(mid, mid, r, 0, 2 * Math.PI);
    c.fillStyle = color;
    c.fill();
    c.setLineDash(lost ? [2, 2] : []);
    c.lineWidth = 1;
    c.strokeStyle = "#000";
    c.stroke();
    // an immutable bitmap is the cheapest source to copy from
    sprite = canvas.transferToImageBitmap ? canvas.transferToImageBitmap() : canvas;
    this._sprites.set(key, sprite);
    return sprite;
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
    const half = SPRITE_PX / 2;
    const buckets = 360 / HEADING_STEP_DEG;
    let drawn = 0;
    let culled = 0;
    let unplaced = 0;
    let hidden = 0;
    let selected = null;
    for (const entry of this._entries()) {
      if (this.hiddenKinds.has(entry.data.kind)) {
        hidden += 1;
        continue;
      }
      this._project(entry, zoom);
      if (Number.isNaN(entry.px)) {
        unplaced += 1;
        continue;
      }
      // whole pixels: the sprite is copied, not resampled
      const x = Math.round(entry.px - origin.x);
      const y = Math.round(entry.py - origin.y);
      if (x < min.x - half || x > max.x + half || y < min.y - half || y > max.y + half) {
        culled += 1;
        continue;
      }
      const v = entry.data;
      const h = v.heading;
      const bucket = Number.isFinite(h) ? Math.round((((h % 360) + 360) % 360) / HEADING_STEP_DEG) % buckets : -1;
      ctx.drawImage(this._sprite(v.kind, v.link === "lost", bucket), x - half, y - half, SPRITE_PX, SPRITE_PX);
      if (v.id === this.selected) selected = [x, y, v.kind === "bus"];
      drawn += 1;
    }
    if (selected) { // a ring an operator finds at a glance
      const [x, y, bus] = selected;
      ctx.save();
      ctx.beginPath();
      ctx.arc(x, y, (bus ? o.busRadiusPx : o.radiusPx) + 4, 0, 2 * Math.PI);
      ctx.strokeStyle = "#ffbf47";
      ctx.lineWidth = 3;
      ctx.stroke();
      ctx.restore();
    }
    this.lastDraw = { drawn, culled, unplaced, hidden, ms: performance.now() - t0 };
  },

  /* The vehicle entry nearest to a layer point, within maxPx, or null. */
  nearest(layerPoint, maxPx = 9) {
    if (!this._map) return null;
    const zoom = this._map.getZoom();
    const origin = this._map.getPixelOrigin();
    let best = null;
    let bestD2 = maxPx * maxPx;
    for (const entry of this._entries()) {
      if (this.hiddenKinds.has(entry.data.kind)) continue;
      this._project(entry, zoom);
      if (Number.isNaN(entry.px)) continue;
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
