"""A tiny in-process event loop that drives a scheduler the way the engine does."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from schedulers import Decision, TrialScheduler, TrialStatus, TrialView


@dataclass
class FakeTrial:
    trial_id: str
    config: dict[str, Any]
    status: TrialStatus = TrialStatus.PENDING
    iteration: int = 0
    has_checkpoint: bool = False
    last_result: dict[str, Any] = field(default_factory=dict)

    def view(self) -> TrialView:
        return TrialView(
            self.trial_id,
            dict(self.config),
            self.status,
            dict(self.last_result),
            self.has_checkpoint,
        )


def default_curve(config: Mapping[str, Any], iteration: int) -> float:
    """A score that grows with the iteration, faster for a larger config['x']."""
    return float(config.get("x", 1.0)) * iteration


class FakeLoop:
    """Runs trials on `workers` slots, one result per step, obeying the scheduler's decisions.

    Every trial reports `training_iteration`, `time_total_s` (= iteration) and `score`; it ends
    on its own after `max_iter` iterations. Checkpoints are taken at every pause (and every
    iteration when `checkpoint_every` is set), as the engine does.
    """

    def __init__(
        self,
        scheduler: TrialScheduler,
        configs: list[dict[str, Any]],
        *,
        workers: int = 2,
        max_iter: int = 12,
        curve: Callable[[Mapping[str, Any], int], float] = default_curve,
        checkpoint_every: bool = True,
    ) -> None:
        self.scheduler = scheduler
        self.trials = {f"t{i}": FakeTrial(f"t{i}", dict(c)) for i, c in enumerate(configs)}
        self.workers = workers
        self.max_iter = max_iter
        self.curve = curve
        self.checkpoint_every = checkpoint_every
        self.running: list[str] = []
        self.log: list[tuple[Any, ...]] = []
        for trial in self.trials.values():
            scheduler.on_trial_add(trial.view())

    def views(self) -> list[TrialView]:
        return [t.view() for t in self.trials.values()]

    def _stop_given_up(self) -> None:
        for trial_id in self.scheduler.take_trials_to_stop():
            trial = self.trials[trial_id]
            assert trial.status in (TrialStatus.PAUSED, TrialStatus.PENDING), trial
            trial.status = TrialStatus.TERMINATED
            self.log.append(("stop", trial_id))
            self.scheduler.on_trial_remove(trial.view())

    def _apply_exploit(self, trial: FakeTrial) -> None:
        exploit = self.scheduler.take_exploit(trial.trial_id)
        if exploit is None:
            return
        donor = self.trials[exploit.donor_trial_id]
        assert donor.has_checkpoint, "exploited a donor without a checkpoint"
        self.log.append(("exploit", trial.trial_id, exploit.donor_trial_id, exploit.new_config))
        trial.config = dict(exploit.new_config)
        trial.iteration = donor.iteration
        trial.has_checkpoint = True

    def _fill(self) -> None:
        while len(self.running) < self.workers:
            chosen = self.scheduler.choose_trial_to_run(self.views())
            self._stop_given_up()
            if chosen is None:
                return
            trial = self.trials[chosen]
            assert trial.status in (TrialStatus.PENDING, TrialStatus.PAUSED), trial
            if trial.status is TrialStatus.PAUSED:
                self._apply_exploit(trial)  # sync PBT hands out exploits before a resume
            trial.status = TrialStatus.RUNNING
            self.running.append(chosen)
            self.log.append(("run", chosen))

    def step(self) -> bool:
        """One result of one running trial; False when nothing runs or can run any more."""
        self._fill()
        if not self.running:
            return False
        trial = self.trials[self.running.pop(0)]
        trial.iteration += 1
        if self.checkpoint_every:
            trial.has_checkpoint = True
        result = {
            "training_iteration": trial.iteration,
            "time_total_s": float(trial.iteration),
            "score": self.curve(trial.config, trial.iteration),
            "trial_id": trial.trial_id,
        }
        trial.last_result = result
        decision = self.scheduler.on_trial_result(trial.view(), result)
        self.log.append(("result", trial.trial_id, trial.iteration, decision))
        if decision is Decision.STOP or trial.iteration >= self.max_iter:
            trial.status = TrialStatus.TERMINATED
            self.scheduler.take_exploit(trial.trial_id)  # a finished trial is not resumed
            self.scheduler.on_trial_complete(trial.view(), result)
        elif decision is Decision.PAUSE:
            trial.status = TrialStatus.PAUSED
            trial.has_checkpoint = True
            self._apply_exploit(trial)
        else:
            self.running.append(trial.trial_id)
        self._stop_given_up()
        return True

    def run(self, max_steps: int = 5000) -> int:
        for steps in range(max_steps):
            if not self.step():
                return steps
        raise AssertionError(f"no end after {max_steps} steps: {self.log[-20:]}")

    def clone_with(self, scheduler: TrialScheduler) -> FakeLoop:
        """This loop's trials and queue, driving another scheduler (trials are added again)."""
        other = copy.copy(self)
        other.scheduler = scheduler
        other.trials = copy.deepcopy(self.trials)
        other.running = list(self.running)
        other.log = []
        for trial in other.trials.values():
            scheduler.on_trial_add(trial.view())
        return other


@pytest.fixture
def fake_loop() -> type[FakeLoop]:
    return FakeLoop
