// Talking to the dashboard server: JSON requests, the auth token, and the live event stream.
// The HTTP contract is docs of the backend (tuner/dashboard/*.py); unknown fields are ignored.

const pageParams = new URLSearchParams(window.location.search);
// The server also sets an HttpOnly cookie when the page is opened with ?token=; sending the
// token as a header as well keeps requests working where cookies are blocked.
const token = pageParams.get("token");

/** An HTTP error from the server (status 0: the server could not be reached). */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

/** Path of an experiment's API resource: exp_id is ONE URL-encoded path segment. */
export function expPath(expId, rest = "") {
  return `/api/experiments/${encodeURIComponent(expId)}${rest}`;
}

/**
 * GET a JSON resource. `query` entries that are null, undefined or "" are left out.
 * Throws ApiError with the server's {"error": ...} message on a non-2xx answer.
 */
export async function getJSON(path, query = {}, signal = undefined) {
  const url = new URL(path, window.location.origin);
  for (const [key, value] of Object.entries(query)) {
    if (value !== null && value !== undefined && value !== "") url.searchParams.set(key, String(value));
  }
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(url, { headers, credentials: "same-origin", signal });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, `cannot reach the dashboard server (${err.message})`);
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    const message = body && typeof body.error === "string" ? body.error : response.statusText;
    throw new ApiError(response.status, message || `HTTP ${response.status}`);
  }
  return body;
}

/**
 * Runs requests of one kind so that only the latest one's answer is used: starting a new one
 * aborts the one in flight (a filter typed quickly, a page clicked twice).
 */
export class LatestOnly {
  constructor() {
    this.controller = null;
  }

  /** Calls fn(signal); resolves with its value, or with undefined when superseded. */
  async run(fn) {
    if (this.controller) this.controller.abort();
    const controller = new AbortController();
    this.controller = controller;
    try {
      const value = await fn(controller.signal);
      return controller.signal.aborted ? undefined : value;
    } catch (err) {
      if (controller.signal.aborted || err.name === "AbortError") return undefined;
      throw err;
    } finally {
      if (this.controller === controller) this.controller = null;
    }
  }

  abort() {
    if (this.controller) this.controller.abort();
    this.controller = null;
  }
}

/**
 * Subscribes to /api/events (for one experiment, or the experiments list when expId is null).
 * onUpdate(data) gets each `update` event's parsed data; onState("live" | "reconnecting")
 * follows the connection (EventSource reconnects by itself). Returns a function that closes it.
 */
export function subscribe(expId, onUpdate, onState) {
  const url = new URL("/api/events", window.location.origin);
  if (expId !== null && expId !== undefined) url.searchParams.set("exp", expId);
  const source = new EventSource(url, { withCredentials: true });
  source.addEventListener("open", () => onState("live"));
  source.addEventListener("error", () => onState("reconnecting"));
  source.addEventListener("update", (event) => {
    // A User Timing mark, for measuring (bench/dashboard.py): when each update came in.
    performance.mark("tuner-update");
    let data = {};
    try {
      data = JSON.parse(event.data);
    } catch {
      data = {};
    }
    onUpdate(data);
  });
  return () => source.close();
}

/**
 * A page's refresh failed: a 401 (the token) or a 404 (gone) ends the page with the shell's
 * message; another error shows in the page's banner `selector`, and the page keeps what it shows.
 */
export function refreshFailed(page, err, selector) {
  if (!page.alive) return;
  if (err.status === 401 || err.status === 404) {
    page.unmount();
    page.shell.fatal(err);
    return;
  }
  const banner = page.root.querySelector(selector);
  if (banner) {
    banner.hidden = false;
    banner.textContent = `Could not refresh: ${err.message}`;
  }
}

/**
 * Calls fn at most once per `wait` ms after the last call (trailing edge), and never while the
 * previous call's promise is still running: a call that comes in meanwhile runs once after it.
 */
export function debounced(fn, wait) {
  let timer = null;
  let running = false;
  let again = false;
  const fire = async () => {
    timer = null;
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      await fn();
    } finally {
      running = false;
      if (again) {
        again = false;
        schedule();
      }
    }
  };
  const schedule = () => {
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(fire, wait);
  };
  schedule.cancel = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    again = false;
  };
  return schedule;
}
