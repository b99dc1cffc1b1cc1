"""The default executor: trials run in worker processes on this machine, reused across trials."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

import cloudpickle

from tuner._clock import Clock, SystemClock
from tuner._trainable import TrainableKind, trainable_name
from tuner.exceptions import ConfigError
from tuner.executors._base import Executor
from tuner.executors._processes import (
    MessageReader,
    describe_exit,
    drain,
    pack_spec,
    worker_died,
)
from tuner.executors._protocol import (
    Control,
    EndEvent,
    EndReason,
    ErrorEvent,
    Event,
    Register,
    Shutdown,
    TrialSpec,
)
from tuner.executors._resources import ResourcePool

logger = logging.getLogger(__name__)

_RETIRE_GRACE_S = 5.0  # how long a retired worker may take to exit before it is killed


@dataclass
class _Worker:
    process: subprocess.Popen[bytes]
    conn: Connection
    gpu_ids: tuple[str, ...]
    registered: set[str] = field(default_factory=set)
    trial_id: str | None = None
    stopping: Control | None = None
    stop_deadline: float = 0.0
    reader: MessageReader = field(init=False)

    def __post_init__(self) -> None:
        self.reader = MessageReader(self.conn)


class LocalExecutor(Executor):
    """Runs each trial in a worker process of this machine, reusing workers across trials.

    Trials are isolated from the driver: a trial that crashes, leaks or calls `os._exit` takes
    only its worker down (and its trial fails). A worker whose trial failed is retired, since
    the failure may have left it damaged (a lowered resource limit, a half-initialised
    library), and with `TuneConfig(reuse_actors=False)` every trial gets a fresh worker.
    Trainables and trial configs are sent with cloudpickle, so functions, classes and objects
    defined in `__main__`, closures and lambdas work; workers are started by importing
    `tuner.executors._worker`, so a script without an `if __name__ == "__main__"` guard is not re-run
    in them.

    Args:
        num_cpus: CPUs trials may use in all (default: those this process may use).
        gpus: GPU ids trials may use (default: CUDA_VISIBLE_DEVICES, else nvidia-smi's list).
        stop_grace_s: How long a trial may take to stop or pause when asked before its worker
            is killed.
    """

    def __init__(
        self,
        *,
        num_cpus: float | None = None,
        gpus: tuple[str, ...] | None = None,
        stop_grace_s: float = 10.0,
    ) -> None:
        self._pool = ResourcePool(num_cpus, gpus)
        self._stop_grace_s = stop_grace_s
        self._workers: list[_Worker] = []
        self._by_trial: dict[str, _Worker] = {}
        self._exiting: list[tuple[subprocess.Popen[bytes], float]] = []
        """Retired workers not yet exited, with the time after which they are killed."""
        self._key = ""
        self._blob = b""
        self._kind = TrainableKind.FUNCTION
        self._reuse = True
        self._clock: Clock = SystemClock()

    def setup(self, trainable: Any, kind: TrainableKind, clock: Clock, *, reuse: bool) -> None:
        try:
            self._blob = cloudpickle.dumps(trainable)
        except Exception as exc:
            raise ConfigError(
                f"the trainable {trainable_name(trainable)!r} cannot be sent to worker processes: "
                f"{type(exc).__name__}: {exc}. Everything it refers to (globals, closure "
                "variables, default arguments) must be picklable: create such objects inside "
                "the trainable, or run it with InProcessExecutor()"
            ) from exc
        self._key = uuid.uuid4().hex
        self._kind = kind
        self._reuse = reuse
        self._clock = clock

    def check_resources(self, resources: Mapping[str, float]) -> None:
        problem = self._pool.check(dict(resources))
        if problem is not None:
            raise ConfigError(problem)

    def can_start(self, resources: Mapping[str, float]) -> bool:
        return self._pool.fits(dict(resources))

    @property
    def num_active(self) -> int:
        return len(self._by_trial)

    def is_active(self, trial_id: str) -> bool:
        return trial_id in self._by_trial

    def _spawn(self, gpu_ids: tuple[str, ...]) -> _Worker:
        parent_sock, child_sock = socket.socketpair()
        env = dict(os.environ)
        # The driver's import path, so that trainables pickled by reference (functions in the
        # user's modules) import in the worker as they do in the driver.
        paths = [p or os.getcwd() for p in sys.path]
        env["PYTHONPATH"] = os.pathsep.join(paths)
        if gpu_ids or self._pool.gpus:
            env["CUDA_VISIBLE_DEVICES"] = ",".join(gpu_ids)
        child_fd = child_sock.fileno()
        process = subprocess.Popen(
            [sys.executable, "-c", "from tuner.executors._worker import main; main()", str(child_fd)],
            pass_fds=[child_fd],
            env=env,
        )
        child_sock.close()
        conn = Connection(parent_sock.detach())
        worker = _Worker(process, conn, gpu_ids)
        self._workers.append(worker)
        return worker

    def _idle_worker(self, gpu_ids: tuple[str, ...]) -> _Worker | None:
        for worker in self._workers:
            if worker.trial_id is None and worker.gpu_ids == gpu_ids:
                return worker
        return None

    def start_trial(self, spec: TrialSpec) -> None:
        packed = pack_spec(dataclasses.replace(spec, trainable_key=self._key), "worker processes")
        gpu_ids = self._pool.acquire(spec.trial_id, dict(spec.resources))
        packed = packed.with_gpu_ids(gpu_ids)
        while True:
            worker = self._idle_worker(gpu_ids) or self._spawn(gpu_ids)
            try:
                if self._key not in worker.registered:
                    worker.conn.send(Register(self._key, self._kind, self._blob, self._reuse))
                    worker.registered.add(self._key)
                worker.conn.send(packed)
                break
            except OSError:  # the idle worker died meanwhile: discard it and use another
                self._discard(worker)
        worker.trial_id = spec.trial_id
        worker.stopping = None
        self._by_trial[spec.trial_id] = worker
        self._trim_idle()

    def _trim_idle(self) -> None:
        idle = [w for w in self._workers if w.trial_id is None]
        for worker in idle[: max(0, len(idle) - int(self._pool.total_cpus))]:
            self._retire(worker)

    def control(self, trial_id: str, control: Control) -> None:
        worker = self._by_trial.get(trial_id)
        if worker is None or worker.stopping is not None:
            return
        try:
            worker.conn.send(control)
        except OSError:
            return  # its death is noticed in wait()
        if control.ends_trial:
            worker.stopping = control
            worker.stop_deadline = self._clock.monotonic() + self._stop_grace_s

    def wait(self, timeout: float | None) -> list[Event]:
        events: list[Event] = self._enforce_deadlines()
        if events:
            return events
        deadlines = [w.stop_deadline for w in self._by_trial.values() if w.stopping is not None]
        deadlines += [deadline for _, deadline in self._exiting]
        if deadlines:
            until = max(0.0, min(deadlines) - self._clock.monotonic())
            timeout = until if timeout is None else min(timeout, until)
        # With no worker at all this still sleeps for `timeout`: the loop never spins.
        ready = wait([w.conn for w in self._workers], timeout)
        for worker in [w for w in self._workers if w.conn in ready]:
            events.extend(self._drain(worker))
        self._reap()
        return events

    def _drain(self, worker: _Worker) -> list[Event]:
        try:
            drained = drain(worker.reader, worker.trial_id)
        except OSError:
            return self._worker_died(worker)
        events = drained.events
        if drained.ended:
            self._release(worker)
            # A failed trial may have damaged its process (a lowered RLIMIT_AS, a wedged CUDA
            # context, monkey-patched modules): the next trial gets a fresh one, as does every
            # trial without reuse.
            if isinstance(events[-1], ErrorEvent) or not self._reuse or drained.closed:
                self._retire(worker)
        elif drained.closed:
            # What the trial sent before its process went away counts, then its failure.
            return events + self._worker_died(worker)
        return events

    def _worker_died(self, worker: _Worker) -> list[Event]:
        trial_id, stopping = worker.trial_id, worker.stopping
        code = worker.process.wait()
        self._release(worker)
        self._discard(worker)
        if trial_id is None:
            return []
        if stopping is not None:
            reason = EndReason.PAUSED if stopping is Control.PAUSE else EndReason.STOPPED
            return [EndEvent(trial_id, reason)]
        return [worker_died(trial_id, f"its worker process (pid {worker.process.pid}) "
                                      f"{describe_exit(code)}")]

    def _enforce_deadlines(self) -> list[Event]:
        now = self._clock.monotonic()
        events: list[Event] = []
        for worker in list(self._by_trial.values()):
            if worker.stopping is not None and now >= worker.stop_deadline:
                logger.warning(
                    "trial %s did not stop within %.0f s of being asked; killing its worker",
                    worker.trial_id,
                    self._stop_grace_s,
                )
                worker.process.kill()
                events.extend(self._worker_died(worker))
        return events

    def _release(self, worker: _Worker) -> None:
        if worker.trial_id is not None:
            self._pool.release(worker.trial_id)
            self._by_trial.pop(worker.trial_id, None)
        worker.trial_id = None
        worker.stopping = None

    def _discard(self, worker: _Worker) -> None:
        if worker in self._workers:
            self._workers.remove(worker)
        worker.conn.close()
        if worker.process.poll() is None:
            worker.process.kill()
        worker.process.wait()

    def _retire(self, worker: _Worker) -> None:
        """Tell an idle worker to exit; it is reaped later (and killed if it takes too long)."""
        with contextlib.suppress(OSError):
            worker.conn.send(Shutdown())
        if worker in self._workers:
            self._workers.remove(worker)
        worker.conn.close()
        self._exiting.append((worker.process, self._clock.monotonic() + _RETIRE_GRACE_S))

    def _reap(self) -> None:
        now = self._clock.monotonic()
        exiting, self._exiting = self._exiting, []
        for process, deadline in exiting:
            if process.poll() is not None:
                continue
            if now >= deadline:
                logger.warning("a retired worker process (pid %d) did not exit; killing it",
                               process.pid)
                process.kill()
                process.wait()
                continue
            self._exiting.append((process, deadline))

    def shutdown(self) -> None:
        for worker in list(self._workers):
            if worker.trial_id is not None:
                worker.process.kill()
                self._release(worker)
                self._discard(worker)
        for worker in list(self._workers):
            self._retire(worker)
        exiting, self._exiting = self._exiting, []
        for process, _ in exiting:
            try:
                process.wait(timeout=2.0)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
