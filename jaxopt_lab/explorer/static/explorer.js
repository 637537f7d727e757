// The convergence explorer's page: controls -> JSON API -> canvas. No build step, no libraries.
"use strict";

const $ = (id) => document.getElementById(id);
const CHANNEL = "page-" + Math.random().toString(36).slice(2, 10);
const DEBOUNCE_MS = 60;
const MAX_PATHS = 8;
const CSS_SIZE = 512;
const NO_VALUE = 255, SCALE_TOP = 254;
const STATUS_COLOURS = { unfinished: [190, 190, 190], converged: [47, 111, 219], diverged: [198, 40, 40] };
const BASIN_COLOURS = [[31, 119, 180], [255, 127, 14], [44, 160, 44], [148, 103, 189],
  [140, 86, 75], [227, 119, 194], [188, 189, 34], [23, 190, 207], [100, 100, 220], [220, 180, 60]];
const NO_BASIN = [215, 215, 215], DIVERGED_DARK = [40, 40, 40];
const PATH_COLOURS = ["#111", "#e6007e", "#ff8c00", "#00a19a", "#7b2cbf", "#b5651d", "#0057b8", "#6b8e23"];
// Viridis at five stops (van der Walt & Smith 2015): fast/low = dark purple, slow/high = yellow.
const RAMP = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];

const state = {
  catalogue: null, surface: "himmelblau", optimizer: "momentum", schedule: "constant", hyperparams: {},
  surfaceParams: {}, steps: 300, resolution: 128, colour: "basin", dtype: "float32",
  view: "map", paths: [], plane: { x: "learning_rate", y: "momentum", resolution: 24, starts: 8,
  colour: "converged_share" },
};
let mapData = null, pathData = [], planeData = null;
const inflight = {}, lastDuration = {};

// ---------- helpers ----------
function rampColour(t) {
  t = Math.min(Math.max(t, 0), 1) * (RAMP.length - 1);
  const i = Math.min(Math.floor(t), RAMP.length - 2), f = t - i;
  return RAMP[i].map((c, k) => Math.round(c + f * (RAMP[i + 1][k] - c)));
}
const rgb = (c) => `rgb(${c[0]},${c[1]},${c[2]})`;
const fmt = (v) => (v === null || v === undefined) ? "–" :
  (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0)) ? v.toExponential(2) : (+v.toPrecision(4)).toString();
function decode(b64) {
  const text = atob(b64), bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}
function download(blob, name) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob); a.download = name; a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}
function optimizerEntry() { return state.catalogue.optimizers.find((o) => o.name === state.optimizer); }
function scheduleEntry() { return state.catalogue.schedules.find((s) => s.name === state.schedule); }
function sliderSpecs() { return optimizerEntry().hyperparameters.concat(scheduleEntry().hyperparameters); }
function surfaceEntry() { return state.catalogue.surfaces.find((s) => s.name === state.surface); }

// ---------- URL <-> state ----------
function toQuery() {
  const q = new URLSearchParams();
  q.set("surface", state.surface); q.set("optimizer", state.optimizer); q.set("schedule", state.schedule);
  for (const [k, v] of Object.entries(state.surfaceParams)) q.set("sp." + k, v);
  for (const [k, v] of Object.entries(state.hyperparams)) q.set("hp." + k, v);
  q.set("steps", state.steps); q.set("resolution", state.resolution); q.set("colour", state.colour);
  q.set("dtype", state.dtype); q.set("view", state.view);
  q.set("px", state.plane.x); q.set("py", state.plane.y);
  q.set("pres", state.plane.resolution); q.set("pstarts", state.plane.starts);
  q.set("pcolour", state.plane.colour);
  if (state.paths.length) q.set("paths", state.paths.map((p) => p.map((v) => +v.toPrecision(6)).join(",")).join(";"));
  return q.toString();
}
function fromQuery(text) {
  const q = new URLSearchParams(text), cat = state.catalogue;
  if (cat.surfaces.some((s) => s.name === q.get("surface"))) state.surface = q.get("surface");
  if (cat.optimizers.some((o) => o.name === q.get("optimizer"))) state.optimizer = q.get("optimizer");
  if (cat.schedules.some((s) => s.name === q.get("schedule"))) state.schedule = q.get("schedule");
  resetHyperparams();
  for (const [k, v] of q.entries()) {
    if (k.startsWith("hp.")) state.hyperparams[k.slice(3)] = Number(v);
    if (k.startsWith("sp.")) state.surfaceParams[k.slice(3)] = Number(v);
  }
  if (q.has("steps")) state.steps = Number(q.get("steps"));
  if (q.has("resolution")) state.resolution = Number(q.get("resolution"));
  for (const key of ["colour", "dtype", "view"]) if (q.has(key)) state[key] = q.get(key);
  if (q.has("px")) state.plane.x = q.get("px");
  if (q.has("py")) state.plane.y = q.get("py");
  if (q.has("pres")) state.plane.resolution = Number(q.get("pres"));
  if (q.has("pstarts")) state.plane.starts = Number(q.get("pstarts"));
  if (q.has("pcolour")) state.plane.colour = q.get("pcolour");
  state.paths = (q.get("paths") || "").split(";").filter(Boolean).map((p) => p.split(",").map(Number))
    .filter((p) => p.length === 2 && p.every(Number.isFinite)).slice(0, MAX_PATHS);
}
function writeUrl() { history.replaceState(null, "", "?" + toQuery()); }

// ---------- controls ----------
function resetHyperparams() {
  if (!optimizerEntry().takes_schedule) state.schedule = "constant";
  state.hyperparams = { ...state.catalogue.defaults[state.surface][state.optimizer] };
  for (const spec of scheduleEntry().hyperparameters) state.hyperparams[spec.name] = spec.default;
  const surface = surfaceEntry();
  state.surfaceParams = {};
  for (const c of surface.controls) state.surfaceParams[c.name] = c.default;
}
const toSlider = (spec, v) => spec.log ? (Math.log10(v) - Math.log10(spec.low)) / (Math.log10(spec.high) - Math.log10(spec.low))
  : (v - spec.low) / (spec.high - spec.low);
const fromSlider = (spec, t) => spec.log ? 10 ** (Math.log10(spec.low) + t * (Math.log10(spec.high) - Math.log10(spec.low)))
  : spec.low + t * (spec.high - spec.low);

function sliderControl(spec, value, testid, onValue) {
  const box = document.createElement("div");
  box.className = "slider";
  box.innerHTML = `<div class="head"><label for="${testid}" title="${spec.description || ""}">${spec.name}</label>
    <input type="number" id="${testid}" data-testid="${testid}" step="any"></div>
    <input type="range" min="0" max="1000" step="1" data-testid="${testid}-slider" aria-label="${spec.name}">
    <div class="scale"><span>${fmt(spec.low)}</span><span>${spec.log ? "log scale" : ""}</span><span>${fmt(spec.high)}</span></div>
    <div class="field-error" data-field="${testid}"></div>`;
  const number = box.querySelector("input[type=number]"), range = box.querySelector("input[type=range]");
  number.value = +(+value).toPrecision(6);
  range.value = Math.round(1000 * Math.min(Math.max(toSlider(spec, value), 0), 1));
  range.addEventListener("input", () => {
    const v = +fromSlider(spec, range.value / 1000).toPrecision(4);
    number.value = v; onValue(v);
  });
  number.addEventListener("input", () => {
    const v = Number(number.value);
    if (number.value === "" || !Number.isFinite(v)) return;
    if (v >= spec.low && v <= spec.high) range.value = Math.round(1000 * toSlider(spec, v));
    onValue(v);
  });
  return box;
}

function buildControls() {
  const hp = $("hyperparams"), sp = $("surface-params");
  hp.innerHTML = ""; sp.innerHTML = "";
  for (const spec of surfaceEntry().controls)
    sp.appendChild(sliderControl(spec, state.surfaceParams[spec.name], "sp-" + spec.name,
      (v) => { state.surfaceParams[spec.name] = v; changed(); }));
  for (const spec of sliderSpecs())
    hp.appendChild(sliderControl(spec, state.hyperparams[spec.name], "hp-" + spec.name,
      (v) => { state.hyperparams[spec.name] = v; changed(); }));
  $("surface").value = state.surface; $("optimizer").value = state.optimizer;
  $("schedule").value = state.schedule; $("schedule").disabled = !optimizerEntry().takes_schedule;
  $("schedule").title = scheduleEntry().formula;
  $("steps").value = state.steps; $("resolution").value = state.resolution;
  $("colour").value = state.colour; $("dtype").value = state.dtype;
  buildPlaneAxes();
}

function buildPlaneAxes() {
  const names = sliderSpecs().map((h) => h.name);
  if (!names.includes(state.plane.x)) state.plane.x = names[0];
  if (!names.includes(state.plane.y) || state.plane.y === state.plane.x)
    state.plane.y = names.find((n) => n !== state.plane.x) || state.plane.x;
  for (const [id, key] of [["plane-x", "x"], ["plane-y", "y"]]) {
    $(id).innerHTML = names.map((n) => `<option>${n}</option>`).join("");
    $(id).value = state.plane[key];
  }
  $("plane-resolution").value = state.plane.resolution; $("plane-starts").value = state.plane.starts;
  $("plane-colour").value = state.plane.colour;
}

// ---------- requests ----------
function settingsBody() {
  return { surface: state.surface, surface_params: state.surfaceParams, optimizer: state.optimizer,
    schedule: state.schedule, hyperparams: state.hyperparams, steps: state.steps, dtype: state.dtype };
}
function clearErrors() {
  $("error").textContent = "";
  document.querySelectorAll(".field-error").forEach((e) => { e.textContent = ""; });
  document.querySelectorAll(".invalid").forEach((e) => e.classList.remove("invalid"));
}
function showErrors(detail) {
  const items = Array.isArray(detail) ? detail : [{ loc: [], msg: String(detail) }];
  const lines = [];
  for (const item of items) {
    const loc = (item.loc || []).filter((p) => p !== "body");
    let testid = loc[0];
    if (loc[0] === "hyperparams" && loc[1]) testid = "hp-" + loc[1];
    if (loc[0] === "surface_params" && loc[1]) testid = "sp-" + loc[1];
    const control = testid && document.querySelector(`[data-testid="${testid}"]`);
    if (control) control.classList.add("invalid");
    const slot = testid && document.querySelector(`.field-error[data-field="${testid}"]`);
    if (slot) slot.textContent = item.msg;
    lines.push((loc.length ? loc.join(".") + ": " : "") + item.msg);
  }
  $("error").textContent = lines.join("\n");
}

async function post(kind, path, body, busy) {
  if (inflight[kind]) inflight[kind].abort();  // a newer request supersedes the older one
  const controller = new AbortController();
  inflight[kind] = controller;
  const started = performance.now(), size = JSON.stringify([path, body.resolution, body.steps,
    body.plane_resolution, body.start_resolution]);
  let timer = null;
  if (busy) {
    // Progress against the last request of the same size (a first one also compiles).
    const last = lastDuration[size];
    timer = setInterval(() => {
      const elapsed = (performance.now() - started) / 1000;
      $(busy).hidden = false;
      $(busy + "-text").textContent = `computing… ${elapsed.toFixed(1)} s` + (last
        ? ` of about ${(last / 1000).toFixed(1)} s` : " (the first map of a new size also compiles)");
    }, 150);
  }
  try {
    const response = await fetch(path, { method: "POST", signal: controller.signal,
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    if (response.status === 409 || response.status === 499) return null;
    const payload = path.endsWith(".npz") && response.ok ? await response.blob() : await response.json();
    if (!response.ok) { showErrors(payload.detail); return null; }
    payload.elapsed = performance.now() - started;
    payload.first = !(size in lastDuration);
    const timing = /dur=([\d.]+)/.exec(response.headers.get("Server-Timing") || "");
    payload.serverMs = timing ? Number(timing[1]) : null;
    lastDuration[size] = payload.elapsed;
    return payload;
  } catch (error) {
    if (error.name !== "AbortError") $("error").textContent = "server unreachable: " + error.message;
    return null;
  } finally {
    if (timer) clearInterval(timer);
    if (inflight[kind] === controller) { delete inflight[kind]; if (busy) $(busy).hidden = true; }
  }
}

let pending = null;
function changed() {
  writeUrl();
  clearTimeout(pending);
  pending = setTimeout(refresh, DEBOUNCE_MS);
}
function refresh() {
  clearErrors();
  if (state.view === "map") { requestMap(); requestPaths(); } else requestPlane();
}

async function requestMap() {
  const started = performance.now();
  const data = await post("map", "/api/map", { ...settingsBody(), resolution: state.resolution, channel: CHANNEL }, "busy");
  if (!data) return;
  mapData = data;
  for (const key of Object.keys(data.layers)) data.layers[key] = decode(data.layers[key]);
  drawMap(); drawLegend(); drawTheory(); drawOverlay();
  const c = data.counts;
  $("status").textContent = `converged ${c.converged} · diverged ${c.diverged} · unfinished ${c.unfinished}`;
  $("timing").textContent = `${data.resolution} × ${data.resolution} starts × ${state.steps} steps: ` +
    `server ${Math.round(data.serverMs)} ms, request to map ${Math.round(data.elapsed)} ms` +
    (data.first ? " (the first map of a size also compiles)" : "");
  document.body.dataset.paintMs = String(performance.now() - started);  // request to painted map
  document.body.dataset.mapVersion = String((Number(document.body.dataset.mapVersion) || 0) + 1);
}

async function requestPaths() {
  if (!state.paths.length) { pathData = []; drawOverlay(); drawLossCurve(); return; }
  const data = await post("paths", "/api/trajectories", { ...settingsBody(), starts: state.paths });
  if (!data) return;
  pathData = data.trajectories;
  drawOverlay(); drawLossCurve();
  document.body.dataset.pathVersion = String((Number(document.body.dataset.pathVersion) || 0) + 1);
}

// ---------- the map ----------
function cellColour(i) {
  const L = mapData.layers, status = mapData.legend.status[L.status[i]];
  if (state.colour === "status") return STATUS_COLOURS[status];
  if (state.colour === "basin") {
    if (status === "diverged") return DIVERGED_DARK;
    if (L.basin[i] === NO_VALUE) return NO_BASIN;
    // darker the longer it took: the shade shows the steps
    const base = BASIN_COLOURS[L.basin[i] % BASIN_COLOURS.length];
    const depth = L.steps[i] === NO_VALUE ? 1 : 0.35 + 0.65 * (L.steps[i] / SCALE_TOP);
    return base.map((c) => Math.round(255 - (255 - c) * depth));
  }
  if (state.colour === "steps") {
    if (status === "diverged") return STATUS_COLOURS.diverged;
    if (status === "unfinished") return NO_BASIN;
    return rampColour(L.steps[i] / mapData.stepsTop);
  }
  return L.loss[i] === NO_VALUE ? DIVERGED_DARK : rampColour(L.loss[i] / SCALE_TOP);
}

function drawMap() {
  const n = mapData.resolution, canvas = $("map");
  // The steps ramp spans what the converged starts took, not all the steps allowed.
  let top = 1;
  for (let i = 0; i < n * n; i++) {
    if (mapData.legend.status[mapData.layers.status[i]] === "converged") top = Math.max(top, mapData.layers.steps[i]);
  }
  mapData.stepsTop = top;
  canvas.width = n; canvas.height = n;
  const ctx = canvas.getContext("2d"), image = ctx.createImageData(n, n);
  for (let row = 0; row < n; row++) {
    for (let col = 0; col < n; col++) {
      const i = row * n + col, o = ((n - 1 - row) * n + col) * 4;  // first row is the lowest y
      const c = cellColour(i);
      image.data[o] = c[0]; image.data[o + 1] = c[1]; image.data[o + 2] = c[2]; image.data[o + 3] = 255;
    }
  }
  ctx.putImageData(image, 0, 0);
  const e = mapData.extent;
  $("x-range").textContent = `x from ${fmt(e[0])} to ${fmt(e[1])}`;
  $("y-range").textContent = `y from ${fmt(e[2])} (bottom) to ${fmt(e[3])} (top)`;
}

// data (x, y) <-> CSS pixels of the 512 × 512 stack: cell centres sit on the grid's points
function toPixel(x, y) {
  const n = mapData.resolution, e = mapData.extent;
  const u = ((x - e[0]) / (e[1] - e[0]) * (n - 1) + 0.5) / n, v = ((y - e[2]) / (e[3] - e[2]) * (n - 1) + 0.5) / n;
  return [u * CSS_SIZE, (1 - v) * CSS_SIZE];
}
function toData(px, py) {
  const n = mapData.resolution, e = mapData.extent;
  const fx = px / CSS_SIZE * n - 0.5, fy = (1 - py / CSS_SIZE) * n - 0.5;
  return [e[0] + fx / (n - 1) * (e[1] - e[0]), e[2] + fy / (n - 1) * (e[3] - e[2]), Math.round(fx), Math.round(fy)];
}

function prepare(canvas) {
  const ratio = window.devicePixelRatio || 1;
  canvas.width = CSS_SIZE * ratio; canvas.height = CSS_SIZE * ratio;
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  return ctx;
}

function drawOverlay() {
  const ctx = prepare($("overlay"));
  if (!mapData) return;
  const surface = surfaceEntry();
  ctx.lineWidth = 2;
  for (const [k, m] of mapData.legend.basin.minima.entries()) {
    const [x, y] = toPixel(m[0], m[1]);
    ctx.strokeStyle = "#fff"; ctx.beginPath(); ctx.arc(x, y, 5, 0, 2 * Math.PI); ctx.stroke();
    ctx.strokeStyle = "#000"; ctx.lineWidth = 1; ctx.beginPath(); ctx.arc(x, y, 6.5, 0, 2 * Math.PI); ctx.stroke();
    ctx.lineWidth = 2;
    ctx.fillStyle = "#000"; ctx.font = "11px system-ui"; ctx.fillText(String(k), x + 8, y - 6);
  }
  for (const s of surface.saddles) {
    const [x, y] = toPixel(s[0], s[1]);
    ctx.strokeStyle = "#000"; ctx.beginPath(); ctx.moveTo(x - 5, y - 5); ctx.lineTo(x + 5, y + 5);
    ctx.moveTo(x + 5, y - 5); ctx.lineTo(x - 5, y + 5); ctx.stroke();
  }
  pathData.forEach((path, k) => {
    ctx.strokeStyle = PATH_COLOURS[k % PATH_COLOURS.length]; ctx.lineWidth = 1.8; ctx.beginPath();
    let started = false;
    for (let t = 0; t < path.x.length; t++) {
      if (path.x[t] === null || path.y[t] === null) break;
      const [x, y] = toPixel(path.x[t], path.y[t]);
      if (!started) { ctx.moveTo(x, y); started = true; } else ctx.lineTo(x, y);
    }
    ctx.stroke();
    const [sx, sy] = toPixel(path.start[0], path.start[1]);
    ctx.fillStyle = PATH_COLOURS[k % PATH_COLOURS.length];
    ctx.beginPath(); ctx.arc(sx, sy, 4, 0, 2 * Math.PI); ctx.fill();
  });
  $("paths").textContent = pathData.map((p, k) => `path ${k + 1} from (${fmt(p.start[0])}, ${fmt(p.start[1])}): ${p.status}` +
    (p.status === "unfinished" ? "" : ` at step ${p.steps}`) + (p.basin >= 0 ? `, basin ${p.basin}` : "")).join("\n");
}

function drawLossCurve() {
  const canvas = $("loss-curve"), ratio = window.devicePixelRatio || 1, W = 360, H = 180;
  canvas.width = W * ratio; canvas.height = H * ratio;
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, W, H);
  if (!pathData.length) { ctx.fillStyle = "#888"; ctx.font = "12px system-ui"; ctx.fillText("click the map to add a path", 12, 24); return; }
  const fMin = surfaceEntry().f_min;
  const all = pathData.flatMap((p) => p.loss).filter((v) => v !== null);
  const ref = fMin !== null && fMin !== undefined ? fMin : Math.min(...all);
  const gap = (v) => Math.log10(Math.max(v - ref, 1e-16));
  const gaps = all.map(gap), lo = Math.min(...gaps), hi = Math.max(...gaps, lo + 1e-9);
  const steps = Math.max(...pathData.map((p) => p.loss.length - 1), 1);
  const L = 42, B = 22, T = 18;
  ctx.strokeStyle = "#999"; ctx.lineWidth = 1; ctx.strokeRect(L, T, W - L - 6, H - B - T);
  ctx.fillStyle = "#555"; ctx.font = "10.5px system-ui";
  ctx.fillText(`1e${hi.toFixed(1)}`, 2, T + 8); ctx.fillText(`1e${lo.toFixed(1)}`, 2, H - B);
  ctx.fillText("step 0", L, H - 6); ctx.fillText(String(steps), W - 30, H - 6);
  ctx.fillText(`loss − ${fmt(ref)}, log scale`, L, 12);
  pathData.forEach((p, k) => {
    ctx.strokeStyle = PATH_COLOURS[k % PATH_COLOURS.length]; ctx.lineWidth = 1.5; ctx.beginPath();
    p.loss.forEach((v, t) => {
      if (v === null) return;
      const x = L + (W - L - 6) * t / steps, y = T + (H - B - T) * (1 - (gap(v) - lo) / (hi - lo));
      if (t === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    });
    ctx.stroke();
  });
}

function item(colour, text) {
  return `<div class="legend-item"><span class="swatch" style="background:${rgb(colour)}"></span>${text}</div>`;
}
function ramp(low, high, note) {
  const stops = RAMP.map((c, i) => `${rgb(c)} ${100 * i / (RAMP.length - 1)}%`).join(",");
  return `<div class="ramp" style="background:linear-gradient(90deg,${stops})"></div>
    <div class="ramp-labels"><span>${low}</span><span>${note}</span><span>${high}</span></div>`;
}
function drawLegend() {
  const legend = mapData.legend, n = state.steps;
  let html = "<h3>Legend</h3>";
  if (state.colour === "status") {
    html += item(STATUS_COLOURS.converged, "converged: gradient or distance to a minimum within tolerance");
    html += item(STATUS_COLOURS.diverged, "diverged: not finite, or escaped far past the bounds");
    html += item(STATUS_COLOURS.unfinished, `unfinished after ${n} steps`);
  } else if (state.colour === "basin") {
    legend.basin.minima.forEach((m, k) => {
      html += item(BASIN_COLOURS[k % BASIN_COLOURS.length], `ended in minimum ${k} at (${fmt(m[0])}, ${fmt(m[1])})`);
    });
    html += `<div class="muted">pale: stopped early; deep: took nearly all ${n} steps</div>`;
    html += item(NO_BASIN, "in no listed minimum (unfinished, or converged elsewhere)");
    html += item(DIVERGED_DARK, "diverged");
  } else if (state.colour === "steps") {
    html += ramp("0", `≈ ${Math.round(mapData.stepsTop / SCALE_TOP * n)}`, "steps until converged");
    html += item(STATUS_COLOURS.diverged, "diverged"); html += item(NO_BASIN, "unfinished");
  } else {
    const l = legend.loss;
    html += ramp(`1e${l.log10_low.toFixed(1)}`, `1e${l.log10_high.toFixed(1)}`, `final loss − ${fmt(l.reference)}`);
    html += item(DIVERGED_DARK, "not finite");
  }
  html += `<div class="muted">circles: listed minima (numbered); crosses: saddles</div>`;
  $("legend").innerHTML = html;
}

function drawTheory() {
  const theory = mapData.theory, box = $("theory");
  if (!theory) { box.innerHTML = ""; return; }
  const spec = optimizerEntry().hyperparameters.find((h) => h.name === "learning_rate");
  const lo = Math.log10(spec.low), hi = Math.log10(spec.high), W = 360;
  const at = (v) => Math.min(Math.max((Math.log10(v) - lo) / (hi - lo), 0), 1) * W;
  const where = theory.kind === "exact" ? "exact on this quadratic" : "near the lowest minimum (its Hessian)";
  let marks = theory.marks.map((m, k) => `<div title="${m.label}" style="position:absolute;left:${at(m.value)}px;top:${k * 11}px;
    border-left:1px dashed #555;height:${34 - k * 11}px;font-size:10px;padding-left:2px;white-space:nowrap">${fmt(m.value)}</div>`).join("");
  marks += `<div style="position:absolute;left:${at(theory.learning_rate) - 5}px;top:30px;width:10px;height:10px;border-radius:50%;
    background:${theory.stable ? "#2f6fdb" : "#c62828"}"></div>`;
  box.innerHTML = `<h3>Theory: learning rate η (log axis)</h3>
    <div class="muted">curvatures λ = ${theory.eigenvalues.map(fmt).join(", ")} (${where})</div>
    <div class="eta-axis" style="border-bottom:1px solid #999">${marks}</div>
    <div class="ramp-labels"><span>${fmt(spec.low)}</span><span>η</span><span>${fmt(spec.high)}</span></div>
    <div>${theory.marks.map((m) => `${m.label}: <b>${fmt(m.value)}</b>`).join("<br>")}</div>
    <div>${state.schedule === "constant" ? "current η" : "initial η (then decaying)"} = <b>${fmt(theory.learning_rate)}</b>:
      ${theory.stable ? "inside the stable range" : "beyond the stability edge"}</div>`;
}

function hover(event) {
  if (!mapData) return;
  const rect = $("overlay").getBoundingClientRect();
  const [x, y, col, row] = toData((event.clientX - rect.left) * CSS_SIZE / rect.width, (event.clientY - rect.top) * CSS_SIZE / rect.height);
  const n = mapData.resolution;
  if (col < 0 || row < 0 || col >= n || row >= n) return;
  const i = row * n + col, L = mapData.layers, status = mapData.legend.status[L.status[i]];
  const steps = L.steps[i] === NO_VALUE ? `all ${state.steps} steps` : `≈ ${Math.round(L.steps[i] / SCALE_TOP * state.steps)} steps`;
  const basin = L.basin[i] === NO_VALUE ? "no basin" : `basin ${L.basin[i]}`;
  $("hover").textContent = `start (${fmt(x)}, ${fmt(y)}): ${status}, ${steps}, ${basin}`;
}

function addPath(event) {
  if (!mapData) return;
  const rect = $("overlay").getBoundingClientRect();
  const [x, y] = toData((event.clientX - rect.left) * CSS_SIZE / rect.width, (event.clientY - rect.top) * CSS_SIZE / rect.height);
  state.paths.push([x, y]);
  if (state.paths.length > MAX_PATHS) state.paths.shift();
  writeUrl(); requestPaths();
}

// ---------- the hyperparameter plane ----------
function planeBody() {
  const spec = (name) => sliderSpecs().find((h) => h.name === name);
  const axis = (name) => { const s = spec(name); return { name, low: s.low, high: s.high, log: s.log }; };
  return { ...settingsBody(), x: axis(state.plane.x), y: axis(state.plane.y), channel: CHANNEL + "-plane",
    plane_resolution: state.plane.resolution, start_resolution: state.plane.starts };
}
async function requestPlane() {
  if (state.plane.x === state.plane.y) { showErrors([{ loc: ["plane-y"], msg: "choose two different hyperparameters" }]); return; }
  const data = await post("plane", "/api/plane", planeBody(), "grid-busy");
  if (!data) return;
  planeData = data;
  for (const key of Object.keys(data.layers)) data.layers[key] = decode(data.layers[key]);
  drawPlane();
  document.body.dataset.planeVersion = String((Number(document.body.dataset.planeVersion) || 0) + 1);
}
function planePixel(axis, value) {
  const t = axis.log ? (Math.log10(value) - Math.log10(axis.low)) / (Math.log10(axis.high) - Math.log10(axis.low))
    : (value - axis.low) / (axis.high - axis.low);
  const n = planeData.resolution;
  return (t * (n - 1) + 0.5) / n * CSS_SIZE;
}
function drawPlane() {
  const n = planeData.resolution, canvas = $("grid"), layer = planeData.layers[state.plane.colour];
  canvas.width = n; canvas.height = n;
  const ctx = canvas.getContext("2d"), image = ctx.createImageData(n, n);
  for (let row = 0; row < n; row++) for (let col = 0; col < n; col++) {
    const b = layer[row * n + col], o = ((n - 1 - row) * n + col) * 4;
    const c = b === NO_VALUE ? NO_BASIN : rampColour(state.plane.colour === "converged_share" ? b / SCALE_TOP : 1 - b / SCALE_TOP);
    image.data.set([c[0], c[1], c[2], 255], o);
  }
  ctx.putImageData(image, 0, 0);
  const over = prepare($("grid-overlay")), X = planeData.x, Y = planeData.y;
  if (planeData.boundary) {
    over.strokeStyle = "#fff"; over.lineWidth = 3; over.setLineDash([]);
    const trace = () => { over.beginPath(); planeData.boundary.forEach(([x, y], k) => {
      const px = planePixel(X, x), py = CSS_SIZE - planePixel(Y, y);
      if (k === 0) over.moveTo(px, py); else over.lineTo(px, py); }); over.stroke(); };
    trace(); over.strokeStyle = "#c62828"; over.lineWidth = 2; over.setLineDash([7, 5]); trace(); over.setLineDash([]);
  }
  const cx = planePixel(X, state.hyperparams[X.name]), cy = CSS_SIZE - planePixel(Y, state.hyperparams[Y.name]);
  over.strokeStyle = "#000"; over.lineWidth = 1.5;
  over.beginPath(); over.arc(cx, cy, 7, 0, 2 * Math.PI); over.stroke();
  over.strokeStyle = "#fff"; over.beginPath(); over.arc(cx, cy, 5.5, 0, 2 * Math.PI); over.stroke();
  $("grid-x-label").textContent = `${X.name} from ${fmt(X.low)} to ${fmt(X.high)}${X.log ? " (log)" : ""} →`;
  $("grid-y-label").textContent = `↑ ${Y.name} from ${fmt(Y.low)} to ${fmt(Y.high)}${Y.log ? " (log)" : ""}`;
  const note = state.plane.colour === "converged_share" ? "share of starts that converge" : "median steps of converged starts (fast = yellow)";
  $("grid-legend").innerHTML = (state.plane.colour === "converged_share" ? ramp("none", "all", note) : ramp(String(state.steps), "0", note))
    + item(NO_BASIN, "no start converged") +
    (planeData.boundary ? `<div class="legend-item"><span class="swatch" style="background:#c62828;height:3px"></span>closed-form stability edge (λ_max = ${fmt(planeData.curvatures.eigenvalues.at(-1))}, ${planeData.curvatures.kind})</div>`
      : `<div class="muted">no closed-form edge for these axes and this optimizer</div>`);
  const shares = Array.from(planeData.layers.converged_share);
  const good = shares.filter((b) => b === SCALE_TOP).length;
  $("grid-status").textContent = `${n} × ${n} settings × ${planeData.starts_per_setting} starts: all converge in ${good} settings`;
}
function planeCell(event) {
  if (!planeData) return null;
  const rect = $("grid-overlay").getBoundingClientRect(), n = planeData.resolution;
  const col = Math.floor((event.clientX - rect.left) / rect.width * n), row = n - 1 - Math.floor((event.clientY - rect.top) / rect.height * n);
  if (col < 0 || row < 0 || col >= n || row >= n) return null;
  return { col, row, x: planeData.x.values[col], y: planeData.y.values[row] };
}

// ---------- wiring ----------
function setView(view) {
  state.view = view;
  $("map-view").hidden = view !== "map"; $("plane-view").hidden = view !== "plane";
  $("tab-map").setAttribute("aria-selected", view === "map"); $("tab-plane").setAttribute("aria-selected", view === "plane");
}
function wire() {
  $("surface").addEventListener("change", () => { state.surface = $("surface").value; state.paths = []; resetHyperparams(); buildControls(); changed(); });
  $("schedule").addEventListener("change", () => {
    for (const spec of scheduleEntry().hyperparameters) delete state.hyperparams[spec.name];
    state.schedule = $("schedule").value;
    for (const spec of scheduleEntry().hyperparameters) state.hyperparams[spec.name] = spec.default;
    buildControls(); changed();
  });
  $("optimizer").addEventListener("change", () => { state.optimizer = $("optimizer").value; resetHyperparams(); buildControls(); changed(); });
  $("steps").addEventListener("input", () => { const v = Number($("steps").value); if ($("steps").value !== "" && Number.isFinite(v)) { state.steps = v; changed(); } });
  $("resolution").addEventListener("change", () => { state.resolution = Number($("resolution").value); changed(); });
  $("dtype").addEventListener("change", () => { state.dtype = $("dtype").value; changed(); });
  $("colour").addEventListener("change", () => { state.colour = $("colour").value; writeUrl(); if (mapData) { drawMap(); drawLegend(); } });
  $("overlay").addEventListener("mousemove", hover);
  $("overlay").addEventListener("click", addPath);
  $("clear-paths").addEventListener("click", () => { state.paths = []; writeUrl(); requestPaths(); });
  $("tab-map").addEventListener("click", () => { setView("map"); changed(); });
  $("tab-plane").addEventListener("click", () => { setView("plane"); changed(); });
  for (const [id, key, number] of [["plane-x", "x"], ["plane-y", "y"], ["plane-resolution", "resolution", true], ["plane-starts", "starts", true]])
    $(id).addEventListener("change", () => { state.plane[key] = number ? Number($(id).value) : $(id).value; changed(); });
  $("plane-colour").addEventListener("change", () => { state.plane.colour = $("plane-colour").value; writeUrl(); if (planeData) drawPlane(); });
  $("grid-overlay").addEventListener("mousemove", (event) => {
    const cell = planeCell(event); if (!cell) return;
    const share = planeData.layers.converged_share[cell.row * planeData.resolution + cell.col] / SCALE_TOP;
    $("grid-hover").textContent = `${planeData.x.name} = ${fmt(cell.x)}, ${planeData.y.name} = ${fmt(cell.y)}: ${Math.round(100 * share)} % converge`;
  });
  $("grid-overlay").addEventListener("click", (event) => {
    const cell = planeCell(event); if (!cell) return;
    state.hyperparams[planeData.x.name] = +cell.x.toPrecision(4); state.hyperparams[planeData.y.name] = +cell.y.toPrecision(4);
    buildControls(); writeUrl(); drawPlane(); requestMap(); requestPaths();
  });
  $("copy-link").addEventListener("click", async () => {
    try { await navigator.clipboard.writeText(location.href); $("copy-link").textContent = "Link copied"; }
    catch { prompt("Copy this link", location.href); }
    setTimeout(() => { $("copy-link").textContent = "Copy link"; }, 1500);
  });
  $("download-png").addEventListener("click", () => {
    const out = document.createElement("canvas"); out.width = CSS_SIZE; out.height = CSS_SIZE;
    const ctx = out.getContext("2d"); ctx.imageSmoothingEnabled = false;
    ctx.drawImage($("map"), 0, 0, CSS_SIZE, CSS_SIZE); ctx.drawImage($("overlay"), 0, 0, CSS_SIZE, CSS_SIZE);
    out.toBlob((blob) => download(blob, `${state.optimizer}-${state.surface}.png`));
  });
  $("download-npz").addEventListener("click", async () => {
    const blob = await post("npz", "/api/map.npz", { ...settingsBody(), resolution: state.resolution });
    if (blob) download(blob, `${state.optimizer}-${state.surface}.npz`);
  });
  $("download-json").addEventListener("click", () => {
    const settings = { ...settingsBody(), resolution: state.resolution, colour: state.colour, paths: state.paths, url: location.href };
    download(new Blob([JSON.stringify(settings, null, 2)], { type: "application/json" }), `${state.optimizer}-${state.surface}.json`);
  });
}

async function main() {
  const response = await fetch("/api/catalogue");
  state.catalogue = await response.json();
  $("surface").innerHTML = state.catalogue.surfaces.map((s) => `<option value="${s.name}">${s.label}</option>`).join("");
  $("schedule").innerHTML = state.catalogue.schedules.map((s) => `<option value="${s.name}">${s.name.replace("_", " ")}: ${s.formula}</option>`).join("");
  $("optimizer").innerHTML = state.catalogue.optimizers.map((o) => `<option value="${o.name}">${o.label}</option>`).join("");
  const first = state.catalogue.first_view;
  Object.assign(state, { surface: first.surface, optimizer: first.optimizer, steps: first.steps,
    resolution: first.resolution, dtype: first.dtype });
  $("dtype").innerHTML = state.catalogue.dtypes.map((d) => `<option>${d}</option>`).join("");
  resetHyperparams();
  fromQuery(location.search);
  if (!state.catalogue.dtypes.includes(state.dtype)) state.dtype = state.catalogue.dtypes[0];
  buildControls(); wire(); setView(state.view); writeUrl();
  drawLossCurve();
  refresh();
}
main();
