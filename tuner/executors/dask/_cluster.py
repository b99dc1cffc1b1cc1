"""What a Dask cluster offers trials: worker capacities, placement, and where workers run.

Pure book-keeping, no Dask imports: `DaskExecutor` feeds it `Client.scheduler_info()` and asks it
where a slot fits. A trial's resources map onto Dask worker resources by name: ``cpu`` -> ``CPU``,
``gpu`` -> ``GPU``, any other key as it is. A worker's ``CPU`` is its declared ``CPU`` resource,
else its thread count; its ``GPU`` is its declared ``GPU`` resource, else none.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tuner.executors.dask._slot_table import Slot

_EPS = 1e-9
_MAX_LISTED = 6  # workers named in an error message before "and N more"


@dataclass(frozen=True)
class WorkerInfo:
    """One Dask worker as trials see it.

    Attributes:
        address: The worker's address, e.g. ``tcp://10.0.0.5:40123``.
        host: The worker's host (IP address or name) as the scheduler knows it.
        capacity: What trials may use there, in Dask resource names (``CPU``, ``GPU``, ...).
        declared: The resources the worker declares (its ``--resources``); Dask tracks these.
    """

    address: str
    host: str
    capacity: Mapping[str, float]
    declared: frozenset[str]

    @classmethod
    def from_scheduler(cls, address: str, info: Mapping[str, Any]) -> WorkerInfo:
        """Build from one entry of `Client.scheduler_info()["workers"]`."""
        declared = {str(k): float(v) for k, v in (info.get("resources") or {}).items()}
        capacity = dict(declared)
        capacity.setdefault("CPU", float(info.get("nthreads", 1)))
        capacity.setdefault("GPU", 0.0)
        return cls(address, str(info.get("host", "")), capacity, frozenset(declared))

    def describe(self) -> str:
        offer = ", ".join(f"{k}={v:g}" for k, v in sorted(self.capacity.items()))
        return f"{self.address} ({offer})"


def dask_demand(resources: Mapping[str, float]) -> dict[str, float]:
    """A trial's resources in Dask names, zero amounts dropped (cpu defaults to 1).

    Example:
        >>> dask_demand({"cpu": 2, "gpu": 0, "TPU": 1})
        {'CPU': 2.0, 'TPU': 1.0}
    """
    names = {"cpu": "CPU", "gpu": "GPU"}
    demand = {"CPU": float(resources.get("cpu", 1.0))}
    for key, value in resources.items():
        demand[names.get(key, key)] = float(value)
    return {k: v for k, v in demand.items() if v > 0}


def fits(capacity: Mapping[str, float], used: Mapping[str, float], demand: Mapping[str, float]) -> bool:
    """Whether `demand` fits into what is left of `capacity` after `used`."""
    return all(
        used.get(k, 0.0) + v <= capacity.get(k, 0.0) + _EPS for k, v in demand.items()
    )


def add(total: dict[str, float], amounts: Mapping[str, float], sign: float = 1.0) -> None:
    for key, value in amounts.items():
        total[key] = total.get(key, 0.0) + sign * value


def place(
    demand: Mapping[str, float], workers: Mapping[str, WorkerInfo], slots: Sequence[Slot]
) -> tuple[WorkerInfo, list[Slot]] | None:
    """A worker with room for `demand` beside `slots`, and the idle slots there to retire for it.

    A worker where nothing needs retiring comes first, then the one with the most free CPUs.
    """
    best: tuple[tuple[bool, float, str], WorkerInfo, list[Slot]] | None = None
    for worker in workers.values():
        used: dict[str, float] = {}
        here = [s for s in slots if s.worker.address == worker.address]
        for slot in here:
            add(used, slot.demand)
        retire: list[Slot] = []
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


def free_gpus(worker: WorkerInfo, slots: Iterable[Slot], count: int) -> tuple[int, ...]:
    """The first `count` of `worker`'s GPUs (by index) that none of `slots` holds."""
    taken = {i for s in slots if s.worker.address == worker.address for i in s.gpu_indices}
    free = [i for i in range(int(worker.capacity.get("GPU", 0.0))) if i not in taken]
    return tuple(free[:count])


def unsatisfiable(
    resources: Mapping[str, float], workers: Iterable[WorkerInfo], scheduler: str
) -> str | None:
    """Why no worker could ever run a trial needing `resources` (None if one could)."""
    workers = list(workers)
    demand = dask_demand(resources)
    if any(fits(w.capacity, {}, demand) for w in workers):
        return None
    wanted = ", ".join(f"{k}={v:g}" for k, v in sorted(demand.items()))
    listed = "; ".join(w.describe() for w in workers[:_MAX_LISTED])
    if len(workers) > _MAX_LISTED:
        listed += f"; and {len(workers) - _MAX_LISTED} more"
    return (
        f"a trial needs {wanted} on one Dask worker, but no worker of the scheduler at "
        f"{scheduler} offers that; the workers offer: {listed}. Start workers that declare "
        "the resources (e.g. `dask worker ... --resources 'GPU=1'`, CPU is the thread count "
        "unless declared) or lower the trial's resources with with_resources(trainable, {...})"
    )


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine's loopback interface.

    Example:
        >>> is_loopback("127.0.0.1"), is_loopback("10.0.0.5")
        (True, False)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def remote_hosts(workers: Iterable[WorkerInfo], local_hosts: Iterable[str]) -> list[str]:
    """The hosts of workers that are not on this machine, sorted and without duplicates.

    Example:
        >>> w = [WorkerInfo("tcp://10.0.0.5:1", "10.0.0.5", {}, frozenset()),
        ...      WorkerInfo("tcp://127.0.0.1:2", "127.0.0.1", {}, frozenset())]
        >>> remote_hosts(w, local_hosts=["10.0.0.1"])
        ['10.0.0.5']
    """
    local = set(local_hosts)
    return sorted({w.host for w in workers if not is_loopback(w.host) and w.host not in local})
