"""What the executors that run trials in other processes share: sending trial specs, reading
the messages that come back, and saying how such a process ended."""

from __future__ import annotations

import dataclasses
import os
import pickle
import reprlib
import signal
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import cloudpickle

from tuner.exceptions import ConfigError, WorkerDiedError
from tuner.executors._protocol import EndEvent, ErrorEvent, Event, ResultEvent, TrialSpec
from tuner.storage._deferred import DeferredFilesystem

READ_BYTES = 1 << 18
"""Bytes read from one connection per wait (about 800 results), so that one fast trial cannot
starve the others, nor the loop's periodic tasks."""

_SIZE = struct.Struct("!i")
_LARGE_SIZE = struct.Struct("!Q")


def send_event(conn: Connection, event: Event) -> None:
    """Send `event` the way `MessageReader` reads it (as `Connection.send` frames it), for
    `drain` to read.

    Plain pickle: `Connection.send` builds a `ForkingPickler`, with a copy of its reducer table,
    for every message, which costs a trial that reports thousands of results a second more than
    the pickling itself. A result travels as a plain tuple of its fields, which unpickles in
    half the time of the dataclass (the driver reads every result a trial streams).
    """
    message: Any = event
    if type(event) is ResultEvent:
        message = (event.trial_id, event.metrics, event.checkpoint)
    conn.send_bytes(pickle.dumps(message, pickle.HIGHEST_PROTOCOL))


class MessageReader:
    """Reads the messages a connection holds in one system call, however many there are.

    `Connection.recv` costs three system calls a message (a poll to know whether there is
    one, then its length, then its body); a trial streaming results sends them faster than the
    event loop can afford that. This reads what the socket holds (up to `READ_BYTES`) at once
    and cuts it into messages; a message cut by the end of a read waits for the next. Messages
    are framed and pickled as `Connection.send` does (`send_event`), so the other side may use
    either.

    Read only when the connection is readable (`multiprocessing.connection.wait` said so):
    `read` then returns at once. No one else may read the connection in between.
    """

    def __init__(self, conn: Connection) -> None:
        self._fd = conn.fileno()
        self._pending = bytearray()
        """The start of a message whose end has not arrived yet."""
        self._wanted = 0
        """The length of that message's frame, once its header is in."""
        self.closed = False
        """Whether the other side closed the connection (all it sent before has been read)."""

    def read(self) -> list[Any]:
        """The messages that are complete now (maybe none); sets `closed` at the end of the
        stream. Raises OSError if the connection failed, and whatever unpickling raises."""
        pending = self._pending
        chunk = os.read(self._fd, max(READ_BYTES, self._wanted - len(pending)))
        if not chunk:
            self.closed = True
            return []
        data: bytes | bytearray = chunk
        if pending:
            pending += chunk  # a large message comes in many reads: appended, not copied
            data = pending
            if len(pending) < self._wanted:
                return []
        messages: list[Any] = []
        end, pos = len(data), 0
        with memoryview(data) as view:
            while end - pos >= 4:
                (size,) = _SIZE.unpack_from(data, pos)
                start = pos + 4
                if size == -1:  # over 2 GiB: the length follows in 8 bytes
                    if end - start < 8:
                        break
                    (size,) = _LARGE_SIZE.unpack_from(data, start)
                    start += 8
                if end - start < size:
                    self._wanted = start - pos + size
                    break
                messages.append(pickle.loads(view[start : start + size]))
                pos = start + size
        if pos == end:
            self._pending, self._wanted = bytearray(), 0
        elif data is chunk:
            self._pending = bytearray(chunk[pos:])
        else:
            del pending[:pos]
        return messages


@dataclass(frozen=True)
class Drained:
    """What `drain` read from a connection.

    Attributes:
        events: The events of the trial asked about, in the order they were sent.
        ended: Whether one of them ended it (the last one, then).
        closed: Whether the connection closed after them: its process exited or died.
    """

    events: list[Event]
    ended: bool
    closed: bool


def drain(reader: MessageReader, trial_id: str | None) -> Drained:
    """Read what `reader`'s connection holds now: the events of `trial_id`, and whether one of
    them ended it.

    Messages of a trial the executor already ended (sent before it learned so) are dropped.
    What arrived before the connection closed is returned with `closed` set, not lost: the
    results of a trial whose process then died count. Raises OSError when the connection failed.
    """
    events: list[Event] = []
    ended = False
    for message in reader.read():
        if type(message) is tuple:  # a result, as `send_event` sends them
            if message[0] == trial_id and not ended:
                events.append(ResultEvent(*message))
        elif trial_id is not None and not ended and message.trial_id == trial_id:
            events.append(message)
            ended = isinstance(message, EndEvent | ErrorEvent)
    return Drained(events, ended, reader.closed)


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
        spec: The spec, with an empty config and its filesystem a `DeferredFilesystem`.
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
    # The worker unpickles the filesystem only when the trial touches storage (see
    # `DeferredFilesystem`), not with every spec.
    filesystem = DeferredFilesystem.of(spec.filesystem)
    return PackedSpec(dataclasses.replace(spec, config={}, filesystem=filesystem), blob)


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
