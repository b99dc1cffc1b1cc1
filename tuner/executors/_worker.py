"""A worker process: runs the trials the driver sends it, one at a time, until told to exit.

Started by the process executor as `python -c "from tuner.executors._worker import main; main()" FD`, where FD is its end of a socket
pair to the driver. It is reused across trials, so a new trial pays no interpreter start-up
(unless `reuse_actors=False`, or its last trial failed: then the driver retires it).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import select
import signal
import sys
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

import cloudpickle

from tuner._clock import SystemClock
from tuner._trainable import TrainableKind
from tuner.executors._processes import PackedSpec, send_event
from tuner.executors._protocol import Control, Event, Register, Shutdown
from tuner.executors._runner import InstancePool, error_event, run_class, run_function


class _SocketChannel:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        # Asked after every result: a poll object made once costs a system call, where
        # `Connection.poll` builds a selector each time.
        self._poller = select.poll()
        self._poller.register(conn.fileno(), select.POLLIN)

    def send(self, event: Event) -> None:
        send_event(self._conn, event)

    def poll_control(self) -> Control | None:
        latest = None
        while self._poller.poll(0):
            message = self._conn.recv()
            if isinstance(message, Control):
                latest = message
        return latest

    def wait_control(self) -> Control:
        while True:
            message = self._conn.recv()
            if isinstance(message, Control):
                return message


def _watch_parent(parent: int) -> None:
    # A trial that reports rarely would not notice the driver's death through its socket; this
    # makes an orphaned worker exit within a second instead of training for nobody.
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(1)


def serve(conn: Connection) -> None:
    """Run trials as the driver sends them, until `Shutdown` or the driver goes away."""
    channel = _SocketChannel(conn)
    clock = SystemClock()
    trainables: dict[str, tuple[TrainableKind, Any, bool]] = {}
    blobs: dict[str, Register] = {}
    pool = InstancePool()
    try:
        while True:
            message = conn.recv()
            if isinstance(message, Register):
                blobs[message.key] = message
            elif isinstance(message, PackedSpec):
                try:
                    spec = message.unpack()
                except Exception as exc:  # noqa: BLE001 - reported as the trial's failure
                    channel.send(error_event(message.spec, exc, "could not load its config"))
                    continue
                if spec.trainable_key not in trainables:
                    reg = blobs[spec.trainable_key]
                    try:
                        loaded = cloudpickle.loads(reg.blob)
                    except Exception as exc:  # noqa: BLE001 - reported as the trial's failure
                        channel.send(error_event(spec, exc, "could not load the trainable"))
                        continue
                    trainables[reg.key] = (reg.kind, loaded, reg.reuse)
                kind, trainable, reuse = trainables[spec.trainable_key]
                if kind is TrainableKind.FUNCTION:
                    run_function(spec, trainable, channel, clock, process_wide=True)
                else:
                    run_class(spec, trainable, channel, clock, pool, reuse=reuse,
                              process_wide=True)
            elif isinstance(message, Shutdown):
                break
    except (EOFError, OSError):
        pass  # the driver went away
    finally:
        pool.clear()


def _exit_without_teardown() -> None:
    """End the process as a normal exit would, less the interpreter's teardown.

    The driver waits for a retired worker to exit (its memory, GPU memory included, is free
    when `fit()` returns), and tearing down the modules of an interpreter that imported a
    training stack takes tens of milliseconds, or seconds. What a normal exit does that a
    trial could notice still happens: `atexit` handlers run (logging's, `weakref.finalize`'s)
    and the standard streams are flushed; with threads that are not daemons still running,
    the exit is a normal one, which waits for them. Python does not promise to finalise the
    objects still alive at exit, and these are not.
    """
    main_thread = threading.main_thread()
    if any(not t.daemon for t in threading.enumerate() if t is not main_thread):
        return
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # closed or broken: nothing left to flush
            stream.flush()
    os._exit(0)


def main() -> None:
    # Ctrl-C reaches the whole process group; the driver handles it and tells workers to stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    serve(Connection(int(sys.argv[1])))
    _exit_without_teardown()

