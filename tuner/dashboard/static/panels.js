// The analysis panels of an experiment, one tab shown at a time (only that one is fetched):
// scatter (config key vs metric), parallel coordinates, hyperparameter importance, errors,
// PBT lineage and the Pareto front.

import { LatestOnly, expPath, getJSON } from "./api.js";
import { drawImportance, drawParcoords, drawPareto, drawScatter, purge } from "./charts.js";
import { esc, fmtInt, fmtValue, objectiveMetrics, options, orderedMetrics } from "./fmt.js";

// Live refreshes of a panel come at most this often: /points carries every trial.
const REFRESH_EVERY_MS = 1500;
const MAX_LISTED = 200;

function metricMode(summary, metric) {
  const metrics = objectiveMetrics(summary);
  const modes = Array.isArray(summary.mode) ? summary.mode : [summary.mode];
  const i = metrics.indexOf(metric);
  return i >= 0 ? modes[i] : null;
}

export class Panels {
  constructor(root, { expId, state, shell, onFatal }) {
    this.root = root;
    this.expId = expId;
    this.state = state;
    this.shell = shell;
    this.onFatal = onFatal;
    this.summary = null;
    this.tabsKey = "";
    this.loader = new LatestOnly();
    this.lastLoad = 0;
    this.timer = null;
    this.alive = true;
  }

  unmount() {
    this.alive = false;
    this.loader.abort();
    if (this.timer) clearTimeout(this.timer);
    purge(this.root.querySelector(".chart"));
  }

  tabs() {
    const e = this.summary;
    const errors = (e.counts && e.counts.ERROR) || 0;
    const tabs = [];
    if (e.multi_objective) tabs.push(["pareto", "Pareto front"]);
    tabs.push(["scatter", "Scatter"], ["parallel", "Parallel coordinates"], ["importance", "Importance"],
      ["errors", `Errors${errors ? ` (${fmtInt(errors)})` : ""}`]);
    if (e.has_lineage) tabs.push(["lineage", "PBT lineage"]);
    return tabs;
  }

  /** Draws the tab bar (again only when the tabs changed) and the open tab's controls. */
  render(summary) {
    this.summary = summary;
    const tabs = this.tabs();
    const ids = tabs.map(([id]) => id);
    if (!this.state.tab || !ids.includes(this.state.tab)) this.state.tab = ids[0];
    const key = tabs.map((t) => t.join(":")).join("|");
    if (key === this.tabsKey) {
      this.renderControls(false);
      return;
    }
    const first = this.tabsKey === "";
    this.tabsKey = key;
    const bar = tabs.map(([id, label]) => `<button type="button" role="tab" class="tab${id === this.state.tab ? " active" : ""}" data-tab="${id}" aria-selected="${id === this.state.tab}">${esc(label)}</button>`).join("");
    if (first) {
      this.root.innerHTML = `<div class="tabs" role="tablist"></div>
        <div class="toolbar panel-controls"></div>
        <p class="message error panel-error" hidden></p>
        <div class="message empty panel-empty" hidden></div>
        <div class="chart panel-chart" id="panel-chart"></div>
        <div class="panel-list" id="panel-list"></div>`;
      this.root.querySelector(".tabs").addEventListener("click", (ev) => {
        const b = ev.target.closest("button[data-tab]");
        if (!b || b.dataset.tab === this.state.tab) return;
        this.state.tab = b.dataset.tab;
        this.tabsKey = "";
        this.render(this.summary);
        this.load({ user: true });
      });
      this.root.querySelector(".panel-controls").addEventListener("change", (ev) => {
        const t = ev.target;
        if (!t.dataset.opt) return;
        this.state.panel[t.dataset.opt] = t.type === "checkbox" ? t.checked : t.value;
        this.load({ user: true });
      });
    }
    this.root.querySelector(".tabs").innerHTML = bar;
    this.renderControls(true);
  }

  /** The chosen options of the open tab, defaulted from the experiment. */
  options() {
    const e = this.summary;
    const p = this.state.panel;
    const metrics = orderedMetrics(e).filter((m) => m !== "training_iteration");
    const keys = e.config_keys || [];
    if (!p.metric || !metrics.includes(p.metric)) p.metric = metrics[0] || "";
    if (!p.key || !keys.includes(p.key)) p.key = keys[0] || "";
    if (p.which !== "best") p.which = "last";
    return { metrics, keys };
  }

  renderControls(force) {
    const tab = this.state.tab;
    const p = this.state.panel;
    const { metrics, keys } = this.options();
    const sig = `${tab}|${metrics.join(",")}|${keys.join(",")}`;
    const el = this.root.querySelector(".panel-controls");
    if (!force && el.dataset.sig === sig) return;
    el.dataset.sig = sig;
    const metricSel = `<label>metric <select data-opt="metric" aria-label="panel metric">${options(metrics, p.metric)}</select></label>`;
    const which = `<label>value <select data-opt="which" aria-label="last or best">${options(["last", "best"], p.which, ["last result", "best result"])}</select></label>`;
    let html = "";
    if (tab === "scatter") {
      html = `<label>config <select data-opt="key" aria-label="config key">${options(keys, p.key)}</select></label>${metricSel}${which}
        <label class="check"><input type="checkbox" data-opt="logX"${p.logX ? " checked" : ""}> log x</label>
        <label class="check"><input type="checkbox" data-opt="logY"${p.logY ? " checked" : ""}> log y</label>`;
    } else if (tab === "parallel") html = `${metricSel}${which}`;
    else if (tab === "importance") html = metricSel;
    else if (tab === "pareto") html = '<span class="muted small">Click a point to open its trial.</span>';
    el.innerHTML = html;
    el.hidden = html === "";
  }

  /** Loads the open tab; live refreshes are spaced REFRESH_EVERY_MS apart. */
  load({ user = false } = {}) {
    if (!this.alive) return Promise.resolve();
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const wait = this.lastLoad + REFRESH_EVERY_MS - Date.now();
    if (!user && wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.load({ user: true });
      }, wait);
      return Promise.resolve();
    }
    this.lastLoad = Date.now();
    return this.loadTab().catch((err) => this.error(err));
  }

  error(err) {
    if (!this.alive) return;
    if (err.status === 401) {
      this.onFatal(err);
      return;
    }
    const el = this.root.querySelector(".panel-error");
    el.hidden = false;
    el.textContent = err.message;
  }

  show({ chart = false, list = "", empty = "" }) {
    const chartDiv = this.root.querySelector(".panel-chart");
    if (!chart) purge(chartDiv);
    chartDiv.hidden = !chart;
    this.root.querySelector(".panel-list").innerHTML = list;
    const emptyEl = this.root.querySelector(".panel-empty");
    emptyEl.hidden = !empty;
    emptyEl.textContent = empty;
    this.root.querySelector(".panel-error").hidden = true;
    return chartDiv;
  }

  async loadTab() {
    const tab = this.state.tab;
    const p = this.state.panel;
    this.options();
    const get = (path, query) => this.loader.run((signal) => getJSON(expPath(this.expId, path), query, signal));
    const onClick = (trialId) => this.shell.navigate(this.shell.links.trial(this.expId, trialId));
    if ((tab === "scatter" || tab === "parallel" || tab === "importance") && !p.metric) {
      this.show({ empty: "No numeric results reported yet." });
      return;
    }
    if (tab === "scatter" || tab === "parallel") {
      const data = await get("/points", { metric: p.metric, which: p.which });
      if (!data || !this.alive || this.state.tab !== tab) return;
      const points = data.points || [];
      const valued = points.filter((pt) => typeof pt.value === "number").length;
      if (valued === 0) {
        this.show({ empty: `No trial has reported ${p.metric} yet.` });
        return;
      }
      const div = this.show({ chart: true });
      if (tab === "scatter") {
        if (!p.key) {
          this.show({ empty: "The experiment has no config keys to plot against." });
          return;
        }
        await drawScatter(div, points, { key: p.key, metric: p.metric, logX: !!p.logX, logY: !!p.logY, onClick });
      } else {
        await drawParcoords(div, points, { keys: data.config_keys || this.summary.config_keys || [], metric: p.metric, mode: metricMode(this.summary, p.metric) });
      }
    } else if (tab === "importance") {
      const data = await get("/importance", { metric: p.metric });
      if (!data || !this.alive || this.state.tab !== tab) return;
      if (!data.importances || data.importances.length === 0) {
        this.show({ empty: data.note || "Not enough finished trials to estimate importances yet." });
        return;
      }
      const div = this.show({ chart: true, list: `<p class="muted small">Method: ${esc(data.method || "")}${data.note ? ` · ${esc(data.note)}` : ""}</p>` });
      await drawImportance(div, data.importances);
    } else if (tab === "errors") {
      const data = await get("/errors", {});
      if (!data || !this.alive || this.state.tab !== tab) return;
      this.renderErrors(data.errors || []);
    } else if (tab === "lineage") {
      const data = await get("/lineage", {});
      if (!data || !this.alive || this.state.tab !== tab) return;
      this.renderLineage(data.events || []);
    } else if (tab === "pareto") {
      const data = await get("/pareto", {});
      if (!data || !this.alive || this.state.tab !== tab) return;
      await this.renderPareto(data, onClick);
    }
  }

  renderErrors(errors) {
    if (errors.length === 0) {
      this.show({ empty: "No trial has failed." });
      return;
    }
    const link = (id) => `<a href="${esc(this.shell.links.trial(this.expId, id))}">${esc(id)}</a>`;
    const items = errors.slice(0, MAX_LISTED).map((e) => `<li class="error-item" data-id="${esc(e.trial_id)}">
        <div>${link(e.trial_id)} <span class="error-message">${esc(e.message)}</span></div>
        <details><summary>traceback</summary><pre class="traceback">${esc(e.traceback || "(no traceback)")}</pre></details></li>`).join("");
    const more = errors.length > MAX_LISTED ? `<p class="muted small">and ${fmtInt(errors.length - MAX_LISTED)} more (filter the table by status ERROR).</p>` : "";
    this.show({ list: `<ul class="errors">${items}</ul>${more}` });
  }

  renderLineage(events) {
    if (events.length === 0) {
      this.show({ empty: "No perturbations yet." });
      return;
    }
    const link = (id) => (id ? `<a href="${esc(this.shell.links.trial(this.expId, id))}">${esc(id)}</a>` : "");
    const changes = (a, b) => {
      const keys = [...new Set([...Object.keys(a || {}), ...Object.keys(b || {})])];
      return keys
        .filter((k) => JSON.stringify((a || {})[k]) !== JSON.stringify((b || {})[k]))
        .map((k) => `<span class="change"><b>${esc(k)}</b> ${esc(fmtValue((a || {})[k]))} → ${esc(fmtValue((b || {})[k]))}</span>`)
        .join(" ") || '<span class="muted">unchanged</span>';
    };
    const latest = events.slice(-MAX_LISTED).reverse();
    const rows = latest.map((e) => `<tr><td class="num">${esc(fmtValue(e.iteration))}</td><td>${link(e.trial_id)}</td>
      <td>${link(e.donor_trial_id)}</td><td>${changes(e.target_config || e.old_config, e.new_config)}</td></tr>`).join("");
    const more = events.length > MAX_LISTED ? `<p class="muted small">The latest ${MAX_LISTED} of ${fmtInt(events.length)} perturbations.</p>` : "";
    this.show({ list: `${more}<div class="table-wrap"><table class="grid" id="lineage"><thead><tr><th class="num">Iteration</th><th>Trial</th><th>Cloned from</th><th>Config: before → after</th></tr></thead><tbody>${rows}</tbody></table></div>` });
  }

  async renderPareto(data, onClick) {
    const metrics = data.metrics || [];
    const points = (data.points || []).filter((p) => Array.isArray(p.values) && p.values.every((v) => typeof v === "number"));
    if (metrics.length < 2 || points.length === 0) {
      this.show({ empty: "No trial has reported all the objectives yet." });
      return;
    }
    const p = this.state.panel;
    let i = Number(p.paretoI ?? 0);
    let j = Number(p.paretoJ ?? 1);
    if (!(i >= 0 && i < metrics.length)) i = 0;
    if (!(j >= 0 && j < metrics.length) || j === i) j = i === 0 ? 1 : 0;
    if (metrics.length > 2) {
      const idx = metrics.map((_, k) => String(k));
      this.root.querySelector(".panel-controls").innerHTML = `<label>x <select data-opt="paretoI">${options(idx, String(i), metrics)}</select></label>
        <label>y <select data-opt="paretoJ">${options(idx, String(j), metrics)}</select></label>`;
    }
    const front = points.filter((pt) => pt.front);
    const modes = data.modes || [];
    const head = metrics.map((m, k) => `<th class="num">${esc(m)}${modes[k] ? ` <span class="tag">${esc(modes[k])}</span>` : ""}</th>`).join("");
    const rows = front.slice(0, MAX_LISTED).map((pt) => `<tr><td><a href="${esc(this.shell.links.trial(this.expId, pt.trial_id))}">${esc(pt.trial_id)}</a></td>${pt.values.map((v) => `<td class="num">${esc(fmtValue(v))}</td>`).join("")}</tr>`).join("");
    const list = `<p class="muted small">${fmtInt(front.length)} of ${fmtInt(points.length)} trials on the front.</p>
      <div class="table-wrap"><table class="grid" id="pareto-front"><thead><tr><th>Trial</th>${head}</tr></thead><tbody>${rows}</tbody></table></div>`;
    const div = this.show({ chart: true, list });
    await drawPareto(div, points, { i, j, metrics, onClick });
  }
}
