"""`tuner dashboard [STORAGE_OR_EXPERIMENT] [--host H] [--port P] [--token T]`.

Serves until Ctrl-C (or SIGTERM), then closes the server and exits with 0.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from typing import Any, TextIO

from tuner.dashboard._server import plotly_js, serve
from tuner.exceptions import ConfigError
from tuner.storage._filesystem import is_local, resolve_storage


def run(args: argparse.Namespace, out: TextIO) -> int:
    fs, path = resolve_storage(args.root)
    if is_local(fs) and not os.path.isdir(path):
        raise ConfigError(
            f"no directory at {args.root}: pass a storage path that holds experiments (e.g. "
            "~/tuner_results) or an experiment directory"
        )
    if plotly_js() is None:
        sys.stderr.write("tuner: warning: plotly is not installed, so the dashboard cannot draw "
                         "charts: pip install 'tuner[dashboard]'\n")
    board = serve(args.root, args.host, args.port, args.token)
    done = threading.Event()

    def stop(signum: int, frame: Any) -> None:
        done.set()

    previous = signal.signal(signal.SIGTERM, stop)
    found = len(board.catalog.listing())
    out.write(f"tuner dashboard: {found} experiment{'s' if found != 1 else ''} under "
              f"{board.catalog.root_url}\n")
    out.write(f"open {board.url}  (Ctrl-C to stop)\n")
    out.flush()
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        board.close()
    return 0
