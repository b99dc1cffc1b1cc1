"""What this machine offers trials: CPUs and GPUs."""

from __future__ import annotations

import functools
import os
import subprocess


def cpu_count() -> int:
    """CPUs this process may use (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


@functools.cache
def gpu_ids() -> tuple[str, ...]:
    """GPUs visible to this process: CUDA_VISIBLE_DEVICES if set, else what nvidia-smi lists."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return tuple(part.strip() for part in visible.split(",") if part.strip() not in ("", "-1"))
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    return tuple(line.strip() for line in out.splitlines() if line.strip())


class ResourcePool:
    """Book-keeping of the CPUs and GPUs that running trials hold on one machine."""

    def __init__(self, cpus: float | None = None, gpus: tuple[str, ...] | None = None) -> None:
        self.total_cpus = float(cpus if cpus is not None else cpu_count())
        self._gpus = gpus
        self._used_cpus = 0.0
        self._held: dict[str, tuple[float, tuple[str, ...]]] = {}

    @property
    def gpus(self) -> tuple[str, ...]:
        if self._gpus is None:
            self._gpus = gpu_ids()
        return self._gpus

    def _free_gpus(self) -> list[str]:
        taken = {g for _, ids in self._held.values() for g in ids}
        return [g for g in self.gpus if g not in taken]

    def check(self, resources: dict[str, float] | None) -> str | None:
        """Why a trial needing `resources` could never run here, or None if it could."""
        resources = resources or {}
        cpus, gpus = resources.get("cpu", 1.0), int(resources.get("gpu", 0.0))
        if cpus > self.total_cpus:
            return (
                f"a trial needs cpu={cpus:g} but this machine offers {self.total_cpus:g} CPUs: "
                "lower it with with_resources(trainable, {'cpu': ...})"
            )
        if gpus > len(self.gpus):
            visible = os.environ.get("CUDA_VISIBLE_DEVICES")
            seen = f"CUDA_VISIBLE_DEVICES={visible!r}" if visible is not None else "nvidia-smi"
            return (
                f"a trial needs gpu={gpus} but only {len(self.gpus)} GPUs are visible "
                f"({seen}): run on a machine with GPUs or set {{'gpu': 0}}"
            )
        unknown = sorted(set(resources) - {"cpu", "gpu"})
        if unknown:
            return (
                f"this executor only knows the resources 'cpu' and 'gpu', a trial asked for "
                f"{unknown}: remove them or use an executor that offers them"
            )
        return None

    def fits(self, resources: dict[str, float]) -> bool:
        cpus, gpus = resources.get("cpu", 1.0), int(resources.get("gpu", 0.0))
        enough_cpu = self._used_cpus + cpus <= self.total_cpus + 1e-9
        return enough_cpu and len(self._free_gpus()) >= gpus

    def acquire(self, trial_id: str, resources: dict[str, float]) -> tuple[str, ...]:
        cpus, gpus = resources.get("cpu", 1.0), int(resources.get("gpu", 0.0))
        ids = tuple(self._free_gpus()[:gpus]) if gpus else ()
        self._held[trial_id] = (cpus, ids)
        self._used_cpus += cpus
        return ids

    def release(self, trial_id: str) -> None:
        held = self._held.pop(trial_id, None)
        if held is not None:
            self._used_cpus -= held[0]
