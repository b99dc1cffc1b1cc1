"""The queue of events from trial threads to the event loop (`InProcessExecutor`'s)."""

from __future__ import annotations

import threading
import time

from tuner.executors._event_queue import EventQueue
from tuner.executors._protocol import EndEvent, EndReason, ResultEvent


def test_a_take_returns_all_that_arrived_in_order() -> None:
    events = EventQueue(limit=10)
    sent = [ResultEvent("t0", {"i": i}) for i in range(5)]
    for event in sent:
        events.put(event)
    assert events.take(timeout=0) == sent
    assert events.take(timeout=0) == [] and events.empty()


def test_a_take_waits_for_the_first_event_and_no_longer_than_told() -> None:
    events = EventQueue(limit=10)
    start = time.monotonic()
    assert events.take(timeout=0.05) == []
    assert time.monotonic() - start >= 0.04
    end = EndEvent("t0", EndReason.DONE)
    threading.Timer(0.05, events.put, args=(end,)).start()
    assert events.take(timeout=10) == [end]


def test_a_put_waits_while_the_queue_is_full() -> None:
    events = EventQueue(limit=3)
    sent = [ResultEvent("t0", {"i": i}) for i in range(7)]
    producer = threading.Thread(target=lambda: [events.put(event) for event in sent])
    producer.start()
    received: list[object] = []
    while len(received) < len(sent):
        batch = events.take(timeout=10)
        assert len(batch) <= 3
        received += batch
    producer.join(timeout=10)
    assert received == sent
