"""Bad input gets a clear error (rule, value, fix), raised before any trial starts if possible."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from searchers import TPESearch
from tuner import (
    CheckpointConfig,
    ConfigError,
    FailureConfig,
    InProcessExecutor,
    LocalExecutor,
    RunConfig,
    StorageError,
    Trainable,
    TuneConfig,
    Tuner,
    grid_search,
    loguniform,
    randint,
    report,
    with_resources,
)


def ok(config: dict[str, Any]) -> None:
    report({"loss": 1.0, "text": "x"})


def fit(tmp_path: Path, trainable: Any = ok, **kwargs: Any) -> Any:
    return Tuner(
        trainable,
        param_space=kwargs.pop("param_space", {"x": 1}),
        tune_config=kwargs.pop("tune_config", TuneConfig()),
        run_config=RunConfig(**{"storage_path": str(tmp_path), "verbose": 0, **kwargs}),
        executor=InProcessExecutor(),
    ).fit()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: TuneConfig(metric="loss", mode="best"), "`mode` must be 'min' or 'max'"),
        (lambda: TuneConfig(metric="loss"), "needs metric and mode together"),
        (lambda: TuneConfig(mode="min"), "needs metric and mode together"),
        (lambda: TuneConfig(num_samples=0), r"num_samples must be >= 1 \(or -1"),
        (lambda: TuneConfig(max_concurrent_trials=0), "max_concurrent_trials must be >= 1"),
        (lambda: CheckpointConfig(num_to_keep=0), "num_to_keep\\) must be >= 1"),
        (
            lambda: CheckpointConfig(checkpoint_score_order="up"),
            r"CheckpointConfig: `checkpoint_score_order` must be 'min' or 'max', got "
            r"checkpoint_score_order='up': pass 'min' \(lower is better\)",
        ),
        (lambda: FailureConfig(max_failures=-2), r"max_failures\) must be an int >= 0, or -1"),
        (lambda: RunConfig(verbose=7), "verbose must be 0, 1, 2 or 3"),
        (lambda: loguniform(0, 1), "must be > 0"),
        (lambda: randint(5, 5), "must be < `high`"),
        (lambda: with_resources(ok, {"cpu": -1}), "must be a number >= 0"),
        (lambda: with_resources(ok, {"gpu": 0.5}), "whole number of GPUs"),
    ],
)
def test_settings_are_checked_on_construction(make: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize(
    ("trainable", "message"),
    [
        (42, "must be a function\\(config\\) or a subclass of tuner.Trainable"),
        (dict, "must subclass tuner.Trainable"),
        (lambda: None, "must take exactly one argument \\(config\\)"),
    ],
)
def test_a_trainable_must_be_a_function_or_a_trainable(trainable: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Tuner(trainable)


def test_an_unknown_stop_key_is_named_after_the_first_result(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """As in Ray Tune, a stop key no result holds stops nothing; a warning names it once."""
    with caplog.at_level("WARNING"):
        grid = fit(tmp_path, stop={"epochs": 3})
    assert [r.status for r in grid] == ["TERMINATED"]
    named = [r for r in caplog.records if "stop criterion 'epochs' is not in the reported" in
             r.getMessage()]
    assert len(named) == 1


def test_a_metric_missing_from_results(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="metric 'acc' was not in the reported result"):
        fit(tmp_path, tune_config=TuneConfig(metric="acc", mode="max"))


def test_a_metric_that_is_not_a_number(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="metric 'text' must be a number, but a trial reported"):
        fit(tmp_path, tune_config=TuneConfig(metric="text", mode="max"))


def test_best_result_needs_a_numeric_metric(tmp_path: Path) -> None:
    grid = fit(tmp_path)
    with pytest.raises(ConfigError, match="'text' must be a number to rank trials"):
        grid.get_best_result("text", "max")
    with pytest.raises(ConfigError, match="needs a metric and a mode"):
        grid.get_best_result()


def test_grid_search_in_a_model_based_searcher_names_the_parameter(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="lr"):
        fit(tmp_path, param_space={"lr": grid_search([1, 2])},
            tune_config=TuneConfig(metric="loss", mode="min", search_alg=TPESearch()))


def test_scheduler_and_tune_config_must_agree(tmp_path: Path) -> None:
    from schedulers import ASHAScheduler

    with pytest.raises(ConfigError, match="metric='acc' but TuneConfig has metric='loss'"):
        fit(tmp_path, tune_config=TuneConfig(metric="loss", mode="min",
                                             scheduler=ASHAScheduler(metric="acc", mode="max")))


def test_resources_no_worker_has(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="gpu=2 but only 0 GPUs are visible"):
        Tuner(with_resources(ok, {"gpu": 2}),
              run_config=RunConfig(storage_path=str(tmp_path), verbose=0),
              executor=LocalExecutor(gpus=())).fit()
    with pytest.raises(ConfigError, match="cpu=64 but this machine offers 2 CPUs"):
        Tuner(with_resources(ok, {"cpu": 64}),
              run_config=RunConfig(storage_path=str(tmp_path), verbose=0),
              executor=LocalExecutor(num_cpus=2)).fit()


def test_a_storage_protocol_without_a_backend_names_the_package(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="gcsfs"):
        fit(tmp_path, storage_path="gs://bucket/runs")


def test_an_unpicklable_trainable_names_the_object(tmp_path: Path) -> None:
    import threading

    lock = threading.Lock()

    def holds_a_lock(config: dict[str, Any]) -> None:
        with lock:
            report({"loss": 0.0})

    with pytest.raises(ConfigError, match=r"cannot be sent to worker processes.*lock"):
        Tuner(holds_a_lock, run_config=RunConfig(storage_path=str(tmp_path), verbose=0),
              executor=LocalExecutor(num_cpus=1)).fit()


class Plain(Trainable):
    def step(self) -> dict[str, Any]:
        return {"loss": 1.0, "done": True}


def test_class_checkpoint_options_are_fine_but_not_for_functions(tmp_path: Path) -> None:
    Tuner(Plain, run_config=RunConfig(checkpoint_config=CheckpointConfig(checkpoint_frequency=2)))
    with pytest.raises(ConfigError, match="decides itself when to checkpoint"):
        Tuner(ok, run_config=RunConfig(checkpoint_config=CheckpointConfig(checkpoint_at_end=True)))


def test_main_module_closures_and_lambdas_run_in_workers(tmp_path: Path) -> None:
    """A script without a __main__ guard, with a closure and a lambda, as users write them."""
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(f"""
        from tuner import LocalExecutor, RunConfig, TuneConfig, Tuner, report, sample_from, uniform
        OFFSET = 3.0
        square = lambda v: v * v

        def make_trainable(scale):
            def train(config):
                for i in range(3):
                    report({{"loss": scale * square(config["x"] - OFFSET) + i}})
            return train

        grid = Tuner(
            make_trainable(2.0),
            param_space={{"x": uniform(0, 6), "y": sample_from(lambda spec: spec.config.x * 2)}},
            tune_config=TuneConfig(metric="loss", mode="min", num_samples=4, seed=1),
            run_config=RunConfig(storage_path={str(tmp_path)!r}, name="script", verbose=0),
            executor=LocalExecutor(num_cpus=2),
        ).fit()
        assert grid.num_terminated == 4, grid
        for r in grid:
            assert r.config["y"] == 2 * r.config["x"]
            assert r.metrics["loss"] == 2.0 * (r.config["x"] - 3.0) ** 2 + 2
        print("SCRIPT-OK", len({{r.metrics["pid"] for r in grid}}))
    """))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("SCRIPT-OK") == 1  # the script ran once: workers did not re-run it


def test_the_trial_api_outside_a_trial_says_where_it_belongs() -> None:
    from tuner import TuneError, get_checkpoint, get_context

    for call in (lambda: report({"loss": 1.0}), get_checkpoint):
        with pytest.raises(TuneError, match=r"was called outside a trial: call it from a trainable"):
            call()
    # As in Ray Tune, scripts call get_context() in the driver: its getters give None there.
    assert get_context().get_trial_id() is None


def test_report_takes_a_dict(tmp_path: Path) -> None:
    def reports_a_float(config: dict[str, Any]) -> None:
        report(0.5)  # type: ignore[arg-type]

    grid = fit(tmp_path, reports_a_float)
    assert grid[0].status == "ERROR"
    assert "report() takes a dict of metrics, got float" in grid[0].error.traceback
