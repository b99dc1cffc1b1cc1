// The learning curves of an experiment's page: the ticked trials (or, with none ticked, the
// first rows of the table's page), one metric against the iteration, drawn with scattergl.

import { LatestOnly, expPath, getJSON } from "./api.js";
import { drawCurves, loadPlotly, purge } from "./charts.js";
import { options, orderedMetrics } from "./fmt.js";

export const MAX_CURVES = 50; // the server's limit per /curves request
const DEFAULT_CURVES = 5; // with nothing ticked, the first rows of the page are drawn

export class Curves {
  /**
   * root: the (empty) section to draw into. state: the experiment page's state (selected,
   * curveMetric, curveX, logY). rows(): the table's rows now. onError(err): a failed request.
   */
  constructor(root, { expId, state, rows, onError }) {
    this.root = root;
    this.expId = expId;
    this.state = state;
    this.rows = rows;
    this.onError = onError;
    this.summary = null;
    this.loader = new LatestOnly();
    this.alive = true;
    const s = state;
    root.innerHTML = `
      <div class="toolbar">
        <h2>Learning curves</h2>
        <label>metric <select id="curve-metric" aria-label="curve metric"></select></label>
        <label>x <select id="curve-x" aria-label="curve x axis"></select></label>
        <label class="check"><input type="checkbox" id="curve-log"${s.logY ? " checked" : ""}> log y</label>
        <span class="spacer"></span>
        <span class="muted small" id="curve-note"></span>
      </div>
      <p class="message error" id="curves-error" hidden></p>
      <div class="message empty" id="curves-empty" hidden></div>
      <div id="curves" class="chart"></div>`;
    const $ = (sel) => root.querySelector(sel);
    $("#curve-metric").addEventListener("change", () => {
      s.curveMetric = $("#curve-metric").value;
      this.load();
    });
    $("#curve-x").addEventListener("change", () => {
      s.curveX = $("#curve-x").value;
      this.load();
    });
    $("#curve-log").addEventListener("change", () => {
      s.logY = $("#curve-log").checked;
      this.load();
    });
  }

  unmount() {
    this.alive = false;
    this.loader.abort();
    purge(this.root.querySelector("#curves"));
  }

  note(text) {
    this.root.querySelector("#curve-note").textContent = text;
  }

  /** The metric and x choices, from the experiment's summary (kept when still offered). */
  renderControls(summary) {
    this.summary = summary;
    const s = this.state;
    const metrics = orderedMetrics(summary).filter((m) => m !== "training_iteration");
    if (!s.curveMetric || !metrics.includes(s.curveMetric)) s.curveMetric = metrics[0] || null;
    const xs = ["training_iteration", "time_total_s", "timestamp"]
      .filter((x) => x === "training_iteration" || (summary.metrics || []).includes(x));
    if (!xs.includes(s.curveX)) s.curveX = "training_iteration";
    const sel = this.root.querySelector("#curve-metric");
    const key = metrics.join("\u0000");
    if (sel.dataset.key !== key || sel.value !== (s.curveMetric || "")) {
      sel.dataset.key = key;
      sel.innerHTML = options(metrics, s.curveMetric);
    }
    const xsel = this.root.querySelector("#curve-x");
    const xkey = xs.join("\u0000");
    if (xsel.dataset.key !== xkey) {
      xsel.dataset.key = xkey;
      xsel.innerHTML = options(xs, s.curveX);
    }
  }

  /** The trials whose curves are drawn: those ticked, else the first rows of the page. */
  trials() {
    if (this.state.selected.length) return this.state.selected.slice(0, MAX_CURVES);
    return this.rows().slice(0, DEFAULT_CURVES).map((r) => r.trial_id);
  }

  async load() {
    const s = this.state;
    const div = this.root.querySelector("#curves");
    const empty = this.root.querySelector("#curves-empty");
    const errorEl = this.root.querySelector("#curves-error");
    const ids = this.trials();
    const showEmpty = (text) => {
      empty.hidden = false;
      empty.textContent = text;
      div.hidden = true;
    };
    const showError = (err) => {
      errorEl.hidden = false;
      errorEl.textContent = err.message;
      this.onError(err);
    };
    if (!s.curveMetric) return showEmpty("No numeric results reported yet: curves appear with the first results.");
    if (ids.length === 0) return showEmpty("No trials to draw: tick rows in the table.");
    loadPlotly().catch(() => {}); // evaluating it (about a second) overlaps the request
    let data;
    try {
      data = await this.loader.run((signal) => getJSON(expPath(this.expId, "/curves"),
        { trials: ids.join(","), metric: s.curveMetric, x: s.curveX }, signal));
    } catch (err) {
      showError(err);
      return;
    }
    if (!data || !this.alive) return;
    errorEl.hidden = true;
    const curves = ids
      .filter((id) => data.curves && data.curves[id] && data.curves[id].x.length > 0)
      .map((id) => ({ name: id, x: data.curves[id].x, y: data.curves[id].y }));
    const missing = ids.length - curves.length;
    this.note(s.selected.length
      ? `${curves.length} selected trial${curves.length === 1 ? "" : "s"}${missing ? ` (${missing} without ${s.curveMetric} yet)` : ""}`
      : `Nothing ticked: the first ${ids.length} rows of this page. Tick rows to choose.`);
    if (curves.length === 0) return showEmpty(`None of these trials has reported ${s.curveMetric} yet.`);
    empty.hidden = true;
    div.hidden = false;
    await drawCurves(div, curves, { metric: s.curveMetric, x: s.curveX, logY: s.logY }).catch(showError);
  }
}
