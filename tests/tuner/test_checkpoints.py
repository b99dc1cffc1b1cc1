"""Checkpoints end to end: storage backends, retention, retries from the latest checkpoint."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import fsspec
import pytest

from tuner import (
    Checkpoint,
    CheckpointConfig,
    ConfigError,
    FailureConfig,
    InProcessExecutor,
    LocalExecutor,
    RunConfig,
    Trainable,
    TuneConfig,
    Tuner,
    get_checkpoint,
    get_context,
    grid_search,
    report,
)
from tuner.storage._filesystem import is_complete


def epochs(config: dict[str, Any]) -> None:
    start = 0
    checkpoint = get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as d:
            start = json.loads(Path(d, "state.json").read_text())["epoch"] + 1
    for epoch in range(start, config["epochs"]):
        marker = config.get("fail_marker")
        if marker and epoch == config.get("fail_at") and not os.path.exists(marker):
            Path(marker).write_text("failed once")
            if config.get("hard"):
                os._exit(7)
            raise RuntimeError(f"planned failure at epoch {epoch}")
        with tempfile.TemporaryDirectory() as d:
            Path(d, "state.json").write_text(json.dumps({"epoch": epoch}))
            # A score that is best at epoch 1, so "best" and "newest" differ.
            report({"val_loss": abs(epoch - 1), "epoch": epoch, "start": start},
                   checkpoint=Checkpoint.from_directory(d))


def fit(storage: str, config: dict[str, Any], **run: Any) -> Any:
    executor = run.pop("executor", None)
    if executor is None:
        executor = InProcessExecutor() if storage.startswith("memory://") else LocalExecutor(
            num_cpus=2)
    return Tuner(
        epochs,
        param_space=config,
        tune_config=TuneConfig(metric="val_loss", mode="min"),
        run_config=RunConfig(storage_path=storage, name="ckpt", verbose=0, **run),
        executor=executor,
    ).fit()


def test_retention_keeps_the_best_and_the_newest_on_every_backend(storage_url: str) -> None:
    grid = fit(
        storage_url,
        {"epochs": 5},
        checkpoint_config=CheckpointConfig(
            num_to_keep=2, checkpoint_score_attribute="val_loss", checkpoint_score_order="min"
        ),
    )
    result = grid[0]
    assert result.status == "TERMINATED"
    fs = result.filesystem
    names = sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in fs.ls(result.path, detail=False))
    # epoch 1 scores best (0); epoch 4 is the newest; the others were evicted.
    assert [n for n in names if n.startswith("checkpoint_")] == [
        "checkpoint_000001", "checkpoint_000004"
    ]
    assert {"params.json", "result.json", "progress.csv"} <= set(names)
    assert [m["epoch"] for _, m in result.best_checkpoints] == [1, 4]
    with result.checkpoint.as_directory() as d:
        assert json.loads(Path(d, "state.json").read_text()) == {"epoch": 4}
    best = result.get_best_checkpoint("val_loss", "min")
    assert best is not None and best.path.endswith("checkpoint_000001")
    assert is_complete(fs, best.path)
    assert list(result.metrics_dataframe["epoch"]) == [0, 1, 2, 3, 4]


def test_without_a_score_the_oldest_go_first(tmp_path: Path) -> None:
    grid = fit(str(tmp_path), {"epochs": 4}, checkpoint_config=CheckpointConfig(num_to_keep=1))
    assert [m["epoch"] for _, m in grid[0].best_checkpoints] == [3]
    assert sorted(n for n in os.listdir(grid[0].path) if n.startswith("checkpoint")) == [
        "checkpoint_000003"
    ]


@pytest.mark.parametrize("hard", [False, True], ids=["raises", "os._exit"])
def test_a_failed_trial_resumes_from_its_latest_checkpoint(tmp_path: Path, hard: bool) -> None:
    marker = str(tmp_path / "failed")
    grid = fit(
        str(tmp_path),
        {"epochs": 5, "fail_at": 3, "fail_marker": marker, "hard": hard},
        failure_config=FailureConfig(max_failures=1),
    )
    result = grid[0]
    assert result.status == "TERMINATED"
    assert os.path.exists(marker)
    assert result.metrics["epoch"] == 4 and result.metrics["start"] == 3
    rows = [json.loads(line) for line in Path(result.path, "result.json").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [0, 1, 2, 3, 4]
    assert [r["training_iteration"] for r in rows] == [1, 2, 3, 4, 5]
    assert "planned failure" in Path(result.path, "error.txt").read_text() or hard


def test_without_retries_a_failure_is_final(tmp_path: Path) -> None:
    grid = fit(str(tmp_path), {"epochs": 5, "fail_at": 2, "fail_marker": str(tmp_path / "m")})
    assert grid[0].status == "ERROR"
    assert "planned failure at epoch 2" in grid[0].error.traceback


def test_fail_fast_stops_the_experiment(tmp_path: Path) -> None:
    grid = fit(
        str(tmp_path),
        {"epochs": 3, "fail_at": grid_search([0, 99, 99, 99]), "fail_marker": str(tmp_path / "m")},
        failure_config=FailureConfig(fail_fast=True),
        executor=InProcessExecutor(),
    )
    assert grid[0].status == "ERROR"
    assert sum(r.metrics.get("epoch") == 2 for r in grid) == 0


def test_an_incomplete_checkpoint_is_skipped_on_resume(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def breaks_its_checkpoint(config: dict[str, Any]) -> None:
        checkpoint = get_checkpoint()
        if checkpoint is not None:
            with checkpoint.as_directory() as d:
                report({"resumed_from": json.loads(Path(d, "state.json").read_text())["epoch"]})
            return
        for epoch in range(2):
            with tempfile.TemporaryDirectory() as d:
                Path(d, "state.json").write_text(json.dumps({"epoch": epoch}))
                report({"epoch": epoch}, checkpoint=Checkpoint.from_directory(d))
        # As if the process died while writing checkpoint 1: its marker never landed.
        os.remove(os.path.join(get_context().trial_dir, "checkpoint_000001", ".tuner_complete"))
        raise RuntimeError("died mid-write")

    grid = Tuner(
        breaks_its_checkpoint,
        run_config=RunConfig(storage_path=str(tmp_path), name="half", verbose=0,
                             failure_config=FailureConfig(max_failures=1)),
        executor=LocalExecutor(num_cpus=1),
    ).fit()
    assert grid[0].metrics["resumed_from"] == 0
    assert "incomplete or unreadable" in caplog.text


def test_a_missing_score_attribute_names_the_result_keys(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Unscored checkpoints rank last (deleted first) and the user is told, once; the
    # experiment goes on (as Ray Tune's, which ranks them as -inf).
    grid = fit(str(tmp_path), {"epochs": 3}, checkpoint_config=CheckpointConfig(
        num_to_keep=1, checkpoint_score_attribute="accuracy"))
    assert grid[0].status == "TERMINATED"
    assert [m["epoch"] for _, m in grid[0].best_checkpoints] == [2]  # the newest stays
    warned = [r.getMessage() for r in caplog.records if "'accuracy'" in r.getMessage()]
    assert len(warned) == 1
    assert "is not a finite number" in warned[0] and "'epoch'" in warned[0]


def test_memory_storage_needs_the_in_process_executor(memory_storage: str) -> None:
    with pytest.raises(ConfigError, match="InProcessExecutor"):
        fit(memory_storage, {"epochs": 1}, executor=LocalExecutor(num_cpus=1))


def test_checkpoint_frequency_is_refused_for_functions(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="only apply to class trainables"):
        Tuner(epochs, run_config=RunConfig(
            storage_path=str(tmp_path), checkpoint_config=CheckpointConfig(checkpoint_frequency=2)))


class Manual(Trainable):
    def setup(self, config: dict[str, Any]) -> None:
        self.n = 0

    def step(self) -> dict[str, Any]:
        self.n += 1
        return {"n": self.n, "should_checkpoint": self.n == 2, "done": self.n >= 4}

    def save_checkpoint(self, checkpoint_dir: str) -> None:
        Path(checkpoint_dir, "n").write_text(str(self.n))

    def load_checkpoint(self, checkpoint: Any) -> None:
        self.n = int(Path(checkpoint, "n").read_text())


def test_class_manual_and_at_end_checkpoints(tmp_path: Path) -> None:
    grid = Tuner(
        Manual,
        run_config=RunConfig(storage_path=str(tmp_path), name="manual", verbose=0,
                             checkpoint_config=CheckpointConfig(checkpoint_at_end=True)),
        executor=LocalExecutor(num_cpus=1),
    ).fit()
    assert [m["n"] for _, m in reversed(grid[0].best_checkpoints)] == [2, 4]
    fs = fsspec.filesystem("file")
    assert is_complete(fs, grid[0].checkpoint.path)
