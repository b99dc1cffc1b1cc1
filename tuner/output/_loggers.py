"""Trial output files: ``params.json``, ``result.json``, ``progress.csv`` and TensorBoard events.

Each logger is a `LoggerCallback` writing into `trial.local_path`. They are built for an event
loop delivering thousands of results a second: files stay open while a trial runs, results are
buffered in memory and written in `flush()` (and when a trial stops, pauses or fails), and nothing
about a trial is kept once it ends. The engine gives every experiment one of each
(`default_logger_callbacks`), after the user's callbacks, unless `RunConfig(callbacks)` holds
one of the same class already. The ``trial`` they are given needs ``trial_id``, ``config`` and
``local_path`` (`tuner.experiment.Trial` has them; so has the `TrialInfo` below).

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
    '{"loss": 0.5, "training_iteration": 1}\\n'
"""

from __future__ import annotations

import csv
import glob
import json
import logging
import math
import operator
import os
import time
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from tuner._callback import Callback, LoggerCallback
from tuner.output._tb_events import EventFile
from tuner.output._tbx import tbx

if TYPE_CHECKING:
    from tuner.experiment import Trial

logger = logging.getLogger(__name__)


class _TrialFiles(Protocol):
    def write(self) -> None: ...

    def close(self) -> None: ...


_State = TypeVar("_State", bound=_TrialFiles)

PARAMS_FILE = "params.json"
RESULT_FILE = "result.json"
PROGRESS_FILE = "progress.csv"

# Result fields that are not metrics worth a TensorBoard curve (as in Ray Tune).
_TB_EXCLUDED = frozenset({"config", "pid", "timestamp", "training_iteration"})
_TB_TAG_PREFIX = "tune/"


def _plain(value: Any) -> Any:
    """numpy scalars and arrays as Python values; anything else unchanged."""
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        return value.tolist()
    return value


def _json_default(value: Any) -> Any:
    plain = _plain(value)
    if plain is not value:
        return plain
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return repr(value)


_ENCODER = json.JSONEncoder(default=_json_default)  # built once: json.dumps(default=) builds one per call


def _to_json(value: Any, **kwargs: Any) -> str:
    try:
        if not kwargs:
            return _ENCODER.encode(value)
        return json.dumps(value, default=_json_default, **kwargs)
    except (TypeError, ValueError):
        # Non-string dict keys or circular references: fall back to a sanitised copy.
        return json.dumps(_sanitise(value, depth=0), default=_json_default, **kwargs)


def _sanitise(value: Any, depth: int) -> Any:
    if depth > 50:
        return repr(value)
    if isinstance(value, Mapping):
        return {str(k): _sanitise(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_sanitise(v, depth + 1) for v in value]
    return value


def flatten(result: Mapping[str, Any], sep: str = "/") -> dict[str, Any]:
    """Flatten nested mappings into one level, joining keys with ``sep``.

    Example:
        >>> flatten({"a": {"b": 1}, "c": 2})
        {'a/b': 1, 'c': 2}
    """
    for value in result.values():
        kind = type(value)
        if kind is dict or (kind not in _SCALAR_TYPES and isinstance(value, Mapping)):
            break
    else:
        return dict(result)  # the common case: nothing nested
    flat: dict[str, Any] = {}
    _flatten_into(flat, result, "", sep)
    return flat


_SCALAR_TYPES = frozenset({float, int, str, bool, type(None)})


def _flatten_into(flat: dict[str, Any], mapping: Mapping[str, Any], prefix: str, sep: str) -> None:
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            _flatten_into(flat, value, name + sep, sep)
        else:
            flat[name] = value


class _PerTrialLogger(LoggerCallback, Generic[_State]):
    """What the file loggers share: per-trial state opened on start, written in `flush()`,
    closed (after a last write) when the trial pauses, fails or ends; nothing kept once it ended.

    A failed trial's files are closed before it is retried: the engine cuts them back to the
    checkpoint it resumes from before it starts again, and nothing buffered may land after that.
    """

    def __init__(self) -> None:
        self._trials: dict[str, _State] = {}

    def _open(self, trial: Trial) -> _State:
        raise NotImplementedError

    def _close(self, trial_id: str) -> None:
        state = self._trials.pop(trial_id, None)
        if state is not None:
            state.write()
            state.close()

    def log_trial_start(self, trial: Trial) -> None:
        self._open(trial)

    def log_trial_end(self, trial: Trial, failed: bool = False) -> None:
        self._close(trial.trial_id)

    def flush(self) -> None:
        for state in self._trials.values():
            state.write()

    def on_trial_pause(
        self, iteration: int, trials: Sequence[Trial], trial: Trial, **info: Any
    ) -> None:
        self._close(trial.trial_id)

    def on_trial_recover(
        self, iteration: int, trials: Sequence[Trial], trial: Trial, **info: Any
    ) -> None:
        self._close(trial.trial_id)

    def on_experiment_end(self, trials: Sequence[Trial], **info: Any) -> None:
        for trial_id in list(self._trials):
            self._close(trial_id)


class JsonLoggerCallback(_PerTrialLogger["_JsonTrial"]):
    """Writes ``params.json`` (the config) and ``result.json`` (one JSON object per line).

    Config values that are not JSON (classes, functions, objects) are written as their
    ``repr()``; numpy scalars are written as numbers.

    Example:
        >>> JsonLoggerCallback().flush()
    """

    def __init__(self) -> None:
        super().__init__()
        self._warned_repr = False

    def log_trial_result(self, iteration: int, trial: Trial, result: dict[str, Any]) -> None:
        state = self._trials.get(trial.trial_id) or self._open(trial)
        state.lines.append(_to_json(result) + "\n")

    def _open(self, trial: Trial) -> _JsonTrial:
        if trial.trial_id in self._trials:
            return self._trials[trial.trial_id]
        os.makedirs(trial.local_path, exist_ok=True)
        self._write_params(trial)
        file = open(os.path.join(trial.local_path, RESULT_FILE), "a", encoding="utf-8")  # noqa: SIM115
        state = self._trials[trial.trial_id] = _JsonTrial(file)
        return state

    def _write_params(self, trial: Trial) -> None:
        unjsonable: list[str] = []

        def default(value: Any) -> Any:
            plain = _plain(value)
            if plain is not value:
                return plain
            if isinstance(value, (set, frozenset)):
                return list(value)
            unjsonable.append(repr(value))
            return repr(value)

        try:
            text = json.dumps(trial.config, default=default, indent=2, sort_keys=True)
        except (TypeError, ValueError):
            text = json.dumps(_sanitise(trial.config, 0), default=default, indent=2)
        if unjsonable and not self._warned_repr:
            self._warned_repr = True
            logger.warning(
                "%s: config values that are not JSON are written as their repr(), e.g. %s",
                PARAMS_FILE,
                unjsonable[0],
            )
        with open(os.path.join(trial.local_path, PARAMS_FILE), "w", encoding="utf-8") as file:
            file.write(text)



@dataclass
class _JsonTrial:
    file: IO[str]
    lines: list[str] = field(default_factory=list)

    def write(self) -> None:
        if self.lines:
            self.file.write("".join(self.lines))
            self.lines.clear()
            self.file.flush()

    def close(self) -> None:
        self.file.close()


class CSVLoggerCallback(_PerTrialLogger["_CsvTrial"]):
    """Writes ``progress.csv``: one row per result, nested keys flattened with ``/``.

    The header comes from the first result; a later result with new keys widens it (the file is
    rewritten once with the new columns, earlier rows left blank there).

    Example:
        >>> CSVLoggerCallback().flush()
    """

    def log_trial_result(self, iteration: int, trial: Trial, result: dict[str, Any]) -> None:
        state = self._trials.get(trial.trial_id) or self._open(trial)
        state.rows.append(flatten(result))

    def _open(self, trial: Trial) -> _CsvTrial:
        if trial.trial_id in self._trials:
            return self._trials[trial.trial_id]
        os.makedirs(trial.local_path, exist_ok=True)
        path = os.path.join(trial.local_path, PROGRESS_FILE)
        fieldnames = _read_header(path)
        file = open(path, "a", encoding="utf-8", newline="")  # noqa: SIM115
        state = self._trials[trial.trial_id] = _CsvTrial(path, file, fieldnames)
        return state



def _read_header(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8", newline="") as file:
            return next(csv.reader(file), [])
    except FileNotFoundError:
        return []


@dataclass
class _CsvTrial:
    path: str
    file: IO[str]
    fieldnames: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)

    def write(self) -> None:
        if not self.rows:
            return
        known = set(self.fieldnames)
        new_keys: list[str] = []
        for row in self.rows:
            if not known.issuperset(row):
                for key in row:
                    if key not in known:
                        known.add(key)
                        new_keys.append(key)
        if new_keys:
            if self.fieldnames:
                self._widen(self.fieldnames + new_keys)
            else:
                self.fieldnames = new_keys
                csv.writer(self.file).writerow(self.fieldnames)
        get = [operator.itemgetter(key) for key in self.fieldnames]
        if all(len(row) == len(get) for row in self.rows):  # the common case: every column set
            rows: Any = ([g(row) for g in get] for row in self.rows)
        else:
            rows = ([row.get(key, "") for key in self.fieldnames] for row in self.rows)
        csv.writer(self.file).writerows(rows)
        self.rows.clear()
        self.file.flush()

    def close(self) -> None:
        self.file.close()

    def _widen(self, fieldnames: list[str]) -> None:
        # Rare: a result brought new keys. Rewrite the file once rather than lose columns.
        logger.debug("%s: new columns %s, rewriting", self.path, fieldnames[len(self.fieldnames) :])
        self.file.close()
        tmp = f"{self.path}.tmp-widen"
        with (
            open(self.path, encoding="utf-8", newline="") as old,
            open(tmp, "w", encoding="utf-8", newline="") as new,
        ):
            reader = csv.reader(old)
            next(reader, None)
            writer = csv.writer(new)
            writer.writerow(fieldnames)
            padding = [""] * (len(fieldnames) - len(self.fieldnames))
            writer.writerows(row + padding for row in reader)
        os.replace(tmp, self.path)
        self.fieldnames = fieldnames
        self.file = open(self.path, "a", encoding="utf-8", newline="")  # noqa: SIM115


class TBXLoggerCallback(_PerTrialLogger["_TbxTrial"]):
    """Writes TensorBoard event files with tensorboardX: scalars per result, hparams at the end.

    Every numeric value of a result (nested keys flattened with ``/``) is logged under the tag
    ``tune/<key>`` at step ``training_iteration``; when a trial completes or fails, its config is
    written with the hparams plugin so ``tensorboard --logdir <experiment>`` can compare trials.
    Writers are closed when a trial stops, pauses or fails and reopened (in a new event file of
    the same directory) when it resumes.

    Example:
        >>> TBXLoggerCallback().flush()
    """

    def log_trial_result(self, iteration: int, trial: Trial, result: dict[str, Any]) -> None:
        state = self._trials.get(trial.trial_id) or self._open(trial)
        state.results += 1
        state.pending.append((state.results, result))  # turned into an event in flush()

    def log_trial_end(self, trial: Trial, failed: bool = False) -> None:
        self._close(trial.trial_id, write_hparams=True)

    def _open(self, trial: Trial) -> _TbxTrial:
        if trial.trial_id in self._trials:
            return self._trials[trial.trial_id]
        # Events are buffered here and written in flush(), without SummaryWriter's queue and
        # thread, which cost more per result than the rest of the event loop.
        os.makedirs(trial.local_path, exist_ok=True)
        # Event file names hold the second they were created: a trial resumed within the same
        # second would truncate its earlier file without a distinct suffix.
        opened = len(
            glob.glob(os.path.join(glob.escape(trial.local_path), "events.out.tfevents.*"))
        )
        writer = EventFile(trial.local_path, f".{opened}")
        state = self._trials[trial.trial_id] = _TbxTrial(writer, trial.config)
        return state

    def _close(self, trial_id: str, *, write_hparams: bool = False) -> None:
        state = self._trials.get(trial_id)
        if state is not None and write_hparams:
            state.write()
            state.write_hparams()
        super()._close(trial_id)


def _scalars(
    count: int, result: Mapping[str, Any]
) -> tuple[int, float | None, list[tuple[str, float]]]:
    """A result's step, wall time and numeric values as TensorBoard scalars."""
    step = _plain(result.get("training_iteration"))
    if not isinstance(step, int) or isinstance(step, bool):
        step = count
    walltime = _plain(result.get("timestamp"))
    if not isinstance(walltime, (int, float)) or isinstance(walltime, bool):
        walltime = None
    scalars = []
    for key, value in flatten(result).items():
        kind = type(value)
        if kind is not float and kind is not int:  # fast path for the common types
            value = _plain(value)
            if not isinstance(value, (int, float)):
                continue
        if key not in _TB_EXCLUDED and not key.startswith("config/"):
            scalars.append((_TB_TAG_PREFIX + key, float(value)))
    return step, walltime, scalars


@dataclass
class _TbxTrial:
    writer: EventFile
    config: Mapping[str, Any]
    results: int = 0
    pending: list[tuple[int, Mapping[str, Any]]] = field(default_factory=list)
    last_scalars: list[tuple[str, float]] = field(default_factory=list)

    def write(self) -> None:
        if not self.pending:
            return
        # One event per result holding all its scalars, rather than one per scalar.
        now = time.time()
        for count, result in self.pending:
            step, walltime, scalars = _scalars(count, result)
            self.last_scalars = scalars
            self.writer.write_scalars(walltime if walltime is not None else now, step, scalars)
        self.pending.clear()
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()

    def write_hparams(self) -> None:
        hparams = tbx()["tensorboardX.summary"].hparams

        hparam_dict = {}
        for key, value in flatten(self.config).items():
            value = _plain(value)
            if value is None:
                continue
            if not isinstance(value, (bool, int, float, str)):
                value = str(value)
            hparam_dict[key] = value
        if not hparam_dict:
            return
        Event = tbx()["tensorboardX.proto.event_pb2"].Event

        metric_dict = {tag: value for tag, value in self.last_scalars if math.isfinite(value)}
        for summary in hparams(hparam_dict, metric_dict):
            self.writer.write_event(Event(wall_time=time.time(), summary=summary))


_DEFAULTS: weakref.WeakSet[Callback] = weakref.WeakSet()
"""The loggers `default_logger_callbacks` made (told apart from ones a user passes)."""


def default_logger_callbacks() -> list[Callback]:
    """The loggers every experiment gets: JSON, CSV and TensorBoard.

    Example:
        >>> [type(c).__name__ for c in default_logger_callbacks()]
        ['JsonLoggerCallback', 'CSVLoggerCallback', 'TBXLoggerCallback']
    """
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
