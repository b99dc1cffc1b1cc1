// One experiment (#/e/<exp_id>): its summary, the trial table (sorted, filtered and paged by the
// server), the learning curves of the selected trials (curves.js) and the analysis panels (panels.js).
// Live updates refetch what is shown and keep the selection, sort, filter and page.

import { LatestOnly, debounced, expPath, getJSON } from "./api.js";
import { Curves, MAX_CURVES } from "./curves.js";
import {
  AUTO_KEYS, STATUSES, countBadges, esc, fmtDuration, fmtInt, fmtObjective, fmtTime, fmtValue,
  objectiveMetrics, options, orderedMetrics, statusBadge,
} from "./fmt.js";
import { Panels } from "./panels.js";

const PAGE_SIZES = [25, 50, 100, 200];

// Per experiment, what the user chose; it survives a visit to a trial page and back.
const stateByExp = new Map();

function freshState() {
  return {
    offset: 0, limit: 50, sort: "", order: "asc", status: "", q: "",
    selected: [], curveMetric: null, curveX: "training_iteration", logY: false,
    columns: null, tab: null, panel: {},
  };
}

/** The metric columns shown before the user picks: last and best of the objective, last of the rest. */
function defaultColumns(summary) {
  const objective = objectiveMetrics(summary);
  const cols = [];
  for (const m of orderedMetrics(summary)) {
    if (objective.includes(m)) cols.push(`last/${m}`, `best/${m}`);
    else if (!AUTO_KEYS.has(m) || m === "time_total_s") cols.push(`last/${m}`);
  }
  return cols;
}

function cellValue(row, col) {
  if (col === "trial_id" || col === "status" || col === "iterations") return row[col];
  const slash = col.indexOf("/");
  const group = col.slice(0, slash);
  const key = col.slice(slash + 1);
  const source = row[group];
  return source ? source[key] : undefined;
}

export class ExperimentView {
  constructor(root, shell, expId) {
    this.root = root;
    this.shell = shell;
    this.expId = expId;
    if (!stateByExp.has(expId)) stateByExp.set(expId, freshState());
    this.state = stateByExp.get(expId);
    this.summary = null;
    this.rows = [];
    this.total = 0;
    this.columnsKey = "";
    this.alive = true;
    this.changed = new Set();
    this.changedAll = false;
    this.loaders = { summary: new LatestOnly(), trials: new LatestOnly() };
    this.curves = null;
    this.refresh = debounced(() => this.refreshAll(), 100);
    this.closeEvents = null;
    this.panels = null;
  }

  async mount() {
    // The summary and the first page of trials are asked for together.
    const firstPage = this.requestTrials();
    firstPage.catch(() => {}); // its error is handled by loadTrials below
    const summary = await this.loaders.summary.run((signal) => getJSON(expPath(this.expId), {}, signal));
    if (!summary || !this.alive) return;
    this.summary = summary;
    this.version = summary.version;
    this.shell.setCrumbs([{ label: "Experiments", href: "#/" }, { label: summary.name || this.expId }]);
    this.renderSkeleton();
    this.curves = new Curves(this.root.querySelector("#curves-card"), {
      expId: this.expId, state: this.state, rows: () => this.rows,
      onError: (err) => this.sectionError(null, err),
    });
    this.renderHead();
    this.panels = new Panels(this.root.querySelector("#panels"), {
      expId: this.expId, state: this.state, shell: this.shell, onFatal: (err) => this.onFatal(err),
    });
    this.panels.render(summary);
    this.closeEvents = this.shell.subscribe(this.expId, (data) => this.onUpdate(data));
    await this.loadTrials(firstPage);
    await this.curves.load();
    // The panels sit below the fold and /points carries every trial: they come last.
    if (this.alive) await this.panels.load({ user: true });
  }

  unmount() {
    this.alive = false;
    this.refresh.cancel();
    for (const l of Object.values(this.loaders)) l.abort();
    if (this.closeEvents) this.closeEvents();
    if (this.panels) this.panels.unmount();
    if (this.curves) this.curves.unmount();
  }

  onFatal(err) {
    if (!this.alive) return;
    this.unmount();
    this.shell.fatal(err);
  }

  /** Errors of one section: 401 ends the page (404 too for the summary); others show in the section. */
  sectionError(selector, err) {
    if (err.status === 401 || (err.status === 404 && selector === "#head-error")) {
      this.onFatal(err);
      return;
    }
    const el = selector && this.root.querySelector(selector);
    if (el) {
      el.hidden = false;
      el.textContent = err.message;
    }
  }

  onUpdate(data) {
    // `all: true` (or no list): too many changes to name, refetch everything.
    if (Array.isArray(data.changed_trials) && !data.all) for (const t of data.changed_trials) this.changed.add(t);
    else this.changedAll = true;
    this.refresh();
  }

  /** What an `update` event triggers: the summary, the table, the curves and the open panel.
   * The table and curves do not wait for the summary; the panel comes after them. */
  async refreshAll() {
    if (!this.alive) return;
    const changed = this.changed;
    const changedAll = this.changedAll;
    this.changed = new Set();
    this.changedAll = false;
    const head = this.loaders.summary.run((signal) => getJSON(expPath(this.expId), {}, signal))
      .then((summary) => {
        if (!summary || !this.alive) return;
        this.root.querySelector("#head-error").hidden = true;
        this.summary = summary;
        this.version = summary.version;
        if (this.renderHead()) this.renderRows(); // new columns (a metric reported first now)
        this.panels.render(summary);
      })
      .catch((err) => this.sectionError("#head-error", err));
    const curvesChanged = changedAll || this.state.selected.length === 0
      || this.curves.trials().some((id) => changed.has(id));
    await this.loadTrials();
    if (curvesChanged) await this.curves.load();
    await head;
    if (this.alive) await this.panels.load();
  }

  renderSkeleton() {
    const s = this.state;
    this.root.innerHTML = `
      <section class="page-head" id="exp-head"></section>
      <p class="message error" id="head-error" hidden></p>
      <section class="card">
        <div class="toolbar">
          <h2>Trials</h2>
          <input type="search" id="filter" placeholder="Filter by trial id or config value" value="${esc(s.q)}" aria-label="filter trials">
          <select id="status-filter" aria-label="status filter">${options(["", ...STATUSES], s.status, ["All statuses", ...STATUSES])}</select>
          <details class="columns" id="columns"><summary>Columns</summary><div class="columns-list"></div></details>
          <span class="spacer"></span>
          <span class="muted small" id="selection-note"></span>
          <button type="button" id="clear-selection" class="link-button">Clear selection</button>
        </div>
        <p class="message error" id="trials-error" hidden></p>
        <div class="table-wrap trials-wrap"><table class="grid trials" id="trials"><thead></thead><tbody></tbody></table></div>
        <div class="message empty" id="trials-empty" hidden></div>
        <div class="pager" id="pager"></div>
      </section>
      <section class="card" id="curves-card"></section>
      <section class="card" id="panels"></section>`;
    this.bindControls();
  }

  bindControls() {
    const s = this.state;
    const $ = (sel) => this.root.querySelector(sel);
    const filterChanged = debounced(async () => {
      s.q = $("#filter").value.trim();
      s.offset = 0;
      await this.loadTrialsAndDefaultCurves();
    }, 250);
    $("#filter").addEventListener("input", filterChanged);
    $("#status-filter").addEventListener("change", () => {
      s.status = $("#status-filter").value;
      s.offset = 0;
      this.loadTrialsAndDefaultCurves();
    });
    $("#clear-selection").addEventListener("click", () => {
      s.selected = [];
      this.renderRows();
      this.curves.load();
    });
    $("#trials thead").addEventListener("click", (ev) => {
      const th = ev.target.closest("th[data-col]");
      if (th && !ev.target.closest("input")) this.sortBy(th.dataset.col);
    });
    $("#trials thead").addEventListener("keydown", (ev) => {
      const th = ev.target.closest("th[data-col]");
      if (th && (ev.key === "Enter" || ev.key === " ")) {
        ev.preventDefault();
        this.sortBy(th.dataset.col);
      }
    });
    $("#trials thead").addEventListener("change", (ev) => {
      if (ev.target.id === "select-page") this.selectPage(ev.target.checked);
    });
    $("#trials tbody").addEventListener("change", (ev) => {
      if (ev.target.classList.contains("sel")) this.toggle(ev.target.closest("tr").dataset.id, ev.target.checked);
    });
    $("#pager").addEventListener("click", (ev) => {
      const b = ev.target.closest("button[data-offset]");
      if (!b || b.disabled) return;
      s.offset = Number(b.dataset.offset);
      this.loadTrialsAndDefaultCurves();
    });
    $("#pager").addEventListener("change", (ev) => {
      if (ev.target.id !== "page-size") return;
      s.limit = Number(ev.target.value);
      s.offset = Math.floor(s.offset / s.limit) * s.limit;
      this.loadTrialsAndDefaultCurves();
    });
    $("#columns").addEventListener("change", (ev) => {
      if (!ev.target.dataset.col) return;
      const chosen = new Set(s.columns || defaultColumns(this.summary));
      if (ev.target.checked) chosen.add(ev.target.dataset.col);
      else chosen.delete(ev.target.dataset.col);
      const all = this.metricColumnChoices();
      s.columns = all.filter((c) => chosen.has(c));
      this.renderHeader(true);
      this.renderRows();
    });
  }

  async loadTrialsAndDefaultCurves() {
    await this.loadTrials();
    if (this.state.selected.length === 0) await this.curves.load();
  }

  renderHead() {
    const e = this.summary;
    const facts = [
      ["Status", statusBadge(e.status)],
      ["Trials", `${fmtInt(e.trials)} <span class="counts">${countBadges(e.counts)}</span>`],
      ["Objective", esc(fmtObjective(e.metric, e.mode)) || '<span class="muted">none</span>'],
      ["Best", e.multi_objective && (e.best === null || e.best === undefined)
        ? '<span class="muted">see the Pareto front</span>'
        : `<span class="best">${esc(fmtValue(e.best))}</span>`],
      ["Scheduler", esc(e.scheduler || "") || '<span class="muted">FIFO</span>'],
      ["Started", esc(fmtTime(e.started))],
      ["Duration", esc(fmtDuration(e.duration_s))],
    ];
    this.root.querySelector("#exp-head").innerHTML = `<h1>${esc(e.name || this.expId)}
        ${e.multi_objective ? '<span class="tag">multi-objective</span>' : ""}</h1>
      <dl class="facts">${facts.map(([k, v]) => `<div><dt>${k}</dt><dd>${v}</dd></div>`).join("")}</dl>`;
    this.curves.renderControls(e);
    return this.renderHeader(false);
  }

  metricColumnChoices() {
    const cols = [];
    for (const m of orderedMetrics(this.summary)) cols.push(`last/${m}`, `best/${m}`);
    return cols;
  }

  columns() {
    const e = this.summary;
    const metricCols = this.state.columns || defaultColumns(e);
    return ["trial_id", "status", "iterations", ...(e.config_keys || []).map((k) => `config/${k}`), ...metricCols];
  }

  /** The header row; rebuilt only when the columns or the sort changed (then returns true). */
  renderHeader(force) {
    const s = this.state;
    const cols = this.columns();
    const key = `${cols.join("\u0000")}|${s.sort}|${s.order}`;
    if (!force && key === this.columnsKey) return false;
    this.columnsKey = key;
    const label = (col) => {
      if (col === "trial_id") return "Trial";
      if (col === "status") return "Status";
      if (col === "iterations") return "Iter";
      const slash = col.indexOf("/");
      const group = col.slice(0, slash);
      const name = col.slice(slash + 1);
      return group === "config" ? esc(name) : `${esc(name)} <span class="tag">${group}</span>`;
    };
    const head = cols.map((col) => {
      const sorted = s.sort === col;
      const arrow = sorted ? (s.order === "desc" ? " ▼" : " ▲") : "";
      const numeric = col === "iterations" || col.startsWith("last/") || col.startsWith("best/");
      const aria = sorted ? (s.order === "desc" ? "descending" : "ascending") : "none";
      return `<th data-col="${esc(col)}" class="sortable${numeric ? " num" : ""}${col.startsWith("config/") ? " cfg" : ""}" tabindex="0" aria-sort="${aria}" title="sort by ${esc(col)}">${label(col)}<span class="arrow">${arrow}</span></th>`;
    }).join("");
    this.root.querySelector("#trials thead").innerHTML = `<tr><th class="select"><input type="checkbox" id="select-page" aria-label="select the trials of this page"></th>${head}</tr>`;
    const chosen = new Set(s.columns || defaultColumns(this.summary));
    this.root.querySelector("#columns .columns-list").innerHTML = this.metricColumnChoices()
      .map((c) => `<label class="check"><input type="checkbox" data-col="${esc(c)}"${chosen.has(c) ? " checked" : ""}> ${esc(c)}</label>`)
      .join("") || '<span class="muted">no metrics reported yet</span>';
    return true;
  }

  sortBy(col) {
    const s = this.state;
    if (s.sort === col) s.order = s.order === "asc" ? "desc" : "asc";
    else {
      s.sort = col;
      s.order = "asc";
    }
    s.offset = 0;
    this.renderHeader(false);
    this.loadTrialsAndDefaultCurves();
  }

  /** GET the page of trials the state asks for (the latest request wins). */
  requestTrials() {
    const s = this.state;
    const query = { offset: s.offset, limit: s.limit, sort: s.sort, order: s.sort ? s.order : "", status: s.status, q: s.q };
    return this.loaders.trials.run((signal) => getJSON(expPath(this.expId, "/trials"), query, signal));
  }

  /** Shows the page of trials (from `pending`, a request already made, or a new one). */
  async loadTrials(pending = null) {
    const s = this.state;
    const table = this.root.querySelector("#trials");
    table.setAttribute("aria-busy", "true");
    let data;
    try {
      data = await (pending || this.requestTrials());
    } catch (err) {
      table.removeAttribute("aria-busy");
      this.sectionError("#trials-error", err);
      return;
    }
    if (!data || !this.alive) return;
    table.removeAttribute("aria-busy");
    this.root.querySelector("#trials-error").hidden = true;
    if (data.rows.length === 0 && data.total > 0 && s.offset > 0) {
      // The page ran off the end (fewer trials match now): go to the last page.
      s.offset = Math.max(0, Math.floor((data.total - 1) / s.limit) * s.limit);
      await this.loadTrials();
      return;
    }
    this.rows = data.rows;
    this.total = data.total;
    this.renderRows();
    this.renderPager();
  }

  renderRows() {
    const s = this.state;
    const cols = this.columns();
    const selected = new Set(s.selected);
    const links = this.shell.links;
    const html = this.rows.map((row) => {
      const cells = cols.map((col) => {
        if (col === "trial_id") return `<td class="nowrap"><a href="${esc(links.trial(this.expId, row.trial_id))}">${esc(row.trial_id)}</a></td>`;
        if (col === "status") {
          const err = row.error ? ` <span class="err-mark" title="${esc(row.error)}">!</span>` : "";
          return `<td class="nowrap">${statusBadge(row.status)}${err}</td>`;
        }
        const v = cellValue(row, col);
        const numeric = typeof v === "number";
        return `<td class="${numeric ? "num" : ""}" data-col="${esc(col)}">${esc(fmtValue(v))}</td>`;
      }).join("");
      const on = selected.has(row.trial_id);
      return `<tr data-id="${esc(row.trial_id)}"${on ? ' class="selected"' : ""}><td class="select"><input type="checkbox" class="sel" aria-label="select ${esc(row.trial_id)}"${on ? " checked" : ""}></td>${cells}</tr>`;
    }).join("");
    this.root.querySelector("#trials tbody").innerHTML = html;
    // Config columns of numbers are right-aligned like their cells.
    if (this.rows.length) {
      for (const th of this.root.querySelectorAll("#trials th.cfg")) {
        th.classList.toggle("num", typeof cellValue(this.rows[0], th.dataset.col) === "number");
      }
    }
    const pageBox = this.root.querySelector("#select-page");
    if (pageBox) {
      const onPage = this.rows.filter((r) => selected.has(r.trial_id)).length;
      pageBox.checked = onPage > 0 && onPage === this.rows.length;
      pageBox.indeterminate = onPage > 0 && onPage < this.rows.length;
    }
    const empty = this.root.querySelector("#trials-empty");
    if (this.rows.length === 0) {
      empty.hidden = false;
      empty.innerHTML = s.q || s.status
        ? `No trials match ${s.q ? `“${esc(s.q)}”` : ""}${s.q && s.status ? " and " : ""}${s.status ? `status ${esc(s.status)}` : ""}.`
        : "No trials yet: they appear here as the experiment starts them.";
    } else empty.hidden = true;
    const note = this.root.querySelector("#selection-note");
    note.textContent = s.selected.length ? `${s.selected.length} selected` : "";
    this.root.querySelector("#clear-selection").hidden = s.selected.length === 0;
  }

  renderPager() {
    const s = this.state;
    const total = this.total;
    const pages = Math.max(1, Math.ceil(total / s.limit));
    const page = Math.floor(s.offset / s.limit) + 1;
    const last = (pages - 1) * s.limit;
    const btn = (label, offset, disabled, title) => `<button type="button" data-offset="${offset}"${disabled ? " disabled" : ""} title="${title}">${label}</button>`;
    const from = total === 0 ? 0 : s.offset + 1;
    const to = Math.min(total, s.offset + this.rows.length);
    this.root.querySelector("#pager").innerHTML = `
      ${btn("«", 0, page === 1, "first page")}${btn("‹ Prev", Math.max(0, s.offset - s.limit), page === 1, "previous page")}
      <span class="page-info" id="page-info">Page ${fmtInt(page)} of ${fmtInt(pages)} · ${fmtInt(from)}–${fmtInt(to)} of ${fmtInt(total)} trials</span>
      ${btn("Next ›", s.offset + s.limit, page >= pages, "next page")}${btn("»", last, page >= pages, "last page")}
      <label class="page-size">rows <select id="page-size">${options(PAGE_SIZES.map(String), String(s.limit))}</select></label>`;
  }

  toggle(trialId, on) {
    const s = this.state;
    s.selected = s.selected.filter((t) => t !== trialId);
    if (on) {
      if (s.selected.length >= MAX_CURVES) {
        this.renderRows();
        this.curves.note(`At most ${MAX_CURVES} trials can be drawn at once.`);
        return;
      }
      s.selected.push(trialId);
    }
    this.renderRows();
    this.curves.load();
  }

  selectPage(on) {
    const s = this.state;
    const ids = this.rows.map((r) => r.trial_id);
    s.selected = s.selected.filter((t) => !ids.includes(t));
    if (on) s.selected.push(...ids.slice(0, Math.max(0, MAX_CURVES - s.selected.length)));
    if (on && s.selected.length >= MAX_CURVES) this.curves.note(`At most ${MAX_CURVES} trials can be drawn at once.`);
    this.renderRows();
    this.curves.load();
  }
}
