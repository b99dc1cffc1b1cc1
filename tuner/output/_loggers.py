"""Trial output files: ``params.json``, ``result.json``, ``progress.csv`` and TensorBoard events.

Each logger is a `LoggerCallback` writing into `trial.local_path`. They are built for an event
loop delivering tens of thousands of results a second: results are buffered in memory and
written (in one call per file, without an fsync) in `flush()`, when a trial has buffered
`WRITE_EVERY` of them, and when it ends. A trial's files stay open from its start to its end,
pauses and retries included, and nothing about a trial is kept once it ends. When more than
`MAX_OPEN_TRIALS` trials have files open (many paused trials), the least recently written
ones' files are closed, and opened again without reading them when those trials write. Files
are created on a thread of their own (`tuner.output._file_thread`), which the loop waits for
only where it needs a file, and in `flush()`. Before a rewind cuts a trial's files back
(`tuner.output._rewind`) the loggers write and close them (see `tuner.output._open_files`).

The engine gives every experiment one of each (`default_logger_callbacks`), after the user's
callbacks, unless `RunConfig(callbacks)` holds one of the same class already. The ``trial``
they are given needs ``trial_id``, ``config`` and ``local_path`` (`tuner.experiment.Trial` has
them; so has the `TrialInfo` below).

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from tuner._callback import TrialInfo
    >>> trial = TrialInfo("t0", "trial_t0", {"lr": 0.1}, tempfile.mkdtemp())
    >>> logger = JsonLoggerCallback()
    >>> logger.log_trial_start(trial)
    >>> logger.log_trial_result(1, trial, {"loss": 0.5, "training_iteration": 1})
    >>> logger.log_trial_end(trial)
    >>> Path(trial.local_path, "result.json").read_text()
    '{"loss":0.5,"training_iteration":1}\\n'
"""

from __future__ import annotations

import json
import logging
import os
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from tuner._callback import Callback, LoggerCallback
from tuner.output import _open_files
from tuner.output._encode import flatten, plain, sanitise
from tuner.output._file_thread import in_background
from tuner.output._files import PARAMS_FILE, PROGRESS_FILE, RESULT_FILE, open_creating
from tuner.output._writers import CsvRows, JsonLines, TensorBoardEvents

if TYPE_CHECKING:
    from tuner._clock import Clock
    from tuner.experiment import Trial

logger = logging.getLogger(__name__)

WRITE_EVERY = 1000
"""A trial's buffered results are written once it has this many (else at the next flush)."""
MAX_OPEN_TRIALS = 100
"""Trials whose files a logger keeps open at most (each holds one file per logger)."""


class _Writer(Protocol):
    def add(self, result: Mapping[str, Any]) -> int: ...

    def write(self) -> None: ...

    def close(self) -> None: ...


_W = TypeVar("_W", bound=_Writer)


class _PerTrialLogger(LoggerCallback, Generic[_W]):
    """What the file loggers share: a writer per trial, made when it starts (or first logs),
    written in `flush()` and every `WRITE_EVERY` results, closed when the trial ends or the
    experiment does. A pause or a retry changes nothing: the trial goes on appending, unless a
    rewind of its files came in between, which closes them (`release_directory`) and makes the
    trial start afresh on the cut-back files.
    """

    def __init__(self) -> None:
        self._trials: dict[str, _W] = {}
        self._dirs: dict[str, str] = {}
        """Trial id -> its directory (`_open_files.directory_key`)."""
        self._trial_in: dict[str, str] = {}
        """Directory -> the trial logging there, so that `release_directory` costs O(1)."""
        self._dirty: dict[str, _W] = {}
        """Trials with buffered results."""
        self._open: dict[str, _W] = {}
        """Trials whose files are open, least recently written first."""
        _open_files.register(self)

    # ----------------------------------------------------------------- for subclasses
    def _make(self, trial: Trial) -> _W:
        """A new writer for `trial` (its files open)."""
        raise NotImplementedError

    def _resumed(self, trial: Trial, writer: _W) -> None:
        """`trial`, which has a writer, starts again (after a pause or a failure)."""

    def _ending(self, writer: _W) -> None:
        """Called before the writer of a trial that ended is closed."""

    # ----------------------------------------------------------------- life cycle
    def _writer(self, trial: Trial) -> _W:
        writer = self._trials.get(trial.trial_id)
        if writer is None:
            writer = self._trials[trial.trial_id] = self._make(trial)
            key = _open_files.directory_key(trial.local_path)
            self._dirs[trial.trial_id] = key
            self._trial_in[key] = trial.trial_id
            self._opened(trial.trial_id, writer)
        return writer

    def _opened(self, trial_id: str, writer: _W) -> None:
        """`writer`'s files are (about to be) open: the most recently used now; the least
        recently used are closed if too many are."""
        self._open.pop(trial_id, None)
        self._open[trial_id] = writer
        if len(self._open) > MAX_OPEN_TRIALS:
            oldest = next(iter(self._open))
            self._open.pop(oldest).close()
            self._dirty.pop(oldest, None)

    def _write(self, trial_id: str, writer: _W) -> None:
        self._opened(trial_id, writer)  # write() opens the files again if they were closed
        writer.write()
        self._dirty.pop(trial_id, None)

    def _forget(self, trial_id: str) -> _W | None:
        key = self._dirs.pop(trial_id, None)
        if key is not None and self._trial_in.get(key) == trial_id:
            del self._trial_in[key]
        self._dirty.pop(trial_id, None)
        self._open.pop(trial_id, None)
        return self._trials.pop(trial_id, None)

    def log_trial_start(self, trial: Trial) -> None:
        writer = self._trials.get(trial.trial_id)
        if writer is None:
            self._writer(trial)
        else:
            self._resumed(trial, writer)

    def log_trial_result(self, iteration: int, trial: Trial, result: dict[str, Any]) -> None:
        trial_id = trial.trial_id
        writer = self._trials.get(trial_id) or self._writer(trial)
        if writer.add(result) >= WRITE_EVERY:
            self._write(trial_id, writer)
        else:
            self._dirty[trial_id] = writer

    def log_trial_end(self, trial: Trial, failed: bool = False) -> None:
        writer = self._forget(trial.trial_id)
        if writer is not None:
            self._ending(writer)
            writer.close()

    def flush(self) -> None:
        for trial_id in list(self._dirty):
            writer = self._dirty.get(trial_id)  # None if closing another's files wrote it
            if writer is not None:
                self._write(trial_id, writer)

    def on_experiment_end(self, trials: Sequence[Trial], **info: Any) -> None:
        for trial_id in list(self._trials):
            writer = self._forget(trial_id)
            if writer is not None:
                writer.close()

    def release_directory(self, directory: str) -> None:
        """Write and close the files of the trial in `directory` (before a rewind cuts them);
        the trial starts afresh on them when it logs again."""
        trial_id = self._trial_in.get(directory)
        if trial_id is not None:
            writer = self._forget(trial_id)
            if writer is not None:
                writer.close()


class JsonLoggerCallback(_PerTrialLogger[JsonLines]):
    """Writes ``params.json`` (the config) and ``result.json`` (one JSON object per line).

    Config values that are not JSON (classes, functions, objects) are written as their
    ``repr()``; numpy scalars are written as numbers. ``params.json`` is written again when a
    trial resumes with another config (PBT's exploits).

    Example:
        >>> JsonLoggerCallback().flush()
    """

    def __init__(self) -> None:
        super().__init__()
        self._warned_repr = False
        self._configs: dict[str, Mapping[str, Any]] = {}
        self._params_writes: dict[str, Future[None]] = {}
        """Each trial's latest ``params.json`` write, on the output files' thread."""

    def _make(self, trial: Trial) -> JsonLines:
        self._write_params(trial)
        return JsonLines(os.path.join(trial.local_path, RESULT_FILE))

    def _forget(self, trial_id: str) -> JsonLines | None:
        self._configs.pop(trial_id, None)
        return super()._forget(trial_id)

    def _resumed(self, trial: Trial, writer: JsonLines) -> None:
        written = self._configs.get(trial.trial_id)
        if written is not trial.config and written != trial.config:
            self._write_params(trial)

    def _write_params(self, trial: Trial) -> None:
        unjsonable: list[str] = []

        def default(value: Any) -> Any:
            converted = plain(value)
            if converted is not value:
                return converted
            if isinstance(value, (set, frozenset)):
                return list(value)
            unjsonable.append(repr(value))
            return repr(value)

        try:
            text = json.dumps(trial.config, default=default, indent=2, sort_keys=True)
        except (TypeError, ValueError):
            text = json.dumps(sanitise(trial.config, 0), default=default, indent=2)
        if unjsonable and not self._warned_repr:
            self._warned_repr = True
            logger.warning(
                "%s: config values that are not JSON are written as their repr(), e.g. %s",
                PARAMS_FILE,
                unjsonable[0],
            )
        path = os.path.join(trial.local_path, PARAMS_FILE)
        earlier = self._params_writes.get(trial.trial_id)
        if earlier is not None:
            earlier.result()  # long done (the writes run in order): raises what it raised
        self._params_writes[trial.trial_id] = in_background(_write_text, path, text)
        self._configs[trial.trial_id] = trial.config

    def _settle(self, trial_id: str | None = None) -> None:
        """Wait for the ``params.json`` being written (a trial's, or all); raise what writing
        one raised."""
        if trial_id is not None:
            write = self._params_writes.pop(trial_id, None)
            writes = [] if write is None else [write]
        else:
            writes, self._params_writes = list(self._params_writes.values()), {}
        for write in writes:
            write.result()

    def flush(self) -> None:
        super().flush()
        self._settle()

    def log_trial_end(self, trial: Trial, failed: bool = False) -> None:
        super().log_trial_end(trial, failed)
        self._settle(trial.trial_id)  # submitted when it started: done, but for its error

    def release_directory(self, directory: str) -> None:
        super().release_directory(directory)
        self._settle()

    def on_experiment_end(self, trials: Sequence[Trial], **info: Any) -> None:
        super().on_experiment_end(trials, **info)
        self._settle()


class CSVLoggerCallback(_PerTrialLogger[CsvRows]):
    """Writes ``progress.csv``: one row per result, nested keys flattened with ``/``.

    The header comes from the first result; a later result with new keys widens it (the file is
    rewritten once with the new columns, earlier rows left blank there).

    Example:
        >>> CSVLoggerCallback().flush()
    """

    def _make(self, trial: Trial) -> CsvRows:
        return CsvRows(os.path.join(trial.local_path, PROGRESS_FILE))


class TBXLoggerCallback(_PerTrialLogger[TensorBoardEvents]):
    """Writes TensorBoard event files: scalars per result, hparams at the end.

    Every numeric value of a result (nested keys flattened with ``/``) is logged under the tag
    ``tune/<key>`` at step ``training_iteration``; when a trial completes or fails, its config is
    written with the hparams plugin so ``tensorboard --logdir <experiment>`` can compare trials.
    A trial writes one event file from its start to its end, pauses included; one that starts
    again after its files were cut back (a rewind, a restore) writes a new one beside.

    Example:
        >>> TBXLoggerCallback().flush()
    """

    def __init__(self) -> None:
        super().__init__()
        self._now: Callable[[], float] = time.time

    def setup(self, *args: Any, **info: Any) -> None:
        """Stamp events with the experiment's clock (virtual time under `SimulatedExecutor`)."""
        clock: Clock | None = info.get("clock")
        self._now = time.time if clock is None else clock.time

    def _make(self, trial: Trial) -> TensorBoardEvents:
        return TensorBoardEvents(trial.local_path, trial.config, self._now)

    def _resumed(self, trial: Trial, writer: TensorBoardEvents) -> None:
        writer.config = trial.config  # PBT may have changed it

    def _ending(self, writer: TensorBoardEvents) -> None:
        writer.write()
        writer.write_hparams()


def _write_text(path: str, text: str) -> None:
    with open_creating(path, "w") as file:
        file.write(text)


_DEFAULTS: weakref.WeakSet[Callback] = weakref.WeakSet()
"""The loggers `default_logger_callbacks` made (told apart from ones a user passes)."""


DISABLE_ENV = "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS"
"""Set to 1, experiments get no default loggers (Ray Tune's variable): only the callbacks passed
in `RunConfig(callbacks)` write trial output."""


def default_logger_callbacks() -> list[Callback]:
    """The loggers every experiment gets: JSON, CSV and TensorBoard (none with
    ``TUNE_DISABLE_AUTO_CALLBACK_LOGGERS=1``).

    Example:
        >>> [type(c).__name__ for c in default_logger_callbacks()]
        ['JsonLoggerCallback', 'CSVLoggerCallback', 'TBXLoggerCallback']
    """
    if os.environ.get(DISABLE_ENV, "0") == "1":
        return []
    loggers: list[Callback] = [JsonLoggerCallback(), CSVLoggerCallback(), TBXLoggerCallback()]
    _DEFAULTS.update(loggers)
    return loggers


def calling_order(callbacks: Sequence[Callback]) -> list[Callback]:
    """The order hooks are called in, as Ray Tune's: the user's callbacks, then the default
    loggers, less those of a class (or a subclass) the user passed an instance of.

    The loggers come last so that they record what callbacks change in a result, and a logger
    the user configured is not doubled by a default one writing the same file.

    Example:
        >>> mine = CSVLoggerCallback()
        >>> [type(c).__name__ for c in calling_order([*default_logger_callbacks(), mine])]
        ['CSVLoggerCallback', 'JsonLoggerCallback', 'TBXLoggerCallback']
    """
    own = [c for c in callbacks if c not in _DEFAULTS]
    defaults = [c for c in callbacks if c in _DEFAULTS]
    return own + [d for d in defaults if not any(isinstance(c, type(d)) for c in own)]


__all__ = [
    "CSVLoggerCallback",
    "JsonLoggerCallback",
    "LoggerCallback",
    "TBXLoggerCallback",
    "calling_order",
    "default_logger_callbacks",
    "flatten",
]
