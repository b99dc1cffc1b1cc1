"""Whether trials on Dask workers can reach the experiment's storage, checked before trials run.

Trials write checkpoints straight to the storage path, so a path the workers cannot see (a local
directory of the driver, another process's ``memory://``, a bucket without credentials there)
would lose them. A local path is fine when every worker runs on this machine; otherwise, and for
every remote filesystem, a file written here must read back the same on one worker per host.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from typing import Any

from tuner.executors.dask._cluster import WorkerInfo, remote_hosts
from tuner.storage._filesystem import is_local, join, protocol_of

Probe = Callable[[str, bytes, list[str]], dict[str, str | None]]
"""`probe(path, expected, worker_addresses)` -> {worker address: problem or None}."""


def read_probe(fs: Any, path: str, expected: bytes) -> str | None:
    """Run on a Dask worker: why it does not read `expected` at `path` on `fs` (None if it does)."""
    try:
        with fs.open(path, "rb") as f:
            seen = f.read()
    except Exception as exc:  # noqa: BLE001 - any failure means this worker cannot use the storage
        return f"{type(exc).__name__}: {exc}"
    if seen != expected:
        return f"{path} holds other content there: it is a different filesystem"
    return None


def storage_problem(
    fs: Any,
    path: str,
    workers: Mapping[str, WorkerInfo],
    local_hosts: list[str],
    probe: Probe,
) -> str | None:
    """Why trials on `workers` could not use `path` on `fs` as experiment storage, or None.

    Args:
        fs: The experiment's filesystem.
        path: The experiment's directory on it (it exists).
        workers: The Dask workers, by address.
        local_hosts: Names and addresses of this machine.
        probe: Reads a file on the given workers (see `Probe`).
    """
    protocol = protocol_of(fs)
    url = path if is_local(fs) else f"{protocol}://{path.lstrip('/')}"
    if protocol == "memory":
        return (
            f"storage_path {url!r} lives in this process's memory, which trials on Dask workers "
            "cannot reach: use shared storage such as s3://bucket/path or a shared filesystem path"
        )
    if is_local(fs):
        remote = set(remote_hosts(workers.values(), local_hosts))
        probed = [w for w in workers.values() if w.host in remote]
    else:
        probed = list(workers.values())
    one_per_host = {w.address: w.host for w in {w.host: w for w in probed}.values()}
    if not one_per_host:
        return None
    token = secrets.token_bytes(16)
    probe_path = join(path, f".tuner-probe-{token.hex()}")
    with fs.open(probe_path, "wb") as f:
        f.write(token)
    try:
        answers = probe(probe_path, token, list(one_per_host))
    finally:
        fs.rm(probe_path)
    problems = {one_per_host[a]: p for a, p in answers.items() if p is not None}
    if not problems:
        return None
    hosts, first = sorted(problems), next(iter(problems.values()))
    if is_local(fs):
        return (
            f"storage_path {path!r} is local to this machine but Dask workers run on hosts "
            f"{hosts} that do not see it ({first}): use shared storage such as s3://bucket/path "
            "or a shared filesystem path mounted at the same place on every host"
        )
    return (
        f"Dask workers on hosts {hosts} cannot read the experiment storage {url!r} ({first}): "
        "give them the same credentials and endpoint as this process (environment variables or "
        "config files), or pass RunConfig(storage_filesystem=...) with explicit options"
    )


def client_probe(client: Any, fs: Any) -> Probe:
    """A `Probe` that reads the file on the workers with `Client.run`."""

    def probe(path: str, expected: bytes, addresses: list[str]) -> dict[str, str | None]:
        answers = client.run(read_probe, fs, path, expected, workers=addresses, on_error="return")
        return {
            address: f"{type(answer).__name__}: {answer}"
            if isinstance(answer, BaseException)
            else answer
            for address, answer in answers.items()
        }

    return probe
