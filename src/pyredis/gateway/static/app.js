// pyredis web console: plain JavaScript over the gateway's JSON frames (docs/gateway.md, version 1).
"use strict";

const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(k == null ? "" : String(k)));
  return e;
};
const show = (x) => (typeof x === "string" ? x : JSON.stringify(x));
const txt = (v) => (v && typeof v === "object" && "base64" in v ? "base64:" + v.base64 : show(v));

// ---------------------------------------------------------------------------------------------------
// Connection: one WebSocket, requests with ids, pushed frames to listeners.
const conn = { ws: null, nextId: 1, pending: new Map(), hello: null, user: null, creds: null, commands: false };
const pushHandlers = [];

function connect() {
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws";
  const ws = new WebSocket(url);
  conn.ws = ws;
  setStatus("connecting…");
  ws.onmessage = (ev) => {
    const f = JSON.parse(ev.data);
    if (f.id !== undefined && conn.pending.has(f.id)) {
      const { resolve, reject } = conn.pending.get(f.id);
      conn.pending.delete(f.id);
      if (f.error) reject(f.error); else resolve(f);
      return;
    }
    if (f.type === "hello") { onHello(f); return; }
    for (const h of pushHandlers) h(f);
  };
  ws.onclose = (ev) => {
    setStatus("disconnected (" + ev.code + (ev.reason ? " " + ev.reason : "") + ")", false);
    for (const { reject } of conn.pending.values()) reject({ code: "CLOSED", message: "connection closed" });
    conn.pending.clear();
    stopTimers();
    if (conn.creds || (conn.hello && !conn.hello.auth_required)) setTimeout(connect, 2000);
  };
}

function rpc(op, fields = {}) {
  return new Promise((resolve, reject) => {
    if (!conn.ws || conn.ws.readyState !== WebSocket.OPEN) { reject({ code: "CLOSED", message: "not connected" }); return; }
    const id = conn.nextId++;
    conn.pending.set(id, { resolve, reject });
    conn.ws.send(JSON.stringify({ op, id, ...fields }));
  });
}
// Read-only commands go through "query"; the others need gateway-commands yes.
const run = (args) => rpc(conn.commands ? "command" : "query", { args }).then((r) => r.result);
const query = (args) => rpc("query", { args }).then((r) => r.result);

function setStatus(text, ok) {
  const s = $("status");
  s.textContent = text;
  s.className = "status" + (ok ? " ok" : "");
}

async function onHello(h) {
  conn.hello = h;
  conn.commands = h.commands;
  setStatus("connected", true);
  if (!h.auth_required) { await loggedIn("default"); return; }
  if (conn.creds) {
    try { const r = await rpc("auth", conn.creds); await loggedIn(r.user); return; } catch (e) { conn.creds = null; }
  }
  showLogin();
}

function showLogin() {
  $("login").hidden = false;
  $("tabs").hidden = true;
  for (const v of document.querySelectorAll(".view")) v.hidden = true;
  $("login-password").focus();
}

$("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const creds = { user: $("login-user").value, password: $("login-password").value };
  $("login-error").textContent = "";
  try {
    const r = await rpc("auth", creds);
    conn.creds = creds;
    await loggedIn(r.user);
  } catch (e) {
    $("login-error").textContent = e.code + " " + e.message;
  }
});

$("logout").addEventListener("click", () => {
  conn.creds = null; conn.hello = null; stopTimers();
  conn.ws.onclose = null; conn.ws.close();
  connect();
});

async function loggedIn(user) {
  conn.user = user;
  $("login").hidden = true;
  $("tabs").hidden = false;
  $("whoami").textContent = "as " + user;
  $("logout").hidden = !conn.hello.auth_required;
  selectView(currentView);
  await startLive();
}

// ---------------------------------------------------------------------------------------------------
// Views
let currentView = "keys";
const timers = [];
function stopTimers() { while (timers.length) clearInterval(timers.pop()); }

function selectView(name) {
  currentView = name;
  for (const b of document.querySelectorAll("#tabs button")) b.classList.toggle("active", b.dataset.view === name);
  for (const v of document.querySelectorAll(".view")) v.hidden = v.id !== "view-" + name;
  if (name === "slowlog") loadSlowlog();
  if (name === "latency") loadLatency();
  if (name === "clients") loadClients();
  if (name === "console") $("console-input").focus();
}
for (const b of document.querySelectorAll("#tabs button")) b.addEventListener("click", () => selectView(b.dataset.view));

async function startLive() {
  stopTimers();
  keys.db = -1;  // a new session starts in db 0: select the chosen db again
  // Subscribe before the first SCAN: a key written between the scan and the subscription would
  // otherwise never appear (events for a db not yet selected are ignored; the scan covers them).
  try { await rpc("psubscribe", { patterns: ["*"] }); $("events-note").textContent = ""; }
  catch (e) { $("events-note").textContent = "pub/sub: " + e.code + " " + e.message; }
  try { await rpc("watch", { keys: ["*"], with: ["ttl"] }); }
  catch (e) { $("events-note").textContent += "  keyspace: " + e.code + " " + e.message; }
  await setupKeys();
  timers.push(setInterval(pollInfo, 1000));
  timers.push(setInterval(tickTTL, 1000));
  timers.push(setInterval(() => { if (currentView === "clients") loadClients(); }, 2000));
  pollInfo();
}

// -- key browser --------------------------------------------------------------------------------------
const keys = { cursor: "0", rows: new Map(), selected: null, db: 0 };

async function setupKeys() {
  const sel = $("keys-db");
  if (!sel.options.length) {
    let n = 16;
    try { const r = await query(["CONFIG", "GET", "databases"]); n = parseInt(r.databases || 16, 10); } catch (e) { /* default */ }
    for (let i = 0; i < n; i++) sel.append(el("option", { value: i }, "db" + i));
  }
  await scanKeys(true);
}

function keyMatches(key) {
  const p = $("keys-pattern").value || "*";
  const re = new RegExp("^" + p.replace(/[.+^${}()|\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".") + "$");
  return re.test(key);
}

async function scanKeys(reset) {
  const db = parseInt($("keys-db").value || "0", 10);
  if (reset) {
    keys.cursor = "0"; keys.rows.clear(); $("keys-body").textContent = "";
    if (db !== keys.db) { await query(["SELECT", String(db)]); keys.db = db; }
  }
  const args = ["SCAN", keys.cursor, "MATCH", $("keys-pattern").value || "*", "COUNT", "200"];
  if ($("keys-type").value) args.push("TYPE", $("keys-type").value);
  try {
    let [cursor, found] = await query(args);
    let rounds = 0;
    while (cursor !== "0" && found.length < 50 && rounds++ < 20) {  // fill a first page
      args[1] = cursor;
      const r = await query(args);
      cursor = r[0]; found = found.concat(r[1]);
    }
    keys.cursor = cursor;
    for (const k of found) await addKeyRow(txt(k));
    $("keys-more").hidden = cursor === "0";
    $("keys-count").textContent = keys.rows.size + " keys" + (cursor === "0" ? "" : " (more)");
  } catch (e) { $("keys-count").textContent = e.code + " " + e.message; }
}

async function addKeyRow(key, info) {
  if (keys.rows.has(key)) return keys.rows.get(key);
  const tr = el("tr", { "data-key": key }, el("td", { class: "mono" }, key), el("td"), el("td", { class: "ttl" }));
  tr.addEventListener("click", () => openKey(key));
  const row = { tr, ttl: null, at: 0, type: "" };
  keys.rows.set(key, row);
  $("keys-body").append(tr);
  if (info) updateRow(row, info.keytype, info.ttl);
  else {
    try { const [t, ttl] = await Promise.all([query(["TYPE", key]), query(["PTTL", key])]); updateRow(row, t, ttl); }
    catch (e) { /* no permission for details */ }
  }
  return row;
}

function updateRow(row, type, ttl) {
  row.type = type;
  row.tr.children[1].textContent = type;
  row.ttl = ttl; row.at = Date.now();
  renderTTL(row);
}

function ttlText(ms) { return ms == null ? "" : ms === -1 ? "∞" : ms < 0 ? "gone" : (ms / 1000).toFixed(0) + " s"; }

function renderTTL(row) {
  let ms = row.ttl;
  if (ms != null && ms >= 0) ms = Math.max(0, ms - (Date.now() - row.at));
  row.tr.children[2].textContent = ttlText(ms);
  if (keys.selected === row.tr.dataset.key) { const t = $("kv-ttl"); if (t) t.textContent = "TTL " + ttlText(ms); }
}
function tickTTL() { for (const row of keys.rows.values()) if (row.ttl != null && row.ttl >= 0) renderTTL(row); }

function onKeyEvent(f) {
  if (f.db !== keys.db) return;
  const key = f.key_encoding ? "base64:" + f.key : f.key;
  const row = keys.rows.get(key);
  if (f.keytype === "none") {
    if (row) { row.tr.remove(); keys.rows.delete(key); }
    $("keys-count").textContent = keys.rows.size + " keys";
    return;
  }
  if (row) updateRow(row, f.keytype, f.ttl);
  else if (keyMatches(key) && (!$("keys-type").value || $("keys-type").value === f.keytype)) {
    addKeyRow(key, f);
    $("keys-count").textContent = keys.rows.size + " keys";
  }
  if (keys.selected === key) openKey(key, true);
}

$("keys-scan").addEventListener("click", () => scanKeys(true));
$("keys-more").addEventListener("click", () => scanKeys(false));
$("keys-pattern").addEventListener("keydown", (e) => { if (e.key === "Enter") scanKeys(true); });
$("keys-db").addEventListener("change", () => scanKeys(true));

function table(headers, rows) {
  return el("table", { class: "list" }, el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", {}, h)))),
    el("tbody", {}, ...rows.map((r) => el("tr", {}, ...r.map((c) => el("td", { class: "mono" }, txt(c)))))));
}

function prettyString(s) {
  if (typeof s === "string" && /^\s*[[{]/.test(s)) {
    try { return el("pre", { class: "json" }, JSON.stringify(JSON.parse(s), null, 2)); } catch (e) { /* not JSON */ }
  }
  return el("pre", {}, txt(s));
}

async function openKey(key, refresh) {
  keys.selected = key;
  for (const r of keys.rows.values()) r.tr.classList.toggle("selected", r.tr.dataset.key === key);
  const view = $("key-view");
  if (!refresh) view.replaceChildren(el("p", { class: "muted" }, "loading…"));
  try {
    const type = await query(["TYPE", key]);
    const ttl = await query(["PTTL", key]);
    const row = keys.rows.get(key);
    if (row) updateRow(row, type, ttl);
    let enc = "", mem = "";
    try { enc = await query(["OBJECT", "ENCODING", key]); } catch (e) { /* optional */ }
    try { mem = await query(["MEMORY", "USAGE", key]); } catch (e) { /* optional */ }
    const body = await renderValue(key, type);
    const meta = el("div", { class: "meta" }, el("span", {}, "type " + type), el("span", { id: "kv-ttl" }, "TTL " + ttlText(ttl)),
      el("span", {}, "encoding " + (enc || "?")), el("span", {}, "memory " + (mem == null ? "?" : mem + " B")));
    view.replaceChildren(el("h3", {}, key), meta, body, editControls(key, type));
  } catch (e) {
    view.replaceChildren(el("h3", {}, key), el("p", { class: "error" }, e.code + " " + e.message));
  }
}

async function renderValue(key, type) {
  switch (type) {
    case "string": return prettyString(await query(["GET", key]));
    case "hash": {
      const h = await query(["HGETALL", key]);
      return table(["field", "value"], Object.entries(h).slice(0, 1000));
    }
    case "list": return table(["#", "element"], (await query(["LRANGE", key, "0", "199"])).map((v, i) => [i, v]));
    case "set": return table(["member"], (await query(["SSCAN", key, "0", "COUNT", "200"]))[1].map((v) => [v]));
    case "zset": return table(["member", "score"], await query(["ZRANGE", key, "0", "199", "WITHSCORES"]));
    case "stream": {
      const entries = await query(["XREVRANGE", key, "+", "-", "COUNT", "50"]);
      const parts = [el("h4", {}, "entries (newest first)"),
        table(["id", "fields"], entries.map(([id, fv]) => [id, fv.map(txt).join(" ")]))];
      try {
        const groups = await query(["XINFO", "GROUPS", key]);
        parts.push(el("h4", {}, "consumer groups"), table(["name", "consumers", "pending", "last-delivered-id", "lag"],
          groups.map((g) => [g.name, g.consumers, g.pending, g["last-delivered-id"], g.lag])));
      } catch (e) { parts.push(el("p", { class: "error" }, "XINFO GROUPS: " + e.message)); }
      return el("div", {}, ...parts);
    }
    case "none": return el("p", { class: "muted" }, "(the key does not exist)");
    default: return el("p", { class: "muted" }, "no viewer for type " + type);
  }
}

function editControls(key, type) {
  const box = el("div", { class: "edit" });
  if (!conn.commands) { box.append(el("p", { class: "muted" }, "read-only (gateway-commands no)")); return box; }
  const msg = el("span", { class: "error" });
  const act = (args) => run(args).then(() => openKey(key, true)).catch((e) => { msg.textContent = e.code + " " + e.message; });
  if (type === "string") {
    const ta = el("textarea", { id: "kv-edit" });
    query(["GET", key]).then((v) => { ta.value = typeof v === "string" ? v : ""; });
    box.append(ta, el("button", { id: "kv-save", onclick: () => act(["SET", key, ta.value, "KEEPTTL"]) }, "Save"));
  } else if (type === "hash") {
    const f = el("input", { placeholder: "field" }), v = el("input", { placeholder: "value" });
    box.append(f, v, el("button", { onclick: () => act(["HSET", key, f.value, v.value]) }, "Set field"));
  }
  box.append(el("button", { id: "kv-delete", onclick: () => { if (confirm("Delete " + key + "?")) act(["DEL", key]); } }, "Delete"), msg);
  return box;
}

// -- event tail -----------------------------------------------------------------------------------------
let eventsPaused = false;
function eventVisible(tr) {
  const flt = $("events-filter").value;
  const kindOn = tr.dataset.kind === "key" ? $("events-keys").checked : $("events-pubsub").checked;
  return kindOn && (!flt || tr.dataset.text.includes(flt));
}
function onEvent(f) {
  if (eventsPaused) return;
  const isKey = f.type === "key";
  const where = isKey ? "db" + f.db + " " + f.key : (f.pattern ? f.pattern + " → " : "") + f.channel;
  const what = isKey ? (f.events || [f.event]).join(", ") + (f.ttl !== undefined && f.ttl >= 0 ? " (ttl " + ttlText(f.ttl) + ")" : "") : f.data;
  const body = $("events-body");
  const tr = el("tr", { class: "ev", "data-kind": isKey ? "key" : "pubsub", "data-text": where + " " + what },
    el("td", {}, new Date().toLocaleTimeString()), el("td", {}, el("span", { class: "tag " + f.type }, f.type)),
    el("td", { class: "mono" }, where), el("td", { class: "mono" }, what));
  tr.hidden = !eventVisible(tr);
  body.prepend(tr);
  while (body.children.length > 1000) body.lastChild.remove();
}
function refilter() { for (const tr of $("events-body").children) tr.hidden = !eventVisible(tr); }
for (const id of ["events-filter", "events-pubsub", "events-keys"]) $(id).addEventListener("input", refilter);
$("events-pause").addEventListener("click", () => { eventsPaused = !eventsPaused; $("events-pause").textContent = eventsPaused ? "Resume" : "Pause"; });
$("events-clear").addEventListener("click", () => { $("events-body").textContent = ""; });

pushHandlers.push((f) => {
  if (f.type === "flush" || f.type === "swapdb") {
    if (f.db === null || f.db === keys.db) scanKeys(true);
    onEvent({ type: "key", db: f.db === null ? "*" : f.db, key: "(all keys)", event: f.type === "flush" ? "flushed" : "swapped with db" + f.other });
  }
  if (f.type === "key") onKeyEvent(f);
  if (f.type === "key" || f.type === "message" || f.type === "pmessage" || f.type === "smessage") onEvent(f);
  if (f.type === "revoked") $("events-note").textContent = "permissions changed: " + JSON.stringify(f);
});

// -- metrics -------------------------------------------------------------------------------------------
const series = { ops: [], mem: [], clients: [], hits: [] };
let lastHits = null;
function parseInfo(text) {
  const out = {};
  for (const line of text.split("\r\n")) { const i = line.indexOf(":"); if (i > 0 && line[0] !== "#") out[line.slice(0, i)] = line.slice(i + 1); }
  return out;
}
const fmtBytes = (n) => (n > 1 << 20 ? (n / (1 << 20)).toFixed(1) + " MiB" : (n / 1024).toFixed(1) + " KiB");

async function pollInfo() {
  let info;
  try { info = parseInfo(await query(["INFO"])); } catch (e) { $("info-server").textContent = "INFO: " + e.message; return; }
  const hits = +info.keyspace_hits, misses = +info.keyspace_misses;
  let ratio = null;
  if (lastHits) { const dh = hits - lastHits[0], dm = misses - lastHits[1]; ratio = dh + dm ? dh / (dh + dm) : null; }
  lastHits = [hits, misses];
  push("ops", +info.instantaneous_ops_per_sec); push("mem", +info.used_memory); push("clients", +info.connected_clients);
  push("hits", ratio == null ? (series.hits.length ? series.hits[series.hits.length - 1] : 0) : ratio * 100);
  $("m-ops").textContent = info.instantaneous_ops_per_sec;
  $("m-mem").textContent = fmtBytes(+info.used_memory);
  $("m-clients").textContent = info.connected_clients;
  $("m-hits").textContent = ratio == null ? "–" : (ratio * 100).toFixed(1) + " %";
  if (currentView === "metrics") {
    draw("chart-ops", series.ops); draw("chart-mem", series.mem, 0, fmtBytes);
    draw("chart-clients", series.clients); draw("chart-hits", series.hits, 100, (v) => v + " %");
    $("info-server").textContent = "redis_version " + info.redis_version + "  uptime " + info.uptime_in_seconds + " s  keys " +
      Object.keys(info).filter((k) => /^db\d+$/.test(k)).map((k) => k + " " + info[k]).join("  ");
  }
}
function push(name, v) { const s = series[name]; s.push(v); if (s.length > 120) s.shift(); }

function draw(id, data, fixedMax, fmt = (v) => String(Math.round(v))) {
  const c = $(id), ratio = window.devicePixelRatio || 1;
  const w = Math.max(100, Math.round(c.clientWidth * ratio)), h = Math.round(140 * ratio);
  if (c.width !== w || c.height !== h) { c.width = w; c.height = h; }
  const g = c.getContext("2d");
  g.clearRect(0, 0, w, h);
  g.strokeStyle = "#ddd"; g.beginPath(); g.moveTo(0, h - 0.5); g.lineTo(w, h - 0.5); g.stroke();
  if (data.length < 2) return;
  let lo = 0, hi = fixedMax || Math.max(1, ...data) * 1.1;
  if (!fixedMax && id === "chart-mem") { lo = Math.min(...data) * 0.98; hi = Math.max(...data) * 1.02; }
  const span = hi - lo || 1, pad = 16 * ratio;
  g.strokeStyle = "#c62828"; g.lineWidth = 1.5 * ratio; g.beginPath();
  data.forEach((v, i) => {
    const x = (i / 119) * w, y = h - ((v - lo) / span) * (h - pad - 2) - 2;
    if (i) g.lineTo(x, y); else g.moveTo(x, y);
  });
  g.stroke();
  g.fillStyle = "#888"; g.font = 11 * ratio + "px sans-serif";
  g.fillText(fmt(hi), 2, 11 * ratio);
  if (lo) g.fillText(fmt(lo), 2, h - 4);
}

// -- slowlog, latency, clients ---------------------------------------------------------------------------
async function loadSlowlog() {
  try {
    const entries = await query(["SLOWLOG", "GET", "128"]);
    $("slowlog-body").replaceChildren(...entries.map((e) => el("tr", {}, el("td", {}, e[0]),
      el("td", {}, new Date(e[1] * 1000).toLocaleTimeString()), el("td", {}, e[2]),
      el("td", { class: "mono" }, e[3].map(txt).join(" ")), el("td", { class: "mono" }, e[4] + " " + (e[5] || "")))));
  } catch (e) { $("slowlog-body").replaceChildren(el("tr", {}, el("td", { class: "error", colspan: 5 }, e.code + " " + e.message))); }
}
async function loadLatency() {
  try {
    const rows = await query(["LATENCY", "LATEST"]);
    $("latency-body").replaceChildren(...rows.map((r) => el("tr", {}, el("td", {}, r[0]),
      el("td", {}, new Date(r[1] * 1000).toLocaleTimeString()), el("td", {}, r[2]), el("td", {}, r[3]))));
    if (!rows.length) $("latency-body").replaceChildren(el("tr", {}, el("td", { colspan: 4, class: "muted" }, "no latency spikes (latency-monitor-threshold)")));
  } catch (e) { $("latency-body").replaceChildren(el("tr", {}, el("td", { class: "error", colspan: 4 }, e.code + " " + e.message))); }
}
async function loadClients() {
  try {
    const text = await query(["CLIENT", "LIST"]);
    const rows = text.trim().split("\n").map((line) => Object.fromEntries(line.trim().split(" ").map((kv) => {
      const i = kv.indexOf("="); return [kv.slice(0, i), kv.slice(i + 1)];
    })));
    $("clients-body").replaceChildren(...rows.map((c) => el("tr", { class: c.flags.includes("G") ? "gateway" : "" },
      ...["id", "addr", "user", "flags", "db", "age", "idle", "sub", "psub", "cmd"].map((k) => el("td", { class: "mono" }, c[k])))));
  } catch (e) { $("clients-body").replaceChildren(el("tr", {}, el("td", { class: "error", colspan: 10 }, e.code + " " + e.message))); }
}
$("slowlog-refresh").addEventListener("click", loadSlowlog);
$("latency-refresh").addEventListener("click", loadLatency);
$("clients-refresh").addEventListener("click", loadClients);

// -- command console ---------------------------------------------------------------------------------------
const cmdHistory = JSON.parse(localStorage.getItem("pyredis-cmdHistory") || "[]");
let histPos = cmdHistory.length;

function splitArgs(line) {
  const out = []; let cur = null, quote = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quote) {
      if (ch === "\\" && quote === '"' && i + 1 < line.length) { const n = line[++i]; cur += n === "n" ? "\n" : n === "t" ? "\t" : n; }
      else if (ch === quote) quote = null; else cur += ch;
    } else if (ch === '"' || ch === "'") { quote = ch; cur = cur || ""; }
    else if (/\s/.test(ch)) { if (cur !== null) { out.push(cur); cur = null; } }
    else cur = (cur || "") + ch;
  }
  if (cur !== null) out.push(cur);
  return out;
}

function formatReply(v, indent = "") {
  if (v === null) return "(nil)";
  if (typeof v === "number") return Number.isInteger(v) ? "(integer) " + v : "(double) " + v;
  if (typeof v === "boolean") return v ? "(true)" : "(false)";
  if (typeof v === "string") return '"' + v + '"';
  if (Array.isArray(v)) {
    if (!v.length) return "(empty array)";
    return v.map((x, i) => indent + (i + 1) + ") " + formatReply(x, indent + "   ").trimStart()).join("\n").trimStart();
  }
  if ("error" in v) return "(error) " + v.error;
  if ("base64" in v) return "base64:" + v.base64;
  const entries = Object.entries(v);
  if (!entries.length) return "(empty hash)";
  return entries.map(([k, x], i) => indent + (i + 1) + "# " + JSON.stringify(k) + " => " + formatReply(x, indent + "   ").trimStart()).join("\n").trimStart();
}

function consoleWrite(text, cls) { const out = $("console-out"); out.append(el("div", { class: cls || "" }, text)); out.scrollTop = out.scrollHeight; }

$("console-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const line = $("console-input").value.trim();
  $("console-input").value = "";
  if (!line) return;
  if (cmdHistory[cmdHistory.length - 1] !== line) { cmdHistory.push(line); if (cmdHistory.length > 200) cmdHistory.shift(); }
  localStorage.setItem("pyredis-cmdHistory", JSON.stringify(cmdHistory));
  histPos = cmdHistory.length;
  consoleWrite("> " + line, "cmd");
  const args = splitArgs(line);
  try { consoleWrite(formatReply(await run(args)), "reply"); }
  catch (e) { consoleWrite("(error) " + e.code + " " + e.message, "err"); }
});
$("console-input").addEventListener("keydown", (e) => {
  if (e.key === "ArrowUp" && histPos > 0) { $("console-input").value = cmdHistory[--histPos]; e.preventDefault(); }
  if (e.key === "ArrowDown") { histPos = Math.min(cmdHistory.length, histPos + 1); $("console-input").value = cmdHistory[histPos] || ""; e.preventDefault(); }
});

connect();
