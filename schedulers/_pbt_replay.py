"""Replay the config schedule that PBT gave one trial, without a population."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

from schedulers._base import Decision, TrialScheduler
from schedulers._suggestion import TrialSuggestion, WaitingTrials
from schedulers._trial_view import TrialView

logger = logging.getLogger(__name__)

_RAY_FIELDS = (
    "target_trial_id",
    "donor_trial_id",
    "target_iteration",
    "donor_iteration",
    "old_config",
    "new_config",
)


def read_policy(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Perturbation records from a JSON-lines file (ours, or Ray's six-element policy rows)."""
    records = []
    with open(path, encoding="utf-8") as file:
        for number, line in enumerate(file, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(
                    f"line {number} of the PBT policy file {os.fspath(path)!r} is not JSON "
                    f"({error}): pass an experiment's pbt_policy.jsonl"
                ) from None
            if isinstance(row, list) and len(row) == len(_RAY_FIELDS):
                row = dict(zip(_RAY_FIELDS, row, strict=True))
            records.append(row)
    return records


def lineage(records: Sequence[Mapping[str, Any]], trial_id: str) -> list[Mapping[str, Any]]:
    """The records that shaped `trial_id`'s final weights, oldest first.

    A trial's weights come from its last exploit's donor, whose weights came from the donor's own
    last exploit before that moment, and so on. `records` is the whole experiment's log, in the
    order the records were made.
    """
    chain: list[Mapping[str, Any]] = []
    wanted, end = trial_id, len(records)
    while True:
        index = next(
            (i for i in reversed(range(end)) if records[i]["target_trial_id"] == wanted), None
        )
        if index is None:
            break
        chain.append(records[index])
        wanted, end = str(records[index]["donor_trial_id"]), index
    chain.reverse()
    return chain


class PopulationBasedTrainingReplay(TrialScheduler):
    """Train one trial on the config schedule a PBT run found (Ray Tune's PBT replay).

    The policy is a list of perturbation records or a path to a JSON-lines file of them (the
    ``pbt_policy.jsonl`` the event loop writes in a PBT experiment's folder, or Ray's policy file). Without `trial_id` the
    records are one trial's lineage already, in order; with it, the lineage of that trial is picked
    from a whole experiment's log (see `lineage`). The trial starts with `config`, the first
    record's ``old_config``; when its ``training_iteration`` reaches a record's
    ``donor_iteration`` (the step whose weights the new config continued from), it PAUSEs and
    `suggest` resumes it from its own checkpoint with the recorded config.

    Life cycle: one trial is added (a second raises); `on_trial_result` -> CONTINUE or PAUSE;
    `suggest` -> run it, with the recorded config after a PAUSE.

    Example:
        >>> from schedulers import PopulationBasedTrainingReplay
        >>> replay = PopulationBasedTrainingReplay([
        ...     {"target_trial_id": "b", "donor_trial_id": "a", "target_iteration": 4,
        ...      "donor_iteration": 4, "old_config": {"lr": 0.1}, "new_config": {"lr": 0.12}}])
        >>> replay.config  # pass it as param_space
        {'lr': 0.1}

    Attributes:
        pauses_trials: True: each config change resumes the trial from its own checkpoint.
    """

    pauses_trials = True
    supports_model_based_searchers = False
    copies_checkpoints = True

    def __init__(
        self,
        policy: Sequence[Mapping[str, Any]] | str | os.PathLike[str],
        *,
        trial_id: str | None = None,
    ) -> None:
        super().__init__()
        records = read_policy(policy) if isinstance(policy, (str, os.PathLike)) else list(policy)
        if trial_id is not None:
            records = lineage(records, trial_id)
        if not records:
            raise ValueError(
                "PopulationBasedTrainingReplay needs at least one perturbation record, got none"
                + (f" for trial {trial_id!r}" if trial_id is not None else "")
                + ": pass the records of a trial that PBT exploited"
            )
        for record in records:
            for key in ("donor_iteration", "old_config", "new_config"):
                if key not in record:
                    raise ValueError(
                        f"a PBT policy record lacks {key!r}, got keys {sorted(record)}: pass "
                        "records from a PBT experiment's pbt_policy.jsonl"
                    )
        self._initial_config = dict(records[0]["old_config"])
        self._policy = [(float(r["donor_iteration"]), dict(r["new_config"])) for r in records]
        self._next = 0
        self._trial_id: str | None = None
        self._pending: dict[str, Any] | None = None
        """The recorded config to resume with after a PAUSE."""

    @property
    def config(self) -> dict[str, Any]:
        """The config the replayed trial starts with: pass it as `param_space`."""
        return dict(self._initial_config)

    def on_trial_add(self, trial: TrialView) -> None:
        """Accept the single replayed trial."""
        if self._trial_id not in (None, trial.trial_id):
            raise ValueError(
                f"PopulationBasedTrainingReplay replays one trial, but trial {trial.trial_id} was "
                f"added after {self._trial_id}: set num_samples=1"
            )
        self._trial_id = trial.trial_id
        if dict(trial.config) != self._initial_config and self._next == 0:
            logger.warning(
                "trial %s starts with config %s, not the replayed schedule's %s: pass "
                "param_space=replay.config",
                trial.trial_id,
                trial.config,
                self._initial_config,
            )

    def on_trial_result(self, trial: TrialView, result: Mapping[str, Any]) -> Decision:
        """PAUSE with the recorded config once training_iteration reaches the next change."""
        iteration = self.metric_value(result, "training_iteration")
        due = self._next
        while due < len(self._policy) and iteration >= self._policy[due][0]:
            due += 1
        if due == self._next:
            return Decision.CONTINUE
        self._next = due
        self._pending = dict(self._policy[due - 1][1])
        return Decision.PAUSE

    def suggest(self, waiting: WaitingTrials) -> TrialSuggestion | None:
        """Run the trial; after a PAUSE, with the recorded config (from its own checkpoint)."""
        first = next(iter(waiting), None)
        if first is None:
            return None
        if first.trial_id != self._trial_id or self._pending is None:
            return TrialSuggestion.run(first.trial_id)
        config, self._pending = self._pending, None
        return TrialSuggestion.run(first.trial_id, config=config)

    def state_dict(self) -> dict[str, Any]:
        """How far the schedule got, as JSON data."""
        return {"next": self._next, "trial_id": self._trial_id, "pending": self._pending}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore from `state_dict()`."""
        self._next = int(state["next"])
        self._trial_id = state["trial_id"]
        pending = state["pending"]
        self._pending = None if pending is None or self._trial_id is None else dict(pending)
