"""Ray Tune callbacks through the mapped imports: written in Ray's style, run through real fits.

`from ray import tune` -> `import tuner as tune`; `from ray.tune.experiment import Trial` ->
`from tuner.experiment import Trial`; `from ray.tune.result import SHOULD_CHECKPOINT` ->
`from tuner.result import SHOULD_CHECKPOINT`.
"""

from __future__ import annotations

import copy
import csv
import json
import logging
import os
import pickle
import re
from pathlib import Path
from typing import Any

import pytest

import tuner as tune
from schedulers import PopulationBasedTraining
from tuner import ConfigError, InProcessExecutor, LocalExecutor, TrialError, TrialInfo
from tuner.experiment import Trial
from tuner.result import SHOULD_CHECKPOINT


class Counter(tune.Trainable):
    """Adds `rate` each step; checkpoints {steps, value}; fails on the `fail_on_step`-th step of
    each run (a run: from a start or resume to the next stop or pause)."""

    def setup(self, config: dict[str, Any]) -> None:
        self.steps, self.value, self.run_steps = 0, 0.0, 0

    def step(self) -> dict[str, Any]:
        self.steps += 1
        self.run_steps += 1
        self.value += self.config["rate"]
        if self.run_steps == self.config.get("fail_on_step"):
            raise RuntimeError(f"failing on step {self.run_steps} of this run")
        return {"value": self.value, "steps": self.steps}

    def save_checkpoint(self, checkpoint_dir: str) -> None:
        Path(checkpoint_dir, "state.json").write_text(
            json.dumps({"steps": self.steps, "value": self.value})
        )

    def load_checkpoint(self, checkpoint_dir: str) -> None:
        state = json.loads(Path(checkpoint_dir, "state.json").read_text())
        self.steps, self.value = state["steps"], state["value"]


class Recorder(tune.Callback):
    """Records every hook with the arguments Ray Tune's callbacks get (all as keywords)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def _note(self, hook: str, **kwargs: Any) -> None:
        trial = kwargs.get("trial")
        if trial is not None:
            assert isinstance(trial, Trial)
            assert trial in kwargs["trials"], "the trial is one of `trials`"
            kwargs["status"] = trial.status
        if "trials" in kwargs:
            assert isinstance(kwargs["trials"], tuple)
            assert all(isinstance(t, Trial) for t in kwargs["trials"])
        self.calls.append((hook, kwargs))

    def setup(self, stop=None, num_samples=None, total_num_samples=None, **info):
        self._note("setup", stop=stop, num_samples=num_samples,
                   total_num_samples=total_num_samples, **info)

    def on_step_begin(self, iteration, trials, **info):
        self._note("step_begin", iteration=iteration, trials=trials, **info)

    def on_step_end(self, iteration, trials, **info):
        self._note("step_end", iteration=iteration, trials=trials, **info)

    def on_trial_start(self, iteration, trials, trial, **info):
        self._note("start", iteration=iteration, trials=trials, trial=trial, **info)

    def on_trial_restore(self, iteration, trials, trial, **info):
        self._note("restore", iteration=iteration, trials=trials, trial=trial,
                   checkpoint=trial.checkpoint, **info)

    def on_trial_save(self, iteration, trials, trial, **info):
        self._note("save", iteration=iteration, trials=trials, trial=trial, **info)

    def on_trial_result(self, iteration, trials, trial, result, **info):
        result["seen_at_loop_iteration"] = iteration  # Ray lets callbacks change results
        self._note("result", iteration=iteration, trials=trials, trial=trial,
                   result=dict(result), **info)

    def on_trial_pause(self, iteration, trials, trial, **info):
        self._note("pause", iteration=iteration, trials=trials, trial=trial, **info)

    def on_trial_complete(self, iteration, trials, trial, **info):
        self._note("complete", iteration=iteration, trials=trials, trial=trial, **info)

    def on_trial_recover(self, iteration, trials, trial, **info):
        self._note("recover", iteration=iteration, trials=trials, trial=trial, **info)

    def on_trial_error(self, iteration, trials, trial, **info):
        self._note("error", iteration=iteration, trials=trials, trial=trial, **info)

    def on_checkpoint(self, iteration, trials, trial, checkpoint, **info):
        self._note("checkpoint", iteration=iteration, trials=trials, trial=trial,
                   checkpoint=checkpoint, exists=os.path.isdir(checkpoint.path), **info)

    def on_experiment_end(self, trials, **info):
        self._note("experiment_end", trials=trials, **info)

    def per_trial(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for hook, kwargs in self.calls:
            if "trial" in kwargs:
                out.setdefault(kwargs["trial"].trial_id, []).append(hook)
        return out


# One run of a trial: started (resumed from a checkpoint or not), then results, each maybe with
# a checkpoint. A trial: runs separated by a pause (whose checkpoint follows it) or by a failure
# it is retried after, ending complete or in error.
_RUN = r"start (restore )?(result (checkpoint save )?)*"
_TRIAL = re.compile(rf"^{_RUN}((pause (checkpoint save )?|recover ){_RUN})*(complete|error) $")


def test_every_hook_in_rays_form_over_a_pbt_run_with_pauses_and_a_failure(
    tmp_path: Path,
) -> None:
    pbt = PopulationBasedTraining(
        time_attr="training_iteration", perturbation_interval=2, quantile_fraction=0.5,
        hyperparam_mutations={"rate": tune.uniform(0.1, 4.0)}, seed=3,
    )
    recorder = Recorder()
    grid = tune.Tuner(
        Counter,
        param_space={
            "rate": tune.grid_search([0.05, 0.1, 0.2, 3.0, 4.0]),
            # The slowest trial fails on the 2nd step of each run: before PBT's first
            # perturbation, so it is never exploited nor a donor.
            "fail_on_step": tune.sample_from(lambda spec: 2 if spec.config.rate == 0.05 else None),
        },
        tune_config=tune.TuneConfig(metric="value", mode="max", scheduler=pbt),
        run_config=tune.RunConfig(
            storage_path=str(tmp_path), name="pbt", verbose=0, callbacks=[recorder],
            stop={"training_iteration": 8},
            checkpoint_config=tune.CheckpointConfig(checkpoint_frequency=2),
            failure_config=tune.FailureConfig(max_failures=1),
        ),
        executor=InProcessExecutor(max_concurrent=5),
    ).fit()
    [failing] = [r for r in grid if r.config["fail_on_step"] == 2]
    assert failing.status == "ERROR"
    assert {r.status for r in grid if r is not failing} == {"TERMINATED"}

    # setup first, experiment_end last.
    hooks = [hook for hook, _ in recorder.calls]
    assert hooks[0] == "setup" and hooks.count("setup") == 1 and hooks[-1] == "experiment_end"
    setup = recorder.calls[0][1]
    assert setup["num_samples"] == 1 and setup["total_num_samples"] == 5
    assert isinstance(setup["stop"], tune.Stopper)

    # The loop's iteration counts up by one per turn: each turn is step_begin(i) ..
    # step_end(i + 1), and every hook in between is told i.
    turn = None
    for hook, kwargs in recorder.calls:
        if hook == "step_begin":
            turn = kwargs["iteration"]
        elif hook == "step_end":
            assert turn is not None and kwargs["iteration"] == turn + 1
        elif "iteration" in kwargs and turn is not None:
            assert kwargs["iteration"] == turn, hook
    begins = [k["iteration"] for h, k in recorder.calls if h == "step_begin"]
    assert begins == list(range(len(begins))) and len(begins) > 3

    sequences = recorder.per_trial()
    assert set(sequences) == {r.trial_id for r in grid}
    for trial_id, sequence in sequences.items():
        text = " ".join(sequence) + " "
        assert _TRIAL.match(text), f"{trial_id}: {text}"

    # Statuses as the hooks saw them, in Ray's strings.
    expected_status = {"start": Trial.RUNNING, "result": Trial.RUNNING, "pause": Trial.PAUSED,
                       "complete": Trial.TERMINATED, "recover": Trial.PENDING,
                       "error": Trial.ERROR}
    for hook, kwargs in recorder.calls:
        if hook in expected_status:
            assert kwargs["status"] == expected_status[hook], (hook, kwargs["trial"])

    # PBT paused trials and resumed them from a checkpoint (their own or a copied one).
    assert any("pause start restore" in " ".join(s) for s in sequences.values()), sequences
    for hook, kwargs in recorder.calls:
        if hook == "checkpoint":
            assert isinstance(kwargs["checkpoint"], tune.Checkpoint) and kwargs["exists"]
        if hook == "restore":
            assert kwargs["checkpoint"] is not None

    # The failing trial: retried once (recover), then failed for good (error).
    assert sequences[failing.trial_id] == [
        "start", "result", "recover", "start", "result", "error"]
    trial = next(k["trial"] for h, k in recorder.calls if h == "error")
    assert trial.trial_id == failing.trial_id
    assert trial.error_file is not None
    assert "failing on step 2" in Path(trial.error_file).read_text()
    assert isinstance(trial.get_error(), TrialError)

    # The last hook saw every trial, with its final status; they are the very objects the
    # other hooks got (hashable, compared by id).
    end_trials = recorder.calls[-1][1]["trials"]
    assert sorted(t.trial_id for t in end_trials) == sorted(r.trial_id for r in grid)
    assert sorted(t.status for t in end_trials) == ["ERROR"] + ["TERMINATED"] * 4
    started = {k["trial"] for h, k in recorder.calls if h == "start"}
    assert started == set(end_trials)

    # What a callback adds to a result reaches the loggers (they run after it).
    for result in grid:
        with Path(result.path, "progress.csv").open() as file:
            rows = list(csv.DictReader(file))
        assert rows and all(row["seen_at_loop_iteration"] != "" for row in rows)
        lines = Path(result.path, "result.json").read_text().splitlines()
        assert all("seen_at_loop_iteration" in json.loads(line) for line in lines)


class AskEveryThird(tune.Callback):
    """Asks for a checkpoint on every 3rd result: by setting should_checkpoint, or by
    checkpoint_now() (Ray's two ways)."""

    def __init__(self, how: str) -> None:
        self.how = how

    def on_trial_result(self, iteration, trials, trial, result, **info):
        if result["training_iteration"] % 3 == 0:
            if self.how == "result":
                result[SHOULD_CHECKPOINT] = True
            else:
                trial.checkpoint_now()


@pytest.mark.parametrize("how", ["result", "checkpoint_now"])
@pytest.mark.parametrize("executor", ["inprocess", "local"])
def test_a_callback_makes_a_class_trainable_checkpoint_those_results(
    tmp_path: Path, how: str, executor: str
) -> None:
    grid = tune.Tuner(
        Counter,
        param_space={"rate": 1.0},
        run_config=tune.RunConfig(
            storage_path=str(tmp_path), name="ask", verbose=0, callbacks=[AskEveryThird(how)],
            stop={"training_iteration": 10},
            checkpoint_config=tune.CheckpointConfig(checkpoint_frequency=0),
        ),
        executor=InProcessExecutor() if executor == "inprocess" else LocalExecutor(num_cpus=1),
    ).fit()
    [result] = list(grid)
    assert result.metrics["training_iteration"] == 10
    directories = sorted(p.name for p in Path(result.path).glob("checkpoint_*"))
    assert directories == ["checkpoint_000000", "checkpoint_000001", "checkpoint_000002"]
    saved = [json.loads(Path(result.path, d, "state.json").read_text())["steps"]
             for d in directories]
    assert saved == [3, 6, 9], "each checkpoint holds the state of the result that asked"
    assert result.checkpoint is not None and result.checkpoint.path.endswith("checkpoint_000002")


def test_a_checkpoint_asked_with_the_stop_decision_is_still_saved(tmp_path: Path) -> None:
    grid = tune.Tuner(
        Counter,
        param_space={"rate": 1.0},
        run_config=tune.RunConfig(
            storage_path=str(tmp_path), name="last", verbose=0, callbacks=[AskEveryThird("x")],
            stop={"training_iteration": 6},
        ),
        executor=InProcessExecutor(),
    ).fit()
    directories = sorted(p.name for p in Path(grid[0].path).glob("checkpoint_*"))
    assert directories == ["checkpoint_000000", "checkpoint_000001"]
    assert grid[0].checkpoint is not None
    state = json.loads(Path(grid[0].checkpoint.path, "state.json").read_text())
    assert state["steps"] == 6


def counting_function(config: dict[str, Any]) -> None:
    for _ in range(6):
        tune.report({"loss": 1.0})


def test_a_function_trainable_cannot_be_made_to_checkpoint_and_says_so_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="tuner._controller"):
        grid = tune.Tuner(
            counting_function,
            param_space={"x": tune.grid_search([1, 2])},
            run_config=tune.RunConfig(storage_path=str(tmp_path), name="fn", verbose=0,
                                      callbacks=[AskEveryThird("checkpoint_now")]),
            executor=InProcessExecutor(),
        ).fit()
    assert {r.status for r in grid} == {"TERMINATED"}
    assert not list(Path(grid.experiment_path).glob("*/checkpoint_*"))
    warnings = [r for r in caplog.records if "asked trial" in r.message]
    assert len(warnings) == 1
    assert "passes checkpoint= to report()" in warnings[0].message


class Inspect(tune.Callback):
    """Looks at the trial object as Ray scripts do."""

    def __init__(self) -> None:
        self.seen: dict[Trial, list[int]] = {}
        self.problems: list[str] = []

    def on_trial_result(self, iteration, trials, trial, result, **info):
        self.seen.setdefault(trial, []).append(result["training_iteration"])
        if result["training_iteration"] != 2:
            return
        for attempt in (lambda: trial.config.__setitem__("rate", 9.0),
                        lambda: trial.last_result.__setitem__("value", 0.0),
                        lambda: setattr(trial, "status", Trial.TERMINATED)):
            try:
                attempt()
            except (TypeError, AttributeError):
                continue
            self.problems.append("a trial view was changed")
        mine = copy.deepcopy(dict(trial.config))
        mine["rate"] = 100.0  # a copy is the caller's own
        try:
            pickle.dumps(trial)
            self.problems.append("a live view was pickled")
        except TypeError as exc:
            assert "keep trial.trial_id" in str(exc)
        self.facts = {
            "str": str(trial), "repr": repr([trial]), "trial_name": trial.trial_name,
            "trainable_name": trial.trainable_name, "local_path": trial.local_path,
            "logdir": trial.logdir, "path": trial.path, "tag": trial.experiment_tag,
            "last_iteration": trial.last_result["training_iteration"],
            "checkpoint": trial.checkpoint, "finished": trial.is_finished(),
        }


def test_the_trial_object_is_rays_shape_and_read_only(tmp_path: Path) -> None:
    inspect = Inspect()
    grid = tune.Tuner(
        Counter,
        param_space={"rate": 0.5, "model": {"layers": 2}},
        run_config=tune.RunConfig(
            storage_path=str(tmp_path), name="shape", verbose=0, callbacks=[inspect],
            stop={"training_iteration": 3},
            checkpoint_config=tune.CheckpointConfig(checkpoint_frequency=1),
        ),
        executor=InProcessExecutor(),
    ).fit()
    assert not inspect.problems
    [result] = list(grid)
    [(trial, iterations)] = inspect.seen.items()
    assert iterations == [1, 2, 3]
    facts = inspect.facts
    assert facts["str"] == facts["trial_name"] == f"Counter_{result.trial_id}"
    assert facts["repr"] == f"[Counter_{result.trial_id}]"
    assert facts["trainable_name"] == "Counter"
    assert facts["path"] == result.path and facts["logdir"] == facts["local_path"]
    assert facts["tag"] == "0_layers=2,rate=0.5000"
    assert facts["last_iteration"] == 2 and not facts["finished"]
    assert isinstance(facts["checkpoint"], tune.Checkpoint)
    assert facts["checkpoint"].path.endswith("checkpoint_000001")
    # The view still follows the trial after the run; the engine's state was not changed.
    assert trial.status == Trial.TERMINATED and trial.is_finished()
    assert trial.last_result["training_iteration"] == 3 and result.config["rate"] == 0.5
    assert trial == next(iter(inspect.seen)) and hash(trial) == hash(trial.trial_id)
    assert trial.error_file is None and trial.get_error() is None


class Earlier(tune.Callback):
    """Every hook in this engine's earlier form (positional, with TrialInfo)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def setup(self, experiment_local_path):
        self.calls.append(("setup", experiment_local_path))

    def on_trial_start(self, trial):
        self.calls.append(("start", trial))

    def on_trial_result(self, trial, result):
        self.calls.append(("result", (trial, result["training_iteration"])))

    def on_trial_complete(self, trial):
        self.calls.append(("complete", trial))

    def on_trial_error(self, trial, error):
        self.calls.append(("error", (trial, error)))

    def on_experiment_end(self, trials_infos):
        self.calls.append(("end", trials_infos))


def test_hooks_in_the_earlier_form_still_work_and_warn_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    earlier = Earlier()
    with caplog.at_level(logging.WARNING, logger="tuner._callback"):
        grid = tune.Tuner(
            Counter,
            param_space={"rate": 1.0, "fail_on_step": tune.grid_search([None, 2])},
            run_config=tune.RunConfig(
                storage_path=str(tmp_path), name="old", verbose=0, callbacks=[earlier],
                stop={"training_iteration": 3},
                failure_config=tune.FailureConfig(max_failures=1),
            ),
            executor=InProcessExecutor(),
        ).fit()
    assert sorted(r.status for r in grid) == ["ERROR", "TERMINATED"]
    warnings = [r.message for r in caplog.records if "earlier form" in r.message]
    assert len(warnings) == 1 and "def " in warnings[0] and "**info" in warnings[0]
    kinds = [kind for kind, _ in earlier.calls]
    assert kinds[0] == "setup" and earlier.calls[0][1] == str(tmp_path / "old")
    assert kinds[-1] == "end" and all(isinstance(t, TrialInfo) for t in earlier.calls[-1][1])
    starts = [value for kind, value in earlier.calls if kind == "start"]
    assert all(isinstance(t, TrialInfo) and t.status == "RUNNING" for t in starts)
    # As before, the error hook hears of every failure: the retried one and the last.
    errors = [value for kind, value in earlier.calls if kind == "error"]
    assert len(errors) == 2 and all(isinstance(e, TrialError) for _, e in errors)
    assert "failing on step 2" in str(errors[0][1])
    assert [value[1] for kind, value in earlier.calls
            if kind == "result" and value[0].trial_id == grid[0].trial_id] == [1, 2, 3]


def test_a_hook_no_form_fits_is_refused_when_the_run_config_is_made() -> None:
    class Wrong(tune.Callback):
        def on_trial_result(self, a, b, c, d, e, f):  # neither Ray's nor the earlier form
            pass

    with pytest.raises(ConfigError, match=r"Wrong\.on_trial_result\(a, b, c, d, e, f\) cannot "
                       r"take .* def on_trial_result\(self, iteration, trials, trial, result, "
                       r"\*\*info\)"):
        tune.RunConfig(callbacks=[Wrong()])
    with pytest.raises(ConfigError, match=r"pass Wrong\(\)"):
        tune.RunConfig(callbacks=[Wrong])  # type: ignore[list-item]
    with pytest.raises(ConfigError, match=r"subclass tuner\.Callback"):
        tune.RunConfig(callbacks=[object()])  # type: ignore[list-item]
