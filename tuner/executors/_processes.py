"""What the executors that run trials in other processes share: sending trial specs, reading
the messages that come back, and saying how such a process ended."""

from __future__ import annotations

import dataclasses
import reprlib
import signal
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import cloudpickle

from tuner.exceptions import ConfigError, WorkerDiedError
from tuner.executors._protocol import EndEvent, ErrorEvent, Event, TrialSpec

MAX_DRAIN = 2048
"""Messages read from one connection per wait, so that one fast trial cannot starve the others."""


def drain(conn: Connection, trial_id: str | None) -> tuple[list[Event], bool]:
    """Read what `conn` holds now: the events of `trial_id`, and whether one of them ended it.

    Messages of a trial the executor already ended (sent before it learned so) are dropped.
    Returns when nothing more is waiting; raises EOFError/OSError when the other side is gone.
    """
    events: list[Event] = []
    ended = False
    for _ in range(MAX_DRAIN):
        event = conn.recv()
        if trial_id is not None and not ended and event.trial_id == trial_id:
            events.append(event)
            ended = isinstance(event, EndEvent | ErrorEvent)
        if not conn.poll():
            break
    return events, ended


def worker_died(trial_id: str, why: str) -> ErrorEvent:
    """The event that fails `trial_id` because its worker process went away (`why`, in words).

    The message says "trial X failed: <why>"; the traceback, which is what the trial's error
    text and `Result.error` are made from, holds the cause alone, so that no message says the
    trial failed twice.
    """
    error = WorkerDiedError(
        f"trial {trial_id} failed: {why}", trial_id=trial_id, traceback=f"WorkerDiedError: {why}"
    )
    return ErrorEvent(trial_id, error)


def describe_exit(code: int | None) -> str:
    """How a process ended, in words.

    Example:
        >>> describe_exit(-9), describe_exit(3)
        ('was killed by signal SIGKILL', 'exited with code 3')
    """
    if code is None:
        return "closed its connection"
    if code < 0:
        try:
            return f"was killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


@dataclass(frozen=True)
class PackedSpec:
    """Driver -> worker process: a `TrialSpec` whose config travels cloudpickled.

    Connections pickle messages with plain pickle, which cannot carry a lambda and sends an
    object of a class defined in the driver's `__main__` by a name the worker cannot import;
    cloudpickle sends both by value, as it does the trainable.

    Attributes:
        spec: The spec, with an empty config.
        config: The config, cloudpickled.
    """

    spec: TrialSpec
    config: bytes

    def with_gpu_ids(self, gpu_ids: tuple[str, ...]) -> PackedSpec:
        return PackedSpec(dataclasses.replace(self.spec, gpu_ids=gpu_ids), self.config)

    def unpack(self) -> TrialSpec:
        """The spec with its config (raises whatever unpickling the config raises)."""
        return dataclasses.replace(self.spec, config=cloudpickle.loads(self.config))


def pack_spec(spec: TrialSpec, where: str) -> PackedSpec:
    """`spec` ready to send to a worker process (`where` names them in errors).

    Raises:
        ConfigError: A config value cannot be pickled even by cloudpickle (an open file, a
            lock, a socket): the message names its key and type, and the ways around it.
    """
    try:
        blob = cloudpickle.dumps(dict(spec.config))
    except Exception as exc:
        key, value, error = _unpicklable(spec.config, exc)
        raise ConfigError(
            f"config{key} of trial {spec.trial_id} is a {type(value).__name__} "
            f"({reprlib.repr(value)}), which cannot be sent to {where} "
            f"({type(error).__name__}: {error}): create it inside the trainable, pass a factory "
            "instead (e.g. a function that opens or builds it), or run trials in this process "
            "with InProcessExecutor()"
        ) from exc
    return PackedSpec(dataclasses.replace(spec, config={}), blob)


def _unpicklable(config: Mapping[str, Any], exc: Exception) -> tuple[str, Any, Exception]:
    """The deepest value of `config` that cloudpickle refuses: its key path, it, and why."""
    path, value, error = "", config, exc
    while True:
        for key, child in _children(value):
            try:
                cloudpickle.dumps(child)
            except Exception as child_error:  # noqa: BLE001 - any pickling failure
                path, value, error = f"{path}[{key!r}]", child, child_error
                break
        else:
            return path, value, error


def _children(value: Any) -> Iterator[tuple[Any, Any]]:
    if isinstance(value, Mapping):
        yield from value.items()
    elif isinstance(value, list | tuple):
        yield from enumerate(value)
