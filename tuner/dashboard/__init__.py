"""The live web dashboard of tuner experiments (`tuner dashboard`, `RunConfig(dashboard=...)`).

It reads experiments as `ResultGrid.from_path` does (JSON only, no code from the folder runs)
and follows them while they run. See docs/dashboard.md.

Example:
    >>> from tuner.dashboard import serve
    >>> with serve("~/tuner_results", port=0) as board:  # doctest: +SKIP
    ...     print(board.url)
"""

from __future__ import annotations

from tuner.dashboard._server import Dashboard, serve

__all__ = ["Dashboard", "serve"]
