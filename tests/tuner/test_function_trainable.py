"""Function trainables through the default executor: real worker processes."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tuner import (
    LocalExecutor,
    RunConfig,
    TuneConfig,
    Tuner,
    choice,
    get_context,
    grid_search,
    report,
    uniform,
)


def quadratic(config: dict[str, Any]) -> None:
    for step in range(5):
        report({"loss": (config["x"] - 3.0) ** 2 / (step + 1), "step": step})


def run(trainable: Any, tmp_path: Path, **kwargs: Any) -> Any:
    tune_config = kwargs.pop("tune_config", TuneConfig(metric="loss", mode="min", num_samples=6))
    run_kwargs = {"storage_path": str(tmp_path), "name": "exp", "verbose": 0}
    run_kwargs.update(kwargs.pop("run_kwargs", {}))
    return Tuner(
        trainable,
        param_space=kwargs.pop("param_space", {"x": uniform(0, 6)}),
        tune_config=tune_config,
        run_config=RunConfig(**run_kwargs),
        executor=kwargs.pop("executor", LocalExecutor(num_cpus=2)),
    ).fit()


def test_every_trial_runs_to_the_end_with_auto_filled_fields(tmp_path: Path) -> None:
    grid = run(quadratic, tmp_path)
    assert len(grid) == 6
    assert grid.num_terminated == 6 and grid.num_errors == 0
    for result in grid:
        metrics = result.metrics
        assert metrics["training_iteration"] == 5
        assert metrics["done"] is True
        assert metrics["trial_id"] == result.trial_id
        for key in ("time_this_iter_s", "time_total_s", "timestamp"):
            assert isinstance(metrics[key], int | float)
        assert "config" not in metrics and "x" not in metrics
        assert metrics["loss"] == pytest.approx((result.config["x"] - 3.0) ** 2 / 5)
        lines = (Path(result.path) / "result.json").read_text().splitlines()
        assert [json.loads(line)["training_iteration"] for line in lines] == [1, 2, 3, 4, 5]
        assert json.loads((Path(result.path) / "params.json").read_text()) == result.config
    best = grid.get_best_result()
    frame = grid.get_dataframe()
    assert best.metrics["loss"] == frame["loss"].min()
    assert set(frame["config/x"]) == {r.config["x"] for r in grid}
    assert len(best.metrics_dataframe) == 5


def test_a_raising_trial_errors_and_the_others_go_on(tmp_path: Path) -> None:
    def flaky(config: dict[str, Any]) -> None:
        report({"loss": 1.0})
        if config["x"] == 2:
            raise RuntimeError("boom at x=2")
        report({"loss": 0.5})

    grid = run(
        flaky,
        tmp_path,
        param_space={"x": grid_search([1, 2, 3])},
        tune_config=TuneConfig(metric="loss", mode="min"),
    )
    by_x = {r.config["x"]: r for r in grid}
    assert by_x[2].status == "ERROR"
    assert by_x[2].error is not None
    assert "boom at x=2" in by_x[2].error.traceback
    assert "RuntimeError" in (Path(by_x[2].path) / "error.txt").read_text()
    assert [r.status for r in (by_x[1], by_x[3])] == ["TERMINATED", "TERMINATED"]
    assert grid.num_errors == 1 and len(grid.errors) == 1


def test_a_worker_killed_by_a_signal_fails_its_trial_not_the_experiment(tmp_path: Path) -> None:
    def dies(config: dict[str, Any]) -> None:
        report({"loss": 1.0})
        if config["x"] == 1:
            os.kill(os.getpid(), 9)
        if config["x"] == 2:
            os._exit(3)
        report({"loss": 0.0})

    grid = run(
        dies,
        tmp_path,
        param_space={"x": grid_search([0, 1, 2])},
        tune_config=TuneConfig(metric="loss", mode="min"),
    )
    by_x = {r.config["x"]: r for r in grid}
    assert by_x[0].status == "TERMINATED"
    assert "SIGKILL" in str(by_x[1].error)
    assert "exited with code 3" in str(by_x[2].error)


def test_workers_are_reused_across_trials(tmp_path: Path) -> None:
    grid = run(quadratic, tmp_path, tune_config=TuneConfig(num_samples=12))
    pids = {r.metrics["pid"] for r in grid}
    assert len(pids) <= 2  # two CPUs: two workers for twelve trials
    assert os.getpid() not in pids


def test_max_concurrent_trials_bounds_parallelism(tmp_path: Path) -> None:
    grid = run(
        quadratic, tmp_path, tune_config=TuneConfig(num_samples=4, max_concurrent_trials=1)
    )
    spans = sorted((r.metrics["timestamp"], r.trial_id) for r in grid)
    assert len({r.metrics["pid"] for r in grid}) == 1
    assert len(spans) == 4


def test_context_names_the_trial(tmp_path: Path) -> None:
    def who(config: dict[str, Any]) -> None:
        ctx = get_context()
        report({"loss": 0.0, "ctx_id": ctx.trial_id, "ctx_dir": ctx.trial_dir})

    grid = run(who, tmp_path, tune_config=TuneConfig(num_samples=2))
    for result in grid:
        assert result.metrics["ctx_id"] == result.trial_id
        assert result.metrics["ctx_dir"] == result.path


def test_returned_dict_is_the_final_result(tmp_path: Path) -> None:
    def returns(config: dict[str, Any]) -> dict[str, float]:
        return {"loss": config["x"]}

    grid = run(returns, tmp_path, param_space={"x": choice([4.0])},
               tune_config=TuneConfig(num_samples=1))
    assert grid[0].metrics["loss"] == 4.0
    assert grid[0].metrics["training_iteration"] == 1


def test_gpu_trials_get_their_own_cuda_visible_devices(tmp_path: Path) -> None:
    from tuner import with_resources

    def gpu_fn(config: dict[str, Any]) -> None:
        report({"loss": 0.0, "cuda": os.environ.get("CUDA_VISIBLE_DEVICES", "unset"),
                "ids": list(get_context().gpu_ids)})

    grid = run(
        with_resources(gpu_fn, {"cpu": 1, "gpu": 1}),
        tmp_path,
        tune_config=TuneConfig(num_samples=4),
        executor=LocalExecutor(num_cpus=4, gpus=("0", "1")),
    )
    for result in grid:
        assert result.metrics["cuda"] in ("0", "1")
        assert result.metrics["ids"] == [result.metrics["cuda"]]
    assert {r.metrics["cuda"] for r in grid} == {"0", "1"}


def test_a_cpu_trial_sees_no_gpu_when_gpus_exist(tmp_path: Path) -> None:
    def cpu_fn(config: dict[str, Any]) -> None:
        report({"loss": 0.0, "cuda": os.environ.get("CUDA_VISIBLE_DEVICES", "unset")})

    grid = run(cpu_fn, tmp_path, tune_config=TuneConfig(num_samples=1),
               executor=LocalExecutor(num_cpus=2, gpus=("0",)))
    assert grid[0].metrics["cuda"] == ""


def test_stop_dict_ends_trials_at_the_bound(tmp_path: Path) -> None:
    def forever(config: dict[str, Any]) -> None:
        while True:
            report({"loss": 1.0})

    grid = run(forever, tmp_path, tune_config=TuneConfig(num_samples=3),
               run_kwargs={"stop": {"training_iteration": 7}})
    assert [r.metrics["training_iteration"] for r in grid] == [7, 7, 7]
    assert {r.status for r in grid} == {"TERMINATED"}
