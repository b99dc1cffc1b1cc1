"""`RunConfig(dashboard=...)`: the dashboard of the experiment `fit()` runs, beside it.

It serves the experiment directory itself (its id is its name), on 127.0.0.1 only (a token-free
server that the machine's other users could reach is not started by a config flag), and
prints the URL on stderr, whatever `verbose` says: it was asked for.
"""

from __future__ import annotations

import errno
import sys
from typing import TYPE_CHECKING
from urllib.parse import quote

from tuner.analysis._read import user_url
from tuner.dashboard._server import Dashboard, plotly_js, serve
from tuner.exceptions import ConfigError

if TYPE_CHECKING:
    import fsspec

DEFAULT_PORT = 8000


def start_beside(setting: bool | int, fs: fsspec.AbstractFileSystem, path: str) -> Dashboard:
    """Serve the experiment at `path` on `fs`; True: port 8000, or a free one if it is taken.

    Raises:
        ConfigError: The port asked for is taken.
    """
    port = DEFAULT_PORT if setting is True else int(setting)
    try:
        board = serve(user_url(fs, path), "127.0.0.1", port, filesystem=fs)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        if setting is not True:
            raise ConfigError(
                f"RunConfig(dashboard={setting}): port {port} is in use: pass another port, or "
                "dashboard=0 for any free one"
            ) from exc
        board = serve(user_url(fs, path), "127.0.0.1", 0, filesystem=fs)
    note = "" if plotly_js() is not None else (
        " (charts need plotly: pip install 'tuner[dashboard]')")
    exp_id = quote(path.rstrip("/").rsplit("/", 1)[-1], safe="")
    sys.stderr.write(f"[tuner] dashboard: {board.url}#/e/{exp_id}{note}\n")
    sys.stderr.flush()
    return board
