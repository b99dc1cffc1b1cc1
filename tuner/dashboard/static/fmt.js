// Formatting and HTML escaping shared by the views.

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Escapes text for use inside HTML content or a quoted attribute. */
export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** A number shown with 4-5 significant digits; integers as they are; other values as JSON. */
export function fmtValue(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return String(value);
    if (Number.isInteger(value) && Math.abs(value) < 1e15) return String(value);
    const abs = Math.abs(value);
    if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) return value.toExponential(3);
    return String(Number(value.toPrecision(5)));
  }
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return value ? "true" : "false";
  return JSON.stringify(value);
}

/** 1,234 */
export function fmtInt(n) {
  return Number(n ?? 0).toLocaleString("en-US");
}

/** 3h 02m, 4m 05s, 12.3s */
export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "";
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)}s`;
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, "0")}m`;
  return `${m}m ${String(sec).padStart(2, "0")}s`;
}

/** Epoch seconds as local "YYYY-MM-DD HH:MM:SS". */
export function fmtTime(epochSeconds) {
  if (epochSeconds === null || epochSeconds === undefined) return "";
  const d = new Date(epochSeconds * 1000);
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** 1.2 MB */
export function fmtBytes(n) {
  if (n === null || n === undefined) return "";
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = n;
  let i = 0;
  while (value >= 1000 && i < units.length - 1) {
    value /= 1000;
    i += 1;
  }
  return i === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[i]}`;
}

export const STATUSES = ["PENDING", "RUNNING", "PAUSED", "TERMINATED", "ERROR"];

/** A coloured status label. */
export function statusBadge(status) {
  const s = String(status ?? "").toUpperCase();
  return `<span class="badge st-${esc(s.toLowerCase())}">${esc(s)}</span>`;
}

/** Non-zero status counts as small badges: "3 RUNNING 10 TERMINATED". */
export function countBadges(counts) {
  const parts = [];
  for (const s of STATUSES) {
    const n = counts ? counts[s] : 0;
    if (n) parts.push(`<span class="badge st-${s.toLowerCase()}" title="${s}">${fmtInt(n)} ${s}</span>`);
  }
  return parts.join(" ") || '<span class="muted">no trials</span>';
}

/** "loss (min)" or "loss (min), latency (min)" */
export function fmtObjective(metric, mode) {
  if (metric === null || metric === undefined) return "";
  const metrics = Array.isArray(metric) ? metric : [metric];
  const modes = Array.isArray(mode) ? mode : [mode];
  return metrics.map((m, i) => (modes[i] ? `${m} (${modes[i]})` : m)).join(", ");
}

/** Keys every result carries; the page lists the user's own metrics first. */
export const AUTO_KEYS = new Set([
  "training_iteration", "time_this_iter_s", "time_total_s", "time_since_restore",
  "iterations_since_restore", "timestamp", "pid", "done", "timesteps_total", "episodes_total",
  "timesteps_since_restore", "date", "hostname", "node_ip", "experiment_tag", "trial_id",
  "should_checkpoint", "checkpoint_dir_name", "config",
]);

/** The experiment's objective metrics as a list. */
export function objectiveMetrics(summary) {
  const m = summary.metric;
  if (m === null || m === undefined) return [];
  return Array.isArray(m) ? m : [m];
}

/** Metrics ordered: objective first, then the user's, then the automatic ones. */
export function orderedMetrics(summary) {
  const all = summary.metrics || [];
  const objective = objectiveMetrics(summary).filter((m) => all.includes(m));
  const user = all.filter((m) => !objective.includes(m) && !AUTO_KEYS.has(m));
  const auto = all.filter((m) => !objective.includes(m) && AUTO_KEYS.has(m));
  return [...objective, ...user, ...auto];
}

/** Options of a <select>: values, with the selected one marked. */
export function options(values, selected, labels = null) {
  return values
    .map((v, i) => `<option value="${esc(v)}"${v === selected ? " selected" : ""}>${esc(labels ? labels[i] : v)}</option>`)
    .join("");
}
