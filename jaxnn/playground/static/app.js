// jaxnn playground: the page. Plain JavaScript, no build step, nothing from the network.
// The server trains; this draws its frames and sends the set-up, which also lives in the
// URL (after the #), so that a link reproduces it.
"use strict";

const $ = (id) => document.getElementById(id);
const BLUE = [8, 119, 189], ORANGE = [245, 147, 34], WHITE = [255, 255, 255];
const PALETTE = [[8, 119, 189], [245, 147, 34], [60, 160, 80], [200, 60, 60], [140, 90, 190], [120, 120, 120]];

let OPTIONS = null;      // /api/options
let cfg = null;          // the current set-up
let sid = null;          // this tab's session id
let ws = null;
let setup = null;        // the server's answer to the set-up: data, layout
let playing = false;
let hist = { train: [], test: [], mistakes: [] };
let lastFrame = null;
let frameTimes = [];
let configTimer = null;
let configSeq = 0;
let jobId = 0;           // the job whose frames are drawn; frames of a later one wait in early
let early = [];
let pendingConfig = false; // a set-up change waits to be sent (the 0.2 s after typing)
let queuedPlay = false;  // play was pressed while a new set-up was on its way: start it when ready
let compiledJob = 0;     // the latest job whose chunk the server reported compiled
let framesSeen = 0;
let uploadNote = "";     // what the upload's labels were read as: shown while the upload is the data
// What only the page uses, kept in the link beside the set-up: the lesson shown and the toggles.
const VIEW_DEFAULTS = { lesson: "", show_test: 1, discretize: 0 };
let view = { ...VIEW_DEFAULTS };

// ----------------------------------------------------------------------------- status

function say(message) { $("status").textContent = message || ""; }

async function api(path, options) {
  const response = await fetch(`/api/session/${sid}/${path}`, options);
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try { message = (await response.json()).error || message; } catch (e) { /* not JSON */ }
    throw new Error(message);
  }
  return response;
}

// ----------------------------------------------------------------------------- the URL

function defaultOf(c, k) { // the data set's own noise; the server's default otherwise
  return k === "noise" ? OPTIONS.noise_defaults[c.dataset] : OPTIONS.defaults[k];
}

function toHash(c) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(view)) if (v !== VIEW_DEFAULTS[k]) p.set(k, String(v));
  for (const [k, v] of Object.entries(c)) {
    const d = defaultOf(c, k);
    const same = Array.isArray(v) ? JSON.stringify(v) === JSON.stringify(d) : v === d;
    if (!same) p.set(k, Array.isArray(v) ? v.join(",") : String(v));
  }
  return p.toString();
}

function fromHash() {
  const c = JSON.parse(JSON.stringify(OPTIONS.defaults));
  const p = new URLSearchParams(location.hash.slice(1));
  view = { ...VIEW_DEFAULTS };
  const lesson = OPTIONS.lessons.find((l) => l.id === p.get("lesson"));
  if (lesson) Object.assign(c, JSON.parse(JSON.stringify(lesson.settings)));
  for (const [k, v] of p.entries()) {
    if (k in VIEW_DEFAULTS) { view[k] = typeof VIEW_DEFAULTS[k] === "number" ? Number(v) : v; continue; }
    if (!(k in c)) { c[k] = v; continue; } // the server names the unknown setting
    const d = OPTIONS.defaults[k];
    if (Array.isArray(d)) {
      const parts = v === "" ? [] : v.split(",");
      c[k] = (k === "hidden" || k === "widths") ? parts.map(Number) : parts;
    } else if (typeof d === "number") c[k] = Number(v);
    else c[k] = v;
  }
  if (!p.has("noise") && !(lesson && "noise" in lesson.settings)) c.noise = OPTIONS.noise_defaults[c.dataset];
  if (!p.has("features") && !(lesson && "features" in lesson.settings)) fitFeatures(c); // #dataset=regression alone
  return c;
}

// ----------------------------------------------------------------------------- controls

function fillSelect(el, values, labels) {
  el.innerHTML = "";
  values.forEach((v, i) => {
    const o = document.createElement("option");
    o.value = v; o.textContent = labels ? labels[i] : v;
    el.appendChild(o);
  });
}

function buildControls() {
  fillSelect($("dataset"), OPTIONS.datasets);
  fillSelect($("lesson"), ["", ...OPTIONS.lessons.map((l) => l.id)],
    ["Lessons…", ...OPTIONS.lessons.map((l, i) => `${i + 1}. ${l.title}`)]);
  $("lesson").addEventListener("change", () => { if ($("lesson").value) applyLesson($("lesson").value); });
  $("lesson-close").addEventListener("click", () => { view.lesson = ""; changed(); });
  for (const k of ["show_test", "discretize"]) {
    $(k).addEventListener("change", () => { view[k] = $(k).checked ? 1 : 0; changed(); redraw(); });
  }
  for (const [k, [lo, hi]] of Object.entries(OPTIONS.ranges)) { // sliders reach what a link may set
    const el = document.querySelector(`input[type=range][data-key=${k}]`);
    if (el) { el.min = lo; el.max = hi; }
  }
  fillSelect($("classes"), [2, 3, 4, 5, 6]);
  fillSelect($("activation"), OPTIONS.activations);
  fillSelect($("optimizer"), Object.keys(OPTIONS.optimizers));
  const feats = $("features");
  for (const [name, label] of Object.entries(OPTIONS.features)) {
    const l = document.createElement("label");
    l.innerHTML = `<input type="checkbox" id="feature-${name}" value="${name}"> ${label}`;
    feats.appendChild(l);
    l.querySelector("input").addEventListener("change", () => {
      cfg.features = Object.keys(OPTIONS.features).filter((f) => $(`feature-${f}`).checked);
      changed();
    });
  }
  const acts = $("grid-activations");
  for (const a of OPTIONS.activations) {
    const l = document.createElement("label");
    l.innerHTML = `<input type="checkbox" id="gridact-${a}" value="${a}"> ${a}`;
    acts.appendChild(l);
    l.querySelector("input").addEventListener("change", () => {
      cfg.activations = OPTIONS.activations.filter((x) => $(`gridact-${x}`).checked);
      changed();
    });
  }
  document.querySelectorAll("[data-key]").forEach((el) => {
    el.addEventListener(el.type === "range" || el.type === "text" ? "input" : "change", () => {
      const k = el.dataset.key, d = OPTIONS.defaults[k];
      if (k === "widths") cfg[k] = el.value.split(",").filter((s) => s.trim() !== "").map(Number);
      else cfg[k] = typeof d === "number" ? Number(el.value) : el.value;
      if (k === "dataset") { fitFeatures(cfg); cfg.noise = OPTIONS.noise_defaults[cfg.dataset]; }
      changed();
    });
  });
  document.querySelectorAll("#modes button").forEach((b) => b.addEventListener("click", () => {
    cfg.mode = b.dataset.mode; changed(true);
  }));
  $("new-sample").addEventListener("click", () => { cfg.seed = (cfg.seed + 1) % 2147483647; changed(true); });
  $("layer-plus").addEventListener("click", () => {
    if (cfg.hidden.length < OPTIONS.max_layers) { cfg.hidden.push(cfg.hidden.length ? cfg.hidden[cfg.hidden.length - 1] : 4); changed(true); }
  });
  $("layer-minus").addEventListener("click", () => { if (cfg.hidden.length) { cfg.hidden.pop(); changed(true); } });
  $("upload").addEventListener("change", uploadFile);
  $("play").addEventListener("click", pressPlay);
  $("step").addEventListener("click", () => control("step"));
  $("reset").addEventListener("click", () => control("reset"));
  $("dl-model").addEventListener("click", () => download("model", "playground.jaxnn"));
  $("dl-script").addEventListener("click", () => download("script", "playground_run.py"));
  $("dl-data").addEventListener("click", () => download("data.csv", "playground_data.csv"));
  $("copy-link").addEventListener("click", async () => {
    try { await navigator.clipboard.writeText(location.href); say("link copied: it holds the whole set-up"); }
    catch (e) { say(`the link to this set-up: ${location.href}`); }
  });
}

// The 1-D regression has no x2: keep the features it has; back in 2-D, offer x1 and x2 again.
const ONE_D = ["x1", "x1sq", "sinx1"];
function fitFeatures(c) {
  if (c.dataset === "regression") {
    c.features = c.features.filter((f) => ONE_D.includes(f));
    if (!c.features.length) c.features = ["x1"];
  } else if (c.features.every((f) => ONE_D.includes(f)) && !c.features.includes("x2")) {
    c.features = Array.from(new Set([...c.features, "x2"]));
  }
}

// A lesson sets the whole page: the defaults, the data set's noise, then the lesson's settings.
function applyLesson(id) {
  const lesson = OPTIONS.lessons.find((l) => l.id === id);
  const c = JSON.parse(JSON.stringify(OPTIONS.defaults));
  c.noise = OPTIONS.noise_defaults[lesson.settings.dataset || c.dataset];
  cfg = Object.assign(c, JSON.parse(JSON.stringify(lesson.settings)));
  view.lesson = id;
  changed(true);
}

function showLesson() {
  const lesson = OPTIONS.lessons.find((l) => l.id === view.lesson);
  $("lesson-panel").hidden = !lesson;
  $("lesson").value = lesson ? lesson.id : "";
  if (!lesson) return;
  const n = OPTIONS.lessons.indexOf(lesson) + 1;
  $("lesson-title").textContent = `Lesson ${n}: ${lesson.title}`;
  $("lesson-look").textContent = lesson.look;
  $("lesson-question").textContent = lesson.question;
  $("lesson-course").textContent = lesson.course;
  const chapter = `${lesson.chapter_title} (chapter ${Number(lesson.chapter.slice(0, 2))} of the course book)`;
  const where = $("lesson-chapter");
  where.innerHTML = "";
  if (OPTIONS.book_url) {
    const a = document.createElement("a");
    a.href = `${OPTIONS.book_url.replace(/\/$/, "")}/course/${lesson.chapter}.html`;
    a.target = "_blank"; a.rel = "noopener"; a.textContent = chapter;
    where.appendChild(a);
  } else where.textContent = chapter;
}

function showControls() {
  document.body.className = `mode-${cfg.mode} axes-${cfg.grid_axes}` + (cfg.dataset === "upload" ? " upload" : "");
  showLesson();
  $("show_test").checked = !!view.show_test;
  $("discretize").checked = !!view.discretize;
  document.querySelectorAll("#modes button").forEach((b) => b.classList.toggle("active", b.dataset.mode === cfg.mode));
  document.querySelectorAll("[data-key]").forEach((el) => {
    const v = cfg[el.dataset.key];
    el.value = Array.isArray(v) ? v.join(",") : v;
    const out = document.querySelector(`output[for=${el.id}]`);
    if (out) out.textContent = v;
  });
  $("noise-default").textContent = `(default ${OPTIONS.noise_defaults[cfg.dataset]})`;
  for (const f of Object.keys(OPTIONS.features)) {
    $(`feature-${f}`).checked = cfg.features.includes(f);
    $(`feature-${f}`).disabled = cfg.dataset === "regression" && !ONE_D.includes(f);
  }
  for (const a of OPTIONS.activations) $(`gridact-${a}`).checked = cfg.activations.includes(a);
  $("classes-row").style.display = ["spirals", "blobs"].includes(cfg.dataset) ? "" : "none";
  $("layer-count").textContent = cfg.hidden.length;
  const layers = $("layers");
  layers.innerHTML = "";
  cfg.hidden.forEach((w, i) => {
    const l = document.createElement("label");
    l.innerHTML = `layer ${i + 1} <input type="number" min="1" max="${OPTIONS.max_units}" step="1" value="${w}" id="layer-${i}">`;
    l.querySelector("input").addEventListener("change", (e) => { cfg.hidden[i] = Number(e.target.value); changed(); });
    layers.appendChild(l);
  });
  const hp = $("hyperparams");
  hp.innerHTML = "";
  for (const [name, [lo, hi]] of Object.entries(OPTIONS.optimizers[cfg.optimizer] || {})) {
    const l = document.createElement("label");
    l.innerHTML = `${name} <input type="number" min="${lo}" max="${hi}" step="any" value="${cfg[name]}" id="hp-${name}">`;
    l.querySelector("input").addEventListener("change", (e) => { cfg[name] = Number(e.target.value); changed(); });
    hp.appendChild(l);
  }
}

function changed(now) {
  window.history.replaceState(null, "", "#" + toHash(cfg));
  showControls();
  clearTimeout(configTimer);
  pendingConfig = true;
  configTimer = setTimeout(sendConfig, now ? 0 : 200);
}

function ready(yes) {
  // Step and reset work once the server has built the job and sent its first frame; play
  // pressed before that is queued and honoured then (pressPlay), so it stays enabled.
  for (const id of ["step", "reset"]) $(id).disabled = !yes;
  document.body.dataset.ready = yes ? "1" : "0";
}

// Play during a set-up change (the network was just edited) starts the *new* network once
// its first frame is there: a click on the old one would be lost when the new one replaces it.
function pressPlay() {
  if (pendingConfig || document.body.dataset.ready !== "1") {
    queuedPlay = !queuedPlay;
    if (pendingConfig) { clearTimeout(configTimer); sendConfig(); }
    setPlaying(queuedPlay);
    return;
  }
  control(playing ? "pause" : "play");
}

async function sendConfig() {
  pendingConfig = false;
  if (!sid) return;
  const seq = ++configSeq;
  ready(false);
  try {
    const r = await api("config", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(cfg) });
    const body = await r.json();
    if (seq !== configSeq) return;
    setup = body.setup;
    jobId = body.job;
    hist = { train: [], test: [], mistakes: [] };
    lastFrame = null;
    setPlaying(queuedPlay);
    $("nonfinite").textContent = "";
    say(cfg.dataset === "upload" ? uploadNote : "");
    if (cfg.mode === "grid") buildGrid();
    const waiting = early.filter((f) => f.job === jobId);
    early = [];
    waiting.forEach(onFrame);
  } catch (e) {
    if (seq === configSeq) { setup = null; say(e.message); }
  }
}

async function control(action) {
  try {
    const seen = framesSeen;
    const r = await api(action, { method: "POST" });
    const body = await r.json();
    // Frames carry the state: one that came meanwhile (a perceptron that converged at once) has the last word.
    if (framesSeen === seen) setPlaying(body.playing && !(lastFrame && lastFrame.done && lastFrame.job === body.job));
    if (action === "reset") {
      $("nonfinite").textContent = "";
      jobId = body.job;
      const waiting = early.filter((f) => f.job === jobId);
      early = [];
      waiting.forEach(onFrame);
    }
    say("");
  } catch (e) { say(e.message); }
}

function setPlaying(p) {
  playing = p;
  $("play").classList.toggle("playing", p);
  $("play").innerHTML = p ? "&#x275a;&#x275a; pause" : "&#x25b6; play";
}

async function uploadFile() {
  const file = $("upload").files[0];
  if (!file) return;
  try {
    const r = await api(`upload?name=${encodeURIComponent(file.name)}`, { method: "POST", headers: { "Content-Type": "text/csv" }, body: await file.arrayBuffer() });
    const info = await r.json();
    uploadNote = info.notice ? `uploaded ${file.name}: ${info.rows} rows, ${info.task}. Note: ${info.notice}` : "";
    say(uploadNote || `uploaded ${file.name}: ${info.rows} rows, ${info.task}`);
    cfg.dataset = "upload";
    changed(true);
  } catch (e) { say(e.message); }
}

async function download(what, name) {
  try {
    const r = await api(what);
    const url = URL.createObjectURL(await r.blob());
    const a = document.createElement("a");
    a.href = url; a.download = name; document.body.appendChild(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  } catch (e) { say(e.message); }
}

// ----------------------------------------------------------------------------- the stream

function connect() {
  ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/stream`);
  ws.onmessage = (event) => {
    const msg = JSON.parse(event.data);
    if (msg.type === "session") { sid = msg.id; sendConfig(); return; }
    if (msg.type === "error") { say(msg.message); setPlaying(false); return; }
    if (msg.type === "compiled") {
      compiledJob = Math.max(compiledJob, msg.job); // it may come before the set-up's answer
      if (msg.job >= jobId) $("compiling").textContent = "";
      return;
    }
    if (msg.type === "frame") {
      try { onFrame(msg); } finally { requestAnimationFrame(() => ws.readyState === 1 && ws.send("ack")); }
    }
  };
  ws.onclose = () => { sid = null; say("the connection to the playground server closed; reload the page when it runs again"); };
}

function onFrame(f) {
  if (f.job > jobId) { early.push(f); return; } // its set-up's answer has not arrived yet
  if (!setup || f.job !== jobId) return;
  framesSeen++;
  if (f.action === "start") {
    hist = { train: [], test: [], mistakes: [] };
    ready(true);
    $("compiling").textContent = f.kind !== "perceptron" && f.job > compiledJob ? "compiling…" : "";
    if (queuedPlay) { queuedPlay = false; control("play"); }
  } else $("compiling").textContent = ""; // a trained frame: its program is compiled
  const now = performance.now();
  frameTimes.push(now);
  while (frameTimes.length && frameTimes[0] < now - 2000) frameTimes.shift();
  $("fps").textContent = frameTimes.length > 1 ? (1000 * (frameTimes.length - 1) / (now - frameTimes[0])).toFixed(1) : "0";
  $("epoch").textContent = f.epoch;
  $("speed").textContent = Math.round(f.steps_per_s);
  $("speed-unit").textContent = f.kind === "perceptron" ? (cfg.perceptron_step === "epoch" ? "epochs/s" : "samples/s") : "steps/s";
  setPlaying(f.playing);
  lastFrame = f;
  if (f.kind !== "grid") $("output-caption").textContent = "";
  if (f.kind === "network") drawNetworkFrame(f);
  else if (f.kind === "perceptron") drawPerceptronFrame(f);
  else drawGridFrame(f);
  showAccuracy(f);
}

function pct(v) { return v == null ? "–" : `${(100 * v).toFixed(1)}%`; }

// Accuracy beside the loss (classification only); in grid mode, of the network the output shows.
function showAccuracy(f) {
  let acc = f.accuracy;
  if (acc && f.kind === "grid") {
    const k = gridShown(f);
    acc = { train: acc.train[k], test: acc.test[k] };
  }
  const has = acc && acc.train != null;
  $("accuracy").hidden = !has;
  $("acc-line").hidden = !has;
  if (!has) return;
  for (const [id, v] of [["train-acc", acc.train], ["test-acc", acc.test], ["train-acc-2", acc.train], ["test-acc-2", acc.test]]) $(id).textContent = pct(v);
}

let lastOutput = null; // the output map's last arguments, to draw it again when a toggle changes
function redraw() { if (lastOutput && setup) drawOutput(...lastOutput); }

// ----------------------------------------------------------------------------- drawing

function bytes(b64) {
  const s = atob(b64), out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function mix(a, b, t) { return [0, 1, 2].map((i) => Math.round(a[i] + (b[i] - a[i]) * t)); }
function diverging(u) { // 0..255 -> blue .. white .. orange
  const t = u / 255;
  return t < 0.5 ? mix(BLUE, WHITE, t * 2) : mix(WHITE, ORANGE, (t - 0.5) * 2);
}

// An offscreen n x n image from a color function of the cell index, drawn scaled.
function paintMap(ctx, n, color, x, y, w, h) {
  const off = document.createElement("canvas");
  off.width = n; off.height = n;
  const octx = off.getContext("2d"), img = octx.createImageData(n, n);
  for (let i = 0; i < n * n; i++) {
    const [r, g, b] = color(i);
    img.data[4 * i] = r; img.data[4 * i + 1] = g; img.data[4 * i + 2] = b; img.data[4 * i + 3] = 255;
  }
  octx.putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(off, x, y, w, h);
}

// Maps are drawn lighter than the points, so that the points stand out on them.
function light(rgb) { return mix(rgb, WHITE, 0.35); }

// "discretize output": each point of the plane in its class's full colour (a regression's
// values split at the middle of the targets' range), instead of shaded by confidence.
function outputColor(out) {
  const sharp = !!view.discretize;
  if (out.p) { const p = bytes(out.p); return (i) => light(diverging(sharp ? (p[i] >= 128 ? 255 : 0) : p[i])); }
  if (out.cls) {
    const c = bytes(out.cls), conf = bytes(out.conf), k = setup.classes;
    return (i) => mix(WHITE, PALETTE[c[i] % PALETTE.length], sharp ? 0.75 : Math.max(0, (conf[i] / 255 - 1 / k) / (1 - 1 / k)) * 0.75);
  }
  const v = out.values, [lo, hi] = setup.y_range[1] > setup.y_range[0] ? setup.y_range : [0, 1];
  return (i) => {
    const t = Math.min(1, Math.max(0, (v[i] - lo) / (hi - lo)));
    return light(diverging(255 * (sharp ? (t >= 0.5 ? 1 : 0) : t)));
  };
}

function pointColor(label) {
  if (setup.task === "regression") {
    if (setup.dim === 1) return [60, 60, 60];
    const [lo, hi] = setup.y_range[1] > setup.y_range[0] ? setup.y_range : [0, 1];
    return diverging(255 * Math.min(1, Math.max(0, (label - lo) / (hi - lo))));
  }
  if (setup.task === "binary") return label ? ORANGE : BLUE;
  return PALETTE[label % PALETTE.length];
}

function toCanvas(w, h) {
  const [x0, x1, y0, y1] = setup.box;
  return (p) => [(p[0] - x0) / (x1 - x0) * w, h - (p[1] - y0) / (y1 - y0) * h];
}

function drawPoints(ctx, w, h, radius, highlight) {
  const at = toCanvas(w, h);
  const sets = view.show_test ? [[setup.train, true], [setup.test, false]] : [[setup.train, true]];
  for (const [set, filled] of sets) {
    set.x.forEach((p, i) => {
      const xy = setup.dim === 1 ? [p[0], set.y[i]] : p;
      const [cx, cy] = at(xy);
      ctx.beginPath();
      ctx.arc(cx, cy, radius, 0, 2 * Math.PI);
      const [r, g, b] = pointColor(set.y[i]);
      ctx.fillStyle = filled ? `rgb(${r},${g},${b})` : "#fff";
      // A 2-D regression's points are coloured by value, some nearly white: a grey rim shows them.
      const rim = setup.task === "regression" ? "#666" : "#fff";
      ctx.strokeStyle = filled ? rim : `rgb(${r},${g},${b})`;
      ctx.lineWidth = filled ? 0.8 : 1.6;
      ctx.fill(); ctx.stroke();
    });
  }
  if (highlight != null) {
    const [cx, cy] = at(setup.train.x[highlight]);
    ctx.beginPath(); ctx.arc(cx, cy, radius + 5, 0, 2 * Math.PI);
    ctx.strokeStyle = "#d00"; ctx.lineWidth = 2.5; ctx.stroke();
  }
}

function drawOutput(out, highlight, line, ringed) {
  lastOutput = [out, highlight, line, ringed];
  const c = $("output"), ctx = c.getContext("2d"), W = c.width, H = c.height;
  ctx.clearRect(0, 0, W, H);
  if (setup.dim === 1) {
    drawPoints(ctx, W, H, 2.5);
    const at = toCanvas(W, H), xs = setup.box, n = out.values.length;
    ctx.beginPath();
    out.values.forEach((v, i) => {
      const [cx, cy] = at([xs[0] + (xs[1] - xs[0]) * i / (n - 1), v]);
      i ? ctx.lineTo(cx, cy) : ctx.moveTo(cx, cy);
    });
    ctx.strokeStyle = "#f59322"; ctx.lineWidth = 2.5; ctx.stroke();
    return;
  }
  paintMap(ctx, setup.grid, outputColor(out), 0, 0, W, H);
  if (line) drawLine(ctx, W, H, line);
  drawPoints(ctx, W, H, 3.2, highlight);
  if (ringed) { // the certificate's points (features x1, x2 only: the plane shows them)
    const at = toCanvas(W, H);
    ctx.strokeStyle = "#555"; ctx.lineWidth = 1.2;
    for (const i of ringed) { const [cx, cy] = at(setup.train.x[i]); ctx.beginPath(); ctx.arc(cx, cy, 6, 0, 2 * Math.PI); ctx.stroke(); }
  }
}

function drawLine(ctx, W, H, w) { // w0 + w1 x1 + w2 x2 = 0
  const [x0, x1] = setup.box, at = toCanvas(W, H);
  if (Math.abs(w[2]) < 1e-12 && Math.abs(w[1]) < 1e-12) return;
  let a, b;
  if (Math.abs(w[2]) > Math.abs(w[1])) {
    a = [x0, -(w[0] + w[1] * x0) / w[2]]; b = [x1, -(w[0] + w[1] * x1) / w[2]];
  } else {
    const [, , y0, y1] = setup.box;
    a = [-(w[0] + w[2] * y0) / w[1], y0]; b = [-(w[0] + w[2] * y1) / w[1], y1];
  }
  const [ax, ay] = at(a), [bx, by] = at(b);
  ctx.beginPath(); ctx.moveTo(ax, ay); ctx.lineTo(bx, by);
  ctx.strokeStyle = "#111"; ctx.lineWidth = 2; ctx.stroke();
}

function drawCurves(canvas, series, colors, opts) {
  const ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height, pad = 26;
  ctx.clearRect(0, 0, W, H);
  const all = [...series.flat(), ...((opts && opts.scaleWith) || [])].filter((v) => v != null && isFinite(v));
  const n = Math.max(2, ...series.map((s) => s.length));
  let hi = all.length ? Math.max(...all) : 1;
  if (opts && opts.max) hi = Math.min(hi, opts.max);
  hi = hi > 0 ? hi : 1;
  ctx.fillStyle = "#666"; ctx.font = "10px sans-serif";
  ctx.fillText(hi.toPrecision(3), 2, 10); ctx.fillText("0", 2, H - pad + 10);
  ctx.fillText(`${n - 1}`, W - 24, H - 4);
  ctx.strokeStyle = "#ccc"; ctx.beginPath(); ctx.moveTo(pad, 4); ctx.lineTo(pad, H - pad); ctx.lineTo(W - 4, H - pad); ctx.stroke();
  const y = (v) => H - pad - (H - pad - 6) * Math.min(v, hi) / hi, x = (i) => pad + (W - pad - 6) * i / (n - 1);
  if (opts && opts.band) { // a shaded band between two series, under the lines
    const [lo, up] = opts.band, idx = lo.map((v, i) => i).filter((i) => lo[i] != null && up[i] != null);
    if (idx.length > 1) {
      ctx.beginPath();
      idx.forEach((i, j) => (j ? ctx.lineTo(x(i), y(up[i])) : ctx.moveTo(x(i), y(up[i]))));
      idx.slice().reverse().forEach((i) => ctx.lineTo(x(i), y(lo[i])));
      ctx.closePath(); ctx.fillStyle = "rgba(245,147,34,0.25)"; ctx.fill();
    }
  }
  series.forEach((s, k) => {
    ctx.beginPath();
    let pen = false;
    s.forEach((v, i) => {
      const x = pad + (W - pad - 6) * i / (n - 1), y = H - pad - (H - pad - 6) * Math.min(v, hi) / hi;
      if (v == null || !isFinite(v)) { pen = false; return; }
      pen ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
      pen = true;
    });
    ctx.strokeStyle = colors[k % colors.length]; ctx.lineWidth = (opts && opts.width) || 1.6; ctx.stroke();
  });
}

// --- network mode

function featureMap(name) { // the input features over the plane, computed here
  const n = setup.grid, [x0, x1, y0, y1] = setup.box, vals = new Float64Array(n * n);
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) {
    const a = x0 + (x1 - x0) * c / (n - 1), b = y1 - (y1 - y0) * r / (n - 1);
    vals[r * n + c] = { x1: a, x2: b, x1sq: a * a, x2sq: b * b, x1x2: a * b, sinx1: Math.sin(a), sinx2: Math.sin(b) }[name];
  }
  let m = 1e-9; for (const v of vals) m = Math.max(m, Math.abs(v));
  return (i) => diverging(127.5 + 127.5 * vals[i] / m);
}

function drawNetworkFrame(f) {
  if (f.action === "start" && f.initial_loss) { hist.train.push(f.initial_loss.train); hist.test.push(f.initial_loss.test); }
  hist.train.push(...f.train_loss); hist.test.push(...f.test_loss);
  drawOutput(f.output);
  drawCurves($("loss"), [hist.train, hist.test], ["#222", "#f59322"]);
  const last = (a) => { for (let i = a.length - 1; i >= 0; i--) if (a[i] != null) return a[i]; return null; };
  const tr = last(hist.train), te = last(hist.test);
  $("train-loss").textContent = tr == null ? "–" : tr.toFixed(4);
  $("test-loss").textContent = te == null ? "–" : te.toFixed(4);
  $("nonfinite").textContent = f.nonfinite
    ? `the loss became NaN/Inf in epoch ${f.nonfinite.epoch} (step ${f.nonfinite.step}): training stopped, the last finite weights are shown. Lower the learning rate.`
    : "";
  drawDiagram(f);
}

function drawDiagram(f) {
  const c = $("network"), ctx = c.getContext("2d");
  const sizes = setup.sizes, cols = sizes.length, box = 40, gapY = 10;
  const tallest = Math.max(...sizes);
  c.height = Math.max(200, tallest * (box + gapY) + 30);
  const W = c.width, H = c.height;
  ctx.clearRect(0, 0, W, H);
  const colX = (j) => 20 + (W - 40 - box) * j / Math.max(1, cols - 1);
  const unitY = (j, i) => (H - sizes[j] * (box + gapY)) / 2 + i * (box + gapY);
  // edges first, under the maps: colour by sign, width by magnitude
  let wmax = 1e-9;
  f.weights.forEach((l) => l.w.forEach((v) => { if (v != null) wmax = Math.max(wmax, Math.abs(v)); }));
  f.weights.forEach((layer, j) => {
    const [nin, nout] = layer.shape;
    for (let a = 0; a < nin; a++) for (let b = 0; b < nout; b++) {
      const v = layer.w[a * nout + b];
      if (v == null) continue;
      ctx.beginPath();
      const x0 = colX(j) + box, y0 = unitY(j, a) + box / 2, x1 = colX(j + 1), y1 = unitY(j + 1, b) + box / 2;
      ctx.moveTo(x0, y0); ctx.bezierCurveTo((x0 + x1) / 2, y0, (x0 + x1) / 2, y1, x1, y1);
      ctx.strokeStyle = v >= 0 ? "rgba(245,147,34,0.85)" : "rgba(8,119,189,0.85)";
      ctx.lineWidth = 0.4 + 5 * Math.abs(v) / wmax;
      ctx.stroke();
    }
  });
  ctx.font = "10px sans-serif"; ctx.fillStyle = "#333";
  setup.features.forEach((name, i) => {
    if (setup.dim === 2) paintMap(ctx, setup.grid, featureMap(name), colX(0), unitY(0, i), box, box);
    else { ctx.strokeRect(colX(0), unitY(0, i), box, box); }
    ctx.fillText(OPTIONS.features[name], colX(0), unitY(0, i) - 1);
  });
  f.units.forEach((layer, j) => {
    layer.maps.forEach((m, i) => {
      const x = colX(j + 1), y = unitY(j + 1, i);
      if (setup.dim === 2) { const u = bytes(m); paintMap(ctx, setup.grid, (k) => diverging(u[k]), x, y, box, box); }
      else drawUnitCurve(ctx, bytes(m), x, y, box);
      ctx.strokeStyle = "#999"; ctx.lineWidth = 1; ctx.strokeRect(x, y, box, box);
    });
  });
  const outX = colX(cols - 1);
  if (setup.dim === 2 && sizes[cols - 1] === 1) paintMap(ctx, setup.grid, outputColor(f.output), outX, unitY(cols - 1, 0), box, box);
  for (let i = 0; i < sizes[cols - 1]; i++) {
    ctx.strokeStyle = "#333"; ctx.strokeRect(outX, unitY(cols - 1, i), box, box);
  }
  ctx.fillStyle = "#333";
  ctx.fillText("output", outX, unitY(cols - 1, 0) - 1);
}

function drawUnitCurve(ctx, u, x, y, box) {
  ctx.beginPath();
  u.forEach((v, i) => {
    const px = x + box * i / (u.length - 1), py = y + box - box * v / 255;
    i ? ctx.lineTo(px, py) : ctx.moveTo(px, py);
  });
  ctx.strokeStyle = "#f59322"; ctx.lineWidth = 1.2; ctx.stroke();
}

// --- perceptron mode

function drawPerceptronFrame(f) {
  hist.mistakes.push(...f.mistakes);
  const line = setup.features.join(",") === "x1,x2" ? f.weights : null;
  drawOutput(f.output, f.last_update, line, f.certificate ? f.certificate.points : null);
  const c = $("mistakes"), ctx = c.getContext("2d"), W = c.width, H = c.height, pad = 26;
  ctx.clearRect(0, 0, W, H);
  const m = hist.mistakes.slice(-200), hi = Math.max(1, ...m);
  const bw = (W - pad - 4) / Math.max(20, m.length);
  m.forEach((v, i) => {
    const h = (H - pad - 6) * v / hi;
    ctx.fillStyle = v ? "#b33" : "#3a3";
    ctx.fillRect(pad + i * bw, H - pad - h, Math.max(1, bw - 1), h);
  });
  ctx.fillStyle = "#666"; ctx.font = "10px sans-serif"; ctx.fillText(String(hi), 2, 10); ctx.fillText("0", 2, H - pad + 10);
  const nov = f.novikoff
    ? `Novikoff's bound (R/γ)² = (${f.novikoff.R}/${f.novikoff.gamma})² = ${f.novikoff.bound} updates at most (γ from ${f.novikoff.from}).`
    : f.certificate
      ? `<b id="certificate">No line separates these points</b>: multipliers λ ≥ 0 on the ${f.certificate.points.length} ` +
        `points ringed in grey make Σ λᵢ yᵢ (1, xᵢ) = 0 (Gordan's certificate), so the mistakes can never end.`
      : "No bound known: the data may not be linearly separable.";
  const state = f.converged
    ? `<b id="perceptron-converged">converged</b> after ${f.epoch} epochs and ${f.updates} updates.`
    : `<b id="perceptron-converged">not converged</b>: ${f.epoch} epochs, ${f.updates} updates` +
      (f.done ? " &mdash; stopped: the mistakes never end (the data are not linearly separable)." : ".");
  const w = f.weights.map((v) => v.toFixed(3)).join(", ");
  $("perceptron-info").innerHTML = `${state}<br>w = (${w}) (bias first); mistakes in the last epoch: ` +
    `<b id="last-mistakes">${hist.mistakes.length ? hist.mistakes[hist.mistakes.length - 1] : "–"}</b><br>${nov}`;
}

// --- grid mode

function buildGrid() {
  const g = $("grid");
  g.innerHTML = "";
  const rows = setup.rows, cols = setup.cols;
  // Cells share the column's width (at most 88 px each), so that 8 x 8 fits beside the output.
  g.style.gridTemplateColumns = `64px repeat(${cols.length}, minmax(0, 88px))`;
  g.appendChild(document.createElement("div"));
  cols.forEach((c) => { const d = document.createElement("div"); d.className = "head"; d.textContent = c; g.appendChild(d); });
  rows.forEach((r, i) => {
    const h = document.createElement("div"); h.className = "head"; h.textContent = r; g.appendChild(h);
    cols.forEach((c, j) => {
      const d = document.createElement("div"); d.className = "cell";
      d.innerHTML = `<canvas width="84" height="84" id="cell-${i}-${j}"></canvas>` +
        `<canvas width="84" height="22" id="spark-${i}-${j}" class="spark"></canvas><span id="cell-loss-${i}-${j}">–</span>` +
        `<span class="cell-acc" id="cell-acc-${i}-${j}"></span>`;
      g.appendChild(d);
    });
  });
  $("grid-caption").textContent = `${rows.length} × ${cols.length} networks trained at once`;
  hist.grid = rows.map(() => cols.map(() => []));
}

// A member's test loss over its epochs, scaled to its own range (0 at the bottom).
function sparkline(c, s) {
  const ctx = c.getContext("2d"), W = c.width, H = c.height;
  ctx.clearRect(0, 0, W, H);
  const finite = s.filter((v) => v != null && isFinite(v));
  if (finite.length < 2) return;
  const hi = Math.max(...finite) || 1;
  ctx.beginPath();
  let pen = false;
  s.forEach((v, i) => {
    if (v == null || !isFinite(v)) { pen = false; return; }
    const x = W * i / (s.length - 1), y = H - 2 - (H - 4) * v / hi;
    pen ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
    pen = true;
  });
  ctx.strokeStyle = "#f59322"; ctx.lineWidth = 1.2; ctx.stroke();
}

function drawGridFrame(f) {
  if (!hist.grid) buildGrid();
  $("grid-caption").textContent = `${setup.rows.length} × ${setup.cols.length} networks trained at once` +
    (f.devices > 1 ? ` on ${f.devices} devices` : "");
  const cols = setup.cols.length;
  let best = null;
  f.maps.forEach((m, k) => {
    const i = Math.floor(k / cols), j = k % cols, c = $(`cell-${i}-${j}`);
    if (!c) return;
    const ctx = c.getContext("2d");
    if (setup.dim === 2) {
      paintMap(ctx, setup.grid, outputColor(m), 0, 0, c.width, c.height);
      drawPoints(ctx, c.width, c.height, 1.2);
    } else { ctx.clearRect(0, 0, c.width, c.height); drawUnitCurve(ctx, m.values.map((v) => 255 * (v - setup.box[2]) / (setup.box[3] - setup.box[2])), 0, 0, c.width); }
    hist.grid[i][j].push(...f.test_loss[k]);
    const s = hist.grid[i][j], v = s.length ? s[s.length - 1] : null;
    sparkline($(`spark-${i}-${j}`), s);
    $(`cell-loss-${i}-${j}`).textContent = f.nonfinite[k] != null ? `NaN at epoch ${f.nonfinite[k]}` : v == null ? "–" : v.toFixed(3);
    $(`cell-loss-${i}-${j}`).className = f.nonfinite[k] != null ? "bad" : "";
    const acc = f.accuracy && f.accuracy.test[k] != null ? [f.accuracy.train[k], f.accuracy.test[k]] : null;
    $(`cell-acc-${i}-${j}`).textContent = acc ? `acc ${Math.round(100 * acc[0])}/${Math.round(100 * acc[1])}%` : "";
    $(`cell-acc-${i}-${j}`).title = acc ? `accuracy: train ${pct(acc[0])}, test ${pct(acc[1])}` : "";
    if (v != null && (best == null || v < best[0])) best = [v, k];
  });
  const shown = best ? best[1] : 0;
  f.shown = shown;
  drawOutput(f.maps[shown]);
  $("output-caption").textContent = `(${best ? "the lowest test loss" : "the first network"}: ` +
    `${setup.rows[Math.floor(shown / cols)]}, ${setup.cols[shown % cols]})`;
  drawGridSummary($("loss"), hist.grid.flat());
  $("test-loss").textContent = best ? best[0].toFixed(4) : "–";
  const tr = f.train_loss[shown] || [], trLast = tr.length ? tr[tr.length - 1] : null;
  $("train-loss").textContent = trLast == null ? "–" : trLast.toFixed(4);
  $("nonfinite").textContent = "";
}

function gridShown(f) { return f.shown || 0; }

// The grid's loss panel: one line per network is unreadable at 8 x 8, so per epoch the
// median test loss (line) and the band from the lowest to the highest (shaded).
function drawGridSummary(canvas, series) {
  const n = Math.max(0, ...series.map((s) => s.length));
  const med = [], lo = [], hi = [];
  for (let e = 0; e < n; e++) {
    const v = series.map((s) => s[e]).filter((x) => x != null && isFinite(x)).sort((a, b) => a - b);
    if (!v.length) { med.push(null); lo.push(null); hi.push(null); continue; }
    const m = v.length >> 1;
    med.push(v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2); lo.push(v[0]); hi.push(v[v.length - 1]);
  }
  drawCurves(canvas, [med], ["#f59322"], { width: 1.8, max: 2, band: [lo, hi], scaleWith: hi });
}

// ----------------------------------------------------------------------------- start

async function start() {
  OPTIONS = await (await fetch("/api/options")).json();
  cfg = fromHash();
  buildControls();
  showControls();
  window.addEventListener("hashchange", () => { const c = fromHash(); if (toHash(c) !== toHash(cfg)) { cfg = c; changed(true); } });
  connect();
}

start();
