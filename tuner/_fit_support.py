"""What runs beside the event loop during `fit()`: output flushing, Ctrl-C, the restore check,
the dashboard."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from tuner.exceptions import RestoreError
from tuner.state._experiment import load_state

if TYPE_CHECKING:
    from tuner._callback import Callback
    from tuner._controller import TuneController


class Flusher:
    """Periodic task: write buffered trial output, and copy it to remote storage."""

    def __init__(self, callbacks: list[Callback], syncer: Any, period_s: float = 5.0) -> None:
        self._callbacks, self._syncer, self._period_s = callbacks, syncer, period_s
        self._next = period_s

    def due_in(self, now: float) -> float:
        return max(0.0, self._next - now)

    def run(self, now: float) -> None:
        self._next = now + self._period_s
        for callback in self._callbacks:
            callback.flush()
        if self._syncer is not None:
            self._syncer.maybe_sync()


def flush_outputs(callbacks: list[Callback], syncer: Any) -> None:
    """Write buffered trial output files and, for remote storage, upload them now."""
    for callback in callbacks:
        callback.flush()
    if syncer is not None:
        syncer.sync_all()
        syncer.wait()


@contextlib.contextmanager
def dashboard_beside(setting: bool | int, fs: Any, path: str) -> Iterator[None]:
    """`RunConfig(dashboard=...)`: serve the experiment at `path` while the block runs.

    Off (False), nothing is imported or started."""
    if setting is False:
        yield
        return
    from tuner.dashboard._beside import start_beside

    board = start_beside(setting, fs, path)
    try:
        yield
    finally:
        board.close()


@contextlib.contextmanager
def interrupts_pause(controller: TuneController) -> Iterator[None]:
    """First Ctrl-C (or SIGTERM): pause trials, save, end cleanly. Second Ctrl-C: raise at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    seen = 0

    def handler(signum: int, frame: Any) -> None:
        nonlocal seen
        seen += 1
        if seen > 1:
            raise KeyboardInterrupt
        controller.interrupt()
        sys.stderr.write(
            f"\n[tuner] interrupted: stopping trials and saving the experiment; to resume, run "
            f"Tuner.restore({controller.settings.path!r}, trainable=...).fit(). "
            "Press Ctrl-C again to exit at once.\n"
        )

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def check_unchanged_since_restore(fs: Any, path: str, state: dict[str, Any]) -> None:
    """Refuse to continue from a state that another run saved over since `Tuner.restore` read it."""
    read, now = state.get("sequence"), load_state(fs, path).get("sequence")
    if now != read:
        raise RestoreError(
            f"experiment {path} was saved again (state sequence {read} -> {now}) by another run "
            "after Tuner.restore() read it: call Tuner.restore() again to continue from its "
            "latest state"
        )
