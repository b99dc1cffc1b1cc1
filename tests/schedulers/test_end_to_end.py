"""Every scheduler through the Tuner with real trials: its decisions are acted on as promised.

The unit tests drive schedulers with scripted results; these run real function and class
trainables, with real checkpoints on disk, through the event loop. `InProcessExecutor` (one trial
at a time, deterministic) is used where the scheduler's logic is the point; `LocalExecutor` runs
one pause/resume test per trainable kind in worker processes.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any, Literal

import pytest

from schedulers import (
    PB2,
    ASHAScheduler,
    FIFOScheduler,
    HyperBandScheduler,
    MedianStoppingRule,
    PopulationBasedTraining,
    PopulationBasedTrainingReplay,
    TrialScheduler,
)
from schedulers._pbt_replay import lineage, read_policy
from searchers import TPESearch
from tuner import (
    Checkpoint,
    ConfigError,
    InProcessExecutor,
    LocalExecutor,
    ResultGrid,
    RunConfig,
    Trainable,
    TuneConfig,
    Tuner,
    get_checkpoint,
    get_context,
    grid_search,
    report,
    uniform,
)


def counter(config: dict[str, Any]) -> None:
    """Adds `rate` to a value each step and checkpoints {step, value, owner} every step.

    Every result tells where this run started: `start` (the step of the checkpoint it resumed
    from) and `start_owner` (the trial that wrote that checkpoint, None when it started afresh).
    """
    step, value, owner = 0, 0.0, None
    checkpoint = get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as d:
            state = json.loads(Path(d, "state.json").read_text())
        step, value, owner = state["step"], state["value"], state["owner"]
    start, start_value = step, value
    me = get_context().trial_id
    while step < config["steps"]:
        time.sleep(0.002)  # a step takes some time, as training does
        step += 1
        value += config["rate"]
        with tempfile.TemporaryDirectory() as d:
            Path(d, "state.json").write_text(json.dumps({"step": step, "value": value, "owner": me}))
            report(
                {"value": value, "step": step, "start": start, "start_value": start_value,
                 "start_owner": owner, "rate": config["rate"]},
                checkpoint=Checkpoint.from_directory(d),
            )


class ClassCounter(Trainable):
    """The class-trainable twin of `counter`: save/load_checkpoint hold the step and value."""

    def setup(self, config: dict[str, Any]) -> None:
        self.value = 0.0
        self.step_count = 0
        self.start = 0

    def step(self) -> dict[str, Any]:
        self.step_count += 1
        self.value += self.config["rate"]
        return {"value": self.value, "step": self.step_count, "start": self.start,
                "rate": self.config["rate"], "done": self.step_count >= self.config["steps"]}

    def save_checkpoint(self, checkpoint_dir: str) -> None:
        state = {"step": self.step_count, "value": self.value}
        Path(checkpoint_dir, "state.json").write_text(json.dumps(state))

    def load_checkpoint(self, checkpoint: str | dict[str, Any]) -> None:
        assert isinstance(checkpoint, str)
        state = json.loads(Path(checkpoint, "state.json").read_text())
        self.step_count, self.value = state["step"], state["value"]
        self.start = self.step_count


def curve(config: dict[str, Any]) -> None:
    """A learning curve without checkpoints: loss falls to `final` like 1/t."""
    for t in range(1, config["steps"] + 1):
        report({"loss": config["final"] + 1.0 / t})


def fit(trainable: Any, tmp_path: Path, param_space: dict[str, Any], *,
        scheduler: TrialScheduler | None, metric: str = "value", mode: Literal["min", "max"] = "max",
        num_samples: int = 1, executor: Any = None, name: str = "e2e", seed: int = 0) -> ResultGrid:
    return Tuner(
        trainable,
        param_space=param_space,
        tune_config=TuneConfig(metric=metric, mode=mode, scheduler=scheduler,
                               num_samples=num_samples, seed=seed),
        run_config=RunConfig(storage_path=str(tmp_path), name=name, verbose=0),
        executor=executor or InProcessExecutor(),
    ).fit()


def rows(path: str) -> list[dict[str, Any]]:
    """A trial's results as logged in its result.json, in order."""
    return [json.loads(line) for line in Path(path, "result.json").read_text().splitlines()]


def policy(tmp_path: Path, name: str = "e2e") -> list[dict[str, Any]]:
    text = (tmp_path / name / "pbt_policy.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines()]


# ----------------------------------------------------------------------------- ASHA


def test_asha_stops_bad_trials_early_and_runs_the_best_to_max_t(tmp_path: Path) -> None:
    space = {"final": grid_search([0.8, 0.1, 0.6, 0.4, 0.7, 0.3, 0.5, 0.2, 0.9]), "steps": 9}
    fifo = fit(curve, tmp_path, space, scheduler=None, metric="loss", mode="min", name="fifo")
    asha = fit(curve, tmp_path, space, metric="loss", mode="min", name="asha",
               scheduler=ASHAScheduler(max_t=9, grace_period=1, reduction_factor=3))

    def iterations(grid: ResultGrid) -> int:
        return sum(r.metrics["training_iteration"] for r in grid)

    assert iterations(fifo) == 9 * 9
    assert iterations(asha) < 0.6 * iterations(fifo)
    assert {r.status for r in asha} == {"TERMINATED"}
    best = asha.get_best_result()
    assert best.config["final"] == 0.1
    assert best.metrics["training_iteration"] == 9
    # The worst configs never got past the first rung.
    worst = next(r for r in asha if r.config["final"] == 0.9)
    assert worst.metrics["training_iteration"] == 1


# ----------------------------------------------------------------------------- HyperBand

HYPERBAND_RATES = [0.5, 1.0, 3.0, 2.0, 5.0, 4.0, 1.5, 6.0]


def check_resumed_not_restarted(grid: ResultGrid, steps: int) -> None:
    """Each trial's logged iterations count 1, 2, ... without a repeat, and values add up."""
    for result in grid:
        logged = rows(result.path)
        iterations = [r["training_iteration"] for r in logged]
        assert iterations == list(range(1, len(logged) + 1)), iterations
        for row in logged:
            assert row["step"] == row["training_iteration"]
            assert row["value"] == pytest.approx(row["step"] * result.config["rate"])
        assert result.metrics["training_iteration"] <= steps


def check_hyperband_brackets(grid: ResultGrid, *, exact: bool) -> None:
    """max_t=9, rf=3: 3 trials straight to 9, then 5 with a milestone at 3 of which 2 go on.

    A class trial waits for each decision, so losers stop exactly at the milestone. A function
    trial's report() does not wait, so it may run some steps past its milestone before it sees
    the PAUSE (those results are kept, and it resumes after them): there, only the outcome of
    the halving is checked.
    """
    final = {r.config["rate"]: r.metrics["training_iteration"] for r in grid}
    assert {rate: final[rate] for rate in HYPERBAND_RATES[:3]} == {0.5: 9, 1.0: 9, 3.0: 9}
    assert final[5.0] == final[6.0] == 9, final  # the best two of the second bracket go on
    losers = [final[rate] for rate in (2.0, 4.0, 1.5)]
    assert losers == [3, 3, 3] if exact else min(losers) < 9, final
    resumed = [r for r in grid if r.config["rate"] in (5.0, 6.0) and r.metrics["start"] > 0]
    assert resumed, "no winner of the halving was paused and resumed"
    for result in resumed:
        assert 3 <= result.metrics["start"] < 9, "resumed from its checkpoint, not from scratch"
        assert result.metrics["value"] == 9 * result.config["rate"]


def test_hyperband_pauses_and_resumes_function_trials_from_checkpoints(tmp_path: Path) -> None:
    grid = fit(counter, tmp_path, {"rate": grid_search(HYPERBAND_RATES), "steps": 9},
               scheduler=HyperBandScheduler(max_t=9, reduction_factor=3),
               executor=LocalExecutor(num_cpus=2))
    assert {r.status for r in grid} == {"TERMINATED"}
    check_resumed_not_restarted(grid, 9)
    check_hyperband_brackets(grid, exact=False)


def test_hyperband_pauses_and_resumes_class_trials_from_checkpoints(tmp_path: Path) -> None:
    grid = fit(ClassCounter, tmp_path, {"rate": grid_search(HYPERBAND_RATES), "steps": 9},
               scheduler=HyperBandScheduler(max_t=9, reduction_factor=3),
               executor=LocalExecutor(num_cpus=2))
    assert {r.status for r in grid} == {"TERMINATED"}
    check_resumed_not_restarted(grid, 9)
    check_hyperband_brackets(grid, exact=True)


def test_hyperband_with_fewer_trials_than_a_bracket_still_finishes(tmp_path: Path) -> None:
    # Bracket 0 takes 3 trials; bracket 1 plans 5 but gets only 2, and must still be halved.
    grid = fit(counter, tmp_path, {"rate": grid_search([1.0, 2.0, 3.0, 4.0, 5.0]), "steps": 20},
               scheduler=HyperBandScheduler(max_t=9, reduction_factor=3))
    assert {r.status for r in grid} == {"TERMINATED"}
    final = {r.config["rate"]: r.metrics["training_iteration"] for r in grid}
    # ceil(5 / 3) = 2 of the planned 5 go on: both trials of the short bracket reach max_t.
    assert final == {1.0: 9, 2.0: 9, 3.0: 9, 4.0: 9, 5.0: 9}
    check_resumed_not_restarted(grid, 9)
    short_bracket = [r for r in grid if r.config["rate"] > 3]
    assert all(r.metrics["start"] >= 3 for r in short_bracket), "they waited at the milestone"


# ----------------------------------------------------------------------------- Median rule


def test_median_stopping_rule_stops_clearly_bad_trials(tmp_path: Path) -> None:
    rates = [1.0, -5.0, 1.1, -4.0, 1.2, 1.3]
    grid = fit(counter, tmp_path, {"rate": grid_search(rates), "steps": 8},
               scheduler=MedianStoppingRule(time_attr="training_iteration", grace_period=2,
                                            min_samples_required=1))
    final = {r.config["rate"]: r.metrics["training_iteration"] for r in grid}
    assert {r.status for r in grid} == {"TERMINATED"}
    # Judged at the end of the grace period, against the running means of the others.
    assert final[-5.0] == 2 and final[-4.0] == 2
    assert [final[rate] for rate in rates if rate > 0] == [8, 8, 8, 8]


# ----------------------------------------------------------------------------- PBT


def check_exploits_resumed_from_donor_checkpoints(
    grid: ResultGrid, records: list[dict[str, Any]]
) -> None:
    """Every run of a trial that started from another trial's checkpoint matches a recorded
    exploit: that donor, the new config, at or after the donor's recorded iteration; and it
    continued the donor's state (value) with its new rate.

    Not every record needs a run: a function trial may report its last step before it sees the
    PAUSE, and an exploit at the very end then has nothing left to train.
    """
    exploited_runs = 0
    for result in grid:
        for row in rows(result.path):
            if row["start_owner"] in (None, result.trial_id) or row["step"] != row["start"] + 1:
                continue  # not the first result of a run that resumed from another trial
            exploited_runs += 1
            matching = [
                r for r in records
                if r["target_trial_id"] == result.trial_id
                and r["donor_trial_id"] == row["start_owner"]
                and r["new_config"]["rate"] == row["rate"]
                and r["donor_iteration"] <= row["start"]
            ]
            assert matching, f"{result.trial_id} resumed from {row} without a recorded exploit"
            assert row["value"] == pytest.approx(row["start_value"] + row["rate"])
            assert row["training_iteration"] == row["step"], "the donor's iteration count"
    assert exploited_runs >= 2, "fewer than two exploits took effect"


@pytest.mark.parametrize("synch", [False, True], ids=["async", "synch"])
def test_pbt_exploits_copied_checkpoints_and_explores_configs(
    tmp_path: Path, synch: bool
) -> None:
    pbt = PopulationBasedTraining(
        time_attr="training_iteration", perturbation_interval=3, synch=synch,
        hyperparam_mutations={"rate": uniform(0.0, 4.0)}, quantile_fraction=0.5, seed=1,
    )
    # The whole population runs at once: see the module docstring of bench/schedulers.py.
    grid = fit(counter, tmp_path, {"rate": grid_search([0.1, 0.2, 3.0, 4.0]), "steps": 13},
               scheduler=pbt, executor=InProcessExecutor(max_concurrent=4))
    assert {r.status for r in grid} == {"TERMINATED"}
    assert {r.metrics["training_iteration"] for r in grid} == {13}
    records = policy(tmp_path)
    assert records, "PBT exploited nothing"
    for record in records:
        assert set(record) >= {"target_trial_id", "donor_trial_id", "donor_iteration",
                               "old_config", "new_config"}
        assert record["donor_trial_id"] != record["target_trial_id"]
    # The slow starters (rates 0.1 and 0.2) were the first to copy a fast one.
    # The slow starters were at the bottom at every interval: both took a faster trial's state.
    assert grid[0].config["rate"] != 0.1 and grid[1].config["rate"] != 0.2
    check_exploits_resumed_from_donor_checkpoints(grid, records)


def test_pbt_with_a_model_based_searcher_is_refused(tmp_path: Path) -> None:
    pbt = PopulationBasedTraining(time_attr="training_iteration", perturbation_interval=2,
                                  hyperparam_mutations={"rate": uniform(0.0, 1.0)})
    tuner = Tuner(
        counter,
        param_space={"rate": uniform(0.0, 1.0), "steps": 4},
        tune_config=TuneConfig(metric="value", mode="max", scheduler=pbt,
                               search_alg=TPESearch(seed=0), num_samples=4),
        run_config=RunConfig(storage_path=str(tmp_path), verbose=0),
        executor=InProcessExecutor(),
    )
    with pytest.raises(ConfigError, match=r"PopulationBasedTraining cannot be combined with "
                                          r"TPESearch: it sets trial configs itself"):
        tuner.fit()


def test_pbt_replay_follows_a_recorded_policy_file(tmp_path: Path) -> None:
    pbt = PopulationBasedTraining(
        time_attr="training_iteration", perturbation_interval=3,
        hyperparam_mutations={"rate": uniform(0.0, 4.0)}, quantile_fraction=0.5, seed=1,
    )
    fit(counter, tmp_path, {"rate": grid_search([0.1, 0.2, 3.0, 4.0]), "steps": 13},
        scheduler=pbt, name="pbt", executor=InProcessExecutor(max_concurrent=4))
    path = tmp_path / "pbt" / "pbt_policy.jsonl"
    chain = lineage(read_policy(path), policy(tmp_path, "pbt")[-1]["target_trial_id"])
    assert chain
    # The rate in force at each step, as replayed: a change applies from the step after the
    # recorded donor_iteration (the step whose weights the new config continued from).
    schedule = [(0, chain[0]["old_config"]["rate"])] + [
        (int(r["donor_iteration"]), r["new_config"]["rate"]) for r in chain
    ]
    replay = PopulationBasedTrainingReplay(path, trial_id=chain[-1]["target_trial_id"])
    # A class trainable waits for each decision, so every change lands on its exact step (a
    # function trainable may run a step past a PAUSE before it sees it).
    grid = fit(ClassCounter, tmp_path, {**replay.config, "steps": 13}, scheduler=replay,
               name="replay")
    [result] = grid
    assert result.status == "TERMINATED"
    logged = rows(result.path)
    assert [r["training_iteration"] for r in logged] == list(range(1, 14))
    for row in logged:
        assert row["rate"] == [rate for since, rate in schedule if since < row["step"]][-1]
    value = sum(rate for step in range(1, 14)
                for since, rate in [[p for p in schedule if p[0] < step][-1]])
    assert result.metrics["value"] == pytest.approx(value), "resumed from its own checkpoints"
    # The config it ended with is the last one in force. (A record of an exploit whose donor
    # had already reached step 13, its last, when the exploit was carried out changes nothing
    # in the replay: the trial ends at 13, its last step.)
    assert result.config["rate"] == [rate for since, rate in schedule if since < 13][-1]


def test_pb2_runs_end_to_end(tmp_path: Path) -> None:
    pb2 = PB2(time_attr="training_iteration", perturbation_interval=2, quantile_fraction=0.5,
              hyperparam_bounds={"rate": [0.0, 4.0]}, seed=0)
    grid = fit(counter, tmp_path, {"rate": uniform(0.0, 4.0), "steps": 9}, scheduler=pb2,
               num_samples=4, executor=InProcessExecutor(max_concurrent=4))
    assert {r.status for r in grid} == {"TERMINATED"}
    records = policy(tmp_path)
    assert records
    for record in records:
        assert 0.0 <= record["new_config"]["rate"] <= 4.0
    check_exploits_resumed_from_donor_checkpoints(grid, records)


def test_fifo_is_the_default(tmp_path: Path) -> None:
    # A sanity baseline for the figures above: every trial runs every step.
    grid = fit(counter, tmp_path, {"rate": grid_search([1.0, 2.0]), "steps": 3},
               scheduler=FIFOScheduler())
    assert [r.metrics["training_iteration"] for r in grid] == [3, 3]


def test_hyperband_waits_for_trials_created_later_before_halving() -> None:
    # The event loop creates trials only as workers free up: a bracket's first trial can reach
    # the milestone before the rest of the bracket exists. It must wait (it used to be halved
    # alone and run to max_t, turning HyperBand into FIFO with one worker).
    from schedulers import Decision, TrialStatus, TrialSuggestion, TrialView, WaitingList

    hb = HyperBandScheduler(metric="value", mode="max", max_t=9, reduction_factor=3)
    for i in range(4):  # t0..t2 fill bracket 0; t3 opens bracket 1 (5 planned, milestone 3)
        hb.on_trial_add(TrialView(f"t{i}", {}, TrialStatus.PENDING))
    result = {"training_iteration": 3, "value": 1.0}
    assert hb.on_trial_result(TrialView("t3", {}, TrialStatus.RUNNING), result) is Decision.PAUSE
    hb.on_trial_add(TrialView("t4", {}, TrialStatus.PENDING))  # joins the same bracket
    assert hb.suggest(WaitingList([TrialView("t3", {}, TrialStatus.PAUSED),
                                   TrialView("t4", {}, TrialStatus.PENDING)])) == (
        TrialSuggestion.run("t4")
    )
    assert hb.on_trial_result(TrialView("t4", {}, TrialStatus.RUNNING), result) is Decision.PAUSE
    # No PENDING trial offered: the loop could create none, so the short bracket is halved;
    # ceil(5 / 3) = 2 go on: both (no trial is stopped).
    assert hb.suggest(WaitingList([TrialView("t3", {}, TrialStatus.PAUSED),
                                   TrialView("t4", {}, TrialStatus.PAUSED)])) == (
        TrialSuggestion.run("t3")
    )


def test_pbt_on_remote_storage_copies_checkpoints_in_the_background(memory_storage: str) -> None:
    """memory:// is not a local disk: exploits copy the donor's checkpoint off the event loop,
    and the recipient starts only once its copy is complete."""
    pbt = PopulationBasedTraining(
        time_attr="training_iteration", perturbation_interval=3,
        hyperparam_mutations={"rate": uniform(0.0, 4.0)}, quantile_fraction=0.5, seed=1,
    )
    grid = Tuner(
        counter,
        param_space={"rate": grid_search([0.1, 0.2, 3.0, 4.0]), "steps": 13},
        tune_config=TuneConfig(metric="value", mode="max", scheduler=pbt),
        run_config=RunConfig(storage_path=memory_storage, name="remote", verbose=0),
        executor=InProcessExecutor(max_concurrent=4),
    ).fit()
    assert {r.status for r in grid} == {"TERMINATED"}
    assert {r.metrics["training_iteration"] for r in grid} == {13}
    resumed_from_donors = 0
    for result in grid:
        frame = result.metrics_dataframe
        starts = frame[frame["step"] == frame["start"] + 1]
        for _, row in starts.iterrows():
            if row["start_owner"] not in (None, result.trial_id) and row["start"] > 0:
                resumed_from_donors += 1
                assert row["start_value"] > 0  # the donor's state, not a fresh start
    assert resumed_from_donors > 0, "no trial resumed from a copied checkpoint"
