"""Weights & Biases, offline (no account, no network): real experiments write real W&B runs,
which are read back from the run's transaction log (``run-<id>.wandb``) as W&B's own protobuf
records: the run (id, name, group, project, config), every history row, the summary, the
artifacts and the exit code.

wandb 0.31 no longer ships the Python reader of that log (``wandb.sdk.internal.datastore``; its
writer is the Go service now), so `records` below reads the framing (LevelDB's log format,
which W&B documents as its own) and hands each record to ``wandb.proto``'s ``Record`` parser.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integrations.scripts import doc_code, example, run_python

pytest.importorskip("wandb")

from wandb.proto import wandb_internal_pb2

from tuner import (
    Checkpoint,
    InProcessExecutor,
    LocalExecutor,
    RunConfig,
    TuneConfig,
    Tuner,
    grid_search,
    report,
)
from tuner.integrations.wandb import WandbLoggerCallback, setup_wandb

_BLOCK = 32 * 1024
_HEADER = b":W&B" + struct.pack("<HB", 0xBEE1, 0)
_FULL, _FIRST, _MIDDLE, _LAST = 1, 2, 3, 4





def records(path: Path) -> Iterator[Any]:
    """The records of a ``.wandb`` transaction log, checksums checked."""
    data = path.read_bytes()
    assert data[:len(_HEADER)] == _HEADER, f"{path} is not a W&B transaction log"
    pos, pending = len(_HEADER), b""
    while pos + 7 <= len(data):
        if _BLOCK - pos % _BLOCK < 7:  # a block's tail too short for a header is padding
            pos += _BLOCK - pos % _BLOCK
            continue
        checksum, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        if kind == 0 and length == 0:
            break  # zeroes: the log ends here
        chunk = data[pos + 7:pos + 7 + length]
        pos += 7 + length
        assert checksum == zlib.crc32(chunk, zlib.crc32(bytes([kind]))) & 0xFFFFFFFF
        pending += chunk
        if kind in (_FULL, _LAST):
            record = wandb_internal_pb2.Record()  # type: ignore[attr-defined]
            record.ParseFromString(pending)
            pending = b""
            yield record


def _key(item: Any) -> str:
    return item.key or ".".join(item.nested_key)


class WandbRun:
    """One offline run as its transaction log tells it."""

    def __init__(self, path: Path) -> None:
        self.run: Any = None
        self.config: dict[str, Any] = {}
        self.history: list[dict[str, Any]] = []
        self.summary: dict[str, Any] = {}
        self.artifacts: list[Any] = []
        self.exit_code: int | None = None
        for record in records(path):
            kind = record.WhichOneof("record_type")
            if kind == "run":
                self.run = record.run
                self._configure(record.run.config)
            elif kind == "config":
                self._configure(record.config)
            elif kind == "history":
                self.history.append({_key(i): json.loads(i.value_json) for i in
                                     record.history.item})
            elif kind == "summary":
                self.summary.update({_key(i): json.loads(i.value_json) for i in
                                     record.summary.update})
            elif kind == "artifact":
                self.artifacts.append(record.artifact)
            elif kind == "exit":
                self.exit_code = record.exit.exit_code
        self.config.pop("_wandb", None)

    def _configure(self, config: Any) -> None:
        self.config.update({_key(i): json.loads(i.value_json) for i in config.update})

    def rows(self, *keys: str) -> list[tuple[Any, ...]]:
        return [tuple(row.get(k) for k in keys) for row in self.history]


def wandb_runs(root: Path) -> dict[str, WandbRun]:
    """run id -> run, for every run under `root` (that got as far as its run record)."""
    runs = {}
    for path in root.rglob("run-*.wandb"):
        run = WandbRun(path)
        if run.run is not None:
            runs[run.run.run_id] = run
    return runs


@pytest.fixture
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """W&B offline, with every file it writes (runs, cache, settings) under tmp_path."""
    root = tmp_path / "wandb-home"
    for name in ("WANDB_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR", "WANDB_DATA_DIR",
                 "WANDB_ARTIFACT_DIR"):
        (root / name).mkdir(parents=True)
        monkeypatch.setenv(name, str(root / name))
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    return root / "WANDB_DIR"


def train_fn(config: dict[str, Any]) -> None:
    for step in range(config["steps"]):
        if config["fail"] and step == 2:
            raise ValueError(f"diverged at step {step}")
        with tempfile.TemporaryDirectory() as d:
            Path(d, "weights.txt").write_text(f"{config['lr']}@{step}")
            report({"loss": config["lr"] / (step + 1), "nested": {"acc": step / 10},
                    "note": "text is not logged"}, checkpoint=Checkpoint.from_directory(d))


def results(trial_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (trial_dir / "result.json").read_text().splitlines()]


@pytest.mark.slow
def test_each_trial_is_a_run_with_config_history_summary_and_exit_code(
    tmp_path: Path, offline: Path
) -> None:
    callback = WandbLoggerCallback(project="tuning", excludes=["time_since_restore"],
                                   log_config=True, upload_checkpoints=True)
    grid = Tuner(
        train_fn,
        param_space={"lr": grid_search([0.1, 0.2]), "steps": 4,
                     "fail": grid_search([False, True]), "model": {"width": 4}},
        tune_config=TuneConfig(metric="loss", mode="min"),
        run_config=RunConfig(storage_path=str(tmp_path / "runs"), name="exp",
                             callbacks=[callback]),
        executor=InProcessExecutor(max_concurrent=2),  # the callback runs on the driver
    ).fit()
    assert len(grid) == 4 and len(grid.errors) == 2
    runs = wandb_runs(offline)
    trial_dirs = sorted((tmp_path / "runs" / "exp").glob("train_fn_*"))
    assert len(runs) == len(trial_dirs) == 4
    for trial_dir in trial_dirs:
        rows = results(trial_dir)
        config = json.loads((trial_dir / "params.json").read_text())
        run = runs[rows[0]["trial_id"]]
        assert (run.run.display_name, run.run.run_group, run.run.project) == (
            trial_dir.name, "exp", "tuning")
        assert run.config == {**config, "trial_id": rows[0]["trial_id"],
                              "hostname": rows[0]["hostname"], "pid": rows[0]["pid"]}
        assert run.rows("training_iteration", "loss", "nested/acc", "config/lr") == [
            (r["training_iteration"], r["loss"], r["nested"]["acc"], config["lr"]) for r in rows]
        assert [row["_step"] for row in run.history] == list(range(len(rows)))
        for row in run.history:
            assert not {"done", "note", "time_since_restore", "trial_id"} & set(row)
        assert run.summary["loss"] == rows[-1]["loss"]
        assert run.exit_code == (1 if config["fail"] else 0)
        assert len(run.artifacts) == len(rows)  # one per checkpoint
        assert {(a.name, a.type) for a in run.artifacts} == {
            (f"checkpoint_{trial_dir.name}", "model")}
        stored = sorted(e.path for a in run.artifacts for e in a.manifest.contents)
        assert stored == ["weights.txt"] * len(rows)


def logs_itself(config: dict[str, Any]) -> None:
    run = setup_wandb(config, project="inside")
    for step in range(3):
        run.log({"score": config["x"] * step})
        report({"score": config["x"] * step})
    # not finished here: tuner finishes the run when the trial ends


@pytest.mark.slow
def test_setup_wandb_gives_each_trial_its_own_run_in_a_reused_worker(
    tmp_path: Path, offline: Path
) -> None:
    grid = Tuner(
        logs_itself,
        param_space={"x": grid_search([1, 2]), "wandb": {"job_type": "tune"}},
        run_config=RunConfig(storage_path=str(tmp_path), name="inside"),
        executor=LocalExecutor(num_cpus=1),  # one worker runs both trials in turn
    ).fit()
    assert not grid.errors, grid.errors
    assert len({r.metrics["pid"] for r in grid}) == 1
    runs = wandb_runs(offline)
    assert sorted(runs) == sorted(r.metrics["trial_id"] for r in grid)
    for result in grid:
        run = runs[result.metrics["trial_id"]]
        x = result.config["x"]
        assert (run.run.display_name, run.run.run_group, run.run.project, run.run.job_type) == (
            result.path.rsplit("/", 1)[1], "inside", "inside", "tune")
        assert run.config == {"x": x}  # the "wandb" entry went to wandb.init
        assert run.rows("_step", "score") == [(0, 0), (1, x), (2, 2 * x)]
        assert run.summary["score"] == 2 * x
        assert run.exit_code == 0  # finished when the trial ended


def test_setup_wandb_runs_of_trials_at_once_in_one_process_finish_with_their_trials(
    tmp_path: Path, offline: Path
) -> None:
    grid = Tuner(
        logs_itself,
        param_space={"x": grid_search([1, 2])},
        run_config=RunConfig(storage_path=str(tmp_path), name="threads"),
        executor=InProcessExecutor(max_concurrent=2),  # two threads of this process
    ).fit()
    assert not grid.errors, grid.errors
    # A trial's thread finishes its run before the loop hears the trial ended: by the time
    # fit() returns.
    runs = wandb_runs(offline)
    assert all(run.exit_code is not None for run in runs.values())
    assert sorted(runs) == sorted(r.metrics["trial_id"] for r in grid)
    for result in grid:
        run = runs[result.metrics["trial_id"]]
        x = result.config["x"]
        assert run.rows("_step", "score") == [(0, 0), (1, x), (2, 2 * x)]
        # This process goes on: only the trial's end can have finished its run.
        assert run.exit_code == 0


def test_the_callback_needs_a_project(offline: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WANDB_PROJECT", raising=False)
    monkeypatch.delenv("WANDB_PROJECT_NAME", raising=False)
    with pytest.raises(ValueError, match="needs a W&B project: pass project="):
        WandbLoggerCallback().setup()


def test_an_online_run_needs_a_key(tmp_path: Path, offline: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_MODE", "online")
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc from `wandb login`
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    with pytest.raises(ValueError, match="no W&B API key: set WANDB_API_KEY"):
        WandbLoggerCallback(project="p").setup()
    with pytest.raises(ValueError, match="either api_key or api_key_file"):
        WandbLoggerCallback(project="p", api_key="k", api_key_file="f").setup()


def test_an_api_key_file_sets_the_key(tmp_path: Path, offline: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_MODE", "online")
    key_file = tmp_path / "key"
    key_file.write_text("0123456789abcdef\nignored\n")
    WandbLoggerCallback(project="p", api_key_file=str(key_file)).setup()
    assert os.environ["WANDB_API_KEY"] == "0123456789abcdef"


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(TypeError, match="`excludes` must be a list"):
        WandbLoggerCallback(excludes="loss")
    with pytest.raises(ValueError, match="`upload_timeout` must be >= 0"):
        WandbLoggerCallback(upload_timeout=-1)


@pytest.mark.slow
def test_the_docs_and_the_example_run(tmp_path: Path) -> None:
    run_python(tmp_path, code=doc_code("wandb.md"))
    out = run_python(tmp_path, example("wandb_example.py"))
    assert "5 offline W&B runs in " in out
