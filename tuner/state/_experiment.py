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
`RunConfig(experiment_checkpoint_period_s=...)`. The saver reads the clock it is given: the
Tuner gives it the experiment's clock for a fixed period (virtual seconds under
`SimulatedExecutor`), and the real clock for "auto", whose 5% bounds the real work of saving
(a save takes no virtual time, so in virtual time it would be due at every turn).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from schedulers import TrialStatus
from tuner._clock import Clock, SystemClock
from tuner._trial import CheckpointRecord, StatusChange, Trial
from tuner.exceptions import ConfigError, RestoreError
from tuner.state._schema import NOT_JSON, OLD_PICKLED, TUPLE, not_json_repr, state_problem
from tuner.storage._filesystem import atomic_write_bytes, is_local, join, read_bytes

if TYPE_CHECKING:
    import fsspec

logger = logging.getLogger(__name__)

FORMAT = "tuner-experiment-state"
FORMAT_VERSION = 1
SLOTS = ("experiment_state-a.json", "experiment_state-b.json")
MIN_PERIOD_S = 5.0
MIN_END_SPACING_S = 1.0
"""Saves made because trials ended are at least this far apart."""


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
_warned_not_json = False


def encode_value(value: Any, *, warn: bool = True) -> Any:
    """`value` as JSON data; numpy numbers as numbers, what JSON cannot carry as its repr.

    Nothing is pickled: the state stays data that no reader runs. A value JSON cannot carry (an
    object, a tuple, a dict with non-str keys) is stored as `{NOT_JSON: repr(value)}`; a restore
    takes it back from the `param_space` passed to `Tuner.restore` (see `tuner.state._restore`).
    """
    global _warned_not_json
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if (
        isinstance(value, Mapping)
        and all(isinstance(k, str) for k in value)
        and NOT_JSON not in value  # a dict that would read as a marker is not stored as one
        and OLD_PICKLED not in value
        and TUPLE not in value
    ):
        return {k: encode_value(v, warn=warn) for k, v in value.items()}
    if isinstance(value, list):
        return [encode_value(v, warn=warn) for v in value]
    if type(value) is tuple:
        return {TUPLE: [encode_value(v, warn=warn) for v in value]}
    if type(value).__module__ == "numpy" and getattr(value, "shape", None) == ():
        plain = value.item()  # numpy scalars: as result.json writes them (numpy not imported)
        if plain is None or isinstance(plain, bool | int | float | str):
            return plain
    text = _repr(value)
    if warn and not _warned_not_json:
        _warned_not_json = True
        logger.warning(
            "a trial config or result holds %s, which JSON cannot carry; the experiment state "
            "stores only its repr (as {%r: ...}): to restore the experiment, pass the "
            "param_space that holds it to Tuner.restore again",
            text[:200],
            NOT_JSON,
        )
    return {NOT_JSON: text}


def _repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception as exc:  # noqa: BLE001 - a broken __repr__ must not stop the save
        return f"<{type(value).__qualname__} object: repr() raised {type(exc).__name__}>"


def _header_default(value: Any) -> Any:
    return encode_value(value)


def decode_value(data: Any) -> Any:
    """JSON data from `encode_value` as Python data; each marked value as its repr (a str).

    Never unpickles anything: reading an experiment must not run code from it.
    """
    text = not_json_repr(data)
    if text is not None:
        return text
    if isinstance(data, dict) and len(data) == 1 and isinstance(data.get(TUPLE), list):
        return tuple(decode_value(v) for v in data[TUPLE])
    if isinstance(data, dict):
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
        "num_results": trial.num_results,
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
        num_results=int(data.get("num_results", 0)),
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
        finished: Returns how many trials have ended (TERMINATED or ERROR). When it grows, a save
            is due as soon as the budget allows (19 x the last save's cost after it, and at least
            `MIN_END_SPACING_S`), not at the end of the period: a crash right after trials end
            then reruns none of them.
        clock: Measures what a save costs (the experiment's clock; real time by default).
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
        finished: Callable[[], int] = lambda: 0,
        clock: Clock | None = None,
    ) -> None:
        self._fs, self._path = fs, path
        self._clock = clock if clock is not None else SystemClock()
        self._finished = finished
        self._finished_saved = 0
        self._disabled: str | None = None
        self._earliest = 0.0
        """When the budget allows the next save: 19 x the last one's cost after it."""
        self._before_save = before_save
        self._header, self._trials = header, trials
        self._fixed = period_s
        self._period = period_s if period_s is not None else MIN_PERIOD_S
        self._next = 0.0
        self._cache: dict[str, tuple[int | None, str]] = {}
        self.sequence = sequence
        self.total_s = 0.0
        """Seconds spent writing the state (the figure the 5% budget is about)."""
        self.flush_s = 0.0
        """Seconds spent flushing trial output files before saves."""
        self.count = 0
        self.last_bytes = 0

    @property
    def disabled(self) -> str | None:
        """Why saving was switched off, or None."""
        return self._disabled

    def disable(self, reason: str) -> None:
        """Save nothing from now on (the experiment's lock was lost to another run)."""
        self._disabled = reason

    def due_in(self, now: float) -> float:
        if self._disabled is not None:
            return float("inf")
        due = self._next
        if self._finished() != self._finished_saved:
            due = min(due, self._earliest)
        return max(0.0, due - now)

    def run(self, now: float) -> None:
        cost = self.save()
        self._next = now + self._period
        # The save itself, then 19 times as long without (5%); and trials that end in quick
        # succession share a save rather than each paying for one.
        self._earliest = now + max(MIN_END_SPACING_S, 20.0 * cost)

    def _trial_json(self, trial: Trial) -> str:
        cached = self._cache.get(trial.trial_id)
        if cached is not None and cached[0] is None:
            return cached[1]  # finished when last serialised: it does not change any more
        fingerprint = trial.revision
        if cached is not None and cached[0] == fingerprint:
            return cached[1]
        text = json.dumps(trial_to_json(trial), separators=(",", ":"))
        self._cache[trial.trial_id] = (None if trial.status.is_finished else fingerprint, text)
        return text

    def save(self) -> float:
        """Write the whole state now (atomically, into the older of the two slots).

        Returns:
            The seconds it took, flushing the trial output files included.
        """
        if self._disabled is not None:
            logger.warning("not saving the experiment state: %s", self._disabled)
            return 0.0
        self._finished_saved = self._finished()
        # Trial output files first: every result the state counts is then on storage too. That
        # time is the loggers' (their flushes are due anyway) and is counted apart.
        flush_start = self._clock.monotonic()
        self._before_save()
        start = self._clock.monotonic()
        self.flush_s += start - flush_start
        self.sequence += 1
        header = self._header()
        header["sequence"] = self.sequence
        trials = ",".join(self._trial_json(t) for t in self._trials())
        # Searcher and scheduler states are plain JSON by contract; a value that is not (a PBT
        # exploit's config holding an object) is stored as its repr rather than stop the save.
        head = json.dumps(header, separators=(",", ":"), default=_header_default)
        data = f'{head[:-1]},"trials":[{trials}]}}'.encode()
        atomic_write_bytes(self._fs, join(self._path, SLOTS[self.sequence % 2]), data)
        duration = self._clock.monotonic() - start
        self.total_s += duration
        self.count += 1
        self.last_bytes = len(data)
        cost = duration + start - flush_start
        if self._fixed is None:
            # The loop waits for the flush too (uploads, on remote storage): it counts here.
            self._period = max(MIN_PERIOD_S, 19.0 * cost)
        return cost


# ---------------------------------------------------------------------------- loading
def _read_slot(fs: fsspec.AbstractFileSystem, path: str) -> dict[str, Any] | None:
    try:
        data = json.loads(read_bytes(fs, path))
    except FileNotFoundError:
        return None
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: deep nesting
        logger.warning("experiment state %s is unreadable (%s); trying the other copy", path, exc)
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        logger.warning("%s is not a tuner experiment state; trying the other copy", path)
        return None
    return data


def has_state(fs: fsspec.AbstractFileSystem, path: str) -> bool:
    exists = os.path.exists if is_local(fs) else fs.exists
    return any(exists(join(path, slot)) for slot in SLOTS)


def _sequence(state: Mapping[str, Any]) -> int:
    sequence = state.get("sequence")
    return sequence if isinstance(sequence, int) and not isinstance(sequence, bool) else -1


def load_state(fs: fsspec.AbstractFileSystem, path: str) -> dict[str, Any]:
    """The newest valid experiment state under `path`.

    Each slot's shape is checked (`tuner.state._schema`): if the newest is unreadable or
    malformed, the other one is taken, with a warning that says why.

    Raises:
        RestoreError: No state there, only unreadable or malformed copies (the message names the
            slot and the path of what is wrong in it), or a newer format version.
    """
    found = [(slot, s) for slot in SLOTS if (s := _read_slot(fs, join(path, slot))) is not None]
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
    found.sort(key=lambda item: _sequence(item[1]), reverse=True)
    problems: list[str] = []
    for slot, state in found:
        version = state.get("format_version")
        if isinstance(version, int) and version > FORMAT_VERSION:
            raise RestoreError(
                f"the experiment state at {path} has format version {version}, newer than this "
                f"tuner reads ({FORMAT_VERSION}): upgrade tuner to restore it"
            )
        problem = state_problem(state)
        if problem is None:
            if problems:
                logger.warning("the experiment state at %s is malformed (%s); using %s "
                               "(sequence %d), saved before it", path, "; ".join(problems), slot,
                               _sequence(state))
            return state
        problems.append(f"{slot}: {problem}")
    read = {slot for slot, _ in found}
    problems += [f"{slot}: unreadable" for slot in SLOTS
                 if slot not in read and fs.exists(join(path, slot))]
    raise RestoreError(
        f"the experiment state at {path} is malformed ({'; '.join(problems)}): nothing to "
        "restore safely; something other than tuner changed it: restore the experiment folder "
        "from a copy"
    )
