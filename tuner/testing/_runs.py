"""Small experiments in virtual time: run one, stop it mid-way, restore it, read what it left."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

from schedulers import TrialStatus
from tuner._callback import Callback
from tuner._config import RunConfig, TuneConfig
from tuner._tuner import Tuner
from tuner.analysis._result_grid import ResultGrid
from tuner.executors._simulated import SimulatedExecutor
from tuner.state._experiment import load_state
from tuner.storage._filesystem import join, resolve_storage

START_TIME = 1_700_000_000.0
"""Where virtual time starts in every contract run, so that two runs match exactly."""


class Interrupted(Exception):
    """Raised by `InterruptAfter` to end a run mid-way, as a failing driver would."""


class InterruptAfter(Callback):
    """Ends the experiment at the end of the loop's turn in which the `results`-th result came.

    By default it raises `Interrupted`: the loop pauses its trials and the Tuner saves the state
    before the error leaves `fit()`, as for any error in the driver. With ``crash=True`` it
    raises `KeyboardInterrupt`, which leaves at once (the second Ctrl-C): the state stays as
    it was last saved, and a restore reruns what came after.

    It raises between turns, not from `on_trial_result`: an error there keeps the result
    from the callbacks after it, the file loggers among them (see
    tests/schedulers/test_contract.py, `test_a_callback_error_keeps_a_result_from_result_json`).
    """

    def __init__(self, results: int, *, crash: bool = False) -> None:
        self.after = results
        self.left = results
        self.crash = crash

    def on_trial_result(
        self, iteration: int, trials: Any, trial: Any, result: dict[str, Any], **info: Any
    ) -> None:
        self.left -= 1

    def on_step_end(self, iteration: int, trials: Any, **info: Any) -> None:
        if self.left <= 0:
            self.left = 1 << 62  # once
            raise KeyboardInterrupt if self.crash else Interrupted("stopped mid-run by the test")


def simulated(n_workers: int) -> SimulatedExecutor:
    """A `SimulatedExecutor` whose virtual time starts at `START_TIME`."""
    return SimulatedExecutor(n_workers=n_workers, start_time=START_TIME)


def fit(
    trainable: Any,
    *,
    storage_path: str,
    name: str,
    param_space: Mapping[str, Any],
    tune_config: TuneConfig,
    run_config: RunConfig,
    n_workers: int,
) -> ResultGrid:
    """Run an experiment on `n_workers` simulated workers, at `<storage_path>/<name>`."""
    run_config = dataclasses.replace(run_config, storage_path=storage_path, name=name)
    return Tuner(
        trainable,
        param_space=dict(param_space),
        tune_config=tune_config,
        run_config=run_config,
        executor=simulated(n_workers),
    ).fit()


def restore(
    path: str,
    trainable: Any,
    *,
    tune_config: TuneConfig,
    run_config: RunConfig,
    n_workers: int,
    param_space: Mapping[str, Any] | None = None,
) -> ResultGrid:
    """Continue the experiment at `path` with `Tuner.restore`, on simulated workers."""
    return Tuner.restore(
        path,
        trainable,
        param_space=param_space,
        tune_config=tune_config,
        run_config=run_config,
        executor=simulated(n_workers),
    ).fit()


def saved_trials(path: str) -> list[dict[str, Any]]:
    """The trials of the experiment state saved at `path`, in creation order."""
    fs, exp_path = resolve_storage(path, None)
    return list(load_state(fs, exp_path)["trials"])


def saved_statuses(path: str) -> dict[str, TrialStatus]:
    """Each trial's status in the experiment state saved at `path` (every trial the searcher
    created, those that never started too)."""
    return {t["trial_id"]: TrialStatus(t["status"]) for t in saved_trials(path)}


def file_results(grid: ResultGrid) -> list[tuple[str, dict[str, Any]]]:
    """Each trial's results as its ``result.json`` on storage holds them, trial by trial."""
    rows: list[tuple[str, dict[str, Any]]] = []
    for result in grid:
        fs = result.filesystem
        if fs is None:
            fs, _ = resolve_storage(result.path, None)
        path = join(result.path, "result.json")
        if not fs.exists(path):
            continue
        with fs.open(path, "rb") as file:
            text = file.read().decode("utf-8")
        rows += [(result.trial_id, json.loads(line)) for line in text.splitlines() if line.strip()]
    return rows


def iterations_by_trial(results: Sequence[tuple[str, Mapping[str, Any]]]) -> dict[str, list[int]]:
    """The training iterations each trial reported, in order."""
    found: dict[str, list[int]] = {}
    for trial_id, result in results:
        found.setdefault(trial_id, []).append(int(result["training_iteration"]))
    return found
