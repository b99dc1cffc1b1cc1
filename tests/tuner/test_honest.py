"""The engine tells the truth: about diverged trials, about reused processes, about trial views.

* `ResultGrid.get_best_result` skips trials whose score is NaN or infinite (as Ray Tune does)
  and honours `filter_nan_and_inf=False`; `get_dataframe(filter_metric=...)` skips NaN rows.
* `TuneConfig(reuse_actors=False)` gives every trial a fresh worker process, and a process
  whose trial failed never runs another (real worker processes, real pids).
* A scheduler cannot change a trial through its `TrialView`, at any depth, and the view still
  reads like a dict.
"""

from __future__ import annotations

import copy
import json
import math
import os
import pickle
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from schedulers import Decision, FIFOScheduler, PopulationBasedTraining, TrialStatus, TrialView
from tuner import (
    CheckpointConfig,
    ConfigError,
    InProcessExecutor,
    LocalExecutor,
    RunConfig,
    Trainable,
    TuneConfig,
    Tuner,
    grid_search,
    report,
)
from tuner._trial import Trial

NAN, INF = math.nan, math.inf

# Each trial reports these losses in turn; the name says what kind of trial it is.
CURVES: dict[str, list[float]] = {
    "diverged_late": [0.9, 0.05, NAN],  # best of all at step 2, then NaN
    "steady": [0.8, 0.4, 0.3],
    "blew_up": [0.7, 0.6, INF],
    "to_minus_inf": [0.9, 0.9, -INF],
    "slow": [0.9, 0.8, 0.6],
}


def curve(config: dict[str, Any]) -> None:
    for loss in CURVES[config["name"]]:
        report({"loss": loss})


def fit_curves(tmp_path: Path, names: list[str]) -> Any:
    return Tuner(
        curve,
        param_space={"name": grid_search(names)},
        tune_config=TuneConfig(metric="loss", mode="min"),
        run_config=RunConfig(storage_path=str(tmp_path), name="curves", verbose=0),
        executor=InProcessExecutor(),
    ).fit()


def best_name(grid: Any, **kwargs: Any) -> str:
    return str(grid.get_best_result(**kwargs).config["name"])


# ---------------------------------------------------------------------------------- NaN / inf


def test_a_diverged_trial_does_not_break_get_best_result(tmp_path: Path) -> None:
    grid = fit_curves(tmp_path, ["diverged_late", "steady", "blew_up", "slow"])
    assert grid.num_terminated == 4
    # Last values: NaN, 0.3, inf, 0.6. NaN and inf are skipped: they cannot be compared.
    assert best_name(grid) == "steady"
    assert best_name(grid, mode="max") == "slow"
    # "all": each trial's best finite value; the diverged one had the best step of all.
    assert best_name(grid, scope="all") == "diverged_late"
    # Max of all: blew_up's inf is skipped; 0.9 ties diverged_late and slow: the first wins.
    assert best_name(grid, scope="all", mode="max") == "diverged_late"
    # Averages that take in a NaN or an infinity are NaN or infinite: those trials are skipped.
    assert best_name(grid, scope="avg") == "steady"
    assert best_name(grid, scope="last-5-avg", mode="max") == "slow"
    assert best_name(grid, scope="last-10-avg") == "steady"


def test_without_the_filter_infinities_rank_and_nan_is_worst(tmp_path: Path) -> None:
    grid = fit_curves(tmp_path, ["diverged_late", "steady", "blew_up", "to_minus_inf"])
    unfiltered = {"filter_nan_and_inf": False}
    assert best_name(grid, mode="max", **unfiltered) == "blew_up"  # +inf is the largest
    assert best_name(grid, mode="min", **unfiltered) == "to_minus_inf"  # -inf the smallest
    # NaN is below every number in either mode: never the best while a number is there.
    only_nan_and_numbers = fit_curves(tmp_path / "b", ["diverged_late", "steady"])
    assert best_name(only_nan_and_numbers, mode="max", **unfiltered) == "steady"
    assert best_name(only_nan_and_numbers, mode="min", **unfiltered) == "steady"
    # "all" without the filter: infinities count as values, NaN does not.
    assert best_name(grid, scope="all", mode="min", **unfiltered) == "to_minus_inf"
    assert best_name(grid, scope="all", mode="max", **unfiltered) == "blew_up"
    # With the filter, the same grid ranks finite scores only.
    assert best_name(grid, mode="min") == "steady"


def test_only_nan_scores_are_an_error_that_names_the_way_out(tmp_path: Path) -> None:
    grid = fit_curves(tmp_path, ["diverged_late"])
    with pytest.raises(ConfigError, match=r"no trial has a finite 'loss'.*filter_nan_and_inf=False"):
        grid.get_best_result()
    assert best_name(grid, filter_nan_and_inf=False) == "diverged_late"
    assert best_name(grid, scope="all") == "diverged_late"  # its finite steps still rank


def test_get_dataframe_picks_each_trials_best_finite_row(tmp_path: Path) -> None:
    grid = fit_curves(tmp_path, ["diverged_late", "blew_up", "to_minus_inf"])
    frame = grid.get_dataframe(filter_metric="loss", filter_mode="min").set_index("config/name")
    assert frame.loc["diverged_late", "loss"] == 0.05
    assert frame.loc["blew_up", "loss"] == 0.6
    assert frame.loc["to_minus_inf", "loss"] == 0.9  # -inf is not a finite row
    frame = grid.get_dataframe(filter_metric="loss", filter_mode="max").set_index("config/name")
    assert frame.loc["diverged_late", "loss"] == 0.9
    assert frame.loc["blew_up", "loss"] == 0.7


# ---------------------------------------------------------------------------- worker processes


def pid_reporter(config: dict[str, Any]) -> None:
    report({"loss": float(config["x"]), "worker_pid": os.getpid()})
    if config.get("fail_at") == config["x"]:
        raise RuntimeError(f"trial x={config['x']} fails")
    report({"loss": float(config["x"]), "worker_pid": os.getpid()})


class PidStepper(Trainable):
    def step(self) -> dict[str, Any]:
        return {"loss": 1.0, "worker_pid": os.getpid(), "done": self.iteration >= 1}


def run_on_one_cpu(tmp_path: Path, trainable: Any, *, reuse: bool, **space: Any) -> dict[int, Any]:
    """Trials x=0..3 one after another on a one-CPU LocalExecutor: {x: result}."""
    grid = Tuner(
        trainable,
        param_space={"x": grid_search([0, 1, 2, 3]), **space},
        tune_config=TuneConfig(reuse_actors=reuse),
        run_config=RunConfig(storage_path=str(tmp_path), name=f"reuse_{reuse}", verbose=0),
        executor=LocalExecutor(num_cpus=1),
    ).fit()
    return {r.config["x"]: r for r in grid}


@pytest.mark.parametrize("trainable", [pid_reporter, PidStepper], ids=["function", "class"])
def test_without_reuse_every_trial_gets_a_fresh_worker_process(
    tmp_path: Path, trainable: Any
) -> None:
    by_x = run_on_one_cpu(tmp_path, trainable, reuse=False)
    assert all(r.status == "TERMINATED" for r in by_x.values())
    pids = [by_x[x].metrics["worker_pid"] for x in range(4)]
    assert len(set(pids)) == 4, pids
    assert os.getpid() not in pids


def test_with_reuse_one_worker_process_runs_every_trial(tmp_path: Path) -> None:
    by_x = run_on_one_cpu(tmp_path, pid_reporter, reuse=True)
    assert all(r.status == "TERMINATED" for r in by_x.values())
    assert len({by_x[x].metrics["worker_pid"] for x in range(4)}) == 1


@pytest.mark.parametrize("reuse", [True, False])
def test_after_a_trial_fails_the_next_one_runs_in_a_fresh_process(
    tmp_path: Path, reuse: bool
) -> None:
    by_x = run_on_one_cpu(tmp_path, pid_reporter, reuse=reuse, fail_at=1)
    assert [by_x[x].status for x in range(4)] == ["TERMINATED", "ERROR", "TERMINATED", "TERMINATED"]
    pid = {x: by_x[x].metrics["worker_pid"] for x in range(4)}
    assert pid[2] != pid[1]  # the failed trial's process ran nothing more
    if reuse:
        assert pid[0] == pid[1] and pid[2] == pid[3]
    else:
        assert len(set(pid.values())) == 4


def lowers_its_memory_limit(config: dict[str, Any]) -> None:
    import resource

    if config["x"] == 0:
        # What a trial guarding itself against a memory blow-up might do; it then blows up.
        with open("/proc/self/status") as f:
            vm_kb = next(int(line.split()[1]) for line in f if line.startswith("VmSize:"))
        limit = (vm_kb + 16 * 1024) * 1024  # 16 MiB more than it has now
        resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
        bytearray(1 << 30)  # MemoryError: the trial fails, the limit stays with its process
    block = np.ones(128 << 20, dtype=np.uint8)  # far more than such a process has left
    report({"loss": float(block[-1]) + config["x"], "worker_pid": os.getpid()})


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc are Linux's")
def test_a_trial_that_lowered_its_memory_limit_leaves_no_damage_behind(tmp_path: Path) -> None:
    grid = Tuner(
        lowers_its_memory_limit,
        param_space={"x": grid_search([0, 1, 2])},
        run_config=RunConfig(storage_path=str(tmp_path), verbose=0),
        executor=LocalExecutor(num_cpus=1),
    ).fit()
    by_x = {r.config["x"]: r for r in grid}
    assert by_x[0].status == "ERROR" and "MemoryError" in by_x[0].error.traceback
    assert by_x[1].status == "TERMINATED", by_x[1].error
    assert by_x[2].status == "TERMINATED", by_x[2].error
    assert by_x[1].metrics["worker_pid"] == by_x[2].metrics["worker_pid"]  # still reused


@pytest.mark.slow
def test_dask_slots_get_fresh_processes_after_a_failure_and_without_reuse(tmp_path: Path) -> None:
    """DaskExecutor as LocalExecutor; its specs travel cloudpickled too (a lambda config)."""
    distributed = pytest.importorskip("distributed")
    from tuner.executors.dask._executor import DaskExecutor

    def run(reuse: bool) -> dict[int, Any]:
        grid = Tuner(
            pid_reporter,
            param_space={"x": grid_search([0, 1, 2, 3]), "fail_at": 1, "unused": lambda: None},
            tune_config=TuneConfig(reuse_actors=reuse),
            run_config=RunConfig(storage_path=str(tmp_path), name=f"dask_{reuse}", verbose=0),
            executor=DaskExecutor(client),
        ).fit()
        return {r.config["x"]: r for r in grid}

    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=":0") as cluster, \
            distributed.Client(cluster, set_as_default=False) as client:
        for reuse in (True, False):
            by_x = run(reuse)
            assert [by_x[x].status for x in range(4)] == [
                "TERMINATED", "ERROR", "TERMINATED", "TERMINATED"], [r.error for r in by_x.values()]
            pid = {x: by_x[x].metrics["worker_pid"] for x in range(4)}
            assert pid[2] != pid[1]
            if reuse:
                assert pid[0] == pid[1] and pid[2] == pid[3]
            else:
                assert len(set(pid.values())) == 4


def doubles_its_learning_rate(config: dict[str, Any]) -> None:
    config["opt"]["lr"] *= 2  # a trainable may change its own config
    config["opt"]["betas"].append(0.5)
    report({"loss": config["opt"]["lr"]})


@pytest.mark.parametrize("executor", [InProcessExecutor, lambda: LocalExecutor(num_cpus=1)],
                         ids=["in-process", "local"])
def test_a_trainable_that_changes_its_config_does_not_change_the_trials(
    tmp_path: Path, executor: Any
) -> None:
    grid = Tuner(
        doubles_its_learning_rate,
        param_space={"opt": {"lr": 0.5, "betas": [0.9]}},
        run_config=RunConfig(storage_path=str(tmp_path), verbose=0),
        executor=executor(),
    ).fit()
    assert grid[0].metrics["loss"] == 1.0
    assert grid[0].config == {"opt": {"lr": 0.5, "betas": [0.9]}}


# ------------------------------------------------------------------------------- trial views


def trial_with(config: dict[str, Any], last_result: dict[str, Any]) -> Trial:
    return Trial(trial_id="t0", name="t0", config=config, path="/tmp/t0",
                 status=TrialStatus.RUNNING, last_result=last_result)


CONFIG = {"lr": 0.1, "optim": {"name": "sgd", "betas": [0.9, 0.99]}, "layers": [{"units": 32}]}


@pytest.mark.parametrize(
    "mutate",
    [
        lambda v: v.config.__setitem__("lr", 1.0),
        lambda v: v.config.update(lr=1.0),
        lambda v: v.config.pop("lr"),
        lambda v: v.config.setdefault("new", 1),
        lambda v: v.config.clear(),
        lambda v: v.config.__delitem__("lr"),
        lambda v: v.config["optim"].__setitem__("name", "adam"),
        lambda v: v.config["optim"]["betas"].append(0.5),
        lambda v: v.config["optim"]["betas"].__setitem__(0, 0.5),
        lambda v: v.config["layers"][0].__setitem__("units", 64),
        lambda v: list(v.config.values())[2][0].__setitem__("units", 64),
        lambda v: dict(v.config.items())["layers"].clear(),
        lambda v: dict(v.config)["optim"].__setitem__("name", "adam"),  # a shallow copy
        lambda v: v.config.copy()["layers"].append({}),
        lambda v: v.last_result.__setitem__("loss", 0.0),
        lambda v: v.last_result["eval"]["scores"].sort(),
    ],
)
def test_nothing_reachable_through_a_view_changes_the_trial(mutate: Any) -> None:
    config = copy.deepcopy(CONFIG)
    last_result = {"loss": 0.5, "eval": {"scores": [3, 1, 2]}}
    trial = trial_with(config, last_result)
    with pytest.raises(TypeError, match=r"read-only.*copy\.deepcopy"):
        mutate(trial.view())
    assert trial.config == CONFIG
    assert trial.last_result == {"loss": 0.5, "eval": {"scores": [3, 1, 2]}}


def test_a_view_reads_like_a_dict() -> None:
    trial = trial_with(copy.deepcopy(CONFIG), {"loss": 0.5, "done": False})
    view = trial.view()
    assert view.config == CONFIG
    assert CONFIG == view.config  # noqa: SIM300 - dict.__eq__ on the left, on purpose
    assert isinstance(view.config, dict) and "optim" in view.config and len(view.config) == 3
    assert list(view.config) == ["lr", "optim", "layers"]
    assert [k for k, _ in view.config.items()] == ["lr", "optim", "layers"]
    assert view.config["optim"]["betas"][1] == 0.99 and view.config.get("missing", 7) == 7
    assert json.loads(json.dumps(dict(view.config))) == CONFIG
    assert json.loads(json.dumps(view.config)) == CONFIG
    assert pickle.loads(pickle.dumps(view.config)) == CONFIG
    assert f"{view.config['optim']['name']}" == "sgd"

    deep = copy.deepcopy(view.config)
    assert type(deep) is dict and type(deep["optim"]) is dict
    assert type(deep["optim"]["betas"]) is list and type(deep["layers"][0]) is dict
    deep["optim"]["betas"].append(0.5)
    deep["layers"][0]["units"] = 64
    assert trial.config == CONFIG  # the copy is the scheduler's own

    shallow = dict(view.config)
    assert type(shallow) is dict
    shallow["lr"] = 1.0  # the top level of a copy is free to change
    assert trial.config["lr"] == 0.1


def test_a_view_copies_no_nested_data() -> None:
    """Views are made for every result: a large nested result is shared, not copied."""
    big = {"curve": [float(i) for i in range(100_000)], "per_class": {str(i): i for i in range(999)}}
    trial = trial_with({"lr": 0.1}, {"loss": 0.5, "eval": big})
    view = trial.view()
    assert dict.__getitem__(view.last_result, "eval") is big
    assert view.last_result["eval"]["curve"][-1] == 99_999.0


def test_a_numpy_array_in_a_config_is_shown_read_only() -> None:
    weights = np.zeros(3)
    trial = trial_with({"init": weights}, {})
    with pytest.raises(ValueError, match="read-only"):
        trial.view().config["init"][0] = 1.0
    assert weights[0] == 0.0
    copied = copy.deepcopy(trial.view().config)["init"]
    copied[0] = 1.0  # a deep copy is writable
    assert weights[0] == 0.0


class MeddlingScheduler(FIFOScheduler):
    """Tries to change the trials it is shown; records what it was refused."""

    def __init__(self) -> None:
        super().__init__()
        self.refused: list[str] = []

    def on_trial_result(self, trial: TrialView, result: Any) -> Decision:
        for name, change in (
            ("config", lambda: trial.config.__setitem__("x", -1)),
            ("nested config", lambda: trial.config["opt"].__setitem__("lr", -1.0)),
            ("last_result", lambda: trial.last_result.__setitem__("loss", -1.0)),
        ):
            try:
                change()
            except TypeError:
                self.refused.append(name)
        return Decision.CONTINUE


def two_steps(config: dict[str, Any]) -> None:
    for step in range(2):
        report({"loss": config["opt"]["lr"] * config["x"] + step, "lr_seen": config["opt"]["lr"]})


def test_a_scheduler_cannot_change_a_running_trial(tmp_path: Path) -> None:
    scheduler = MeddlingScheduler()
    grid = Tuner(
        two_steps,
        param_space={"x": grid_search([1, 2]), "opt": {"lr": 0.5}},
        tune_config=TuneConfig(scheduler=scheduler),
        run_config=RunConfig(storage_path=str(tmp_path), verbose=0),
        executor=InProcessExecutor(),
    ).fit()
    assert scheduler.refused == ["config", "nested config", "last_result"] * 4
    for result in grid:
        assert result.status == "TERMINATED"
        assert result.config["opt"] == {"lr": 0.5} and result.config["x"] in (1, 2)
        assert result.metrics["lr_seen"] == 0.5 and result.metrics["loss"] >= 0


class Climber(Trainable):
    def setup(self, config: dict[str, Any]) -> None:
        self.value = 0.0

    def step(self) -> dict[str, Any]:
        self.value += self.config["opt"]["lr"]
        return {"value": self.value, "done": self.iteration + 1 >= 8}

    def save_checkpoint(self, checkpoint_dir: str) -> dict[str, Any]:
        return {"value": self.value}

    def load_checkpoint(self, checkpoint: Any) -> None:
        self.value = checkpoint["value"]


def test_pbt_explores_nested_configs_from_read_only_views(tmp_path: Path) -> None:
    """PBT copies a donor's config to explore it, so custom_explore_fn may change it freely."""
    explored: list[dict[str, Any]] = []

    def explore_fn(config: dict[str, Any]) -> dict[str, Any]:
        config["opt"]["momentum"] = 0.9  # changes the nested dict it is given
        explored.append(config)
        return config

    pbt = PopulationBasedTraining(
        time_attr="training_iteration", perturbation_interval=2, seed=0,
        hyperparam_mutations={"opt": {"lr": [0.1, 0.5, 1.0]}}, custom_explore_fn=explore_fn,
    )
    grid = Tuner(
        Climber,
        param_space={"opt": {"lr": grid_search([0.1, 1.0]), "momentum": 0.0}},
        tune_config=TuneConfig(metric="value", mode="max", scheduler=pbt),
        run_config=RunConfig(storage_path=str(tmp_path), verbose=0,
                             checkpoint_config=CheckpointConfig(checkpoint_frequency=2)),
        executor=InProcessExecutor(),
    ).fit()
    assert grid.num_terminated == 2
    assert explored, "PBT never exploited"
    assert all(type(c["opt"]) is dict for c in explored)
    exploited = [r for r in grid if r.config["opt"]["momentum"] == 0.9]
    assert exploited and all(type(r.config["opt"]) is dict for r in exploited)
    # The donor kept its own config: the explore step changed a copy.
    assert any(r.config["opt"] == {"lr": 1.0, "momentum": 0.0} for r in grid)


def test_an_exploit_holds_a_plain_copy_of_what_it_was_given() -> None:
    from schedulers import TrialSuggestion

    view = trial_with(copy.deepcopy(CONFIG), {}).view()
    exploit = TrialSuggestion.run(
        "t1", config={**view.config, "lr": 0.2}, checkpoint_trial_id="t0"
    )
    assert exploit.config is not None and type(exploit.config["optim"]) is dict
    exploit.config["optim"]["betas"].append(0.5)  # the engine's own data now
    assert view.config == CONFIG

