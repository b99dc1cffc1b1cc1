"""Run cleanup when the trial running in this thread ends: a tracking run opened inside a trial.

A worker process runs trial after trial (and `InProcessExecutor` runs several at once on its
threads), so a tracking run that a trainable opened (`setup_mlflow`, `setup_wandb`) and did not
close must be closed when its trial ends, or the next trial would log into it. The engine drops
a trial's session the moment its trainable returns or raises; a finalizer on the session runs
then, in that thread.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

from tuner import _session


def running_session() -> _session.Session | None:
    """The session of the trial this thread (or process) runs, or None outside a trial."""
    found: _session.Session | None = getattr(_session._local, "session", None)
    return found or _session._process_session


def at_trial_end(callback: Callable[[], None]) -> bool:
    """Call `callback` once the running trial's session is gone; False outside a trial.

    Example:
        >>> at_trial_end(lambda: None)   # not in a trial here
        False
    """
    session = running_session()
    if session is None:
        return False
    weakref.finalize(session, callback)
    return True
