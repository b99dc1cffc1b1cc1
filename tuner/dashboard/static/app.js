// The dashboard's entry point: hash routes, the breadcrumb, the live indicator, and the views.
//   #/                       experiments
//   #/e/<exp_id>             one experiment (exp_id URL-encoded as one segment)
//   #/e/<exp_id>/t/<trial>   one trial

import { ApiError, subscribe } from "./api.js";
import { ExperimentView } from "./experiment.js";
import { ExperimentsView } from "./experiments.js";
import { esc } from "./fmt.js";
import { TrialView } from "./trial.js";

const main = document.getElementById("app");
const crumbs = document.getElementById("crumbs");
const live = document.getElementById("live");

/** Parses location.hash into a route. */
function parseRoute(hash) {
  const parts = hash.replace(/^#/, "").split("/").filter((p, i) => i > 0 || p !== "");
  const decode = (s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  if (parts.length === 0 || (parts.length === 1 && parts[0] === "")) return { name: "experiments" };
  if (parts[0] === "e" && parts.length === 2 && parts[1] !== "") return { name: "experiment", exp: decode(parts[1]) };
  if (parts[0] === "e" && parts.length === 4 && parts[2] === "t" && parts[3] !== "") {
    return { name: "trial", exp: decode(parts[1]), trial: decode(parts[3]) };
  }
  return { name: "unknown", hash };
}

/** Links of the routes. */
export const links = {
  experiments: () => "#/",
  experiment: (exp) => `#/e/${encodeURIComponent(exp)}`,
  trial: (exp, trial) => `#/e/${encodeURIComponent(exp)}/t/${encodeURIComponent(trial)}`,
};

/** What every view gets from the shell. */
const shell = {
  links,
  setCrumbs(items) {
    crumbs.innerHTML = items
      .map((it, i) => (i === items.length - 1 || !it.href
        ? `<span class="crumb current">${esc(it.label)}</span>`
        : `<a class="crumb" href="${esc(it.href)}">${esc(it.label)}</a>`))
      .join('<span class="sep">/</span>');
  },
  /** Subscribes to live updates for expId (null: the experiments list); returns the closer. */
  subscribe(expId, onUpdate) {
    return subscribe(expId, onUpdate, (state) => setLive(state));
  },
  /** Replaces the page with an error that the view cannot go on from (401, 404, ...). */
  fatal(err) {
    setLive("off");
    main.innerHTML = errorHTML(err);
  },
  navigate(hash) {
    window.location.hash = hash;
  },
};

function setLive(state) {
  live.dataset.state = state;
  live.querySelector(".live-label").textContent = { live: "live", reconnecting: "reconnecting…", off: "offline" }[state] || state;
}

/** The message for an error: 401 says how to pass the token. */
export function errorHTML(err) {
  if (err instanceof ApiError && err.status === 401) {
    return `<div class="message error token-required" role="alert">
      <h2>401: token required</h2>
      <p>This dashboard is protected by a token. Open the address that <code>tuner dashboard</code>
      printed (it ends in <code>?token=…</code>), or add <code>?token=&lt;your token&gt;</code> to
      this page's address, before the <code>#</code>.</p>
      <p class="muted">Server said: ${esc(err.message)}</p></div>`;
  }
  if (err instanceof ApiError && err.status === 404) {
    return `<div class="message error" role="alert"><h2>Not found</h2><p>${esc(err.message)}</p>
      <p><a href="#/">Back to the experiments</a></p></div>`;
  }
  if (err instanceof ApiError && err.status === 0) {
    return `<div class="message error" role="alert"><h2>Server unreachable</h2><p>${esc(err.message)}.
      Is <code>tuner dashboard</code> still running?</p></div>`;
  }
  const status = err instanceof ApiError ? ` (HTTP ${err.status})` : "";
  return `<div class="message error" role="alert"><h2>Something went wrong${esc(status)}</h2><p>${esc(err.message || err)}</p></div>`;
}

let view = null;

async function route() {
  if (view) view.unmount();
  view = null;
  setLive("off");
  const r = parseRoute(window.location.hash);
  main.innerHTML = '<p class="muted loading">Loading…</p>';
  if (r.name === "experiments") view = new ExperimentsView(main, shell);
  else if (r.name === "experiment") view = new ExperimentView(main, shell, r.exp);
  else if (r.name === "trial") view = new TrialView(main, shell, r.exp, r.trial);
  else {
    shell.setCrumbs([{ label: "Experiments", href: "#/" }]);
    main.innerHTML = `<div class="message error"><h2>Unknown page</h2><p><code>${esc(r.hash)}</code> is not a dashboard address.</p><p><a href="#/">Back to the experiments</a></p></div>`;
    return;
  }
  const mounted = view;
  try {
    await mounted.mount();
  } catch (err) {
    if (view === mounted) {
      mounted.unmount();
      shell.fatal(err);
    }
  }
}

window.addEventListener("hashchange", route);
route();
