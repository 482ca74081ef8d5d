// The playground's page: it draws what the server computed (every number comes from the library) and sends what the
// user changes. Colours: a blue-orange diverging scale for signs (safe for the common colour-vision deficiencies) and
// the Okabe-Ito palette for classes.
"use strict";

const $ = (id) => document.getElementById(id);
const CLASS_COLOURS = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000"];
let info = null;

function fmt(v) {
  if (v === null || v === undefined) return "";
  if (typeof v !== "number") return String(v);
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(2);
  return String(Number(v.toPrecision(4)));
}

// Negative blue, zero white, positive orange; |v| / scale saturates at 1.
function diverging(v, scale) {
  const t = Math.max(-1, Math.min(1, scale > 0 ? v / scale : 0));
  const [r0, g0, b0] = t < 0 ? [33, 102, 172] : [179, 88, 6];
  const k = Math.abs(t);
  const mix = (c) => Math.round(255 + (c - 255) * k);
  return `rgb(${mix(r0)},${mix(g0)},${mix(b0)})`;
}

function showError(message) {
  const e = $("error");
  if (!message) { e.hidden = true; e.textContent = ""; return; }
  e.textContent = message;
  e.hidden = false;
}

async function api(path, body) {
  const init = body === undefined ? {} : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
  const r = await fetch(path, init);
  const text = await r.text();
  let data;
  try { data = JSON.parse(text); } catch { data = { error: text }; }
  if (!r.ok) { const m = (data && data.error) || `HTTP ${r.status}`; showError(m); throw new Error(m); }
  // A success does not clear the message: a background call (the play switch) may end after a failed one. Each user
  // action clears it when it starts instead.
  return data;
}

// ---------------------------------------------------------------- tabs
const tabs = ["graph", "layer", "net", "conv"];
function selectTab(name) {
  for (const t of tabs) {
    const on = t === name;
    $("tab-" + t).setAttribute("aria-selected", on);
    $("tab-" + t).tabIndex = on ? 0 : -1;
    $("view-" + t).hidden = !on;
  }
  showError(null);
  if (name === "net") startStream(); else stopStream();
  if (name === "conv" && !convState) loadConv(0);
  if (name === "layer" && !layerState) runLayer();
}
for (const t of tabs) {
  $("tab-" + t).addEventListener("click", () => selectTab(t));
  $("tab-" + t).addEventListener("keydown", (e) => {
    const i = tabs.indexOf(t);
    if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
      const next = tabs[(i + (e.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
      selectTab(next);
      $("tab-" + next).focus();
    }
  });
}

// ---------------------------------------------------------------- 1. computational graph
const LAYOUTS = {
  apple: { apple: [60, 80], apple_num: [60, 220], mul_apple: [330, 150], tax: [330, 320], mul_tax: [600, 235], price: [840, 235] },
  apple_orange: {
    apple: [50, 40], apple_num: [50, 130], orange: [50, 220], orange_num: [50, 310], mul_apple: [240, 85], mul_orange: [240, 265],
    add_apple_orange: [450, 175], tax: [450, 330], mul_tax: [650, 250], price: [850, 250],
  },
};
let graph = null, graphShown = Infinity;

async function loadGraph(keepInputs) {
  showError(null);
  const example = $("graph-example").value;
  const inputs = {};
  if (keepInputs) for (const el of document.querySelectorAll("#graph-inputs input")) inputs[el.dataset.name] = Number(el.value);
  for (const [k, v] of Object.entries(inputs)) if (!Number.isFinite(v)) { showError(`${k} must be a number`); return; }
  try { graph = await api("/api/graph", { example, inputs }); } catch { return; }
  if (!keepInputs) {
    const span = $("graph-inputs");
    span.innerHTML = "";
    for (const name of graph.inputs) {
      const label = document.createElement("label");
      label.textContent = name + " ";
      const input = document.createElement("input");
      input.size = 6;
      input.value = graph.values[name];
      input.dataset.name = name;
      input.setAttribute("aria-label", name);
      input.addEventListener("change", () => loadGraph(true));
      label.appendChild(input);
      span.appendChild(label);
    }
  }
  graphShown = Infinity;
  drawGraph();
}

function drawGraph() {
  const svg = $("graph-svg");
  const pos = LAYOUTS[graph.example];
  const shown = graph.steps.slice(0, graphShown === Infinity ? graph.steps.length : graphShown);
  const values = {}, grads = {};
  for (const n of graph.inputs) values[n] = graph.values[n];
  for (const s of shown) for (const [k, v] of Object.entries(s.values)) (s.pass === "forward" ? values : grads)[k] = v;
  if (shown.length === graph.steps.length) grads.price = 1;
  else if (shown.some((s) => s.pass === "backward")) grads.price = 1;
  const current = graphShown === Infinity || graphShown === 0 ? null : graph.steps[graphShown - 1];
  const producer = {};
  for (const n of graph.nodes) producer[n.output] = n.id;
  let out = `<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto">` +
    `<path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>`;
  const edge = (name, from, to) => {
    const [x1, y1] = from, [x2, y2] = to;
    const mx = (x1 + x2) / 2, my = (y1 + y2) / 2;
    out += `<line x1="${x1 + 26}" y1="${y1}" x2="${x2 - 28}" y2="${y2}" stroke="#555" stroke-width="1.5" marker-end="url(#arrow)"/>`;
    out += `<text class="value" data-edge="${name}" x="${mx}" y="${my - 8}" text-anchor="middle" font-size="15" fill="#1a1a1a">` +
      `${name === "price" ? "" : ""}${values[name] !== undefined ? fmt(values[name]) : ""}</text>`;
    out += `<text class="grad" data-edge="${name}" x="${mx}" y="${my + 20}" text-anchor="middle" font-size="15" fill="#b35806">` +
      `${grads[name] !== undefined ? fmt(grads[name]) : ""}</text>`;
  };
  for (const n of graph.nodes) {
    for (const input of [n.a, n.b]) edge(input, pos[producer[input]] || pos[input], pos[n.id]);
  }
  edge("price", pos.mul_tax, pos.price);
  for (const name of graph.inputs) {
    const [x, y] = pos[name];
    out += `<text x="${x}" y="${y + 5}" text-anchor="middle" font-size="14" font-weight="bold">${name}</text>`;
  }
  for (const n of graph.nodes) {
    const [x, y] = pos[n.id];
    const active = current && current.node === n.id;
    out += `<circle cx="${x}" cy="${y}" r="26" fill="${active ? "#fdb863" : "#fff"}" stroke="#2166ac" stroke-width="${active ? 4 : 2}"/>`;
    out += `<text x="${x}" y="${y + 8}" text-anchor="middle" font-size="24">${n.op}</text>`;
  }
  const [px, py] = pos.price;
  out += `<text x="${px}" y="${py + 5}" text-anchor="middle" font-size="14" font-weight="bold">price</text>`;
  out += `<text x="10" y="370" font-size="12" fill="#555">value above each edge (forward), ∂price/∂value below (backward, orange)</text>`;
  svg.innerHTML = out;
  $("graph-rule").textContent = current ? `${current.pass} ${current.node}: ${current.rule}`
    : graphShown === 0 ? "Press Step: the forward pass runs a node at a time, then the backward pass from d(price) = 1."
    : "Forward values above each edge, gradients below, from d(price) = 1.";
}

$("graph-example").addEventListener("change", () => loadGraph(false));
$("graph-step").addEventListener("click", () => {
  if (graphShown === Infinity || graphShown >= graph.steps.length) graphShown = 0;
  graphShown++;
  drawGraph();
});
$("graph-all").addEventListener("click", () => { graphShown = Infinity; drawGraph(); });

// ---------------------------------------------------------------- 2. the layer
let layerState = null;
const FORMULAS = {
  fully_connected: "y = x·W + b    dx = dout·Wᵀ    dW = xᵀ·dout    db = Σ_batch dout",
  relu: "y = max(x, 0)    dx = dout·[x > 0]    local = ∂y/∂x = [x > 0], the mask",
  sigmoid: "y = 1/(1 + e⁻ˣ)    dx = dout·y·(1 − y)    local = ∂y/∂x = y·(1 − y)",
  tanh: "y = tanh x    dx = dout·(1 − y²)    local = ∂y/∂x = 1 − y²",
  softmax_cross_entropy: "L = −(1/B)·Σ t·log softmax(x)    dx = (softmax(x) − t)/B",
};

function nested(v) {  // nested arrays → {shape, data}
  const shape = [];
  let a = v;
  while (Array.isArray(a)) { shape.push(a.length); a = a[0]; }
  return { shape, data: Array.isArray(v) ? v.flat(Infinity) : [v] };
}

function table(name, m, id) {
  const rows = m.shape.length >= 2 ? m.shape[0] : 1;
  const cols = m.shape.length >= 2 ? m.data.length / rows : m.data.length;
  let h = `<table class="m" id="${id}"><caption>${name} ${m.shape.length ? "(" + m.shape.join(", ") + ")" : ""}</caption>`;
  for (let r = 0; r < rows; r++) {
    h += "<tr>";
    for (let c = 0; c < cols; c++) h += `<td data-r="${r}" data-c="${c}">${fmt(m.data[r * cols + c])}</td>`;
    h += "</tr>";
  }
  return h + "</table>";
}

async function runLayer() {
  showError(null);
  const kind = $("layer-kind").value || "fully_connected";
  try { layerState = await api("/api/layer", { kind, input: $("layer-input").value }); } catch { return; }
  $("layer-formulas").textContent = FORMULAS[layerState.kind] || "";
  let ins = "";
  for (const [name, v] of Object.entries(layerState.inputs)) ins += table(name, v, "in-" + name);
  $("layer-inputs").innerHTML = ins;
  let outs = "";
  for (const [name, v] of Object.entries(layerState.outputs)) outs += table(name, nested(v), "out-" + name);
  $("layer-outputs").innerHTML = outs;
}

// Which operand cells an output element came from: rows and columns by the layer's formula.
function sources(out, r, c) {
  const k = layerState.kind;
  if (k === "fully_connected") {
    if (out === "y") return [["x", "row", r], ["W", "col", c], ["b", "cell", 0, c]];
    if (out === "dx") return [["dout", "row", r], ["W", "row", c]];
    if (out === "dW") return [["x", "col", r], ["dout", "col", c]];
    if (out === "db") return [["dout", "col", c]];
  }
  if (out === "dx" && layerState.outputs.local) return [["dout", "cell", r, c], ["local", "cell", r, c]];
  return [["x", "cell", r, c], ["dout", "cell", r, c], ["t", "cell", r, c]];
}

$("layer-outputs").addEventListener("mouseover", (e) => {
  const td = e.target.closest("td");
  for (const el of document.querySelectorAll("td.hl, td.src")) el.classList.remove("hl", "src");
  if (!td || !layerState) return;
  const out = td.closest("table").id.slice(4);
  const r = Number(td.dataset.r), c = Number(td.dataset.c);
  td.classList.add("src");
  for (const [name, how, i, j] of sources(out, r, c)) {
    const t = $("in-" + name) || $("out-" + name);
    if (!t) continue;
    for (const cell of t.querySelectorAll("td")) {
      const cr = Number(cell.dataset.r), cc = Number(cell.dataset.c);
      if ((how === "row" && cr === i) || (how === "col" && cc === i) || (how === "cell" && cr === i && cc === j)) cell.classList.add("hl");
    }
  }
});
$("layer-run").addEventListener("click", runLayer);
$("layer-sample").addEventListener("click", () => { $("layer-input").value = info.sample; $("layer-kind").value = "fully_connected"; runLayer(); });
$("layer-kind").addEventListener("change", () => {
  const k = $("layer-kind").value;
  if (k === "softmax_cross_entropy") $("layer-input").value = "x:\n[[0.3, 2.9, 4.0],\n [0.5, 0.1, -1.0]]\nt:\n[[0, 0, 1],\n [1, 0, 0]]";
  else if (k !== "fully_connected") $("layer-input").value = "x:\n[[1.0, -0.5],\n [-2.0, 3.0]]\ndout:\n[[0.1, 0.2],\n [0.3, 0.4]]";
  else $("layer-input").value = info.sample;
  runLayer();
});

// The student's own layer (--grade): the first failing case, their outputs beside the reference's, differences marked.
async function showGrade() {
  let g;
  try { g = await api("/api/grade"); } catch { return; }
  const box = $("grade");
  box.hidden = false;
  if (!g.case) {
    box.innerHTML = `<h2>${g.file}: class ${g.className} passes all ${g.cases} cases as ${g.layer}</h2>`;
    return;
  }
  let h = `<h2>${g.file}: class ${g.className} as ${g.layer} fails ${g.failed} of ${g.cases} cases; the first, case ${g.case} ` +
    `(${g.caseName}):</h2>`;
  if (g.error) h += `<pre>${g.error.replace(/</g, "&lt;")}</pre>`;
  if (g.errorDiagnosis) h += `<p class="rule">diagnosis: ${g.errorDiagnosis}</p>`;
  h += '<div class="matrices">';
  for (const [name, v] of Object.entries(g.inputs)) h += table(name, v, "grade-in-" + name);
  h += "</div>";
  for (const o of g.outputs) {
    h += `<div class="matrices">${table(o.name + " (reference)", o.expected, "grade-exp-" + o.name)}`;
    if (o.ok) h += `<p>${o.name}: yours matches the reference</p>`;
    else if (o.actual) h += table(o.name + " (yours)", o.actual, "grade-act-" + o.name);
    else h += `<p>${o.name}: yours is ${o.actualType || "missing"}</p>`;
    if (o.diagnosis) h += `<p class="rule">diagnosis: ${o.diagnosis}</p>`;
    h += "</div>";
  }
  box.innerHTML = h;
  for (const o of g.outputs) {
    const t = $("grade-act-" + o.name);
    if (!t) continue;
    const cells = t.querySelectorAll("td");
    for (const i of o.differ) if (cells[i]) cells[i].classList.add("diff");
  }
}

// ---------------------------------------------------------------- 3. network
let netState = null, points = null, stream = null, lastStepMs = null;
window.playground = { get lastStepMs() { return lastStepMs; }, updates: 0 };

function hiddenSizes() {
  return $("net-sizes").value.split(",").map((s) => s.trim()).filter((s) => s.length).map(Number);
}

function activationControls() {
  const n = hiddenSizes().length;
  const span = $("net-activations");
  const old = [...span.querySelectorAll("select")].map((s) => s.value);
  span.innerHTML = "";
  for (let i = 0; i < n; i++) {
    const label = document.createElement("label");
    label.textContent = `activation ${i + 1} `;
    const sel = document.createElement("select");
    for (const a of info.activations) sel.add(new Option(a, a));
    sel.value = old[i] || "relu";
    label.appendChild(sel);
    span.appendChild(label);
  }
}
$("net-sizes").addEventListener("input", activationControls);

async function buildNet() {
  showError(null);
  const hidden = hiddenSizes();
  const classes = points ? points.classes : 3;
  const body = {
    sizes: [2, ...hidden, classes],
    activations: [...$("net-activations").querySelectorAll("select")].map((s) => s.value),
    optimizer: $("net-optimizer").value,
    lr: Number($("net-lr").value),
    batch: Number($("net-batch").value),
  };
  if (hidden.some((h) => !Number.isInteger(h))) { showError("the hidden sizes must be whole numbers separated by commas"); return; }
  if (!Number.isFinite(body.lr)) { showError("the learning rate must be a number"); return; }
  setPlaying(false);
  try { netState = await api("/api/net/new", body); } catch { return; }
  drawNet();
}

function columns(state) {  // the neuron columns: the input, then every fully connected layer's outputs
  const cols = [{ size: 2, value: state.input, grad: state.dInput, layer: -1 }];
  state.layers.forEach((l, i) => {
    if (l.kind === "fully_connected") cols.push({ size: l.outputs, value: l.value, grad: l.grad, layer: i });
    else { const c = cols[cols.length - 1]; c.act = l; c.actLayer = i; }
  });
  return cols;
}

let geometry = null;
function drawNet() {
  const s = netState;
  if (!s) return;
  const t0 = performance.now();
  const cv = $("net-canvas"), g = cv.getContext("2d");
  g.clearRect(0, 0, cv.width, cv.height);
  const cols = columns(s);
  const W = cv.width, H = cv.height, top = 28, bottom = 18;
  const xs = cols.map((_, i) => 40 + i * (W - 80) / (cols.length - 1));
  const shown = cols.map((c) => Math.min(c.size, 64));
  const ys = cols.map((c, i) => Array.from({ length: shown[i] }, (_, k) => top + (k + 0.5) * (H - top - bottom) / shown[i]));
  geometry = { cols, xs, ys, edges: [] };
  // edges: colour is the weight's sign, width its size
  let wmax = 1e-9;
  for (const l of s.layers) if (l.w) for (const w of l.w) wmax = Math.max(wmax, Math.abs(w));
  for (let c = 1; c < cols.length; c++) {
    const l = s.layers[cols[c].layer];
    const current = (s.phase === "forward" || s.phase === "backward") && s.cursor === cols[c].layer;
    for (let i = 0; i < shown[c - 1]; i++)
      for (let j = 0; j < shown[c]; j++) {
        const w = l.w[i * l.outputs + j];
        g.strokeStyle = diverging(w, wmax);
        g.globalAlpha = current ? 0.9 : 0.55;
        g.lineWidth = 0.3 + 2.2 * Math.abs(w) / wmax;
        g.beginPath(); g.moveTo(xs[c - 1], ys[c - 1][i]); g.lineTo(xs[c], ys[c][j]); g.stroke();
        geometry.edges.push([c, i, j]);
      }
  }
  g.globalAlpha = 1;
  // neurons: fill is the first sample's value (after the activation where there is one)
  cols.forEach((col, c) => {
    const v = col.act ? col.act.value : col.value;
    let vmax = 1e-9;
    if (v) for (const a of v) vmax = Math.max(vmax, Math.abs(a));
    const current = (s.phase === "forward" || s.phase === "backward") && (s.cursor === col.layer || s.cursor === col.actLayer);
    for (let k = 0; k < shown[c]; k++) {
      g.beginPath();
      g.arc(xs[c], ys[c][k], Math.min(7, (H - top - bottom) / shown[c] / 2 + 1), 0, 2 * Math.PI);
      g.fillStyle = v ? diverging(v[k], vmax) : "#fff";
      g.fill();
      g.lineWidth = current ? 2.5 : 1;
      g.strokeStyle = current ? "#000" : "#666";
      g.stroke();
    }
    g.fillStyle = "#1a1a1a";
    g.font = "12px DejaVu Sans, sans-serif";
    g.textAlign = "center";
    const name = c === 0 ? "input (2)" : `${col.size}${col.act ? " " + col.act.kind : ""}${col.size > 64 ? " (64 shown)" : ""}`;
    g.fillText(name, xs[c], 14);
  });
  g.textAlign = "left";
  g.fillText("neuron: value of the batch's first sample; edge: weight (blue −, orange +)", 8, H - 4);
  drawRegions();
  drawCurves();
  const where = s.phase === "idle" || s.phase === "update" ? (s.phase === "update" ? "update done" : "ready")
    : s.phase === "loss" ? "forward: the loss" : `${s.phase}: layers[${s.cursor}] ${s.layers[s.cursor] ? s.layers[s.cursor].kind : ""}`;
  $("net-status").textContent = `updates ${s.steps} · loss ${fmt(s.loss)} · ${where}`;
  $("net-status").dataset.phase = s.phase;
  $("net-status").dataset.cursor = s.cursor;
  return performance.now() - t0;
}

function drawRegions() {
  const cv = $("net-regions"), g = cv.getContext("2d"), r = netState.regions;
  const cell = cv.width / r.size;
  for (let i = 0; i < r.size; i++)
    for (let j = 0; j < r.size; j++) {
      const k = i * r.size + j;
      g.fillStyle = CLASS_COLOURS[r.classes[k] % CLASS_COLOURS.length];
      g.globalAlpha = 0.15 + 0.45 * r.confidence[k];
      g.fillRect(j * cell, i * cell, cell + 1, cell + 1);
    }
  g.globalAlpha = 1;
  if (points) {
    const px = (x) => (x - r.lo) / (r.hi - r.lo) * cv.width, py = (y) => (r.hi - y) / (r.hi - r.lo) * cv.height;
    for (let i = 0; i < points.labels.length; i++) {
      g.beginPath();
      g.arc(px(points.x[2 * i]), py(points.x[2 * i + 1]), 2.5, 0, 2 * Math.PI);
      g.fillStyle = CLASS_COLOURS[points.labels[i] % CLASS_COLOURS.length];
      g.fill();
      g.strokeStyle = "#000";
      g.lineWidth = 0.5;
      g.stroke();
    }
  }
  g.fillStyle = "#000";
  g.font = "11px DejaVu Sans, sans-serif";
  g.fillText("decision regions, x1 →, x2 ↑", 4, 12);
}

function drawCurves() {
  const cv = $("net-curves"), g = cv.getContext("2d"), s = netState;
  g.clearRect(0, 0, cv.width, cv.height);
  const L = 34, B = 20, w = cv.width - L - 34, h = cv.height - B - 14;
  g.strokeStyle = "#000"; g.lineWidth = 1;
  g.strokeRect(L, 8, w, h);
  const loss = s.lossHistory, acc = s.accuracyHistory;
  const lmax = Math.max(1e-9, ...loss.slice(0, 1), ...loss);
  const plot = (ys, max, colour) => {
    if (ys.length < 1) return;
    g.strokeStyle = colour; g.lineWidth = 1.5; g.beginPath();
    ys.forEach((v, i) => {
      const x = L + (ys.length === 1 ? 0 : i / (ys.length - 1)) * w, y = 8 + h - (v / max) * h;
      if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
    });
    g.stroke();
  };
  plot(loss, lmax, "#b35806");
  plot(acc, 1, "#2166ac");
  g.fillStyle = "#000"; g.font = "10px DejaVu Sans, sans-serif";
  g.fillText(fmt(lmax), 2, 14); g.fillText("0", 24, 8 + h);
  g.fillText("1", L + w + 4, 14); g.fillText("0", L + w + 4, 8 + h);
  g.fillText(`updates (×${s.historyStride}) →`, L + w / 2 - 30, cv.height - 4);
  g.fillStyle = "#b35806"; g.fillText("loss", L + 4, 20);
  g.fillStyle = "#2166ac"; g.fillText("accuracy", L + 34, 20);
}

function setPlaying(on) {
  $("net-play").textContent = on ? "Pause" : "Play";
  $("net-play").setAttribute("aria-pressed", on);
  return api("/api/net/play", { on }).catch(() => {});
}

async function step(unit) {
  showError(null);
  const t0 = performance.now();
  try { netState = await api("/api/net/step", { unit }); } catch { return; }
  drawNet();
  lastStepMs = performance.now() - t0;
}

function startStream() {
  if (stream) return;
  stream = new EventSource("/api/net/stream");
  stream.onmessage = (e) => { netState = JSON.parse(e.data); window.playground.updates++; drawNet(); };
}
function stopStream() {
  if (stream) { stream.close(); stream = null; }
  if ($("net-play").getAttribute("aria-pressed") === "true") setPlaying(false);
}

$("net-build").addEventListener("click", buildNet);
$("net-play").addEventListener("click", () => setPlaying($("net-play").getAttribute("aria-pressed") !== "true"));
$("net-step-batch").addEventListener("click", () => step("batch"));
$("net-step-layer").addEventListener("click", () => step("layer"));
$("net-check").addEventListener("click", async () => {
  showError(null);
  let r;
  try { r = await api("/api/net/check", {}); } catch { return; }
  let h = `<table class="check"><caption>numerical gradient check on the next batch's ${r.points} points clear of a kink ` +
    `(step ${r.step}, tolerance ${r.tolerance})</caption>` +
    "<tr><th>layer</th><th>parameter</th><th>max relative error</th><th>analytic (first 4)</th><th>numeric (first 4)</th><th></th></tr>";
  for (const row of r.rows)
    h += `<tr><td>${row.layer}</td><td>${row.parameter}</td><td>${row.maxRelativeError.toExponential(2)}</td>` +
      `<td>${row.analytic.slice(0, 4).map(fmt).join(" ")}</td><td>${row.numeric.slice(0, 4).map(fmt).join(" ")}</td>` +
      `<td>${row.ok ? "ok" : "FAIL"}</td></tr>`;
  $("net-check-result").innerHTML = h + "</table>";
});

$("net-canvas").addEventListener("mousemove", (e) => {
  const tip = $("net-tip");
  if (!geometry) return;
  const rect = e.target.getBoundingClientRect();
  const x = e.clientX - rect.left, y = e.clientY - rect.top;
  const { cols, xs, ys } = geometry;
  let text = null;
  cols.forEach((col, c) => ys[c].forEach((yy, k) => {
    if (Math.hypot(x - xs[c], y - yy) < 7) {
      const v = col.act ? col.act.value : col.value, d = col.act ? col.act.grad : col.grad;
      text = `neuron ${k} of ${c === 0 ? "the input" : "layer " + col.layer}\nvalue ${fmt(v && v[k])}` +
        (col.act ? `\nbefore ${col.act.kind}: ${fmt(col.value && col.value[k])}` : "") + `\n∂L/∂value ${fmt(d && d[k])}`;
    }
  }));
  if (!text) {
    let best = 4, hit = null;
    for (const [c, i, j] of geometry.edges) {
      const x1 = xs[c - 1], y1 = ys[c - 1][i], x2 = xs[c], y2 = ys[c][j];
      const t = Math.max(0, Math.min(1, ((x - x1) * (x2 - x1) + (y - y1) * (y2 - y1)) / ((x2 - x1) ** 2 + (y2 - y1) ** 2)));
      const dist = Math.hypot(x - x1 - t * (x2 - x1), y - y1 - t * (y2 - y1));
      if (dist < best) { best = dist; hit = [c, i, j]; }
    }
    if (hit) {
      const [c, i, j] = hit, l = netState.layers[cols[c].layer];
      text = `weight W[${i}, ${j}] of layer ${cols[c].layer}\nW ${fmt(l.w[i * l.outputs + j])}\n∂L/∂W ${fmt(l.dW && l.dW[i * l.outputs + j])}`;
    }
  }
  tip.hidden = !text;
  if (text) { tip.textContent = text; tip.style.left = e.clientX + 14 + "px"; tip.style.top = e.clientY + 10 + "px"; }
});
$("net-canvas").addEventListener("mouseleave", () => { $("net-tip").hidden = true; });

// ---------------------------------------------------------------- 4. convolution
let convState = null;
async function loadConv(index) {
  showError(null);
  $("conv-status").textContent = "computing…";
  try { convState = await api(`/api/conv?image=${index}`); } catch { $("conv-status").textContent = ""; return; }
  $("conv-index").value = convState.index;
  drawConv();
}

function mapCanvas(data, h, w, scale, label) {
  const cv = document.createElement("canvas");
  cv.width = w * scale; cv.height = h * scale;
  cv.setAttribute("aria-label", label);
  const g = cv.getContext("2d");
  let vmax = 1e-12;
  for (const v of data) vmax = Math.max(vmax, Math.abs(v));
  for (let i = 0; i < h; i++)
    for (let j = 0; j < w; j++) { g.fillStyle = diverging(data[i * w + j], vmax); g.fillRect(j * scale, i * scale, scale, scale); }
  cv.addEventListener("mousemove", (e) => {
    const r = cv.getBoundingClientRect();
    const j = Math.floor((e.clientX - r.left) / scale), i = Math.floor((e.clientY - r.top) / scale);
    const tip = $("conv-tip");
    if (i < 0 || j < 0 || i >= h || j >= w) return;
    tip.textContent = `${label} [${i}, ${j}] = ${fmt(data[i * w + j])}`;
    tip.hidden = false; tip.style.left = e.clientX + 14 + "px"; tip.style.top = e.clientY + 10 + "px";
  });
  cv.addEventListener("mouseleave", () => { $("conv-tip").hidden = true; });
  return cv;
}

function drawConv() {
  const s = convState, grads = $("conv-grads").checked, body = $("conv-body");
  body.innerHTML = "";
  const head = document.createElement("div");
  head.className = "conv-layer";
  head.innerHTML = `<h3>input: test image ${s.index}, a ${s.classNames[s.label]} (${s.source})</h3>`;
  const row = document.createElement("div");
  row.className = "maps";
  row.appendChild(mapCanvas(s.image, 28, 28, 4, "input"));
  let probs = `<table class="probs"><caption>class probabilities</caption>`;
  s.probabilities.forEach((p, k) => {
    probs += `<tr><td>${s.classNames[k]}${k === s.label ? " ✓" : ""}</td><td class="bar"><div style="width:${Math.round(p * 200)}px"></div></td>` +
      `<td>${(p * 100).toFixed(1)}%</td></tr>`;
  });
  row.insertAdjacentHTML("beforeend", probs + "</table>");
  head.appendChild(row);
  body.appendChild(head);
  s.layers.forEach((l, i) => {
    const div = document.createElement("div");
    div.className = "conv-layer";
    const m = grads ? l.douts : l.maps;
    const name = l.node ? `${l.node} = ${l.kind}(${l.from.join(", ")})` : `layers[${i}] ${l.kind}`;
    div.innerHTML = `<h3>${name} → (${l.shape.join(", ")})${grads ? ": ∂L/∂output (dout)" : ""}` +
      `${m.count > m.data.length ? `, first ${m.data.length} of ${m.count} maps` : ""}</h3>`;
    const maps = document.createElement("div");
    maps.className = "maps";
    const scale = m.h === 1 ? 3 : Math.max(2, Math.round(84 / m.h));
    m.data.forEach((d, k) => maps.appendChild(mapCanvas(d, m.h, m.w, scale, `${l.node || `layers[${i}]`} ${grads ? "dout" : "map"} ${k}`)));
    div.appendChild(maps);
    const f = grads ? l.filterGrads : l.filters;
    if (f) {
      div.insertAdjacentHTML("beforeend", `<h3>filters${grads ? " ∂L/∂W" : " W"} (first channel of each)</h3>`);
      const fm = document.createElement("div");
      fm.className = "maps";
      f.data.forEach((d, k) => fm.appendChild(mapCanvas(d, f.h, f.w, 8, `filter ${k}`)));
      div.appendChild(fm);
    }
    body.appendChild(div);
  });
  $("conv-status").textContent = "";
}
$("conv-index").addEventListener("change", () => loadConv(Number($("conv-index").value)));
$("conv-prev").addEventListener("click", () => loadConv(Math.max(0, Number($("conv-index").value) - 1)));
$("conv-next").addEventListener("click", () => loadConv(Number($("conv-index").value) + 1));
$("conv-grads").addEventListener("change", () => convState && drawConv());

// ---------------------------------------------------------------- start
(async function start() {
  info = await api("/api/info");
  for (const k of ["fully_connected", "relu", "sigmoid", "tanh", "softmax_cross_entropy"]) $("layer-kind").add(new Option(k, k));
  $("layer-input").value = info.sample;
  for (const o of info.optimizers) $("net-optimizer").add(new Option(o, o));
  $("net-optimizer").value = "adam";
  activationControls();
  points = await api("/api/net/points");
  netState = await api("/api/net/state");
  await loadGraph(false);
  if (info.grade) { selectTab("layer"); await showGrade(); }
  document.body.dataset.ready = "true";
})();
