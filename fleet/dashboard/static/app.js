/* kaiteki operator dashboard: a live map and panels over the operator API and live feed.
 *
 * Everything the page knows about the service is in API below; responses are normalised by
 * the small adapters after it, so the rest of the page only sees one shape of each thing.
 * No build step, no framework: Leaflet (shipped in the package) and plain DOM.
 */
"use strict";

const API = {
  me: "/api/v1/me",
  vehicles: "/api/v1/vehicles",
  vehicle: (id) => `/api/v1/vehicles/${encodeURIComponent(id)}`,
  vehicleAction: (id, action) => `/api/v1/vehicles/${encodeURIComponent(id)}/${action}`,
  orders: "/api/v1/orders",
  cancelOrder: (id) => `/api/v1/orders/${encodeURIComponent(id)}/cancel`,
  trips: "/api/v1/trips",
  cancelTrip: (id) => `/api/v1/trips/${encodeURIComponent(id)}/cancel`,
  airspace: "/api/v1/airspace",
  sites: "/api/v1/sites",
  kpis: "/api/v1/kpis",
  events: "/api/v1/events?limit=200",
  feed: "/api/v1/feed",
};
const KIND_STYLE = {
  drone: { color: "#c0392b", label: "Drone / ドローン" },
  bus: { color: "#1f5fa8", label: "Autonomous bus / 自動運転バス" },
  mobility: { color: "#18813a", label: "Personal mobility / パーソナルモビリティ" },
};
const AIRSPACE_STYLE = {
  no_fly: { color: "#a4001d", fillOpacity: 0.25, label: "No-fly / 飛行禁止" },
  obstacle: { color: "#5b2c6f", fillOpacity: 0.45, label: "Obstacle / 障害物" },
  permission_required: { color: "#b9770e", fillOpacity: 0.08, label: "DID: permission / 人口集中地区" },
  preferred: { color: "#1a7fb5", fillOpacity: 0.12, label: "Preferred corridor / 推奨経路" },
};

const state = {
  token: sessionStorage.getItem("kaiteki.token") || "",
  role: "",
  vehicles: new Map(), // id -> {data, pz, px, py (projection cache), stamp_ms (unsent lag)}
  selected: null,
  routeLayer: null,
  orders: new Map(),
  trips: new Map(),
  sites: [],
  needsDraw: false, // a vehicle changed since the last frame
  stamped: [], // entries updated since the last frame, for the lag figures
  listDirty: false,
  detailDirty: false,
  ordersDirty: new Set(),
  feed: null,
  feedUp: false,
};

const $ = (sel) => document.querySelector(sel);
/* Everything from the service is text, never markup (a cancel reason is typed by an operator). */
const ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const esc = (x) => String(x ?? "").replace(/[&<>"']/g, (c) => ESC[c]);

/* ---------------------------------------------------------------- HTTP */

class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

async function api(path, options = {}) {
  const headers = { Accept: "application/json", ...(options.headers || {}) };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    ...options,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = { detail: text }; }
  if (!response.ok) throw new ApiError(response.status, body || {});
  return body;
}

function describeError(err) {
  if (!(err instanceof ApiError)) return String(err.message || err);
  const p = err.problem || {};
  const fields = (p.errors || p.invalid_params || [])
    .map((e) => `${e.field || e.name || (e.loc || []).join(".")}: ${e.message || e.reason || e.msg}`)
    .join("; ");
  const what = { 401: "Not signed in or token not accepted", 403: "Your role may not do this" }[err.status];
  return [what, p.title, p.detail, fields].filter(Boolean).join(" — ");
}

function showStatus(message, kind = "error") {
  const el = $("#status");
  el.className = kind;
  el.textContent = message;
  if (kind === "info") setTimeout(() => { if (el.textContent === message) el.textContent = ""; }, 4000);
}

/* ---------------------------------------------------------------- adapters */

const items = (body) => (Array.isArray(body) ? body : body?.items || body?.vehicles || body?.orders || body?.trips || []);

function normVehicle(v) {
  const pos = v.position || v.telemetry || v;
  return {
    id: String(v.id ?? v.vehicle_id),
    kind: v.kind || "drone",
    state: v.state || v.status || "unknown",
    lat: Number(pos.lat_deg ?? pos.lat),
    lon: Number(pos.lon_deg ?? pos.lon),
    heading: Number(pos.heading_deg ?? pos.heading ?? 0),
    soc: pos.battery_soc ?? v.battery_soc ?? null,
    link: v.link?.state || v.link_state || v.link || "",
    alt: pos.alt_rel_m ?? pos.alt_m ?? pos.alt_amsl_m ?? pos.relative_alt_m ?? null,
    plan: v.plan || null,
  };
}

function normOrder(o, kind) {
  return {
    id: String(o.id ?? o.order_id ?? o.trip_id),
    kind,
    state: o.state || o.status || "received",
    vehicle: o.vehicle_id || o.vehicle || "",
    window: o.promised_window || o.promise || null,
    from: o.from || o.warehouse || o.origin || "",
    to: o.to || o.drone_port || o.destination || "",
    reason: o.reason || "",
  };
}

/* ---------------------------------------------------------------- map */

const map = L.map("map", { preferCanvas: true, zoomControl: true, keyboard: true }).setView([35.648, 140.0], 12);
const renderer = L.canvas({ padding: 0.2 });
map.createPane("vehiclePane").style.zIndex = 450; // above airspace and sites, under tooltips
const vehicleLayer = new VehicleCanvas(() => state.vehicles.values(), {
  pane: "vehiclePane", styles: KIND_STYLE,
}).addTo(map);
const hoverTip = L.tooltip({ direction: "top", offset: [0, -8] });
let hoverPending = null;
const layers = {
  airspace: L.layerGroup().addTo(map),
  sites: L.layerGroup().addTo(map),
};

function vehicleTip(v) {
  const soc = v.soc === null || v.soc === undefined ? "?" : `${Math.round(v.soc * 100)}%`;
  return esc(`${v.id} · ${v.kind} · ${v.state} · battery ${soc}${v.link ? " · link " + v.link : ""}`);
}

map.on("click", (e) => {
  const hit = vehicleLayer.nearest(e.layerPoint);
  if (hit) selectVehicle(hit.data.id);
});
map.on("mousemove", (e) => { // at most one look-up per frame
  if (hoverPending === null) requestAnimationFrame(() => {
    const hit = vehicleLayer.nearest(hoverPending);
    hoverPending = null;
    map.getContainer().style.cursor = hit ? "pointer" : "";
    if (hit) map.openTooltip(hoverTip.setContent(vehicleTip(hit.data)), [hit.data.lat, hit.data.lon]);
    else map.closeTooltip(hoverTip);
  });
  hoverPending = e.layerPoint;
});

function drawLegend() {
  const rows = [ // vehicle kinds can be hidden from the map (the list keeps them)
    ...Object.entries(KIND_STYLE).map(([kind, s]) => `<div><label><input type="checkbox" data-kind="${kind}" checked>
      <span class="sw" style="background:${s.color}"></span>${s.label}</label></div>`),
    ...Object.values(AIRSPACE_STYLE).map((s) => `<div><span class="sw" style="background:${s.color}"></span>${s.label}</div>`),
  ];
  $("#legend").innerHTML = rows.join("");
}

async function loadAirspace() {
  try {
    const geo = await api(API.airspace);
    layers.airspace.clearLayers();
    L.geoJSON(geo, {
      renderer,
      interactive: false,
      style: (f) => {
        const kind = f.properties?.kind || f.properties?.rule || "no_fly";
        const s = AIRSPACE_STYLE[kind] || AIRSPACE_STYLE.no_fly;
        return { color: s.color, weight: 1, fillOpacity: s.fillOpacity };
      },
      filter: (f) => (f.properties?.kind || f.properties?.rule) !== "ceiling",
    }).addTo(layers.airspace);
  } catch (err) {
    showStatus(`Airspace: ${describeError(err)}`);
  }
}

async function loadSites() {
  try {
    state.sites = items(await api(API.sites)).map((s) => ({
      id: String(s.id), kind: s.kind || "", name: s.name || s.id, name_ja: s.name_ja || "",
      lat: Number(s.lat_deg ?? s.lat), lon: Number(s.lon_deg ?? s.lon),
    }));
  } catch (err) {
    showStatus(`Sites: ${describeError(err)}`);
    return;
  }
  layers.sites.clearLayers();
  for (const s of state.sites) {
    const label = s.name_ja ? `${s.name} / ${s.name_ja}` : s.name;
    L.circleMarker([s.lat, s.lon], { renderer, radius: 5, color: "#111", weight: 1, fillColor: "#fff", fillOpacity: 1 })
      .bindTooltip(label, { className: "site-label" })
      .addTo(layers.sites);
  }
  const fill = (sel, kinds) => {
    $(sel).innerHTML = state.sites
      .filter((s) => kinds.some((k) => s.kind.includes(k)))
      .map((s) => `<option value="${esc(s.id)}">${esc(s.name)}${s.name_ja ? " / " + esc(s.name_ja) : ""}</option>`)
      .join("");
  };
  fill("#order-from", ["warehouse"]);
  fill("#order-to", ["port", "drone"]);
  fill("#trip-from", ["stop", "station", "place", "home", "venue"]);
  fill("#trip-to", ["stop", "station", "place", "home", "venue"]);
}

function upsertVehicle(raw, stampMs = 0) {
  const v = normVehicle(raw);
  if (!v.id || v.id === "undefined") return;
  // a vehicle with no position yet (never connected) is listed, not drawn
  let entry = state.vehicles.get(v.id);
  if (entry) {
    const d = entry.data;
    for (const k in v) if (v[k] !== null && v[k] !== "" && !Number.isNaN(v[k])) d[k] = v[k];
    if (!Number.isFinite(d.heading)) d.heading = 0;
  } else {
    entry = { data: v, pz: -1, px: 0, py: 0, stamp_ms: 0 };
    state.vehicles.set(v.id, entry);
    state.listDirty = true;
  }
  entry.pz = -1; // re-project on the next draw
  if (stampMs && !entry.stamp_ms) {
    entry.stamp_ms = stampMs;
    state.stamped.push(entry);
  }
  requestDraw();
  state.listDirty = true;
  if (v.id === state.selected) state.detailDirty = true;
}

/* Frames are asked for only when something changed: an idle page costs nothing. */
let frameRequested = false;
function requestDraw() {
  state.needsDraw = true;
  if (!frameRequested) {
    frameRequested = true;
    requestAnimationFrame(onFrame);
  }
}

/* In the next animation frame: draw the fleet, then account for the lag. */
function onFrame() {
  frameRequested = false;
  if (state.needsDraw) {
    state.needsDraw = false;
    vehicleLayer.draw();
    feedStats.draws += 1;
    feedStats.drawMs += vehicleLayer.lastDraw.ms;
    const now = Date.now();
    for (const entry of state.stamped) {
      if (entry.stamp_ms) {
        feedStats.lagMs[feedStats.lagCount % feedStats.lagMs.length] = now - entry.stamp_ms;
        feedStats.lagCount += 1;
        entry.stamp_ms = 0;
      }
    }
    state.stamped.length = 0;
  }
}

/* ---------------------------------------------------------------- panels */

/* Panels are text: they are refreshed by a timer, never per feed message. The vehicle list at
 * most once a second (and not while folded), orders, trips and the selected vehicle 4 times. */
let sortedIds = [];
let sortedSize = -1;
let listShownMs = 0;
const LIST_MAX = 100; // rows shown; the filter finds the others
const listRows = []; // <li> elements kept and updated in place: only changed rows touch the DOM

function listRow(i) {
  if (!listRows[i]) {
    const li = document.createElement("li");
    li.tabIndex = 0;
    li.innerHTML = '<strong></strong><span class="badge"></span><span class="badge"></span><span class="badge"></span><span></span>';
    li.key = "";
    $("#vehicles").insertBefore(li, $("#vehicles-more"));
    listRows.push(li);
  }
  return listRows[i];
}

function renderVehicleList(force = false) {
  const now = performance.now();
  if (!force && now - listShownMs < 1000) return;
  listShownMs = now;
  state.listDirty = false;
  $("#vehicle-count").textContent = String(state.vehicles.size);
  if (!$("#vehicles").closest("details").open) return;
  if (sortedSize !== state.vehicles.size) {
    sortedIds = [...state.vehicles.keys()].sort();
    sortedSize = state.vehicles.size;
  }
  const filter = $("#vehicle-filter").value.trim().toLowerCase();
  let shown = 0;
  let matching = 0;
  for (const id of sortedIds) {
    const v = state.vehicles.get(id).data;
    if (filter && !`${id} ${v.kind} ${v.state}`.toLowerCase().includes(filter)) continue;
    matching += 1;
    if (shown >= LIST_MAX) continue;
    const soc = v.soc === null || v.soc === undefined ? "" : `${Math.round(v.soc * 100)}%`;
    const link = v.link || "link ?";
    const selected = id === state.selected;
    const li = listRow(shown);
    const key = `${id}\u0000${v.kind}\u0000${v.state}\u0000${link}\u0000${soc}\u0000${selected}`;
    if (li.key !== key) {
      li.key = key;
      li.dataset.id = id;
      li.className = selected ? "selected" : "";
      const [name, kind, st, ln, charge] = li.children;
      name.textContent = id;
      kind.textContent = v.kind;
      st.textContent = v.state;
      st.className = `badge ${v.state}`;
      ln.textContent = link;
      ln.className = `badge ${v.link}`;
      charge.textContent = soc;
    }
    shown += 1;
  }
  while (listRows.length > shown) listRows.pop().remove();
  $("#vehicles-more").textContent = matching > shown ? `… ${matching - shown} more: filter to find one` : "";
}

function panelTick() {
  if (state.listDirty) renderVehicleList();
  if (state.detailDirty) {
    state.detailDirty = false;
    renderVehicleDetail();
  }
  for (const kind of state.ordersDirty) renderOrders(kind);
  state.ordersDirty.clear();
}

function canAct(kind) {
  if (!state.role || state.role === "viewer") return false;
  if (state.role === "admin") return true;
  if (kind === "drone" || kind === "order") return state.role === "logistics";
  return state.role === "mobility";
}

async function selectVehicle(id) {
  state.selected = id;
  vehicleLayer.selected = id;
  requestDraw();
  renderVehicleList(true);
  renderVehicleDetail();
  try {
    const detail = await api(API.vehicle(id));
    upsertVehicle(detail);
    drawRoute(detail);
    renderVehicleDetail();
  } catch (err) {
    showStatus(`Vehicle ${id}: ${describeError(err)}`);
  }
}

function drawRoute(detail) {
  if (state.routeLayer) state.routeLayer.remove();
  const plan = detail.plan || {};
  const points = (plan.path || plan.waypoints || plan.stops || [])
    .map((p) => [Number(p.lat_deg ?? p.lat ?? p[0]), Number(p.lon_deg ?? p.lon ?? p[1])])
    .filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b));
  const v = state.vehicles.get(String(detail.id ?? detail.vehicle_id))?.data;
  if (v) points.unshift([v.lat, v.lon]);
  state.routeLayer = L.polyline(points, { color: "#000", weight: 3, dashArray: "6 4" }).addTo(map);
}

function renderVehicleDetail() {
  const entry = state.selected && state.vehicles.get(state.selected);
  if (!entry) return;
  const v = entry.data;
  const disabled = canAct(v.kind) ? "" : "disabled title=\"Your role may not command this vehicle\"";
  $("#vehicle-detail").innerHTML = `<p><strong>${esc(v.id)}</strong> (${esc(v.kind)}) — ${esc(v.state)}, link ${esc(v.link || "?")},
    battery ${v.soc === null || v.soc === undefined ? "?" : Math.round(v.soc * 100) + "%"}, heading ${Math.round(v.heading)}°
    ${v.alt === null || v.alt === undefined ? "" : `, altitude ${Math.round(v.alt)} m`}</p>
    <div role="group" aria-label="Commands">
      <button type="button" data-action="hold" ${disabled}>Hold</button>
      <button type="button" data-action="resume" ${disabled}>Resume</button>
      <button type="button" data-action="return" ${disabled}>Return</button>
    </div>`;
}

async function vehicleAction(action) {
  const id = state.selected;
  try {
    await api(API.vehicleAction(id, action), { method: "POST", body: {} });
    showStatus(`${action} sent to ${id}`, "info");
  } catch (err) {
    showStatus(`${action} ${id}: ${describeError(err)}`);
  }
}

function renderOrders(kind) {
  const list = kind === "order" ? state.orders : state.trips;
  const rows = [...list.values()].slice(-200).reverse().map((o) => {
    const window = o.window ? ` · promised ${fmtWindow(o.window)}` : "";
    const cancellable = !["delivered", "dropped_off", "completed", "failed", "cancelled", "rejected"].includes(o.state);
    const btn = cancellable ? `<button type="button" class="secondary" data-cancel="${esc(o.id)}" data-kind="${kind}" ${canAct(kind === "order" ? "order" : "trip") ? "" : "disabled"}>Cancel</button>` : "";
    return `<li data-id="${esc(o.id)}"><strong>${esc(o.id)}</strong><span class="badge ${esc(o.state)}">${esc(o.state)}</span>
      <span>${esc(o.from)} → ${esc(o.to)}${o.vehicle ? " · " + esc(o.vehicle) : ""}${esc(window)}${o.reason ? " · " + esc(o.reason) : ""}</span>${btn}</li>`;
  });
  $(kind === "order" ? "#orders" : "#trips").innerHTML = rows.join("");
}

function fmtWindow(w) {
  const f = (s) => (typeof s === "number" ? `${Math.floor(s / 3600) % 24}:${String(Math.floor(s / 60) % 60).padStart(2, "0")}` : String(s));
  if (Array.isArray(w)) return `${f(w[0])}–${f(w[1])}`;
  return `${f(w.earliest_s ?? w.start ?? w.from)}–${f(w.latest_s ?? w.end ?? w.to)}`;
}

function logEvent(ev) {
  const li = document.createElement("li");
  const source = ev.source || ev.actor || "";
  if (source === "supervisor" || ev.type === "supervisor" || ev.supervisor) li.className = "supervisor";
  if (ev.level === "error") li.className = "error";
  const t = ev.t_s !== undefined ? `t=${Math.round(ev.t_s)}s ` : "";
  const what = ev.data ? (ev.data.action || ev.data.state || "") : "";
  const why = ev.data ? (ev.data.detail || ev.data.reason || "") : "";
  li.textContent = `${t}${ev.subject || ev.vehicle_id || ev.order_id || ""} ${ev.kind || ev.type || ""} ${what} ${why}`.trim();
  if (ev.kind === "supervisor") li.className = "supervisor";
  const log = $("#events");
  log.prepend(li);
  while (log.children.length > 300) log.lastChild.remove();
}

async function refreshKpis() {
  try {
    const k = await api(API.kpis);
    const rows = Object.entries(k).filter(([, v]) => typeof v !== "object").slice(0, 16);
    $("#kpis").innerHTML = rows.map(([key, v]) => `<dt>${esc(key.replaceAll("_", " "))}</dt><dd>${esc(v)}</dd>`).join("");
  } catch { /* KPIs are optional */ }
}

async function refreshLists() {
  for (const [kind, path, target] of [["order", API.orders, state.orders], ["trip", API.trips, state.trips]]) {
    try {
      for (const o of items(await api(path))) {
        const n = normOrder(o, kind);
        target.set(n.id, n);
      }
      renderOrders(kind);
    } catch (err) {
      if (err.status !== 403) showStatus(`${kind}s: ${describeError(err)}`);
    }
  }
}

/* ---------------------------------------------------------------- session */

async function signIn(token) {
  state.token = token;
  const me = await api(API.me);
  state.role = me.role || "";
  sessionStorage.setItem("kaiteki.token", token);
  $("#who").textContent = `${me.name || me.subject || "operator"} (${state.role})`;
  $("#logout").hidden = false;
  document.body.dataset.role = state.role;
}

async function start() {
  drawLegend();
  await Promise.all([loadAirspace(), loadSites()]);
  try {
    for (const v of items(await api(API.vehicles))) upsertVehicle(v);
  } catch (err) {
    showStatus(`Vehicles: ${describeError(err)}`);
  }
  try {
    for (const ev of items(await api(API.events)).slice(-100)) logEvent(ev);
  } catch { /* history is optional */ }
  await refreshLists();
  refreshKpis();
  setInterval(refreshKpis, 5000);
  setInterval(refreshLists, 5000);
  connectFeed();
  setInterval(panelTick, 250);
  setInterval(showFeedHealth, 1000);
}

function bindUi() {
  $("#login-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await signIn($("#token").value.trim());
      $("#login").close();
      start();
    } catch (err) {
      $("#login-error").textContent = describeError(err);
    }
  });
  $("#logout").addEventListener("click", () => {
    sessionStorage.removeItem("kaiteki.token");
    location.reload();
  });
  $("#vehicle-filter").addEventListener("input", () => renderVehicleList(true));
  $("#legend").addEventListener("change", (e) => {
    const kind = e.target.dataset?.kind;
    if (!kind) return;
    if (e.target.checked) vehicleLayer.hiddenKinds.delete(kind);
    else vehicleLayer.hiddenKinds.add(kind);
    requestDraw();
  });
  $("#vehicles").addEventListener("click", (e) => {
    const li = e.target.closest("li[data-id]");
    if (li) selectVehicle(li.dataset.id);
  });
  $("#vehicles").addEventListener("keydown", (e) => {
    const li = e.target.closest("li[data-id]");
    if (li && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); selectVehicle(li.dataset.id); }
  });
  $("#vehicle-detail").addEventListener("click", (e) => {
    const action = e.target.dataset?.action;
    if (action) vehicleAction(action);
  });
  for (const sel of ["#orders", "#trips"]) {
    $(sel).addEventListener("click", async (e) => {
      const id = e.target.dataset?.cancel;
      if (!id) return;
      const kind = e.target.dataset.kind;
      try {
        await api(kind === "order" ? API.cancelOrder(id) : API.cancelTrip(id), { method: "POST", body: { reason: "cancelled by operator" } });
        showStatus(`Cancelled ${id}`, "info");
        refreshLists();
      } catch (err) {
        showStatus(`Cancel ${id}: ${describeError(err)}`);
      }
    });
  }
  $("#order-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    const body = {
      warehouse: f.get("from"), drone_port: f.get("to"), weight_kg: Number(f.get("weight_kg")),
      deadline_in_s: Number(f.get("deadline_min")) * 60, idempotency_key: crypto.randomUUID(),
    };
    try {
      const o = normOrder(await api(API.orders, { method: "POST", body }), "order");
      state.orders.set(o.id, merge(o, state.orders.get(o.id))); // the feed may have said more
      renderOrders("order");
      showStatus(`Order ${o.id} ${o.state}`, "info");
    } catch (err) {
      showStatus(`Order refused: ${describeError(err)}`);
    }
  });
  $("#trip-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    const body = { origin: f.get("from"), destination: f.get("to"), riders: Number(f.get("riders")), idempotency_key: crypto.randomUUID() };
    try {
      const o = normOrder(await api(API.trips, { method: "POST", body }), "trip");
      state.trips.set(o.id, merge(o, state.trips.get(o.id)));
      renderOrders("trip");
      showStatus(`Trip ${o.id} ${o.state}`, "info");
    } catch (err) {
      showStatus(`Trip refused: ${describeError(err)}`);
    }
  });
}

bindUi();
if (state.token) {
  signIn(state.token).then(start).catch(() => $("#login").showModal());
} else {
  $("#login").showModal();
}
