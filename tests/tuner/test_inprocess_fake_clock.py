"""The event loop without processes or sleeps: in-process executor and a fake clock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tuner import (
    FakeClock,
    InProcessExecutor,
    MaximumIterationStopper,
    RunConfig,
    Trainable,
    TuneConfig,
    Tuner,
    grid_search,
    report,
)


def make(trainable: Any, tmp_path: Path, clock: FakeClock, **tune: Any) -> Tuner:
    run_kwargs = tune.pop("run_kwargs", {})
    return Tuner(
        trainable,
        param_space=tune.pop("param_space", {"x": grid_search([1, 2, 3])}),
        tune_config=TuneConfig(**tune),
        run_config=RunConfig(storage_path=str(tmp_path), name="fake", verbose=0, **run_kwargs),
        executor=InProcessExecutor(),
        clock=clock,
    )


def test_times_come_from_the_injected_clock(tmp_path: Path) -> None:
    clock = FakeClock()

    def timed(config: dict[str, Any]) -> None:
        for _ in range(3):
            clock.advance(config["x"])
            report({"loss": 0.0})

    grid = make(timed, tmp_path, clock).fit()
    for result in grid:
        x = result.config["x"]
        assert result.metrics["time_this_iter_s"] == pytest.approx(x)
        assert result.metrics["time_total_s"] == pytest.approx(3 * x)
        assert result.metrics["timestamp"] >= 1_700_000_000


def test_time_budget_ends_an_endless_experiment(tmp_path: Path) -> None:
    clock = FakeClock()

    class Slow(Trainable):  # a class trainable waits for the loop after each step
        def step(self) -> dict[str, Any]:
            clock.advance(1.0)
            return {"loss": 1.0}

    grid = make(Slow, tmp_path, clock, num_samples=-1, time_budget_s=25.0,
                param_space={"x": 1}).fit()
    assert len(grid) == 1
    assert {r.status for r in grid} == {"TERMINATED"}
    # The step advances the clock before its result reaches the loop: the loop may see the
    # budget spent (25 s) while that 25th result is still on its way, and stops the trial
    # without it (a stopped trial's late results are dropped).
    assert grid[0].metrics["time_total_s"] in (24.0, 25.0)


def test_callable_stop_and_stopper_objects(tmp_path: Path) -> None:
    clock = FakeClock()

    def forever(config: dict[str, Any]) -> None:
        while True:
            report({"loss": 1.0})

    def at_x(trial_id: str, result: dict[str, Any]) -> bool:
        return bool(result["training_iteration"] >= 4)

    grid = make(forever, tmp_path, clock, run_kwargs={"stop": at_x}).fit()
    assert [r.metrics["training_iteration"] for r in grid] == [4, 4, 4]
    grid = make(forever, tmp_path, clock,
                run_kwargs={"stop": MaximumIterationStopper(2)}).fit()
    assert [r.metrics["training_iteration"] for r in grid] == [2, 2, 2]


def test_configs_are_reproducible_with_a_seed(tmp_path: Path) -> None:
    from tuner import uniform

    def noop(config: dict[str, Any]) -> None:
        report({"loss": config["x"]})

    def configs(seed: int) -> list[float]:
        grid = make(noop, tmp_path, FakeClock(), param_space={"x": uniform(0, 1)},
                    num_samples=5, seed=seed).fit()
        return [r.config["x"] for r in grid]

    assert configs(3) == configs(3)
    assert configs(3) != configs(4)


def test_verbose_zero_prints_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def noop(config: dict[str, Any]) -> None:
        report({"loss": 1.0})

    make(noop, tmp_path, FakeClock()).fit()
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def test_default_verbosity_prints_a_summary_not_a_line_per_result(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def chatty(config: dict[str, Any]) -> None:
        for _ in range(50):
            report({"loss": 1.0})

    Tuner(chatty, param_space={"x": grid_search([1, 2, 3])},
          run_config=RunConfig(storage_path=str(tmp_path), name="v1"),
          executor=InProcessExecutor(), clock=FakeClock()).fit()
    lines = capsys.readouterr().out.splitlines()
    assert 1 <= len(lines) <= 3
    assert "3 TERMINATED" in lines[0]


def test_verbose_three_prints_every_result(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def three(config: dict[str, Any]) -> None:
        for _ in range(3):
            report({"loss": 1.0})

    Tuner(three, param_space={"x": grid_search([1, 2])},
          run_config=RunConfig(storage_path=str(tmp_path), name="v3", verbose=3),
          executor=InProcessExecutor(), clock=FakeClock()).fit()
    out = capsys.readouterr().out
    assert sum("loss=1" in line and "training_iteration" in line for line in out.splitlines()) == 6


def test_custom_trial_names_never_share_a_directory(tmp_path: Path) -> None:
    def noop(config: dict[str, Any]) -> None:
        report({"loss": 1.0})

    grid = make(noop, tmp_path, FakeClock(),
                trial_name_creator=lambda trial_id, config: "same").fit()
    names = [Path(r.path).name for r in grid]
    assert names[0] == "same" and len(set(names)) == 3
