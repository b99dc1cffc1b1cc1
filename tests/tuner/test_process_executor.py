"""LocalExecutor internals that the end-to-end tests cannot time precisely."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from tuner import RunConfig, TuneConfig, Tuner, report
from tuner.executors._local import LocalExecutor, _Worker
from tuner.executors._processes import READ_BYTES, Drained, MessageReader, drain, send_event
from tuner.executors._protocol import EndEvent, EndReason, ResultEvent


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


def _pair() -> tuple[Connection, Connection]:
    ours, theirs = socket.socketpair()
    return Connection(ours.detach()), Connection(theirs.detach())


def test_a_reader_cuts_a_stream_into_the_messages_sent() -> None:
    """Many messages in one read, one cut by the end of a read, one larger than a read."""
    conn, peer = _pair()
    reader = MessageReader(conn)
    big = {"blob": "x" * (3 * READ_BYTES)}
    sent = [ResultEvent("t0", {"i": i}) for i in range(50)] + [ResultEvent("t0", big)]
    writer = threading.Thread(target=lambda: [send_event(peer, event) for event in sent])
    writer.start()
    received: list[object] = []
    while len(received) < len(sent):
        assert wait([conn], timeout=10)
        received += [ResultEvent(*m) if type(m) is tuple else m for m in reader.read()]
    writer.join()
    assert received == sent
    peer.send(EndEvent("t0", EndReason.DONE))  # Connection.send frames it the same way
    assert reader.read() == [EndEvent("t0", EndReason.DONE)]
    conn.close()
    peer.close()


def test_what_came_before_the_connection_closed_is_drained_with_it() -> None:
    conn, peer = _pair()
    reader = MessageReader(conn)
    send_event(peer, ResultEvent("t0", {"loss": 1.0}))
    send_event(peer, ResultEvent("t0", {"loss": 0.5}))
    peer.close()
    drained = drain(reader, "t0")
    while not drained.closed:
        more = drain(reader, "t0")
        drained = Drained(drained.events + more.events, more.ended, more.closed)
    assert [e.metrics["loss"] for e in drained.events] == [1.0, 0.5]  # type: ignore[union-attr]
    assert not drained.ended
    conn.close()


def test_a_trial_whose_worker_dies_keeps_the_results_it_sent(tmp_path: Path) -> None:
    """Results still in the socket when the worker dies count: the driver reads them first
    (it used to drop those it read in the same drain as the end of the stream)."""

    def dies(config: dict[str, Any]) -> None:
        for step in range(3000):  # faster than the driver reads them: many wait at the end
            report({"loss": float(step)})
        os._exit(3)

    grid = Tuner(
        dies,
        tune_config=TuneConfig(num_samples=1),
        run_config=RunConfig(storage_path=str(tmp_path), name="exp", verbose=0),
        executor=LocalExecutor(num_cpus=1),
    ).fit()
    (result,) = grid
    assert "exited with code 3" in str(result.error)
    assert result.metrics["training_iteration"] == 3000
    assert len((Path(result.path) / "result.json").read_text().splitlines()) == 3000


def test_a_retired_worker_runs_its_atexit_handlers(tmp_path: Path) -> None:
    """Workers exit without tearing the interpreter down, but as a normal exit otherwise."""
    marker = tmp_path / "atexit-ran"

    def registers(config: dict[str, Any]) -> None:
        import atexit

        atexit.register(marker.write_text, "yes")
        report({"loss": 1.0})

    Tuner(
        registers,
        tune_config=TuneConfig(num_samples=1),
        run_config=RunConfig(storage_path=str(tmp_path), name="exp", verbose=0),
        executor=LocalExecutor(num_cpus=1),
    ).fit()
    assert marker.read_text() == "yes"  # fit() returns once its workers exited
