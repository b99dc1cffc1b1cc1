"""`DaskExecutor`: trials run on the workers of a `dask.distributed` cluster.

Design: each *slot* is one long-running Dask task (`tuner.executors.dask._slot.run_slot`) pinned to a
worker and holding the trial's resources there. It starts a `tuner.executors._worker` process and connects
it back to a listener on the driver, so trial specs, controls and results travel over a plain
socket (the same messages as `LocalExecutor`), with no Dask round trip per result. Slots are reused
across trials: a new trial on an idle slot costs one message, no task submission and no
unpickling of the trainable. A slot whose trial failed is retired (its worker process may be
damaged), and so is every slot after its trial with `TuneConfig(reuse_actors=False)`: the next
trial gets a new slot. Dask is used for placement, resources and worker life cycles only.

This module is the `Executor` the event loop sees: it talks to the cluster and starts slots
where `tuner.executors.dask._cluster.place` finds room; `tuner.executors.dask._slot_table` keeps
the slots and reads their connections.
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
from multiprocessing.connection import wait as wait_for_ready
from typing import TYPE_CHECKING, Any

import cloudpickle

from tuner._clock import Clock, SystemClock
from tuner._trainable import TrainableKind, trainable_name
from tuner.exceptions import ConfigError
from tuner.executors._base import Executor
from tuner.executors._processes import pack_spec
from tuner.executors._protocol import Control, Event, Register, TrialSpec
from tuner.executors.dask._cluster import (
    WorkerInfo,
    dask_demand,
    free_gpus,
    place,
    remote_hosts,
    unsatisfiable,
)
from tuner.executors.dask._listener import SlotListener
from tuner.executors.dask._slot import run_slot
from tuner.executors.dask._slot_table import Slot, SlotTable
from tuner.executors.dask._storage import client_probe, storage_problem
from tuner.storage._filesystem import protocol_of

if TYPE_CHECKING:
    from distributed import Client, Future

logger = logging.getLogger(__name__)

_REFRESH_S = 2.0  # least time between two scheduler queries for new workers
_SHUTDOWN_WAIT_S = 5.0  # how long shutdown() waits for idle slots to end


def _import_distributed() -> None:
    try:
        import distributed  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "install dask[distributed] to use DaskExecutor (pip install 'tuner[dask]')"
        ) from exc


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
        self._table = SlotTable(SystemClock(), stop_grace_s=float(stop_grace_s),
                                start_timeout_s=self._start_timeout_s)
        self._pending: list[Event] = []
        self._storage_checked: set[tuple[str, str]] = set()
        self._key = ""
        self._blob = b""
        self._kind = TrainableKind.FUNCTION

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
        now = self._table.clock.monotonic()
        if force or now - self._fetched_at >= _REFRESH_S:
            info = self._client.scheduler_info()["workers"]
            self._workers = {a: WorkerInfo.from_scheduler(a, w) for a, w in info.items()}
            self._fetched_at = now
        lost = self._table.recently_lost(now)
        return {a: w for a, w in self._workers.items() if a not in lost}

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
        self._kind, self._table.reuse, self._table.clock = kind, reuse, clock
        if self._listener is None:
            self._listener = SlotListener(self._listen_host or self._default_listen_host())

    def check_resources(self, resources: Mapping[str, float]) -> None:
        problem = unsatisfiable(resources, self._wait_for_a_worker().values(), self._scheduler)
        if problem is not None:
            raise ConfigError(problem)

    def can_start(self, resources: Mapping[str, float]) -> bool:
        demand = dask_demand(resources)
        if self._table.idle(demand) is not None:
            return True
        return place(demand, self._refresh(), self._table.slots) is not None

    @property
    def num_active(self) -> int:
        return len(self._table.by_trial)

    def is_active(self, trial_id: str) -> bool:
        return trial_id in self._table.by_trial

    def _new_slot(self, demand: dict[str, float]) -> Slot:
        placed = place(demand, self._refresh(), self._table.slots)
        if placed is None:
            raise RuntimeError("start_trial() without can_start(): no Dask worker has room")
        worker, retire = placed
        for slot in retire:
            self._table.retire(slot)
        gpu_indices = free_gpus(worker, self._table.slots, int(demand.get("GPU", 0.0)))
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
        slot = Slot(token, worker, demand, gpu_indices, future, self._table.clock.monotonic())
        self._table.add(slot)
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
        slot = self._table.idle(demand) or self._new_slot(demand)
        if self._key not in slot.registered:
            self._table.send(slot, Register(self._key, self._kind, self._blob, self._table.reuse))
            slot.registered.add(self._key)
        self._table.assign(slot, spec.trial_id)
        self._table.send(slot, packed)

    def control(self, trial_id: str, control: Control) -> None:
        self._pending += self._table.control(trial_id, control)

    def wait(self, timeout: float | None) -> list[Event]:
        listen_address = self._listener.address if self._listener is not None else None
        events = self._take_pending() + self._table.enforce_deadlines(listen_address)
        if events or self._listener is None:
            return events
        now = self._table.clock.monotonic()
        deadline = self._table.next_deadline()
        if deadline is not None:
            until = max(0.0, deadline - now)
            timeout = until if timeout is None else min(timeout, until)
        conns: list[Any] = [self._listener.wake_r, *self._table.connections()]
        ready = set(wait_for_ready(conns, timeout))
        if self._listener.wake_r in ready:
            self._table.unidentified += self._listener.take()
            events += self._table.check_futures()
        events += self._table.read(ready)
        return events + self._take_pending()

    def _take_pending(self) -> list[Event]:
        events, self._pending = self._pending, []
        return events

    def shutdown(self) -> None:
        from distributed import wait as wait_for_futures

        retired = []
        for slot in list(self._table.slots):
            if slot.trial_id is not None or not slot.connected:
                self._table.release(slot)
                self._table.discard(slot, cancel=True)
            else:
                self._table.retire(slot)
                retired.append(slot.future)
        # Let the slot tasks return, so their resources are free when this returns.
        if retired:
            with contextlib.suppress(TimeoutError, OSError), self._client.as_current():
                wait_for_futures(retired, timeout=_SHUTDOWN_WAIT_S)
        self._table.close()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        if self._address is not None and self._client is not None:
            self._client.close()
            self._client = None
