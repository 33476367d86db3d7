/* kaiteki dashboard: the live feed (a websocket of coalesced batches) and what the page
 * measures about it. Each update is folded into the page's state (app.js: upsertVehicle, the
 * order and trip lists, the event log); drawing and panels happen later, on their own clocks.
 * Loaded before app.js; the functions here run only after app.js has loaded.
 */
"use strict";

/* The live feed in coalesced batches (newest state per vehicle, events in order), at most one
 * frame per FEED_BATCH_MS; `?batch_ms=N` in the page's address overrides it (50..5000). */
const FEED_BATCH_MS = Math.min(5000, Math.max(50, Math.round(Number(new URLSearchParams(location.search).get("batch_ms")) || 100)));

/* What the page measures about itself: the feed's health in the header, and for benchmarks. */
const feedStats = {
  frames: 0, // websocket messages
  items: 0, // updates in them
  positions: 0,
  parseErrors: 0,
  dropped: 0, // events the server had to drop for this client (as the last frame said)
  draws: 0,
  drawMs: 0,
  lagMs: new Float64Array(16384), // ring: wall time from the server's stamp to the drawing
  lagCount: 0,
  reset() {
    Object.assign(this, { frames: 0, items: 0, positions: 0, parseErrors: 0, draws: 0, drawMs: 0, lagCount: 0 });
  },
  lagSamples() {
    const n = Math.min(this.lagCount, this.lagMs.length);
    return Array.from(this.lagMs.subarray(0, n));
  },
};

function connectFeed() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const query = `token=${encodeURIComponent(state.token)}&batch_ms=${FEED_BATCH_MS}`;
  const ws = new WebSocket(`${scheme}://${location.host}${API.feed}?${query}`);
  state.feed = ws;
  ws.onopen = () => { state.feedUp = true; };
  ws.onmessage = (msg) => {
    let data;
    try { data = JSON.parse(msg.data); } catch { feedStats.parseErrors += 1; return; }
    feedStats.frames += 1;
    if (data && data.type === "batch" && Array.isArray(data.items)) {
      feedStats.dropped = data.dropped || 0;
      for (const m of data.items) handleFeed(m, m.pub_ms || data.sent_ms || 0);
    } else {
      for (const m of Array.isArray(data) ? data : [data]) handleFeed(m, 0);
    }
  };
  ws.onclose = () => {
    state.feedUp = false;
    if (state.feed === ws && state.token) setTimeout(connectFeed, 2000);
  };
}

/* The header says whether the map is live, and how far behind it is. */
let healthFrom = 0;
function showFeedHealth() {
  const el = $("#feed-health");
  const n = Math.min(feedStats.lagCount - healthFrom, feedStats.lagMs.length);
  let lag = "";
  if (n > 0) {
    const recent = [];
    for (let i = feedStats.lagCount - n; i < feedStats.lagCount; i += 1) recent.push(feedStats.lagMs[i % feedStats.lagMs.length]);
    recent.sort((a, b) => a - b);
    lag = ` · lag ${Math.max(0, Math.round(recent[Math.floor(n / 2)]))} ms`;
  }
  healthFrom = feedStats.lagCount;
  el.className = state.feedUp ? "live" : "down";
  // events the server had to drop for this page (it fell far behind): the log has gaps
  const missed = feedStats.dropped ? ` · ${feedStats.dropped} events missed` : "";
  el.textContent = state.feedUp ? `feed live · ${state.vehicles.size} vehicles${lag}${missed}` : "feed reconnecting…";
}

function merge(old, update) {
  // a partial update (a state change) keeps what is already known
  if (!update) return { ...(old || {}) };
  const known = Object.fromEntries(Object.entries(update).filter(([, v]) => v !== "" && v !== null && v !== undefined));
  return { ...(old || {}), ...known };
}

function handleFeed(m, stampMs) {
  if (!m || typeof m !== "object") return;
  const type = m.type || m.t || "";
  feedStats.items += 1;
  if (type === "vehicle") { // the hot path: positions, most of the traffic
    feedStats.positions += 1;
    upsertVehicle(m, stampMs);
    return;
  }
  if (type === "vehicle.state" && m.subject && m.data && state.vehicles.has(m.subject)) {
    state.vehicles.get(m.subject).data.state = m.data.state || "unknown";
    state.listDirty = true;
    if (m.subject === state.selected) state.detailDirty = true;
  }
  if (type === "vehicle.plan" && m.vehicle_id === state.selected) {
    drawRoute({ id: m.vehicle_id, plan: { stops: m.plan || [] } });
  }
  if (m.subject && m.data && !type.startsWith("vehicle")) {
    // a journal entry: the subject is the order / trip id, the data its change
    m = { ...m, order: { id: m.subject, ...m.data }, trip: { id: m.subject, ...m.data } };
  }
  if (type === "position" || type === "telemetry") {
    upsertVehicle(m.vehicle || m.data || m, stampMs);
  } else if (type.startsWith("order")) {
    const o = normOrder(m.order || m.data || m, "order");
    state.orders.set(o.id, merge(state.orders.get(o.id), o));
    state.ordersDirty.add("order");
  } else if (type.startsWith("trip")) {
    const o = normOrder(m.trip || m.data || m, "trip");
    state.trips.set(o.id, merge(state.trips.get(o.id), o));
    state.ordersDirty.add("trip");
  }
  if (type !== "position" && type !== "telemetry") logEvent(m.event || m);
}

