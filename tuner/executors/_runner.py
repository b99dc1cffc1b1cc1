"""Runs one trial where it was placed (a worker process or a thread) and reports what it does."""

from __future__ import annotations

import contextlib
import os
import pickle
import shutil
import tempfile
import traceback
from collections.abc import Callable, Mapping
from typing import Any

from tuner._clock import Clock
from tuner._session import Channel, Session, StopTrial, set_session
from tuner._trainable import Trainable
from tuner.exceptions import TrialError
from tuner.executors._protocol import (
    CheckpointEvent,
    CheckpointRef,
    Control,
    EndEvent,
    EndReason,
    ErrorEvent,
    Event,
    TrialSpec,
)
from tuner.output._log_to_file import output_to_files

DICT_CHECKPOINT_FILE = "_dict_checkpoint.pkl"
PATH_CHECKPOINT_FILE = "_checkpoint_path.txt"
"""Where a `save_checkpoint` that returned a path inside its directory keeps that path
(relative), so that `load_checkpoint` is handed the same path again, as Ray Tune does."""
"""Where the dict that `Trainable.save_checkpoint` may return is kept (the user's own data)."""


class InstancePool:
    """Keeps the last class trainable instance of a worker for reuse via `reset_config`."""

    def __init__(self) -> None:
        self._idle: Trainable | None = None

    def take(self, cls: type[Trainable], config: Mapping[str, Any], reuse: bool) -> Trainable:
        idle, self._idle = self._idle, None
        if idle is not None:
            if reuse and type(idle) is cls and idle.reset_config(dict(config)):
                idle.config = dict(config)
                return idle
            idle.cleanup()
        return cls(config)

    def put(self, instance: Trainable, reuse: bool) -> None:
        if reuse:
            self._idle = instance
        else:
            instance.cleanup()

    def clear(self) -> None:
        idle, self._idle = self._idle, None
        if idle is not None:
            idle.cleanup()


def error_event(spec: TrialSpec, exc: BaseException, what: str = "failed") -> ErrorEvent:
    """The event for a trial whose trainable raised `exc`, with the formatted traceback."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    message = f"trial {spec.trial_id} {what}: {type(exc).__name__}: {exc}"
    return ErrorEvent(spec.trial_id, TrialError(message, trial_id=spec.trial_id, traceback=text))


def run_function(
    spec: TrialSpec,
    fn: Callable[[dict[str, Any]], Any],
    channel: Channel,
    clock: Clock,
    *,
    process_wide: bool = False,
) -> None:
    """Run a function trainable to its end, sending results and exactly one end or error event."""
    with output_to_files(spec.log_files, process_wide=process_wide):
        _run_function(spec, fn, channel, clock, process_wide=process_wide)


def _run_function(
    spec: TrialSpec,
    fn: Callable[[dict[str, Any]], Any],
    channel: Channel,
    clock: Clock,
    *,
    process_wide: bool,
) -> None:
    session = Session(spec, channel, clock)
    set_session(session, process_wide=process_wide)
    try:
        end: Event
        try:
            returned = fn(dict(spec.config))
            if isinstance(returned, Mapping):
                session.send_result(session.fill(returned), None)
            end = EndEvent(spec.trial_id, EndReason.DONE)
        except StopTrial as stop:
            reason = EndReason.PAUSED if stop.control is Control.PAUSE else EndReason.STOPPED
            end = EndEvent(spec.trial_id, reason)
        except BaseException as exc:  # noqa: BLE001 - any failure of user code: ERROR
            end = error_event(spec, exc)
        session.run_at_end()
        channel.send(end)
    finally:
        set_session(None, process_wide=process_wide)


def _save(instance: Trainable, session: Session) -> CheckpointRef:
    local_dir = tempfile.mkdtemp(prefix="tuner-ckpt-")
    try:
        data = instance.save_checkpoint(local_dir)
        if isinstance(data, dict):
            with open(os.path.join(local_dir, DICT_CHECKPOINT_FILE), "wb") as f:
                pickle.dump(data, f)
        elif isinstance(data, str | os.PathLike):
            with open(os.path.join(local_dir, PATH_CHECKPOINT_FILE), "w") as f:
                f.write(_inside(local_dir, os.fspath(data), type(instance).__name__))
        elif data is not None:
            raise TypeError(
                f"{type(instance).__name__}.save_checkpoint returned {type(data).__name__}: "
                "return None (the state is in the directory), a dict, or the path of a file "
                "it wrote in the directory"
            )
        return session.persist(local_dir)
    finally:
        shutil.rmtree(local_dir, ignore_errors=True)


def _load(instance: Trainable, session: Session) -> None:
    checkpoint = session.restore_checkpoint()
    if checkpoint is None:
        return
    with checkpoint.as_directory() as local_dir:
        dict_file = os.path.join(local_dir, DICT_CHECKPOINT_FILE)
        path_file = os.path.join(local_dir, PATH_CHECKPOINT_FILE)
        if os.path.exists(dict_file):
            with open(dict_file, "rb") as f:
                instance.load_checkpoint(pickle.load(f))
        elif os.path.exists(path_file):
            with open(path_file) as f:
                relative = f.read()
            instance.load_checkpoint(os.path.join(local_dir, relative) if relative else local_dir)
        else:
            instance.load_checkpoint(local_dir)


def _inside(directory: str, path: str, owner: str) -> str:
    """`path` relative to `directory` ("" for the directory itself); a ValueError if it lies
    outside, where the checkpoint would not carry it."""
    real_dir = os.path.realpath(directory)
    real = os.path.realpath(path if os.path.isabs(path) else os.path.join(directory, path))
    if os.path.commonpath([real_dir, real]) != real_dir:
        raise ValueError(
            f"{owner}.save_checkpoint returned {path!r}, which is outside its checkpoint "
            f"directory {directory!r}: write the files there and return a path inside it"
        )
    relative = os.path.relpath(real, real_dir)
    return "" if relative == "." else relative


def run_class(
    spec: TrialSpec,
    cls: type[Trainable],
    channel: Channel,
    clock: Clock,
    pool: InstancePool,
    *,
    reuse: bool = True,
    process_wide: bool = False,
) -> None:
    """Step a class trainable until it is done or told to stop/pause; one end or error event."""
    with output_to_files(spec.log_files, process_wide=process_wide):
        _run_class(spec, cls, channel, clock, pool, reuse=reuse, process_wide=process_wide)


def _run_class(
    spec: TrialSpec,
    cls: type[Trainable],
    channel: Channel,
    clock: Clock,
    pool: InstancePool,
    *,
    reuse: bool,
    process_wide: bool,
) -> None:
    session = Session(spec, channel, clock)
    set_session(session, process_wide=process_wide)
    instance: Trainable | None = None
    try:
        instance = pool.take(cls, spec.config, reuse)
        instance._iteration = spec.start_iteration
        _load(instance, session)
        while True:
            metrics = instance.step()
            if not isinstance(metrics, Mapping):
                raise TypeError(
                    f"{cls.__name__}.step() must return a dict of metrics, got "
                    f"{type(metrics).__name__}"
                )
            metrics = dict(metrics)
            wants_checkpoint = bool(metrics.pop("should_checkpoint", False))
            result = session.fill(metrics)
            instance._iteration = session.iteration
            done = bool(result["done"])
            every = spec.checkpoint_frequency
            ref = None
            if (
                wants_checkpoint
                or (every and session.iteration % every == 0)
                or (done and spec.checkpoint_at_end)
            ):
                ref = _save(instance, session)
            session.send_result(result, ref)
            if done:
                session.run_at_end()
                channel.send(EndEvent(spec.trial_id, EndReason.DONE))
                break
            control = channel.wait_control()
            if control is Control.CHECKPOINT:
                # The driver (a callback) asked for a checkpoint of this result's state; its
                # decision on the result follows.
                if ref is None:
                    ref = _save(instance, session)
                    channel.send(CheckpointEvent(spec.trial_id, ref))
                control = channel.wait_control()
            if control is Control.CONTINUE:
                continue
            end_ref = None
            if ref is None and (control is Control.PAUSE or spec.checkpoint_at_end):
                end_ref = _save(instance, session)
            reason = EndReason.PAUSED if control is Control.PAUSE else EndReason.STOPPED
            session.run_at_end()
            channel.send(EndEvent(spec.trial_id, reason, end_ref))
            break
        pool.put(instance, reuse)
    except BaseException as exc:  # noqa: BLE001 - any failure of user code ends the trial in ERROR
        if instance is not None:
            with contextlib.suppress(Exception):  # the original error is the one to report
                instance.cleanup()
        session.run_at_end()
        channel.send(error_event(spec, exc))
    finally:
        set_session(None, process_wide=process_wide)
