// One trial (#/e/<exp_id>/t/<trial_id>): its config, error, result history (curve and table)
// and checkpoints, each with a `Checkpoint.from_directory(...)` snippet to copy.

import { LatestOnly, debounced, expPath, getJSON, refreshFailed } from "./api.js";
import { drawCurves, purge } from "./charts.js";
import { AUTO_KEYS, esc, fmtBytes, fmtValue, options, statusBadge } from "./fmt.js";

const HISTORY_ROWS = 200; // the newest rows shown until "show all" is clicked

/** Flattens {"a": {"b": 1}} into [["a/b", 1]] (the experiment table's config keys). */
function flatten(obj, prefix = "", out = []) {
  for (const [k, v] of Object.entries(obj || {})) {
    const key = prefix ? `${prefix}/${k}` : k;
    if (v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length) flatten(v, key, out);
    else out.push([key, v]);
  }
  return out;
}

/** The Python line that loads a checkpoint; JSON string syntax is valid Python here. */
export function checkpointSnippet(path) {
  return `Checkpoint.from_directory(${JSON.stringify(path)})`;
}

async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // Denied (no permission): fall back to a selection copy below.
    }
  }
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.appendChild(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand("copy");
  } catch {
    ok = false;
  }
  area.remove();
  return ok;
}

export class TrialView {
  constructor(root, shell, expId, trialId) {
    this.root = root;
    this.shell = shell;
    this.expId = expId;
    this.trialId = trialId;
    this.loader = new LatestOnly();
    this.alive = true;
    this.metric = null;
    this.logY = false;
    this.showAll = false;
    this.data = null;
    this.closeEvents = null;
    this.refresh = debounced(() => this.load().catch((err) => this.onError(err)), 100);
  }

  async mount() {
    await this.load();
    if (!this.alive) return;
    this.closeEvents = this.shell.subscribe(this.expId, (ev) => {
      if (ev.all || !Array.isArray(ev.changed_trials) || ev.changed_trials.includes(this.trialId)) this.refresh();
    });
  }

  unmount() {
    this.alive = false;
    this.loader.abort();
    this.refresh.cancel();
    if (this.closeEvents) this.closeEvents();
    purge(this.root.querySelector("#trial-curve"));
  }

  onError(err) {
    refreshFailed(this, err, "#trial-error-banner");
  }

  async load() {
    const data = await this.loader.run((signal) => getJSON(expPath(this.expId, `/trials/${encodeURIComponent(this.trialId)}`), {}, signal));
    if (!data || !this.alive) return;
    const first = this.data === null;
    this.data = data;
    if (first) {
      this.shell.setCrumbs([
        { label: "Experiments", href: "#/" },
        { label: this.expId === "." ? "experiment" : this.expId, href: this.shell.links.experiment(this.expId) },
        { label: data.trial_id },
      ]);
      this.renderSkeleton();
    }
    this.render();
  }

  /** Numeric keys of the history, the user's first. */
  metrics() {
    const keys = new Set();
    for (const row of this.data.history || []) {
      for (const [k, v] of Object.entries(row)) if (typeof v === "number" && k !== "training_iteration") keys.add(k);
    }
    const all = [...keys];
    return [...all.filter((k) => !AUTO_KEYS.has(k)), ...all.filter((k) => AUTO_KEYS.has(k))];
  }

  renderSkeleton() {
    this.root.innerHTML = `
      <section class="page-head" id="trial-head"></section>
      <p class="message error" id="trial-error-banner" hidden></p>
      <div class="two-col">
        <section class="card"><h2>Config</h2><div id="trial-config"></div></section>
        <section class="card"><h2>Checkpoints</h2><div id="trial-checkpoints"></div></section>
      </div>
      <section class="card" id="trial-error" hidden></section>
      <section class="card">
        <div class="toolbar"><h2>Result history</h2>
          <label>metric <select id="trial-metric" aria-label="history metric"></select></label>
          <label class="check"><input type="checkbox" id="trial-log"> log y</label>
        </div>
        <div class="message empty" id="history-empty" hidden>No results reported yet.</div>
        <div id="trial-curve" class="chart"></div>
        <div id="trial-history"></div>
      </section>`;
    const $ = (s) => this.root.querySelector(s);
    $("#trial-metric").addEventListener("change", () => {
      this.metric = $("#trial-metric").value;
      this.renderCurve();
    });
    $("#trial-log").addEventListener("change", () => {
      this.logY = $("#trial-log").checked;
      this.renderCurve();
    });
    $("#trial-history").addEventListener("click", (ev) => {
      if (ev.target.id === "show-all-history") {
        this.showAll = true;
        this.renderHistory();
      }
    });
    $("#trial-checkpoints").addEventListener("click", async (ev) => {
      const b = ev.target.closest("button.copy");
      if (!b) return;
      const ok = await copyText(b.dataset.snippet);
      b.textContent = ok ? "Copied" : "Copy failed: select the text";
      setTimeout(() => {
        if (b.isConnected) b.textContent = "Copy";
      }, 1500);
    });
  }

  render() {
    const d = this.data;
    const last = (d.history || [])[d.history.length - 1] || {};
    this.root.querySelector("#trial-head").innerHTML = `<h1>${esc(d.trial_id)} ${statusBadge(d.status)}</h1>
      <dl class="facts"><div><dt>Iterations</dt><dd>${esc(fmtValue(last.training_iteration ?? (d.history || []).length))}</dd></div>
      ${d.num_failures ? `<div><dt>Failures</dt><dd>${esc(fmtValue(d.num_failures))}</dd></div>` : ""}
      <div><dt>Folder</dt><dd><code id="logdir">${esc(d.logdir)}</code></dd></div></dl>
      ${d.readable === false ? '<p class="message error">The trial folder is a link out of the dashboard\'s root: its files are not read.</p>' : ""}`;
    const config = flatten(d.config);
    this.root.querySelector("#trial-config").innerHTML = config.length
      ? `<table class="kv" id="config-table"><tbody>${config.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(fmtValue(v))}</td></tr>`).join("")}</tbody></table>`
      : '<p class="muted">Empty config.</p>';
    this.renderCheckpoints();
    const errorCard = this.root.querySelector("#trial-error");
    if (d.error) {
      errorCard.hidden = false;
      errorCard.innerHTML = `<h2>Error</h2><p class="error-message">${esc(d.error.message)}</p><pre class="traceback" id="traceback">${esc(d.error.traceback || "(no traceback)")}</pre>`;
    } else errorCard.hidden = true;
    const metrics = this.metrics();
    if (!this.metric || !metrics.includes(this.metric)) this.metric = metrics[0] || null;
    const sel = this.root.querySelector("#trial-metric");
    const key = metrics.join("\u0000");
    if (sel.dataset.key !== key) {
      sel.dataset.key = key;
      sel.innerHTML = options(metrics, this.metric);
    }
    this.renderCurve();
    this.renderHistory();
  }

  renderCheckpoints() {
    const cps = this.data.checkpoints || [];
    const el = this.root.querySelector("#trial-checkpoints");
    if (cps.length === 0) {
      el.innerHTML = '<p class="muted" id="no-checkpoints">No checkpoints kept for this trial.</p>';
      return;
    }
    const rows = cps.map((c) => {
      const snippet = checkpointSnippet(c.path);
      const metrics = Object.entries(c.metrics || {}).filter(([k]) => !AUTO_KEYS.has(k) || k === "training_iteration")
        .map(([k, v]) => `${esc(k)}=${esc(fmtValue(v))}`).join(", ");
      return `<tr data-index="${esc(c.index)}"><td class="num">${esc(c.index)}</td>
        <td><code class="path">${esc(c.path)}</code><div class="snippet"><code>${esc(snippet)}</code>
          <button type="button" class="copy" data-snippet="${esc(snippet)}" title="copy the Python line that loads this checkpoint">Copy</button></div></td>
        <td class="num nowrap">${esc(fmtBytes(c.size_bytes))}</td><td class="num">${esc(fmtValue(c.score))}</td>
        <td class="small">${metrics}</td></tr>`;
    }).join("");
    el.innerHTML = `<div class="table-wrap"><table class="grid" id="checkpoints"><thead><tr><th class="num">#</th><th>Path</th><th class="num">Size</th><th class="num">Score${this.data.score_attribute ? ` <span class="tag">${esc(this.data.score_attribute)}</span>` : ""}</th><th>Metrics</th></tr></thead><tbody>${rows}</tbody></table></div>
      <p class="muted small">Load one with <code>from tuner import Checkpoint</code> and the copied line.</p>`;
  }

  renderCurve() {
    const div = this.root.querySelector("#trial-curve");
    const history = this.data.history || [];
    const empty = this.root.querySelector("#history-empty");
    const rows = history.filter((r) => typeof r[this.metric] === "number");
    if (!this.metric || rows.length === 0) {
      empty.hidden = false;
      div.hidden = true;
      return;
    }
    empty.hidden = true;
    div.hidden = false;
    const x = rows.map((r, i) => r.training_iteration ?? i + 1);
    drawCurves(div, [{ name: this.data.trial_id, x, y: rows.map((r) => r[this.metric]) }], { metric: this.metric, x: "training_iteration", logY: this.logY })
      .catch((err) => this.onError(err));
  }

  renderHistory() {
    const history = this.data.history || [];
    const el = this.root.querySelector("#trial-history");
    if (history.length === 0) {
      el.innerHTML = "";
      return;
    }
    const keys = [];
    const seen = new Set();
    for (const row of history) for (const k of Object.keys(row)) if (!seen.has(k)) { seen.add(k); keys.push(k); }
    const order = (k) => (k === "training_iteration" ? 0 : AUTO_KEYS.has(k) ? 2 : 1);
    const cols = keys.filter((k) => k !== "config").sort((a, b) => order(a) - order(b));
    const shown = this.showAll ? history : history.slice(-HISTORY_ROWS);
    const body = shown.map((r) => `<tr>${cols.map((k) => `<td class="${typeof r[k] === "number" ? "num" : ""}">${esc(fmtValue(r[k]))}</td>`).join("")}</tr>`).join("");
    const more = shown.length < history.length
      ? `<p class="muted small">The newest ${shown.length} of ${history.length} results. <button type="button" class="link-button" id="show-all-history">Show all</button></p>` : "";
    el.innerHTML = `${more}<div class="table-wrap history"><table class="grid" id="history"><thead><tr>${cols.map((k) => `<th class="${order(k) === 2 ? "auto" : ""}${typeof history[0][k] === "number" ? " num" : ""}">${esc(k)}</th>`).join("")}</tr></thead><tbody>${body}</tbody></table></div>`;
  }
}
