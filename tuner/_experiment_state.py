"""Experiment state: everything needed to resume an experiment, saved as versioned JSON.

Layout under `<storage_path>/<name>/` (see docs/experiment_state.md for every field):

    experiment_state-a.json, experiment_state-b.json
        Two slots written alternately, each whole or absent (atomic writes). A reader takes the
        valid one with the higher `sequence`, so a crash or a corrupt file during one save still
        leaves the previous state.

Saving is incremental: a trial's JSON is cached and rebuilt only when the trial changed, and
finished trials are never serialised again, so the cost of a save does not grow with results.
The period adapts so that saving takes at most 5% of wall time (period = max(minimum, 19 x last
save duration)); `TUNE_GLOBAL_CHECKPOINT_S` (seconds or "auto") overrides it, then
`RunConfig(experiment_checkpoint_period_s=...)`.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import cloudpickle

from schedulers import TrialStatus
from tuner._storage import atomic_write_bytes, join, read_bytes
from tuner._trial import CheckpointRecord, StatusChange, Trial
from tuner.exceptions import ConfigError, RestoreError

if TYPE_CHECKING:
    import fsspec

logger = logging.getLogger(__name__)

FORMAT = "tuner-experiment-state"
FORMAT_VERSION = 1
SLOTS = ("experiment_state-a.json", "experiment_state-b.json")
MIN_PERIOD_S = 5.0
_PICKLED = "__pickled__"


def checkpoint_period_setting(run_config_value: float | str) -> float | None:
    """The fixed save period in seconds, or None for "auto" (the only reader of the env var)."""
    raw = os.environ.get("TUNE_GLOBAL_CHECKPOINT_S")
    source = "TUNE_GLOBAL_CHECKPOINT_S"
    if raw is None:
        raw, source = str(run_config_value), "RunConfig(experiment_checkpoint_period_s)"
    if raw.strip().lower() == "auto":
        return None
    try:
        period = float(raw)
    except ValueError:
        period = -1.0
    if not period > 0:
        raise ConfigError(f"{source} must be a number of seconds > 0 or 'auto', got {raw!r}")
    return period


# ---------------------------------------------------------------------------- values
_warned_pickle = False


def encode_value(value: Any) -> Any:
    """`value` as JSON data; what JSON cannot carry is cloudpickled, base64, and marked."""
    global _warned_pickle
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        return {k: encode_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [encode_value(v) for v in value]
    if not _warned_pickle:
        _warned_pickle = True
        logger.warning(
            "a trial config holds %r, which JSON cannot carry; experiment state stores it "
            "cloudpickled (marked %r), readable only by Python with the same classes",
            value,
            _PICKLED,
        )
    return {_PICKLED: base64.b64encode(cloudpickle.dumps(value)).decode("ascii"), "repr": repr(value)}


def decode_value(data: Any) -> Any:
    if isinstance(data, dict):
        if _PICKLED in data and set(data) <= {_PICKLED, "repr"}:
            return cloudpickle.loads(base64.b64decode(data[_PICKLED]))
        return {k: decode_value(v) for k, v in data.items()}
    if isinstance(data, list):
        return [decode_value(v) for v in data]
    return data


# ---------------------------------------------------------------------------- trials
def trial_to_json(trial: Trial) -> dict[str, Any]:
    return {
        "trial_id": trial.trial_id,
        "name": trial.name,
        "config": encode_value(trial.config),
        "path": trial.path,
        "resources": dict(trial.resources),
        "status": trial.status.value,
        "history": [[c.status.value, c.time] for c in trial.history],
        "last_result": encode_value(trial.last_result),
        "num_failures": trial.num_failures,
        "error": trial.error,
        "checkpoints": [encode_value(c.to_dict()) for c in trial.checkpoints],
        "next_checkpoint_index": trial.next_checkpoint_index,
        "restore_from": None if trial.restore_from is None else trial.restore_from.index,
    }


def trial_from_json(data: Mapping[str, Any]) -> Trial:
    checkpoints = [CheckpointRecord.from_dict(decode_value(c)) for c in data["checkpoints"]]
    restore_index = data.get("restore_from")
    restore = next((c for c in checkpoints if c.index == restore_index), None)
    return Trial(
        trial_id=data["trial_id"],
        name=data["name"],
        config=decode_value(data["config"]),
        path=data["path"],
        resources=dict(data["resources"]),
        status=TrialStatus(data["status"]),
        history=[StatusChange(TrialStatus(s), float(t)) for s, t in data["history"]],
        last_result=decode_value(data["last_result"]),
        num_failures=int(data["num_failures"]),
        error=data.get("error"),
        checkpoints=checkpoints,
        next_checkpoint_index=int(data["next_checkpoint_index"]),
        restore_from=restore,
    )


def _fingerprint(trial: Trial) -> tuple[Any, ...]:
    latest = trial.checkpoints[-1].index if trial.checkpoints else None
    restore = trial.restore_from.index if trial.restore_from is not None else None
    return (
        trial.status,
        len(trial.history),
        id(trial.last_result),
        len(trial.checkpoints),
        latest,
        trial.num_failures,
        restore,
        id(trial.config),
    )


# ---------------------------------------------------------------------------- saving
class ExperimentSaver:
    """Saves experiment state now and then, within a time budget; a periodic task of the loop.

    Args:
        fs: The experiment's filesystem.
        path: The experiment directory.
        header: Returns the state without trials (settings, searcher, scheduler, stopper...).
        trials: Returns the trials in creation order.
        period_s: A fixed period, or None to adapt (at most 5% of wall time).
        sequence: The sequence number of the last save (continued after a restore).
        before_save: Writes trial output files (flush, upload) before the state that counts them.
    """

    def __init__(
        self,
        fs: fsspec.AbstractFileSystem,
        path: str,
        header: Callable[[], dict[str, Any]],
        trials: Callable[[], Any],
        *,
        period_s: float | None = None,
        sequence: int = 0,
        before_save: Callable[[], None] = lambda: None,
    ) -> None:
        self._fs, self._path = fs, path
        self._before_save = before_save
        self._header, self._trials = header, trials
        self._fixed = period_s
        self._period = period_s if period_s is not None else MIN_PERIOD_S
        self._next = 0.0
        self._cache: dict[str, tuple[tuple[Any, ...] | None, str]] = {}
        self.sequence = sequence
        self.total_s = 0.0
        """Seconds spent writing the state (the figure the 5% budget is about)."""
        self.flush_s = 0.0
        """Seconds spent flushing trial output files before saves."""
        self.count = 0
        self.last_bytes = 0

    def due_in(self, now: float) -> float:
        return max(0.0, self._next - now)

    def run(self, now: float) -> None:
        self.save()
        self._next = now + self._period

    def _trial_json(self, trial: Trial) -> str:
        cached = self._cache.get(trial.trial_id)
        if cached is not None and cached[0] is None:
            return cached[1]  # finished when last serialised: it does not change any more
        fingerprint = _fingerprint(trial)
        if cached is not None and cached[0] == fingerprint:
            return cached[1]
        text = json.dumps(trial_to_json(trial), separators=(",", ":"))
        self._cache[trial.trial_id] = (None if trial.status.is_finished else fingerprint, text)
        return text

    def save(self) -> None:
        """Write the whole state now (atomically, into the older of the two slots)."""
        # Trial output files first: every result the state counts is then on storage too. That
        # time is the loggers' (their flushes are due anyway) and is counted apart.
        flush_start = time.perf_counter()
        self._before_save()
        start = time.perf_counter()
        self.flush_s += start - flush_start
        self.sequence += 1
        header = self._header()
        header["sequence"] = self.sequence
        trials = ",".join(self._trial_json(t) for t in self._trials())
        head = json.dumps(header, separators=(",", ":"))
        data = f'{head[:-1]},"trials":[{trials}]}}'.encode()
        atomic_write_bytes(self._fs, join(self._path, SLOTS[self.sequence % 2]), data)
        duration = time.perf_counter() - start
        self.total_s += duration
        self.count += 1
        self.last_bytes = len(data)
        if self._fixed is None:
            # The loop waits for the flush too (uploads, on remote storage): it counts here.
            self._period = max(MIN_PERIOD_S, 19.0 * (duration + start - flush_start))


# ---------------------------------------------------------------------------- loading
def _read_slot(fs: fsspec.AbstractFileSystem, path: str) -> dict[str, Any] | None:
    try:
        data = json.loads(read_bytes(fs, path))
    except FileNotFoundError:
        return None
    except (ValueError, UnicodeDecodeError) as exc:
        logger.warning("experiment state %s is unreadable (%s); trying the other copy", path, exc)
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        logger.warning("%s is not a tuner experiment state; trying the other copy", path)
        return None
    return data


def has_state(fs: fsspec.AbstractFileSystem, path: str) -> bool:
    return any(fs.exists(join(path, slot)) for slot in SLOTS)


def load_state(fs: fsspec.AbstractFileSystem, path: str) -> dict[str, Any]:
    """The newest valid experiment state under `path`.

    Raises:
        RestoreError: No state there, only unreadable copies, or a newer format version.
    """
    found = [s for s in (_read_slot(fs, join(path, slot)) for slot in SLOTS) if s is not None]
    if not found:
        present = [slot for slot in SLOTS if fs.exists(join(path, slot))]
        if present:
            raise RestoreError(
                f"the experiment state at {path} is unreadable ({', '.join(present)} "
                "corrupt or truncated): nothing to restore safely"
            )
        raise RestoreError(
            f"no experiment found at {path}: looked for {SLOTS[0]} or {SLOTS[1]} there; pass "
            "the experiment directory, i.e. <storage_path>/<name>"
        )
    state = max(found, key=lambda s: int(s.get("sequence", 0)))
    version = int(state.get("format_version", 0))
    if version > FORMAT_VERSION:
        raise RestoreError(
            f"the experiment state at {path} has format version {version}, newer than this "
            f"tuner reads ({FORMAT_VERSION}): upgrade tuner to restore it"
        )
    return state
