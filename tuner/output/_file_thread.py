"""Creating trial output files off the event loop's thread.

Creating a file costs a journaling file system a third of a millisecond on a quiet machine and
several under load, and the loggers create four for every trial as it starts (``params.json``,
``result.json``, ``progress.csv``, an event file): for a run of many short trials, most of what
the event loop does between two trials while the workers wait. The system calls release the
GIL, so a thread of its own makes them while the loop goes on; a writer waits for its file
where it first needs it, and the loggers' `flush()` waits for whatever is still under way, so
that what the experiment's state counts is on disk when it is saved.

The calls run one at a time, in the order they were asked for, on one thread per process.

Example:
    >>> in_background(sum, [1, 2]).result()
    3
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

_T = TypeVar("_T")

_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None
_pid = 0


def in_background(call: Callable[..., _T], *args: Any) -> Future[_T]:
    """`call(*args)` on the output files' thread, after everything asked of it before."""
    global _executor, _pid
    with _lock:
        if _executor is None or _pid != os.getpid():  # a forked child has no such thread
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tuner-output-files")
            _pid = os.getpid()
        return _executor.submit(call, *args)
