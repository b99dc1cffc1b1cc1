// Plotly.js charts. Plotly is served by the dashboard server from the installed plotly package
// (/static/plotly.min.js) and loaded once, in the background, so tables render before it is in.

let plotlyPromise = null;

/** Resolves with window.Plotly once /static/plotly.min.js has loaded. */
export function loadPlotly() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (plotlyPromise) return plotlyPromise;
  plotlyPromise = new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = "/static/plotly.min.js";
    script.async = true;
    script.onload = () => (window.Plotly ? resolve(window.Plotly) : reject(new Error("plotly.min.js did not define Plotly")));
    script.onerror = () => {
      plotlyPromise = null;
      reject(new Error("could not load /static/plotly.min.js (is the plotly package installed? pip install 'tuner[dashboard]')"));
    };
    document.head.appendChild(script);
  });
  return plotlyPromise;
}

let webgl = null;

/** "scattergl" where WebGL works (fast at 10,000 points), else the SVG "scatter". */
export function scatterType() {
  if (webgl === null) {
    try {
      const canvas = document.createElement("canvas");
      webgl = Boolean(canvas.getContext("webgl") || canvas.getContext("experimental-webgl"));
    } catch {
      webgl = false;
    }
  }
  return webgl ? "scattergl" : "scatter";
}

const CONFIG = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["lasso2d", "select2d"] };

function baseLayout(extra) {
  return {
    margin: { l: 60, r: 20, t: 10, b: 50 },
    font: { family: "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size: 12, color: "#1f2933" },
    paper_bgcolor: "#fff",
    plot_bgcolor: "#fff",
    hovermode: "closest",
    ...extra,
  };
}

function axis(title, extra = {}) {
  return { title: { text: title }, gridcolor: "#e6e9ef", zerolinecolor: "#cfd5de", automargin: true, ...extra };
}

/** Draws (or updates in place, keeping the user's zoom) a chart into div. */
async function draw(div, data, layout) {
  const Plotly = await loadPlotly();
  if (!div.isConnected) return;
  await Plotly.react(div, data, layout, CONFIG);
}

/** Removes a chart and its listeners. */
export function purge(div) {
  if (window.Plotly && div) window.Plotly.purge(div);
}

/**
 * Learning curves. curves: [{name, x, y}] in legend order. The zoom survives refreshes of the
 * same metric (uirevision), not a change of metric or axis type.
 */
export async function drawCurves(div, curves, { metric, x, logY }) {
  const type = scatterType();
  const data = curves.map((c) => ({
    type,
    mode: c.x.length <= 40 ? "lines+markers" : "lines",
    name: c.name,
    x: c.x,
    y: c.y,
    marker: { size: 5 },
    line: { width: 1.6 },
    hovertemplate: `${c.name}<br>${x}=%{x}<br>${metric}=%{y}<extra></extra>`,
  }));
  // Iterations are whole numbers: over a short range, tick each one (not 1.5, 2.5).
  const xs = curves.flatMap((c) => [c.x[0], c.x[c.x.length - 1]]).filter((v) => typeof v === "number");
  const span = xs.length ? Math.max(...xs) - Math.min(...xs) : 0;
  const ticks = x === "training_iteration" && span <= 12 ? { dtick: 1 } : {};
  await draw(div, data, baseLayout({
    uirevision: `${metric}|${x}|${logY}`,
    xaxis: axis(x, ticks),
    yaxis: axis(metric, { type: logY ? "log" : "linear" }),
    showlegend: curves.length > 1,
    legend: { orientation: "v", font: { size: 11 } },
  }));
}

/** Config value vs metric, one marker per trial; categorical values on a category axis. */
export async function drawScatter(div, points, { key, metric, logX, logY, onClick }) {
  const ok = points.filter((p) => p.value !== null && p.value !== undefined && p.config[key] !== undefined);
  const xs = ok.map((p) => p.config[key]);
  const categorical = xs.some((v) => typeof v !== "number");
  const data = [{
    type: scatterType(),
    mode: "markers",
    x: categorical ? xs.map((v) => (typeof v === "string" ? v : JSON.stringify(v))) : xs,
    y: ok.map((p) => p.value),
    text: ok.map((p) => p.trial_id),
    customdata: ok.map((p) => p.trial_id),
    marker: { size: 6, opacity: 0.75, color: ok.map((p) => p.value), colorscale: "Viridis", showscale: false },
    hovertemplate: `%{text}<br>${key}=%{x}<br>${metric}=%{y}<extra></extra>`,
  }];
  await draw(div, data, baseLayout({
    uirevision: `${key}|${metric}|${logX}|${logY}`,
    xaxis: axis(key, { type: categorical ? "category" : logX ? "log" : "linear" }),
    yaxis: axis(metric, { type: logY ? "log" : "linear" }),
  }));
  bindTrialClick(div, onClick);
}

/** Clicking a point (customdata: its trial_id) calls onClick(trial_id); bound once per div. */
function bindTrialClick(div, onClick) {
  div._onTrialClick = onClick;
  if (onClick && !div.dataset.clickBound) {
    div.dataset.clickBound = "1";
    div.on("plotly_click", (ev) => {
      const pt = ev.points && ev.points[0];
      if (pt && pt.customdata && div._onTrialClick) div._onTrialClick(pt.customdata);
    });
  }
}

/** One axis per config key, the metric last; strings and booleans become ticked categories. */
export async function drawParcoords(div, points, { keys, metric, mode }) {
  const ok = points.filter((p) => typeof p.value === "number" && Number.isFinite(p.value));
  const dims = [];
  for (const key of keys) {
    const raw = ok.map((p) => p.config[key]);
    if (raw.every((v) => v === undefined || v === null)) continue;
    if (raw.every((v) => typeof v === "number" || v === undefined || v === null)) {
      dims.push({ label: key, values: raw.map((v) => (typeof v === "number" ? v : NaN)) });
    } else {
      const labels = [...new Set(raw.map((v) => (typeof v === "string" ? v : JSON.stringify(v ?? null))))].sort();
      const index = new Map(labels.map((l, i) => [l, i]));
      dims.push({
        label: key,
        values: raw.map((v) => index.get(typeof v === "string" ? v : JSON.stringify(v ?? null))),
        tickvals: labels.map((_, i) => i),
        ticktext: labels,
      });
    }
  }
  const values = ok.map((p) => p.value);
  dims.push({ label: metric, values });
  const data = [{
    type: "parcoords",
    dimensions: dims,
    line: { color: values, colorscale: "Viridis", reversescale: mode === "min", showscale: true, colorbar: { title: { text: metric } } },
  }];
  await draw(div, data, baseLayout({ margin: { l: 60, r: 80, t: 40, b: 30 } }));
}

/** Horizontal bars, most important on top. */
export async function drawImportance(div, importances) {
  const rows = [...importances].reverse();
  const data = [{
    type: "bar",
    orientation: "h",
    x: rows.map((r) => r.importance),
    y: rows.map((r) => r.param),
    marker: { color: "#3b6fd8" },
    hovertemplate: "%{y}: %{x:.3f}<extra></extra>",
  }];
  await draw(div, data, baseLayout({
    margin: { l: 140, r: 20, t: 10, b: 50 },
    xaxis: axis("importance", { range: [0, Math.max(...rows.map((r) => r.importance), 0.01) * 1.05] }),
    yaxis: axis("", { automargin: true }),
    height: Math.max(220, 40 + 28 * rows.length),
  }));
}

/** Two objectives; the non-dominated front highlighted and joined in order of the x objective. */
export async function drawPareto(div, points, { i, j, metrics, onClick }) {
  const front = points.filter((p) => p.front).sort((a, b) => a.values[i] - b.values[i]);
  const rest = points.filter((p) => !p.front);
  const type = scatterType();
  const trace = (pts, name, style) => ({
    type,
    name,
    x: pts.map((p) => p.values[i]),
    y: pts.map((p) => p.values[j]),
    text: pts.map((p) => p.trial_id),
    customdata: pts.map((p) => p.trial_id),
    hovertemplate: `%{text}<br>${metrics[i]}=%{x}<br>${metrics[j]}=%{y}<extra></extra>`,
    ...style,
  });
  const data = [
    trace(rest, "dominated", { mode: "markers", marker: { size: 6, color: "#aab4c3", opacity: 0.7 } }),
    trace(front, "Pareto front", { mode: "lines+markers", marker: { size: 8, color: "#d6453d" }, line: { color: "#d6453d", shape: "hv" } }),
  ];
  await draw(div, data, baseLayout({
    uirevision: `${i}|${j}`,
    xaxis: axis(metrics[i]),
    yaxis: axis(metrics[j]),
    legend: { orientation: "h", y: 1.08 },
  }));
  bindTrialClick(div, onClick);
}
