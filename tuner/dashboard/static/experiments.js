// The experiments list (#/): one row per experiment under the dashboard's root.

import { LatestOnly, debounced, getJSON, refreshFailed } from "./api.js";
import { loadPlotly } from "./charts.js";
import { countBadges, esc, fmtDuration, fmtInt, fmtObjective, fmtTime, fmtValue, statusBadge } from "./fmt.js";

export class ExperimentsView {
  constructor(root, shell) {
    this.root = root;
    this.shell = shell;
    this.loader = new LatestOnly();
    this.closeEvents = null;
    this.refresh = debounced(() => this.load().catch((err) => this.onError(err)), 150);
    this.alive = true;
  }

  async mount() {
    this.shell.setCrumbs([{ label: "Experiments" }]);
    await this.load();
    if (!this.alive) return;
    this.closeEvents = this.shell.subscribe(null, () => this.refresh());
    // An experiment's page draws with Plotly: get it ready while the user reads this list.
    const idle = window.requestIdleCallback || ((fn) => setTimeout(fn, 200));
    idle(() => loadPlotly().catch(() => {}));
  }

  unmount() {
    this.alive = false;
    this.loader.abort();
    this.refresh.cancel();
    if (this.closeEvents) this.closeEvents();
  }

  onError(err) {
    refreshFailed(this, err, ".refresh-error");
  }

  async load() {
    const data = await this.loader.run((signal) => getJSON("/api/experiments", {}, signal));
    if (!data || !this.alive) return;
    this.render(data);
  }

  render(data) {
    const experiments = data.experiments || [];
    const head = `<div class="page-head"><h1>Experiments</h1>
      <p class="muted">under <code>${esc(data.root)}</code> · ${fmtInt(experiments.length)} experiment${experiments.length === 1 ? "" : "s"}</p></div>
      <p class="message error refresh-error" hidden></p>`;
    if (experiments.length === 0) {
      this.root.innerHTML = `${head}<div class="message empty" id="no-experiments"><h2>No experiments yet</h2>
        <p>Nothing under <code>${esc(data.root)}</code> looks like an experiment. Run a
        <code>Tuner(...).fit()</code> with <code>RunConfig(storage_path=...)</code> pointing here;
        it appears on this page as soon as it starts.</p></div>`;
      return;
    }
    const rows = experiments.map((e) => `<tr data-exp="${esc(e.id)}">
        <td><a class="exp-link" href="${esc(this.shell.links.experiment(e.id))}">${esc(e.name)}</a>
          ${e.name !== e.id && e.id !== "." ? `<div class="muted small">${esc(e.id)}</div>` : ""}
          ${e.problem ? `<div class="problem small">${esc(e.problem)}</div>` : ""}</td>
        <td>${statusBadge(e.status)}</td>
        <td class="num">${fmtInt(e.trials)}</td>
        <td class="counts">${countBadges(e.counts)}</td>
        <td>${esc(fmtObjective(e.metric, e.mode))}</td>
        <td class="num best">${esc(fmtValue(e.best))}</td>
        <td class="nowrap">${esc(fmtTime(e.started))}</td>
        <td class="num nowrap">${esc(fmtDuration(e.duration_s))}</td>
      </tr>`).join("");
    this.root.innerHTML = `${head}<div class="table-wrap"><table class="grid" id="experiments">
      <thead><tr><th>Name</th><th>Status</th><th class="num">Trials</th><th>By status</th>
      <th>Objective</th><th class="num">Best</th><th>Started</th><th class="num">Duration</th></tr></thead>
      <tbody>${rows}</tbody></table></div>`;
  }
}
