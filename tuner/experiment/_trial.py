"""`Trial`: one trial as callbacks and name creators see it (Ray Tune's `experiment.Trial`)."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

from schedulers._frozen import FrozenDict
from tuner.result import EXPR_ERROR_FILE

if TYPE_CHECKING:
    from tuner._trial import CheckpointRecord
    from tuner._trial import Trial as EngineTrial
    from tuner.exceptions import TrialError
    from tuner.storage._checkpoint import Checkpoint


@dataclass(frozen=True)
class ExperimentFacts:
    """What every trial view of one experiment shares.

    Attributes:
        trainable_name: The trainable's name (a function's or class's ``__name__``).
        local_path: The experiment's local directory (trial directories are below it).
        filesystem: The experiment storage's fsspec filesystem (checkpoints are on it).
    """

    trainable_name: str
    local_path: str
    filesystem: Any


@functools.total_ordering
class Trial:
    """A read-only, live view of one trial, as Ray Tune's ``ray.tune.experiment.Trial`` is used.

    The engine builds one per trial and hands the same object to every callback hook, to
    ``TuneConfig(trial_name_creator=...)`` and ``trial_dirname_creator``: its attributes follow the
    trial as it runs (status, latest result, checkpoint), so a callback may keep it, use it as a
    dict key (views hash and compare by ``trial_id``) or print it (its name). Nothing reached
    through it changes the trial: ``config`` and ``last_result`` are read-only at every depth
    (``copy.deepcopy`` gives plain dicts); the one thing a callback may ask is
    `checkpoint_now()`.

    Statuses are Ray's strings, also class constants: ``trial.status == Trial.RUNNING``.

    Example:
        >>> import tuner as tune
        >>> from tuner.experiment import Trial
        >>> class Watch(tune.Callback):
        ...     def on_trial_result(self, iteration, trials, trial: Trial, result, **info):
        ...         if trial.status == Trial.RUNNING and result["training_iteration"] % 10 == 0:
        ...             trial.checkpoint_now()
    """

    PENDING: ClassVar[str] = "PENDING"
    RUNNING: ClassVar[str] = "RUNNING"
    PAUSED: ClassVar[str] = "PAUSED"
    TERMINATED: ClassVar[str] = "TERMINATED"
    ERROR: ClassVar[str] = "ERROR"

    __slots__ = (
        "_checkpoint",
        "_checkpoint_of",
        "_checkpoint_requested",
        "_config",
        "_config_of",
        "_custom_dirname",
        "_custom_name",
        "_error",
        "_facts",
        "_first_config",
        "_id",
        "_index",
        "_result",
        "_result_of",
        "_tag",
        "_trial",
    )

    def __init__(self, trial: EngineTrial, facts: ExperimentFacts, *, index: int) -> None:
        self._trial = trial
        self._facts = facts
        self._id = trial.trial_id
        self._index = index
        self._first_config = trial.config
        self._tag: str | None = None
        self._custom_name: str | None = None
        self._custom_dirname: str | None = None
        self._config: FrozenDict | None = None
        self._config_of: object = None
        self._result: FrozenDict | None = None
        self._result_of: object = None
        self._checkpoint: Checkpoint | None = None
        self._checkpoint_of: CheckpointRecord | None = None
        self._checkpoint_requested = False
        self._error: TrialError | None = None

    # ------------------------------------------------------------- identity and names
    @property
    def trial_id(self) -> str:
        """The trial's id, unique within the experiment."""
        return self._id

    @property
    def trainable_name(self) -> str:
        """The name of the trainable the trial runs."""
        return self._facts.trainable_name

    @property
    def custom_trial_name(self) -> str | None:
        """The name `TuneConfig(trial_name_creator)` gave the trial, or None."""
        return self._custom_name

    @property
    def custom_dirname(self) -> str | None:
        """The directory name `TuneConfig(trial_dirname_creator)` gave the trial, or None."""
        return self._custom_dirname

    @property
    def trial_name(self) -> str:
        """The trial's display name: its custom name, else ``<trainable_name>_<trial_id>``."""
        if self._custom_name is not None:
            return self._custom_name
        return f"{self._facts.trainable_name}_{self._id}"

    @property
    def experiment_tag(self) -> str:
        """``<number>_<key>=<value>,...``: the trial's number and its config's values, as Ray
        tags trials (floats with 4 decimals, characters other than letters, digits, ``_`` and
        ``-`` replaced by ``_``)."""
        if self._tag is None:
            self._tag = experiment_tag(self._index, self._first_config)
        return self._tag

    # ------------------------------------------------------------- state, read live
    @property
    def status(self) -> str:
        """PENDING, RUNNING, PAUSED, TERMINATED or ERROR."""
        return self._trial.status.value

    @property
    def config(self) -> Mapping[str, Any]:
        """The trial's hyperparameters (changed by PBT when it exploits); read-only."""
        source = self._trial.config
        if self._config_of is not source or self._config is None:
            self._config, self._config_of = FrozenDict(source), source
        return self._config

    @property
    def last_result(self) -> Mapping[str, Any]:
        """The latest result the trial reported (empty before the first); read-only."""
        source = self._trial.last_result
        if self._result_of is not source or self._result is None:
            self._result, self._result_of = FrozenDict(source), source
        return self._result

    @property
    def checkpoint(self) -> Checkpoint | None:
        """The trial's latest persisted checkpoint, or None."""
        record = self._trial.latest_checkpoint
        if record is None:
            return None
        if self._checkpoint_of is not record or self._checkpoint is None:
            from tuner.storage._checkpoint import Checkpoint

            self._checkpoint = Checkpoint(record.path, self._facts.filesystem)
            self._checkpoint_of = record
        return self._checkpoint

    @property
    def num_failures(self) -> int:
        """How often the trial failed so far."""
        return self._trial.num_failures

    def is_finished(self) -> bool:
        """Whether the trial ended (TERMINATED or ERROR)."""
        return self._trial.status.is_finished

    def get_error(self) -> TrialError | None:
        """The error of the trial's latest failure in this run (with its traceback), or None."""
        return self._error

    def has_checkpoint(self) -> bool:
        """Whether the trial has a persisted checkpoint."""
        return bool(self._trial.checkpoints)

    # ------------------------------------------------------------- where its files are
    @property
    def local_path(self) -> str:
        """The trial's local directory: output files are written here (and copied to storage)."""
        return os.path.join(self._facts.local_path, self._trial.name)

    @property
    def logdir(self) -> str:
        """The same as `local_path` (Ray's older name)."""
        return self.local_path

    @property
    def path(self) -> str:
        """The trial's directory on the experiment's storage (a local path or a URL)."""
        return self._trial.path

    @property
    def error_file(self) -> str | None:
        """The file holding the tracebacks of the trial's failures, or None if it never failed."""
        if not self._trial.num_failures:
            return None
        return os.path.join(self.local_path, EXPR_ERROR_FILE)

    # ------------------------------------------------------------- what a callback may ask
    def checkpoint_now(self) -> None:
        """Ask the trial to save a checkpoint at its next opportunity.

        Called in ``on_trial_result``, it is the same as setting ``result["should_checkpoint"] =
        True``: a class trainable (`tuner.Trainable`) saves a checkpoint of the state that
        produced that result (``save_checkpoint`` runs before the next ``step``), whatever the
        scheduler decided. Called elsewhere (``on_step_end``, another trial's hook), it applies
        to the trial's next result. A function trainable decides itself when it checkpoints
        (it passes ``checkpoint=`` to ``report``), so for those the request is dropped with a
        warning, once per experiment, as in Ray Tune.
        """
        self._checkpoint_requested = True

    # ------------------------------------------------------------- engine side
    def _set_names(self, custom_name: str | None, custom_dirname: str | None) -> None:
        self._custom_name = custom_name
        self._custom_dirname = custom_dirname

    def _take_checkpoint_request(self) -> bool:
        requested, self._checkpoint_requested = self._checkpoint_requested, False
        return requested

    # ------------------------------------------------------------- object protocol
    def __str__(self) -> str:
        return self.trial_name

    __repr__ = __str__  # as Ray's: a list of trials prints as their names

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Trial):
            return NotImplemented
        return self._id == other._id

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Trial):
            return NotImplemented
        return self._id < other._id

    def __hash__(self) -> int:
        return hash(self._id)

    def __copy__(self) -> Trial:
        return self  # a read-only view: a copy would be the same view

    def __deepcopy__(self, memo: dict[int, Any]) -> Trial:
        return self

    def __reduce__(self) -> NoReturn:
        raise TypeError(
            f"trial {self._id} is a live view of the engine's trial and cannot be pickled: keep "
            "trial.trial_id, or copy what you need (copy.deepcopy(trial.config), "
            "dict(trial.last_result))"
        )


_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]+")


def _tag_text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return _UNSAFE.sub("_", str(value)).strip("_")


def _leaves(config: Mapping[str, Any]) -> list[tuple[str, Any]]:
    leaves: list[tuple[str, Any]] = []
    for key, value in config.items():
        if isinstance(value, Mapping) and value:
            leaves.extend(_leaves(value))
        else:
            leaves.append((str(key), value))
    return leaves


def experiment_tag(index: int, config: Mapping[str, Any]) -> str:
    """A trial's tag as Ray writes it: its number, then ``key=value`` for each config value.

    Nested keys are shown by their last part, sorted.

    Example:
        >>> experiment_tag(3, {"lr": 0.01, "model": {"layers": 2, "act": "relu"}})
        '3_act=relu,layers=2,lr=0.0100'
    """
    parts = sorted(f"{_tag_text(key)}={_tag_text(value)}" for key, value in _leaves(config))
    return f"{index}_{','.join(parts)}" if parts else str(index)
