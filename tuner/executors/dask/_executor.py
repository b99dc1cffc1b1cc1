"""`DaskExecutor`: trials run on the workers of a `dask.distributed` cluster.

Design: each *slot* is one long-running Dask task (`tuner.executors.dask._slot.run_slot`) pinned to a
worker and holding the trial's resources there. It starts a `tuner.executors._worker` process and connects
it back to a listener on the driver, so trial specs, controls and results travel over a plain
socket (the same messages as `LocalExecutor`), with no Dask round trip per result. Slots are reused
across trials: a new trial on an idle slot costs one message, no task submission and no
unpickling of the trainable. A slot whose trial failed is retired (its worker process may be
damaged), and so is every slot after its trial with `TuneConfig(reuse_actors=False)`: the next
trial gets a new slot. Dask is used for placement, resources and worker life cycles only.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import posixpath
import secrets
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as wait_for_ready
from typing import TYPE_CHECKING, Any

import cloudpickle

from tuner._clock import Clock, SystemClock
from tuner._trainable import TrainableKind, trainable_name
from tuner.exceptions import ConfigError
from tuner.executors._base import Executor
from tuner.executors._processes import PackedSpec, describe_exit, drain, pack_spec, worker_died
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
from tuner.executors.dask._cluster import (
    WorkerInfo,
    add,
    dask_demand,
    fits,
    remote_hosts,
    unsatisfiable,
)
from tuner.executors.dask._listener import SlotListener
from tuner.executors.dask._slot import ChildExited, ChildStarted, Role, SlotHello, run_slot
from tuner.executors.dask._storage import client_probe, storage_problem
from tuner.storage._filesystem import protocol_of

if TYPE_CHECKING:
    from distributed import Client, Future

logger = logging.getLogger(__name__)

_EXIT_CODE_WAIT_S = 2.0  # how long to wait for a dead worker process's exit code
_REFRESH_S = 2.0  # least time between two scheduler queries for new workers
_LOST_FOR_S = 60.0  # how long a worker that lost a slot gets no new slots
_SHUTDOWN_WAIT_S = 5.0  # how long shutdown() waits for idle slots to end


def _import_distributed() -> None:
    try:
        import distributed  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "install dask[distributed] to use DaskExecutor (pip install 'tuner[dask]')"
        ) from exc


@dataclass
class _Slot:
    token: str
    worker: WorkerInfo
    demand: dict[str, float]
    gpu_indices: tuple[int, ...]
    future: Future
    started_at: float
    ctl: Connection | None = None
    data: Connection | None = None
    hostname: str = ""
    gpu_ids: tuple[str, ...] = ()
    pid: int | None = None
    exit_code: int | None = None
    outbox: list[Any] = field(default_factory=list)
    registered: set[str] = field(default_factory=set)
    trial_id: str | None = None
    stopping: Control | None = None
    stop_deadline: float = 0.0

    @property
    def connected(self) -> bool:
        return self.ctl is not None and self.data is not None


class DaskExecutor(Executor):
    """Runs trials on the workers of a Dask cluster, reusing a worker process per slot.

    Results stream from the trial straight to this process over a socket; Dask places slots on
    workers and accounts their resources: a trial's ``cpu`` is taken from the worker's ``CPU``
    resource (its thread count when it declares none) and ``gpu`` from its ``GPU`` resource
    (start workers with ``--resources "GPU=2"``); trials with GPUs get their own
    CUDA_VISIBLE_DEVICES. Checkpoints are written by the trials straight to the experiment's
    storage, which must therefore be reachable from every worker (see `check_storage`). A
    worker that dies fails its trial with `WorkerDiedError`; with `FailureConfig(max_failures=N)`
    the trial resumes elsewhere from its latest checkpoint. Workers need tuner installed.

    Args:
        client: A `distributed.Client`, or a scheduler address (``"tcp://host:8786"``) to connect
            to; a client made here is closed by `shutdown()`.
        connect_timeout_s: How long connecting to a scheduler address may take.
        start_timeout_s: How long to wait for a first worker to join, and for a new slot to
            connect back before its trial fails.
        stop_grace_s: How long a trial may take to stop or pause when asked before its worker
            process is killed.
        listen_host: The address of this machine that workers connect back to (default: the
            one through which the scheduler is reached).

    Example:
        >>> from dask.distributed import Client  # doctest: +SKIP
        >>> grid = Tuner(train_fn, run_config=RunConfig(storage_path="s3://bucket/runs"),
        ...              executor=DaskExecutor(Client("tcp://scheduler:8786"))).fit()
        ...     # doctest: +SKIP
    """

    def __init__(
        self,
        client: Client | str,
        *,
        connect_timeout_s: float = 5.0,
        start_timeout_s: float = 60.0,
        stop_grace_s: float = 10.0,
        listen_host: str | None = None,
    ) -> None:
        _import_distributed()
        for name, value in (("connect_timeout_s", connect_timeout_s),
                            ("start_timeout_s", start_timeout_s), ("stop_grace_s", stop_grace_s)):
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ConfigError(f"DaskExecutor({name}=...) must be a number > 0, got {value!r}")
        self._address = client if isinstance(client, str) else None
        self._connect_timeout_s = float(connect_timeout_s)
        self._start_timeout_s = float(start_timeout_s)
        self._stop_grace_s = float(stop_grace_s)
        self._listen_host = listen_host
        self._client: Any = None if isinstance(client, str) else client
        if self._client is None:
            self._client = self._connect()
        elif getattr(self._client, "asynchronous", False):
            raise ConfigError(
                "DaskExecutor needs a synchronous distributed.Client, got one made with "
                "asynchronous=True: pass Client(address) or the scheduler address"
            )
        self._listener: SlotListener | None = None
        self._workers: dict[str, WorkerInfo] = {}
        self._fetched_at = float("-inf")
        self._lost: dict[str, float] = {}
        self._slots: list[_Slot] = []
        self._by_token: dict[str, _Slot] = {}
        self._by_trial: dict[str, _Slot] = {}
        self._unidentified: list[Connection] = []
        self._pending: list[Event] = []
        self._storage_checked: set[tuple[str, str]] = set()
        self._key = ""
        self._blob = b""
        self._kind = TrainableKind.FUNCTION
        self._reuse = True
        self._clock: Clock = SystemClock()

    # ------------------------------------------------------------------ cluster
    def _connect(self) -> Any:
        from distributed import Client

        try:
            return Client(self._address, timeout=self._connect_timeout_s, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ConfigError(
                f"could not connect to the Dask scheduler at {self._address!r} within "
                f"{self._connect_timeout_s:g} s ({type(exc).__name__}: {exc}): check the address "
                "and that the scheduler is running, or raise DaskExecutor(connect_timeout_s=...)"
            ) from exc

    @property
    def _scheduler(self) -> str:
        return str(self._client.scheduler.address)

    def _default_listen_host(self) -> str:
        from distributed.comm import get_address_host
        from distributed.utils import get_ip

        try:
            host = get_address_host(self._scheduler)
            return str(get_ip(host))
        except (OSError, ValueError):
            return "127.0.0.1"  # an in-process (inproc://) or otherwise local scheduler

    def _refresh(self, *, force: bool = False) -> dict[str, WorkerInfo]:
        now = self._clock.monotonic()
        if force or now - self._fetched_at >= _REFRESH_S:
            info = self._client.scheduler_info()["workers"]
            self._workers = {a: WorkerInfo.from_scheduler(a, w) for a, w in info.items()}
            self._fetched_at = now
        self._lost = {a: t for a, t in self._lost.items() if now - t < _LOST_FOR_S}
        return {a: w for a, w in self._workers.items() if a not in self._lost}

    def _wait_for_a_worker(self) -> dict[str, WorkerInfo]:
        workers = self._refresh(force=True)
        if workers:
            return workers
        try:
            self._client.wait_for_workers(1, timeout=self._start_timeout_s)
        except (TimeoutError, OSError) as exc:
            raise ConfigError(
                f"no Dask worker joined the scheduler at {self._scheduler} within "
                f"{self._start_timeout_s:g} s: start workers (cluster.scale(n), or `dask worker "
                f"{self._scheduler}`) or raise DaskExecutor(start_timeout_s=...)"
            ) from exc
        return self._refresh(force=True)

    def _local_hosts(self) -> list[str]:
        listener_host = self._listener.address[0] if self._listener else None
        return [h for h in (listener_host, self._listen_host, socket.gethostname()) if h]

    @property
    def runs_remotely(self) -> bool:
        """Whether some Dask workers are on other machines than this one."""
        return bool(remote_hosts(self._refresh().values(), self._local_hosts()))

    def check_storage(self, fs: Any, path: str) -> None:
        """Raise ConfigError if trials on the Dask workers could not write to `path` on `fs`.

        Local paths are fine when every worker runs on this machine; otherwise (and for every
        remote filesystem) a file written to `path` (which must exist) must read back the same
        on a worker of each host, so mounts, credentials and endpoints are checked before any
        trial starts. `Tuner.fit()` calls it; else the first `start_trial` does.
        """
        path = path.rstrip("/") or "/"
        key = (protocol_of(fs), path)
        if key in self._storage_checked:
            return
        workers = self._wait_for_a_worker()
        problem = storage_problem(
            fs, path, workers, self._local_hosts(), client_probe(self._client, fs)
        )
        if problem is not None:
            raise ConfigError(problem)
        self._storage_checked.add(key)

    # ------------------------------------------------------------------ Executor
    def setup(self, trainable: Any, kind: TrainableKind, clock: Clock, *, reuse: bool) -> None:
        try:
            self._blob = cloudpickle.dumps(trainable)
        except Exception as exc:
            raise ConfigError(
                f"the trainable {trainable_name(trainable)!r} cannot be sent to Dask workers: "
                f"{type(exc).__name__}: {exc}. Everything it refers to (globals, closure "
                "variables, default arguments) must be picklable: create such objects inside "
                "the trainable, or run it on this machine with InProcessExecutor()"
            ) from exc
        if self._client is None:
            self._client = self._connect()
        self._key = uuid.uuid4().hex
        self._kind, self._reuse, self._clock = kind, reuse, clock
        if self._listener is None:
            self._listener = SlotListener(self._listen_host or self._default_listen_host())

    def check_resources(self, resources: Mapping[str, float]) -> None:
        problem = unsatisfiable(resources, self._wait_for_a_worker().values(), self._scheduler)
        if problem is not None:
            raise ConfigError(problem)

    def can_start(self, resources: Mapping[str, float]) -> bool:
        demand = dask_demand(resources)
        if self._idle_slot(demand) is not None:
            return True
        return self._place(demand, self._refresh()) is not None

    @property
    def num_active(self) -> int:
        return len(self._by_trial)

    def is_active(self, trial_id: str) -> bool:
        return trial_id in self._by_trial

    def _idle_slot(self, demand: Mapping[str, float]) -> _Slot | None:
        idle = [s for s in self._slots if s.trial_id is None and s.demand == demand]
        return next((s for s in idle if s.connected), idle[0] if idle else None)

    def _place(
        self, demand: Mapping[str, float], workers: Mapping[str, WorkerInfo]
    ) -> tuple[WorkerInfo, list[_Slot]] | None:
        """A worker with room for `demand` (the most free CPUs first), and idle slots to retire."""
        best: tuple[tuple[bool, float, str], WorkerInfo, list[_Slot]] | None = None
        for worker in workers.values():
            used: dict[str, float] = {}
            here = [s for s in self._slots if s.worker.address == worker.address]
            for slot in here:
                add(used, slot.demand)
            retire: list[_Slot] = []
            if not fits(worker.capacity, used, demand):
                for slot in [s for s in here if s.trial_id is None]:
                    add(used, slot.demand, -1.0)
                    retire.append(slot)
                if not fits(worker.capacity, used, demand):
                    continue
            free_cpu = worker.capacity.get("CPU", 0.0) - used.get("CPU", 0.0)
            rank = (not retire, free_cpu, worker.address)
            if best is None or rank > best[0]:
                best = (rank, worker, retire)
        return None if best is None else (best[1], best[2])

    def _new_slot(self, demand: dict[str, float]) -> _Slot:
        placed = self._place(demand, self._refresh())
        if placed is None:
            raise RuntimeError("start_trial() without can_start(): no Dask worker has room")
        worker, retire = placed
        for slot in retire:
            self._retire(slot)
        taken = {i for s in self._slots if s.worker.address == worker.address for i in s.gpu_indices}
        free = [i for i in range(int(worker.capacity.get("GPU", 0.0))) if i not in taken]
        gpu_indices = tuple(free[: int(demand.get("GPU", 0.0))])
        token = secrets.token_hex(8)
        assert self._listener is not None
        future = self._client.submit(
            run_slot, self._listener.address, self._listener.authkey, token, gpu_indices,
            "GPU" in worker.declared,
            key=f"tuner-slot-{token}", pure=False, workers=[worker.address],
            allow_other_workers=False, retries=0,
            resources={k: v for k, v in demand.items() if k in worker.declared} or None,
        )
        future.add_done_callback(self._wake)
        slot = _Slot(token, worker, demand, gpu_indices, future, self._clock.monotonic())
        self._slots.append(slot)
        self._by_token[token] = slot
        logger.debug("started slot %s on Dask worker %s", token, worker.address)
        return slot

    def _wake(self, future: Future) -> None:
        listener = self._listener  # runs on the client's thread: read the attribute once
        if listener is not None:
            listener.wake()

    def start_trial(self, spec: TrialSpec) -> None:
        self.check_storage(spec.filesystem, posixpath.dirname(spec.trial_path.rstrip("/")))
        packed = pack_spec(dataclasses.replace(spec, trainable_key=self._key), "Dask workers")
        demand = dask_demand(spec.resources)
        slot = self._idle_slot(demand) or self._new_slot(demand)
        if self._key not in slot.registered:
            self._send(slot, Register(self._key, self._kind, self._blob, self._reuse))
            slot.registered.add(self._key)
        slot.trial_id, slot.stopping = spec.trial_id, None
        slot.started_at = self._clock.monotonic()
        self._by_trial[spec.trial_id] = slot
        self._send(slot, packed)

    def _send(self, slot: _Slot, message: Any) -> None:
        if not slot.connected:
            slot.outbox.append(message)
            return
        assert slot.data is not None
        if isinstance(message, PackedSpec):
            message = message.with_gpu_ids(slot.gpu_ids)
        with contextlib.suppress(OSError):  # the slot died: wait() hears of it
            slot.data.send(message)

    def control(self, trial_id: str, control: Control) -> None:
        slot = self._by_trial.get(trial_id)
        if slot is None or slot.stopping is not None:
            return
        if not slot.connected and control.ends_trial:
            # Not started yet: nothing to save, so it ends here (its slot stays for the next).
            slot.outbox.clear()
            slot.registered.clear()
            self._release(slot)
            reason = EndReason.PAUSED if control is Control.PAUSE else EndReason.STOPPED
            self._pending.append(EndEvent(trial_id, reason))
            return
        self._send(slot, control)
        if control.ends_trial:
            slot.stopping = control
            slot.stop_deadline = self._clock.monotonic() + self._stop_grace_s

    def wait(self, timeout: float | None) -> list[Event]:
        events = self._take_pending() + self._enforce_deadlines()
        if events or self._listener is None:
            return events
        now = self._clock.monotonic()
        deadlines = [s.stop_deadline for s in self._slots if s.stopping is not None]
        deadlines += [s.started_at + self._start_timeout_s
                      for s in self._slots if s.trial_id is not None and not s.connected]
        if deadlines:
            until = max(0.0, min(deadlines) - now)
            timeout = until if timeout is None else min(timeout, until)
        conns: list[Any] = [self._listener.wake_r, *self._unidentified]
        conns += [c for s in self._slots for c in (s.ctl, s.data) if c is not None]
        ready = set(wait_for_ready(conns, timeout))
        if self._listener.wake_r in ready:
            self._unidentified += self._listener.take()
            events += self._check_futures()
        for conn in [c for c in self._unidentified if c in ready]:
            self._identify(conn)
        for slot in [s for s in self._slots if s.data is not None and s.data in ready]:
            events += self._drain(slot)
        for slot in [s for s in self._slots if s.ctl is not None and s.ctl in ready]:
            events += self._read_control(slot)
        return events + self._take_pending()

    def _take_pending(self) -> list[Event]:
        events, self._pending = self._pending, []
        return events

    # ------------------------------------------------------------------ connections
    def _identify(self, conn: Connection) -> None:
        self._unidentified.remove(conn)
        try:
            hello = conn.recv()
        except (EOFError, OSError):
            conn.close()
            return
        slot = self._by_token.get(hello.token) if isinstance(hello, SlotHello) else None
        if slot is None or (slot.ctl if hello.role is Role.CONTROL else slot.data) is not None:
            conn.close()  # a slot this executor gave up on (e.g. one Dask re-ran elsewhere)
            return
        if hello.role is Role.CONTROL:
            slot.ctl, slot.hostname, slot.gpu_ids = conn, hello.hostname, hello.gpu_ids
        else:
            slot.data = conn
        if slot.connected:
            outbox, slot.outbox = slot.outbox, []
            for message in outbox:
                self._send(slot, message)

    def _check_futures(self) -> list[Event]:
        """Fail trials whose slot task ended (or never ran) before connecting back."""
        events: list[Event] = []
        for slot in [s for s in self._slots if not s.connected and s.future.done()]:
            try:
                exc = slot.future.exception(timeout=0)
                why = f"{type(exc).__name__}: {exc}" if exc is not None else "it returned early"
            except BaseException as cancelled:  # noqa: BLE001 - CancelledError and the like
                why = f"{type(cancelled).__name__}: {cancelled}"
            events += self._fail(slot, f"Dask worker {slot.worker.address} could not start its "
                                       f"trial slot ({why}); is tuner installed there?")
        return events

    def _drain(self, slot: _Slot) -> list[Event]:
        assert slot.data is not None
        events: list[Event] = []
        try:
            events, ended = drain(slot.data, slot.trial_id)
            if ended:
                self._release(slot)
                # As in LocalExecutor: a failed trial may have damaged its process, and
                # without reuse no process runs a second trial.
                if isinstance(events[-1], ErrorEvent) or not self._reuse:
                    self._retire(slot)
        except (EOFError, OSError):
            self._await_exit_code(slot)
            if slot.exit_code is not None:
                why = (f"its worker process (pid {slot.pid}) on Dask worker "
                       f"{slot.worker.address} {describe_exit(slot.exit_code)}")
            else:
                why = self._lost_message(slot)
            events += self._fail(slot, why)
        return events

    def _await_exit_code(self, slot: _Slot) -> None:
        ctl = slot.ctl
        deadline = self._clock.monotonic() + _EXIT_CODE_WAIT_S
        while ctl is not None and slot.exit_code is None:
            left = deadline - self._clock.monotonic()
            if left <= 0 or not ctl.poll(left):
                return
            if not self._read_control_message(slot, ctl):
                return

    def _read_control_message(self, slot: _Slot, ctl: Connection) -> bool:
        """Read one control message; False when the connection ended."""
        try:
            message = ctl.recv()
        except (EOFError, OSError):
            return False
        if isinstance(message, ChildStarted):
            slot.pid = message.pid
        elif isinstance(message, ChildExited):
            slot.exit_code = message.code
        return True

    def _read_control(self, slot: _Slot) -> list[Event]:
        assert slot.ctl is not None
        while self._read_control_message(slot, slot.ctl):
            if not slot.ctl.poll():
                return []
        # The slot task ended: its worker process exited (the data connection tells how) or
        # the Dask worker is gone. Keep what the trial sent before, then end the slot.
        events: list[Event] = []
        while slot in self._slots and slot.data is not None and slot.data.poll():
            events += self._drain(slot)
        if slot in self._slots:
            events += self._fail(slot, self._lost_message(slot))
        return events

    def _lost_message(self, slot: _Slot) -> str:
        self._lost[slot.worker.address] = self._clock.monotonic()
        host = f" (host {slot.hostname})" if slot.hostname else ""
        return f"its Dask worker {slot.worker.address}{host} died or lost its connection"

    # ------------------------------------------------------------------ ending slots
    def _enforce_deadlines(self) -> list[Event]:
        now = self._clock.monotonic()
        events: list[Event] = []
        for slot in list(self._slots):
            if slot.stopping is not None and now >= slot.stop_deadline:
                logger.warning(
                    "trial %s did not stop within %.0f s of being asked; killing its worker "
                    "process on %s", slot.trial_id, self._stop_grace_s, slot.worker.address,
                )
                events += self._fail(slot, "")
            elif (slot.trial_id is not None and not slot.connected
                  and now >= slot.started_at + self._start_timeout_s):
                assert self._listener is not None
                host, port = self._listener.address
                events += self._fail(slot, (
                    f"Dask worker {slot.worker.address} did not start its trial slot within "
                    f"{self._start_timeout_s:g} s: check that tuner is installed on the workers "
                    f"and that they can connect to {host}:{port} (DaskExecutor(listen_host=...)), "
                    "or raise DaskExecutor(start_timeout_s=...)"
                ))
        return events

    def _fail(self, slot: _Slot, why: str) -> list[Event]:
        """End `slot` at once (killing its worker process); the event that ends its trial."""
        trial_id, stopping = slot.trial_id, slot.stopping
        self._release(slot)
        self._discard(slot, cancel=True)
        if trial_id is None:
            return []
        if stopping is not None:
            reason = EndReason.PAUSED if stopping is Control.PAUSE else EndReason.STOPPED
            return [EndEvent(trial_id, reason)]
        return [worker_died(trial_id, why)]

    def _release(self, slot: _Slot) -> None:
        if slot.trial_id is not None:
            self._by_trial.pop(slot.trial_id, None)
        slot.trial_id, slot.stopping = None, None

    def _discard(self, slot: _Slot, *, cancel: bool) -> None:
        """Forget `slot`; closing its control connection makes its task kill the process."""
        if slot in self._slots:
            self._slots.remove(slot)
        self._by_token.pop(slot.token, None)
        for conn in (slot.ctl, slot.data):
            if conn is not None:
                conn.close()
        if cancel and not slot.future.done():
            slot.future.cancel()

    def _retire(self, slot: _Slot) -> None:
        """End an idle slot cleanly: its worker process exits, its task returns."""
        for conn in (slot.data, slot.ctl):
            if conn is not None:
                with contextlib.suppress(OSError):
                    conn.send(Shutdown())
        self._discard(slot, cancel=not slot.connected)

    def shutdown(self) -> None:
        from distributed import wait as wait_for_futures

        retired = []
        for slot in list(self._slots):
            if slot.trial_id is not None or not slot.connected:
                self._release(slot)
                self._discard(slot, cancel=True)
            else:
                self._retire(slot)
                retired.append(slot.future)
        # Let the slot tasks return, so their resources are free when this returns.
        if retired:
            with contextlib.suppress(TimeoutError, OSError), self._client.as_current():
                wait_for_futures(retired, timeout=_SHUTDOWN_WAIT_S)
        for conn in self._unidentified:
            conn.close()
        self._unidentified = []
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        if self._address is not None and self._client is not None:
            self._client.close()
            self._client = None
