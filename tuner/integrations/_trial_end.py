"""Run cleanup when the trial running in this thread ends: a tracking run opened inside a trial.

A worker process runs trial after trial (and `InProcessExecutor` runs several at once on its
threads), so a tracking run that a trainable opened (`setup_mlflow`, `setup_wandb`) and did not
close must be closed when its trial ends, or the next trial would log into it. The engine runs
a session's `at_end` callbacks in the trial's thread once its trainable has returned or raised
(or a pause ended it), before it tells the event loop the trial ended: a run is closed before
`fit()` can return.
"""

from __future__ import annotations

from collections.abc import Callable

from tuner import _session


def running_session() -> _session.Session | None:
    """The session of the trial this thread (or process) runs, or None outside a trial."""
    found: _session.Session | None = getattr(_session._local, "session", None)
    return found or _session._process_session


def at_trial_end(callback: Callable[[], None]) -> bool:
    """Call `callback` when the running trial ends (before the loop hears of it); False
    outside a trial.

    Example:
        >>> at_trial_end(lambda: None)   # not in a trial here
        False
    """
    session = running_session()
    if session is None:
        return False
    session.at_end(callback)
    return True
