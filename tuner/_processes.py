"""What the executors that run trials in other processes share: reading their messages, and
saying how such a process ended."""

from __future__ import annotations

import signal
from multiprocessing.connection import Connection

from tuner._protocol import EndEvent, ErrorEvent, Event

MAX_DRAIN = 2048
"""Messages read from one connection per wait, so that one fast trial cannot starve the others."""


def drain(conn: Connection, trial_id: str | None) -> tuple[list[Event], bool]:
    """Read what `conn` holds now: the events of `trial_id`, and whether one of them ended it.

    Messages of a trial the executor already ended (sent before it learned so) are dropped.
    Returns when nothing more is waiting; raises EOFError/OSError when the other side is gone.
    """
    events: list[Event] = []
    ended = False
    for _ in range(MAX_DRAIN):
        event = conn.recv()
        if trial_id is not None and not ended and event.trial_id == trial_id:
            events.append(event)
            ended = isinstance(event, EndEvent | ErrorEvent)
        if not conn.poll():
            break
    return events, ended


def describe_exit(code: int | None) -> str:
    """How a process ended, in words.

    Example:
        >>> describe_exit(-9), describe_exit(3)
        ('was killed by signal SIGKILL', 'exited with code 3')
    """
    if code is None:
        return "closed its connection"
    if code < 0:
        try:
            return f"was killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"
