"""The scheduler contract: any `TrialScheduler` through the real event loop, in virtual time."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from schedulers import TrialScheduler, TrialStatus
from searchers import uniform
from tuner._callback import Callback
from tuner._config import CheckpointConfig, FailureConfig, RunConfig, TuneConfig
from tuner.analysis._result_grid import ResultGrid
from tuner.testing._checks import expect_none, expect_same
from tuner.testing._recording import RecordingScheduler
from tuner.testing._results import ResultLog, sequence_problems
from tuner.testing._runs import (
    InterruptAfter,
    Interrupted,
    file_results,
    fit,
    iterations_by_trial,
    restore,
    saved_statuses,
)
from tuner.testing._trainable import ContractTrainable, contract_trainable

_FINISHED = (TrialStatus.TERMINATED, TrialStatus.ERROR)


@dataclass
class SchedulerRun:
    """One contract experiment: what it returned and what was recorded on the way.

    Attributes:
        path: The experiment directory.
        grid: What `fit()` returned (None when it was stopped mid-run).
        recorder: The scheduler, wrapped.
        log: Every result the loop reported, in order.
    """

    path: str
    grid: ResultGrid | None
    recorder: RecordingScheduler
    log: ResultLog


class SchedulerContract:
    """Checks that a scheduler keeps its side of the event loop's contract; subclass it in a
    test module (pytest collects ``Test*`` subclasses) and implement `make_scheduler`.

    Each test runs a small experiment (8 trials of 9 steps on 4 simulated workers, in
    virtual time: well under a second) through the real `Tuner`, with the scheduler wrapped
    in a `RecordingScheduler` and every result kept in a `ResultLog`. The trainable
    (`contract_trainable`) reports ``loss`` (falling) and ``score`` (rising) every step with
    a checkpoint, and one trial fails half-way, is retried once from its checkpoint, and fails
    for good. The tests check that:

    - every trial ends TERMINATED or ERROR, and the scheduler hears of each end exactly once,
      through the hook the life cycle gives that end (`test_every_trial_ends_once`);
    - its decisions only ever name live trials (`test_decisions_touch_only_live_trials`);
    - each trial's results are a proper sequence: `training_iteration` goes up one at a time,
      and a resumed trial goes on from its checkpoint's iteration (its own latest result, or
      the donor's after an exploit) (`test_results_are_proper_sequences`);
    - `state_dict()` is plain JSON data at every save and loads back into a fresh scheduler
      (`test_state_is_json_and_loads_back`);
    - an experiment stopped mid-run and continued with `Tuner.restore` finishes every trial
      with each result once, whether the driver saved on its way out
      (`test_a_restored_run_finishes_every_trial_once`) or crashed, losing what came after
      its last save (`test_a_run_restored_after_a_crash_reports_each_result_once`);
    - two runs with the same seeds make the same decisions (`test_same_seeds_same_decisions`).

    Override the attributes below to fit the scheduler (a PBT that needs its population
    alive at once, a scheduler that runs one trial), and `param_space` for one that needs a
    space of its own; the trainable reads ``config["x"]``, a float.

    Example:
        >>> from schedulers import ASHAScheduler
        >>> from tuner.testing import SchedulerContract
        >>> class TestASHA(SchedulerContract):
        ...     def make_scheduler(self):
        ...         return ASHAScheduler(max_t=9, grace_period=1, reduction_factor=2)
    """

    metric: str | Sequence[str] = "loss"
    """The metric the experiment optimises: ``"loss"`` (mode min) or ``"score"`` (mode max); or
    several, e.g. ``["loss", "time_this_iter_s"]`` (both min: the trainable's step takes
    ``1 + x`` seconds) for a multi-objective scheduler."""
    mode: Literal["min", "max"] | Sequence[Literal["min", "max"]] = "min"
    constraints: Sequence[str] | None = None
    """`TuneConfig(constraints=...)`, e.g. ``["time_this_iter_s <= 1.8"]`` (x <= 0.8)."""
    num_samples: int = 8
    iterations: int = 9
    """Steps a trial trains unless the scheduler stops it sooner."""
    n_workers: int = 4
    seed: int = 0
    """The seed of the random search that suggests the configs."""
    fail_trial: int | None = 5
    """The creation index of the trial that fails (None: none fails)."""
    fail_iteration: int = 4
    interrupt_after: int | None = None
    """After how many results the restore tests stop the first run; a third of all by default."""
    save_period_s: float = 5.0
    """Virtual seconds between experiment state saves (where a crash goes back to)."""
    trainable_kind: Literal["function", "class"] = "function"
    """Run `contract_trainable` (a function) or `ContractTrainable` (its class twin, which
    checkpoints every step through ``CheckpointConfig(checkpoint_frequency=1)``)."""

    def make_scheduler(self) -> TrialScheduler:
        """A new scheduler to test; called once per run, so make a fresh one each time."""
        raise NotImplementedError(
            f"{type(self).__name__} subclasses SchedulerContract: define "
            "make_scheduler(self) -> TrialScheduler, returning a new scheduler each call"
        )

    def param_space(self) -> dict[str, Any]:
        """The search space; it must hold ``x``, a float (the trainable's curve reads it)."""
        return {"x": uniform(0.0, 1.0)}

    # ----------------------------------------------------------------- running it
    def trainable(self) -> Any:
        """The trainable the contract runs (see `trainable_kind`)."""
        return contract_trainable if self.trainable_kind == "function" else ContractTrainable

    def contract_space(self) -> dict[str, Any]:
        space = {**self.param_space(), "iterations": self.iterations}
        if self.fail_trial is not None:
            space |= {"fail_trial": self.fail_trial, "fail_iteration": self.fail_iteration}
        return space

    def _configs(
        self, scheduler: RecordingScheduler, callbacks: Sequence[Callback]
    ) -> tuple[TuneConfig, RunConfig]:
        tune_config = TuneConfig(
            metric=_listed(self.metric), mode=_listed(self.mode), scheduler=scheduler,  # type: ignore[arg-type]
            num_samples=self.num_samples, seed=self.seed,
            constraints=None if self.constraints is None else list(self.constraints),
        )
        every = 1 if self.trainable_kind == "class" else 0
        run_config = RunConfig(
            verbose=0, callbacks=list(callbacks), failure_config=FailureConfig(max_failures=1),
            experiment_checkpoint_period_s=self.save_period_s,
            checkpoint_config=CheckpointConfig(checkpoint_frequency=every),
        )
        return tune_config, run_config

    def run_experiment(
        self, tmp_path: Path, name: str = "contract", *, stop: InterruptAfter | None = None
    ) -> SchedulerRun:
        """Run the contract experiment under `tmp_path` (stopped by `stop`, if given)."""
        recorder, log = RecordingScheduler(self.make_scheduler()), ResultLog()
        callbacks: list[Callback] = [log] if stop is None else [log, stop]
        tune_config, run_config = self._configs(recorder, callbacks)
        grid = None
        try:
            grid = fit(self.trainable(), storage_path=str(tmp_path), name=name,
                       param_space=self.contract_space(), tune_config=tune_config,
                       run_config=run_config, n_workers=self.n_workers)
        except (Interrupted, KeyboardInterrupt):
            if stop is None:
                raise
        else:
            if stop is not None:
                raise AssertionError(
                    f"the experiment ended before the test stopped it after {stop.after} "
                    "results: lower interrupt_after"
                )
        return SchedulerRun(str(tmp_path / name), grid, recorder, log)

    def restore_experiment(self, first: SchedulerRun) -> SchedulerRun:
        """Continue `first` with `Tuner.restore` and a fresh scheduler, to its end."""
        saved = saved_statuses(first.path)
        unfinished = sorted(t for t, status in saved.items() if not status.is_finished)
        if not unfinished:
            raise AssertionError(
                f"every trial had finished when the test stopped the experiment after "
                f"{self._interrupt_after()} results: lower interrupt_after"
            )
        # The restored scheduler knows what the saved state knows: trials ended then stay
        # ended; those that ended after the last save (a crash) end again.
        ended = {t: first.recorder.ended.get(t) for t, s in saved.items() if s.is_finished}
        expect_none([f"trial {t} is {saved[t].value} in the saved state, but the scheduler was "
                     "never told of its end" for t, hook in ended.items() if hook is None],
                    "trials that ended before the stop")
        recorder = RecordingScheduler(
            self.make_scheduler(), added=saved,
            ended={t: hook for t, hook in ended.items() if hook is not None},
        )
        log = ResultLog()
        tune_config, run_config = self._configs(recorder, [log])
        grid = restore(first.path, self.trainable(), tune_config=tune_config,
                       run_config=run_config, n_workers=self.n_workers)
        return SchedulerRun(first.path, grid, recorder, log)

    def _interrupt_after(self) -> int:
        if self.interrupt_after is not None:
            return self.interrupt_after
        return max(1, self.num_samples * self.iterations // 3)

    # ----------------------------------------------------------------- checks
    def check_ends(self, run: SchedulerRun) -> None:
        statuses = saved_statuses(run.path)
        if len(statuses) != self.num_samples:
            raise AssertionError(
                f"the experiment holds {len(statuses)} trials, not num_samples="
                f"{self.num_samples}: {sorted(statuses)}"
            )
        unfinished = {t: s.value for t, s in statuses.items() if s not in _FINISHED}
        expect_none([f"trial {t} ended {s}" for t, s in unfinished.items()], "unfinished trials")
        expect_none(run.recorder.end_problems(statuses), "how the scheduler heard of trial ends")

    def check_files(self, run: SchedulerRun) -> None:
        if run.grid is None:
            raise AssertionError("the run was stopped: it has no results to read")
        rows = file_results(run.grid)
        expect_none(sequence_problems(rows, donors=iterations_by_trial(rows)), "result.json files")

    # ----------------------------------------------------------------- the tests
    def test_every_trial_ends_once(self, tmp_path: Path) -> None:
        run = self.run_experiment(tmp_path)
        self.check_ends(run)

    def test_decisions_touch_only_live_trials(self, tmp_path: Path) -> None:
        run = self.run_experiment(tmp_path)
        expect_none(run.recorder.problems, "calls to the scheduler")
        if not any(d[0] == "result" for d in run.recorder.decisions):
            raise AssertionError("the scheduler was asked about no result")

    def test_results_are_proper_sequences(self, tmp_path: Path) -> None:
        run = self.run_experiment(tmp_path)
        expect_none(sequence_problems(run.log.results), "results as the loop reported them")
        self.check_files(run)

    def test_state_is_json_and_loads_back(self, tmp_path: Path) -> None:
        run = self.run_experiment(tmp_path)
        states = run.recorder.states
        if not states:
            raise AssertionError("the scheduler's state was never saved")
        expect_none([p for p in run.recorder.problems if "state_dict()" in p], "saved states")
        for state in (states[len(states) // 2], states[-1]):
            fresh = self.make_scheduler()
            fresh.set_search_properties(self.metric, self.mode)
            if tune_ranking := TuneConfig(
                metric=_listed(self.metric), mode=_listed(self.mode),  # type: ignore[arg-type]
                constraints=None if self.constraints is None else list(self.constraints),
            ).ranking:
                fresh.set_constraints(tune_ranking.constraints)
            fresh.load_state_dict(json.loads(json.dumps(state)))
            if not _same_json(fresh.state_dict(), state):
                raise AssertionError(
                    f"a fresh scheduler loaded with a saved state_dict() gives another state:\n"
                    f"saved:  {state}\nloaded: {fresh.state_dict()}"
                )

    def test_a_restored_run_finishes_every_trial_once(self, tmp_path: Path) -> None:
        first = self.run_experiment(tmp_path, stop=InterruptAfter(self._interrupt_after()))
        second = self.restore_experiment(first)
        expect_none(first.recorder.problems + second.recorder.problems, "calls to the scheduler")
        self.check_ends(second)
        # The state was saved on the way out: nothing was lost, so the two runs' results
        # together are each trial's history, each result once.
        expect_none(sequence_problems(first.log.results + second.log.results),
                    "results as the two runs reported them")
        self.check_files(second)

    def test_a_run_restored_after_a_crash_reports_each_result_once(self, tmp_path: Path) -> None:
        crash = InterruptAfter(self._interrupt_after(), crash=True)
        second = self.restore_experiment(self.run_experiment(tmp_path, stop=crash))
        expect_none(second.recorder.problems, "calls to the scheduler")
        self.check_ends(second)
        self.check_files(second)

    def test_same_seeds_same_decisions(self, tmp_path: Path) -> None:
        first = self.run_experiment(tmp_path, "first")
        second = self.run_experiment(tmp_path, "second")
        expect_same(first.recorder.decisions, second.recorder.decisions, "decisions")


def _same_json(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _listed(value: str | Sequence[str]) -> str | list[str]:
    """A metric or mode as TuneConfig takes it: a name, or a list of names."""
    return value if isinstance(value, str) else list(value)
