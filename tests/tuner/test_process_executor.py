"""LocalExecutor internals that the end-to-end tests cannot time precisely."""

from __future__ import annotations

import socket
import subprocess
import sys
from multiprocessing.connection import Connection

from tuner.executors._local import LocalExecutor, _Worker
from tuner.executors._protocol import ResultEvent


def test_a_late_message_of_an_ended_trial_does_not_block_the_loop() -> None:
    """One message of a trial the executor already ended, and nothing after it: drop, return."""
    ours, theirs = socket.socketpair()
    conn, peer = Connection(ours.detach()), Connection(theirs.detach())
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    worker = _Worker(process, conn, gpu_ids=())  # trial_id None: its trial already ended
    executor = LocalExecutor(num_cpus=1)
    executor._workers.append(worker)
    peer.send(ResultEvent("t0", {"loss": 1.0}))
    assert executor._drain(worker) == []  # returned (did not wait for a second message)
    peer.send(ResultEvent("t1", {"loss": 2.0}))
    worker.trial_id = "t1"
    executor._by_trial["t1"] = worker
    assert [e.trial_id for e in executor._drain(worker)] == ["t1"]
    conn.close()
    peer.close()
