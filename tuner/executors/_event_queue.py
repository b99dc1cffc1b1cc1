"""The events that trial threads send the event loop: a bounded queue, emptied a batch at a time."""

from __future__ import annotations

import threading

from tuner.executors._protocol import Event


class EventQueue:
    """Trial threads `put` events; the event loop `take`s all that arrived, at once.

    `queue.Queue` costs two lock round trips and a notify per event on each side, which a trial
    streaming results pays thousands of times a second. Here a put appends under one lock and
    wakes the loop only if it is waiting, and a take swaps the whole list out. A put blocks
    while `limit` events wait, so that a trial that outruns the loop waits for it instead of
    filling memory.

    Example:
        >>> from tuner.executors._protocol import EndEvent, EndReason
        >>> events = EventQueue(limit=8)
        >>> events.put(EndEvent("t0", EndReason.DONE))
        >>> events.take(timeout=0)
        [EndEvent(trial_id='t0', reason=<EndReason.DONE: 'DONE'>, checkpoint=None)]
        >>> events.take(timeout=0)
        []
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._events: list[Event] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._taken = threading.Condition(self._lock)
        self._loop_waits = False
        self._puts_wait = 0

    def put(self, event: Event) -> None:
        with self._lock:
            while len(self._events) >= self._limit:
                self._puts_wait += 1
                try:
                    self._taken.wait()
                finally:
                    self._puts_wait -= 1
            self._events.append(event)
            if self._loop_waits:
                self._arrived.notify()

    def take(self, timeout: float | None) -> list[Event]:
        """The events that arrived, in order, waiting up to `timeout` seconds for the first
        (None: as long as it takes; 0: not at all). Maybe none, when the time ran out."""
        with self._lock:
            if not self._events and timeout != 0:
                self._loop_waits = True
                try:
                    self._arrived.wait(timeout)
                finally:
                    self._loop_waits = False
            events, self._events = self._events, []
            if self._puts_wait:
                self._taken.notify_all()
            return events

    def empty(self) -> bool:
        return not self._events
