"""The dashboard's HTTP server: the page, its static files, the JSON API and the event stream.

A `ThreadingHTTPServer` of the standard library answers in one thread per connection; a
watcher thread refreshes the catalog about once a second (`Catalog.scan`), so that requests
answer from memory. The event stream (``/api/events``) is one long response per page that
sends ``event: update`` when a version it follows changed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, urlsplit

import orjson

from tuner.dashboard import _access, _routes
from tuner.dashboard._catalog import Catalog
from tuner.exceptions import ConfigError

if TYPE_CHECKING:
    import fsspec

logger = logging.getLogger(__name__)

STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
POLL_S = 1.0
WATCHED_POLL_S = 0.2
"""Between the scans every `POLL_S`, the files of trials a page shows are polled this often,
and event streams look for news this often."""
PING_S = 15.0
_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
          ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png",
          ".json": "application/json", ".ico": "image/x-icon", ".map": "application/json"}
_TOKEN_NEEDED = ("token required: this dashboard needs its token; open the URL it printed "
                 "(http://<host>:<port>/?token=...), or send Authorization: Bearer <token>")
_TOKEN_PAGE = ("<!doctype html><meta charset=utf-8><title>tuner dashboard: token required"
               "</title><pre class=token-required>" + _TOKEN_NEEDED.replace("<", "&lt;")
               .replace(">", "&gt;") + "</pre>\n").encode()
PLOTLY_MISSING = ("plotly is not installed, and the dashboard draws its charts with the "
                  "plotly.min.js it ships: pip install 'tuner[dashboard]'")


def plotly_js() -> str | None:
    """The path of the installed plotly's ``plotly.min.js``, or None without plotly."""
    import importlib.util

    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = os.path.join(folder, "package_data", "plotly.min.js")
        if os.path.isfile(path):
            return path
    return None


def _json(payload: Any) -> bytes:
    # orjson writes NaN and infinities as null, which is what a browser's JSON.parse reads.
    return orjson.dumps(payload, default=repr, option=orjson.OPT_NON_STR_KEYS)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = 120  # seconds an idle kept-alive connection (and its thread) is kept

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("dashboard: " + format, *args)

    # ------------------------------------------------------------------ plumbing
    def _send(self, status: int, body: bytes, content_type: str,
              headers: dict[str, str] | None = None, *, cache: str = "no-store") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", cache)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        for name, value in self._cookie.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, status: int, payload: Any) -> None:
        self._send(status, _json(payload), "application/json")

    def _allowed(self, query: dict[str, list[str]]) -> bool:
        """Check the token (or, without one, the Host header); answer 401/403 if it fails."""
        self._cookie: dict[str, str] = {}
        token = self.server.token
        if token is None:
            if _access.host_allowed(self.headers.get("Host")):
                return True
            self._send_json(403, {"error": "this dashboard answers requests for localhost or "
                                           "127.0.0.1 only (the Host header named another "
                                           "host): open it as http://127.0.0.1:<port>/"})
            return False
        given, from_query = _access.request_token(query, self.headers)
        if not _access.token_matches(token, given):
            if urlsplit(self.path).path in ("/", "/index.html"):
                # A person opened the bare URL: tell them, in a page, what to open instead.
                self._send(401, _TOKEN_PAGE, "text/html; charset=utf-8")
            else:
                self._send_json(401, {"error": _TOKEN_NEEDED})
            return False
        if from_query:
            self._cookie = {"Set-Cookie": f"{_access.COOKIE}={token}; HttpOnly; "
                                          "SameSite=Strict; Path=/"}
        return True

    # ------------------------------------------------------------------ GET
    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        if not self._allowed(query):
            return
        parts = _routes.segments(url.path)
        try:
            if parts[:1] == ["api"] and parts[1:] == ["events"]:
                if self.command == "HEAD":
                    self._send(200, b"", "text/event-stream")
                else:
                    self._events(query)
            elif parts[:1] == ["api"]:
                status, payload = _routes.api(self.server.catalog, parts[1:], query)
                self._send_json(status, payload)
            elif parts in ([""], ["index.html"]):
                self._static("index.html")
            elif parts[:1] == ["static"] and len(parts) >= 2:
                self._static("/".join(parts[1:]))
            elif parts == ["favicon.ico"]:
                self._send(204, b"", "image/x-icon")
            else:
                self._send_json(404, {"error": f"nothing at {url.path}"})
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as exc:
            logger.exception("dashboard: %s failed", url.path)
            with contextlib.suppress(OSError):
                self._send_json(500, {"error": f"{type(exc).__name__}: {exc}"})

    def _static(self, name: str) -> None:
        if name == "plotly.min.js":
            path = plotly_js()
            if path is None:
                self._send(503, f"/* {PLOTLY_MISSING} */\nconsole.error({PLOTLY_MISSING!r});\n"
                           .encode(), "text/javascript; charset=utf-8")
                return
        else:
            if name == "index.html" and plotly_js() is None:
                page = (f"<!doctype html><meta charset=utf-8><title>tuner dashboard</title>"
                        f"<h1>tuner dashboard</h1><p>{PLOTLY_MISSING}</p>")
                self._send(503, page.encode(), "text/html; charset=utf-8")
                return
            try:
                _access.check_segment(name, "static file")
            except _access.OutsideRoot as exc:
                self._send_json(404, {"error": str(exc)})
                return
            path = os.path.join(STATIC_DIR, *name.split("/"))
            if not (_access.inside(os.path.realpath(STATIC_DIR), path) and os.path.isfile(path)):
                self._send_json(404, {"error": f"no static file {name!r}"})
                return
        with open(path, "rb") as file:
            body = file.read()
        kind = _TYPES.get(os.path.splitext(path)[1], "application/octet-stream")
        # Plotly.js (4.8 MB) changes only with the installed package: the browser may keep it
        # for a day rather than fetch and compile it on every visit. "private": behind a token,
        # no shared cache may hold it. The page's own files are read fresh (no-store).
        cache = "private, max-age=86400" if name == "plotly.min.js" else "no-store"
        self._send(200, body, kind, cache=cache)

    # ------------------------------------------------------------------ server-sent events
    def _events(self, query: dict[str, list[str]]) -> None:
        catalog = self.server.catalog
        exp_id = query["exp"][-1] if query.get("exp") else None
        try:
            experiment = catalog.get(exp_id) if exp_id is not None else None
        except (LookupError, ValueError) as exc:
            self._send_json(404, {"error": str(exc)})
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Accel-Buffering", "no")
        for name, value in self._cookie.items():
            self.send_header(name, value)
        self.end_headers()
        self.close_connection = True  # the stream ends the connection (no Content-Length)
        stop = self.server.stopping
        last_ping = time.monotonic()
        if experiment is not None:
            generation = experiment.generation
        versions = {e.id: e.version for e in catalog.listing()}
        self._write(b"retry: 2000\n: connected\n\n")
        while not stop.wait(min(WATCHED_POLL_S, self.server.poll_s / 2)):
            if experiment is not None:
                if experiment.generation != generation:
                    with experiment.lock:
                        changed = experiment.changed_since(generation)
                        generation = experiment.generation
                        data = {"exp": experiment.id, "version": experiment.version,
                                "changed_trials": changed if changed is not None else [],
                                "all": changed is None}
                    self._write(b"event: update\ndata: " + _json(data) + b"\n\n")
                    last_ping = time.monotonic()
            else:
                now = {e.id: e.version for e in catalog.listing()}
                if now != versions:
                    changed_ids = sorted(k for k in set(now) | set(versions)
                                         if now.get(k) != versions.get(k))
                    versions = now
                    data = {"exp": None, "version": catalog.version,
                            "changed_experiments": changed_ids}
                    self._write(b"event: update\ndata: " + _json(data) + b"\n\n")
                    last_ping = time.monotonic()
            if time.monotonic() - last_ping >= self.server.ping_s:
                self._write(b": ping\n\n")
                last_ping = time.monotonic()

    def _write(self, data: bytes) -> None:
        self.wfile.write(data)
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], catalog: Catalog, token: str | None) -> None:
        self.catalog = catalog
        self.token = token
        self.stopping = threading.Event()
        self.poll_s = POLL_S
        self.ping_s = PING_S
        self._open: set[Any] = set()
        self._open_lock = threading.Lock()
        family_host = address[0]
        if ":" in family_host:
            import socket

            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A browser that closed its connection (a reload, a closed tab) is not an error
        worth a traceback on the user's terminal; anything else is logged as one."""
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            logger.debug("dashboard: %s closed its connection", client_address)
            return
        logger.exception("dashboard: error while answering %s", client_address)

    def finish_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        try:
            super().finish_request(request, client_address)
        finally:
            with self._open_lock:
                self._open.discard(request)

    def drop_connections(self) -> None:
        """End the connections still open (kept alive by a browser, or an event stream)."""
        import socket

        with self._open_lock:
            open_now = list(self._open)
        for connection in open_now:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class Dashboard:
    """A running dashboard server (see `serve`). Close it, or use it as a context manager.

    Attributes:
        url: Where to open it (with ``?token=...`` when it has a token).
        port: The port it listens on.
        token: Its token, or None.
    """

    def __init__(self, catalog: Catalog, host: str, port: int, token: str | None) -> None:
        self.catalog = catalog
        self.token = token
        self._server = _Server((host, port), catalog, token)
        self.port = int(self._server.server_address[1])
        shown = f"[{host}]" if ":" in host else host
        if host in ("0.0.0.0", "::", ""):
            shown = "127.0.0.1"
        self.url = f"http://{shown}:{self.port}/" + (f"?token={quote(token)}" if token else "")
        self._threads = [
            threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                             name="tuner-dashboard", daemon=True),
            threading.Thread(target=self._watch, name="tuner-dashboard-watch", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _watch(self) -> None:
        stop = self._server.stopping
        next_scan = time.monotonic() + self._server.poll_s
        while not stop.wait(min(WATCHED_POLL_S, self._server.poll_s)):
            try:
                if time.monotonic() >= next_scan:
                    self.catalog.scan()
                    next_scan = time.monotonic() + self._server.poll_s
                else:
                    self.catalog.poll_watched()
            except Exception:
                logger.warning("dashboard: refreshing %s failed", self.catalog.root_url,
                               exc_info=True)

    def close(self) -> None:
        """Stop serving: end the event streams, close the socket, wait for the threads."""
        if self._server.stopping.is_set():
            return
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._server.drop_connections()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> Dashboard:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


def serve(root: str | os.PathLike[str], host: str = "127.0.0.1", port: int = 8000,
          token: str | None = None, *,
          filesystem: fsspec.AbstractFileSystem | None = None) -> Dashboard:
    """Serve the dashboard of the experiments under `root`, in daemon threads.

    Args:
        root: A storage path holding experiments, or one experiment; local path or fsspec URL.
        host: The address to bind. Anything but the loopback one needs a token.
        port: The port; 0 picks a free one.
        token: The secret every request must carry. None on the loopback address means none;
            elsewhere one is made up (printed on stderr; also in `Dashboard.url`).
        filesystem: The fsspec filesystem to use instead of the one `root` implies.

    Raises:
        OSError: The port is taken (or the address cannot be bound).
        StorageError: The root's backend is not installed.

    Example:
        >>> with serve("/tmp/tuner_results", port=0) as board:  # doctest: +SKIP
        ...     print(board.url)
        http://127.0.0.1:53121/
    """
    if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
        raise ConfigError(f"port must be an integer from 0 to 65535, got port={port!r}")
    token, made_up = _access.token_for(host, token)
    catalog = Catalog(root, filesystem)
    catalog.scan()
    board = Dashboard(catalog, host, port, token)
    if made_up:
        sys.stderr.write(
            f"[tuner] the dashboard listens on {host}, beyond this machine: every request "
            f"needs its token {token} (open {board.url})\n"
        )
    return board


__all__ = ["Dashboard", "serve"]
