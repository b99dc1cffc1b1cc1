"""The searcher contract: any `Searcher` through the real event loop, in virtual time."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from searchers import Searcher, choice, lograndint, loguniform, qrandint, quniform, randint, randn
from searchers._constraints import parse_constraints
from tuner._callback import Callback
from tuner._config import RunConfig, TuneConfig
from tuner.exceptions import ConfigError
from tuner.testing._checks import expect_none, expect_same
from tuner.testing._recording_searcher import RecordingSearcher
from tuner.testing._runs import InterruptAfter, Interrupted, fit, restore, saved_trials
from tuner.testing._space_check import space_problems
from tuner.testing._trainable import searcher_trainable


def default_space() -> dict[str, Any]:
    """A space of every kind of domain, nested in dicts and lists, with constants."""
    return {
        "lr": loguniform(1e-4, 1e-1),
        "model": {"layers": randint(1, 5), "units": qrandint(16, 128, 16),
                  "act": choice(["relu", "tanh"])},
        "drop": [quniform(0.0, 0.5, 0.1), "fixed"],
        "noise": randn(0.0, 1.0),
        "width": lograndint(1, 1000),
        "const": 7,
    }


@dataclass(frozen=True)
class Goal:
    """What a contract experiment optimises: TuneConfig's metric, mode and constraints."""

    metric: str | list[str]
    mode: Literal["min", "max"] | list[Literal["min", "max"]]
    constraints: tuple[str, ...] = ()


MIN_LOSS = Goal("loss", "min")
MAX_SCORE = Goal("score", "max")
SEVERAL_OBJECTIVES = Goal(["loss", "score"], ["min", "min"], ("loss <= 4.7",))
"""Two objectives at odds (`score` is `-loss`: every trial is on the Pareto front) and a
constraint that about half of the configs of `default_space()` break (the median final loss)."""


@dataclass
class SearcherRun:
    """One contract experiment: where it is and what was recorded on the way."""

    path: str
    recorder: RecordingSearcher
    num_samples: int
    goal: Goal = MIN_LOSS

    def configs(self) -> list[dict[str, Any]]:
        """Every trial's config as saved, in creation order."""
        return [dict(t["config"]) for t in saved_trials(self.path)]


def _key(config: dict[str, Any]) -> str:
    return json.dumps(config, sort_keys=True, default=repr)


class SearcherContract:
    """Checks that a searcher keeps its side of the event loop's contract; subclass it in a
    test module (pytest collects ``Test*`` subclasses) and implement `make_searcher`.

    Each test runs a small experiment (12 trials of 3 steps on 2 simulated workers, in virtual
    time) through the real `Tuner`, with the searcher wrapped in a `RecordingSearcher`. The
    trainable (`searcher_trainable`) reports ``loss`` and ``score`` computed from the config;
    one trial in seven fails after its first result and one in eleven reports neither metric,
    as real trials do. The tests check that:

    - every suggestion lies in the search space, and the searcher hears of each trial's
      results and its end exactly once (`test_suggestions_lie_in_the_space`);
    - the experiment has exactly the trials `num_samples` asks for (or the searcher's own
      `total_trials`) (`test_num_samples_is_respected_exactly`);
    - `state_dict()` is plain JSON data at every save and loads back into a fresh searcher
      (`test_state_is_json_at_every_save`);
    - a searcher restored from an experiment stopped before it suggested every trial continues
      it: the same number of trials in all, no config repeated more than in a run without the
      stop, and, for one that does not learn from results, the very same configs
      (`test_a_restored_searcher_continues`; it runs `restore_samples()` trials, more than the
      searcher queues ahead, so that the restored searcher has suggestions left to make);
    - ``mode="max"`` works (`test_max_mode_works`), and a metric set both on the searcher and
      in `TuneConfig` with different values is a `ConfigError` naming both
      (`test_a_conflicting_metric_is_a_clear_error`);
    - two runs with the same seeds suggest the same configs (`test_same_seeds_same_configs`;
      set ``deterministic = False`` for a searcher that cannot promise that);
    - with ``multi_objective = True``, for a searcher that takes several objectives and
      constraints: an experiment with `TuneConfig(metric=["loss", "score"], mode=["min",
      "min"], constraints=["loss <= 4.7"])` keeps the checks above, its states load back, and a
      restored searcher continues it (`test_several_objectives_and_constraints`,
      `test_a_restored_multi_objective_searcher_continues`).

    Example:
        >>> from searchers import TPESearch
        >>> from tuner.testing import SearcherContract
        >>> class TestTPE(SearcherContract):
        ...     def make_searcher(self):
        ...         return TPESearch(n_startup_trials=5, seed=0)
    """

    num_samples: int = 12
    n_workers: int = 2
    iterations: int = 3
    deterministic: bool = True
    """Whether two runs with the same seed suggest the same configs."""
    interrupt_after: int | None = None
    """After how many results the restore test stops the first run; by default once the first
    trials on each worker are done."""
    save_period_s: float = 2.0
    multi_objective: bool = False
    """Whether the searcher takes several objectives and constraints (its
    `supports_multi_objective` and `supports_constraints`): runs the multi-objective checks."""

    def make_searcher(self) -> Searcher:
        """A new searcher to test (seeded); called once per run, so make a fresh one each time."""
        raise NotImplementedError(
            f"{type(self).__name__} subclasses SearcherContract: define "
            "make_searcher(self) -> Searcher, returning a new searcher each call"
        )

    def param_space(self) -> dict[str, Any]:
        """The search space (`default_space()`: every kind of domain, nested)."""
        return default_space()

    def expected_trials(self, num_samples: int) -> int:
        """How many trials an experiment of `num_samples` must have: that many, unless the
        searcher's `total_trials` says otherwise (a grid walked `num_samples` times)."""
        total = self._prepared(MIN_LOSS, num_samples).total_trials
        return num_samples if total is None else total

    def restore_samples(self) -> int:
        """`num_samples` for the restore test: more than the searcher queues ahead (random
        search creates 16 trials before they can start) and the workers take."""
        return max(self.num_samples, self.make_searcher().max_queued + 4 * self.n_workers)

    # ----------------------------------------------------------------- running it
    def _prepared(self, goal: Goal, num_samples: int) -> Searcher:
        """A fresh searcher, told what the loop tells one before its first suggestion."""
        searcher = self.make_searcher()
        searcher.set_search_properties(goal.metric, goal.mode, self._space())
        if goal.constraints:
            searcher.set_constraints(parse_constraints(goal.constraints))
        searcher.set_num_samples(num_samples)
        return searcher

    def _configs(
        self,
        searcher: Searcher,
        callbacks: Sequence[Callback] = (),
        *,
        goal: Goal = MIN_LOSS,
        num_samples: int | None = None,
    ) -> tuple[TuneConfig, RunConfig]:
        samples = self.num_samples if num_samples is None else num_samples
        tune_config = TuneConfig(metric=goal.metric, mode=goal.mode, search_alg=searcher,
                                 num_samples=samples, constraints=list(goal.constraints) or None)
        run_config = RunConfig(verbose=0, callbacks=list(callbacks),
                               experiment_checkpoint_period_s=self.save_period_s)
        return tune_config, run_config

    def _space(self) -> dict[str, Any]:
        return {**self.param_space(), "iterations": self.iterations}

    def run_experiment(
        self,
        tmp_path: Path,
        name: str = "contract",
        *,
        stop: InterruptAfter | None = None,
        goal: Goal = MIN_LOSS,
        num_samples: int | None = None,
    ) -> SearcherRun:
        """Run the contract experiment under `tmp_path` (stopped by `stop`, if given)."""
        recorder = RecordingSearcher(self.make_searcher())
        samples = self.num_samples if num_samples is None else num_samples
        tune_config, run_config = self._configs(
            recorder, [] if stop is None else [stop], goal=goal, num_samples=samples
        )
        try:
            fit(searcher_trainable, storage_path=str(tmp_path), name=name,
                param_space=self._space(), tune_config=tune_config, run_config=run_config,
                n_workers=self.n_workers)
        except Interrupted:
            if stop is None:
                raise
        else:
            if stop is not None:
                raise AssertionError(
                    f"the experiment ended before the test stopped it after {stop.after} "
                    "results: lower interrupt_after"
                )
        return SearcherRun(str(tmp_path / name), recorder, samples, goal)

    def restore_experiment(self, first: SearcherRun) -> SearcherRun:
        """Continue `first` with `Tuner.restore` and a fresh searcher, to its end."""
        trials = saved_trials(first.path)
        if len(trials) >= self.expected_trials(first.num_samples):
            raise AssertionError(
                f"the searcher had suggested all {len(trials)} trials when the test stopped "
                "the experiment, so a restore would not ask it for more: lower "
                "interrupt_after or raise restore_samples()"
            )
        recorder = RecordingSearcher(
            self.make_searcher(),
            suggested={t["trial_id"]: t["config"] for t in trials},
            completed=[t["trial_id"] for t in trials if t["status"] in ("TERMINATED", "ERROR")],
        )
        tune_config, run_config = self._configs(recorder, goal=first.goal,
                                                num_samples=first.num_samples)
        restore(first.path, searcher_trainable, tune_config=tune_config, run_config=run_config,
                n_workers=self.n_workers, param_space=self._space())
        return SearcherRun(first.path, recorder, first.num_samples, first.goal)

    def _interrupt_after(self) -> int:
        if self.interrupt_after is not None:
            return self.interrupt_after
        return self.n_workers * self.iterations

    def check_run(self, run: SearcherRun) -> list[dict[str, Any]]:
        """The run's configs, once its trials all finished, each told to the searcher once,
        and every suggestion lay in the space."""
        trials = saved_trials(run.path)
        unfinished = [f"trial {t['trial_id']} ended {t['status']}" for t in trials
                      if t["status"] not in ("TERMINATED", "ERROR")]
        expect_none(unfinished, "unfinished trials")
        expect_none(run.recorder.problems, "calls to the searcher")
        expect_none(run.recorder.end_problems(t["trial_id"] for t in trials),
                    "how the searcher heard of trial ends")
        configs = [dict(t["config"]) for t in trials]
        space = self._space()
        expect_none([f"trial {i}: {p}" for i, c in enumerate(configs)
                     for p in space_problems(c, space)], "the saved configs")
        expected = self.expected_trials(run.num_samples)
        if len(configs) != expected:
            raise AssertionError(f"the experiment holds {len(configs)} trials, not the "
                                 f"{expected} that num_samples={run.num_samples} asks for")
        return configs

    # ----------------------------------------------------------------- the tests
    def test_suggestions_lie_in_the_space(self, tmp_path: Path) -> None:
        configs = self.check_run(self.run_experiment(tmp_path))
        if len(configs) > 1 and len({_key(c) for c in configs}) < 2:
            raise AssertionError(f"every suggestion was the same config: {configs[0]}")

    def test_num_samples_is_respected_exactly(self, tmp_path: Path) -> None:
        self.check_run(self.run_experiment(tmp_path))

    def test_state_is_json_at_every_save(self, tmp_path: Path) -> None:
        self.check_states(self.run_experiment(tmp_path))

    def check_states(self, run: SearcherRun) -> None:
        """The run's states were JSON data, and two of them load back into a fresh searcher
        that gives the same state."""
        states = run.recorder.states
        if not states:
            raise AssertionError("the searcher's state was never saved")
        expect_none([p for p in run.recorder.problems if "state_dict()" in p], "saved states")
        for state in (states[len(states) // 2], states[-1]):
            fresh = self._prepared(run.goal, run.num_samples)
            fresh.load_state_dict(json.loads(json.dumps(state)))
            if _key(fresh.state_dict()) != _key(state):
                raise AssertionError(
                    f"a fresh searcher loaded with a saved state_dict() gives another state:\n"
                    f"saved:  {state}\nloaded: {fresh.state_dict()}"
                )

    def test_a_restored_searcher_continues(self, tmp_path: Path) -> None:
        self.check_restore(tmp_path, MIN_LOSS)

    def check_restore(self, tmp_path: Path, goal: Goal) -> None:
        """A run stopped mid-way and restored with a fresh searcher ends as the contract asks,
        repeating no more configs than a run without the stop."""
        samples = self.restore_samples()
        whole = self.check_run(self.run_experiment(tmp_path, "whole", num_samples=samples,
                                                   goal=goal))
        first = self.run_experiment(tmp_path, stop=InterruptAfter(self._interrupt_after()),
                                    num_samples=samples, goal=goal)
        configs = self.check_run(self.restore_experiment(first))
        repeats, expected = _repeats(configs), _repeats(whole)
        if repeats > expected:
            raise AssertionError(
                f"the restored experiment repeats {repeats} configs, the one run without a "
                f"stop {expected}: a restored searcher suggested a config again"
            )
        if self.deterministic and not first.recorder.searcher.learns_from_results:
            expect_same(configs, whole, "configs (by creation index)")

    def test_max_mode_works(self, tmp_path: Path) -> None:
        run = self.run_experiment(tmp_path, goal=MAX_SCORE)
        self.check_run(run)
        if run.recorder.mode not in ("max", None):
            raise AssertionError(f"the searcher's mode is {run.recorder.mode!r}, not 'max'")

    def test_a_conflicting_metric_is_a_clear_error(self, tmp_path: Path) -> None:
        searcher = self.make_searcher()
        searcher.set_search_properties("loss", "min", self._space())
        if searcher.metric is None:
            _skip(f"{type(searcher).__name__} takes no metric of its own")
        tune_config, run_config = self._configs(searcher, goal=MAX_SCORE)
        try:
            fit(searcher_trainable, storage_path=str(tmp_path), name="conflict",
                param_space=self._space(), tune_config=tune_config, run_config=run_config,
                n_workers=self.n_workers)
        except ConfigError as error:
            message = str(error)
            if "'loss'" not in message or "'score'" not in message:
                raise AssertionError(
                    f"the error for metric='loss' on the searcher and metric='score' in "
                    f"TuneConfig names neither or one of them: {message}"
                ) from error
        else:
            raise AssertionError(
                "a searcher built for metric='loss' ran an experiment with "
                "TuneConfig(metric='score'): it must raise ConfigError"
            )

    def test_same_seeds_same_configs(self, tmp_path: Path) -> None:
        if not self.deterministic:
            _skip(f"{type(self).__name__} sets deterministic = False")
        first = self.check_run(self.run_experiment(tmp_path, "first"))
        second = self.check_run(self.run_experiment(tmp_path, "second"))
        expect_same(first, second, "configs (by creation index)")

    def test_several_objectives_and_constraints(self, tmp_path: Path) -> None:
        if self._refuses_several_objectives(tmp_path):
            return
        run = self.run_experiment(tmp_path, goal=SEVERAL_OBJECTIVES)
        self.check_run(run)
        self.check_states(run)
        if run.recorder.metric not in (SEVERAL_OBJECTIVES.metric, None):
            raise AssertionError(
                f"the searcher's metric is {run.recorder.metric!r}, not the objectives "
                f"{SEVERAL_OBJECTIVES.metric!r} TuneConfig named"
            )
        if [str(c) for c in run.recorder.constraints] != ["loss <= 4.7"]:
            raise AssertionError(
                f"the searcher's constraints are {run.recorder.constraints!r}, not TuneConfig's"
            )

    def test_a_restored_multi_objective_searcher_continues(self, tmp_path: Path) -> None:
        if self._refuses_several_objectives(tmp_path):
            return
        self.check_restore(tmp_path, SEVERAL_OBJECTIVES)

    def _refuses_several_objectives(self, tmp_path: Path) -> bool:
        """For a searcher of one objective (`multi_objective = False`): check that it refuses
        several objectives with a ConfigError naming it, rather than optimising one of them
        silently; True when it did (the multi-objective checks then have nothing to run)."""
        if self.multi_objective:
            return False
        name = type(self.make_searcher()).__name__
        try:
            self.run_experiment(tmp_path, "refused", goal=SEVERAL_OBJECTIVES)
        except ConfigError as error:
            if name not in str(error):
                raise AssertionError(
                    f"{name} refused several objectives, but its error does not name it: {error}"
                ) from error
            return True
        raise AssertionError(
            f"{name} sets multi_objective = False, yet it ran an experiment with "
            f"TuneConfig(metric={SEVERAL_OBJECTIVES.metric!r}): it must raise ConfigError (set "
            "supports_multi_objective = False on the searcher, the default) or set "
            "multi_objective = True on its contract"
        )


def _repeats(configs: Sequence[dict[str, Any]]) -> int:
    """How many configs are repeats of an earlier one."""
    return sum(n - 1 for n in Counter(map(_key, configs)).values())


def _skip(reason: str) -> None:
    import pytest  # only ever called from a test that pytest runs

    pytest.skip(reason)
