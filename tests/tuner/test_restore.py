"""Experiment state and Tuner.restore: kill the driver at random moments, restore, compare."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import fsspec
import pytest

from tuner import (
    Callback,
    InProcessExecutor,
    RestoreError,
    RunConfig,
    TuneConfig,
    Tuner,
    report,
    uniform,
)
from tuner.state._experiment import SLOTS, load_state
from tuner.storage._filesystem import COMPLETE_MARKER, resolve_storage

DRIVER = str(Path(__file__).with_name("restore_driver.py"))
EPOCHS = 8


def driver(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, DRIVER, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TUNE_GLOBAL_CHECKPOINT_S": "0.05", **(env or {})},
        start_new_session=True,
    )


def reference_configs() -> list[float]:
    """The configs an uninterrupted run samples (seed 11)."""
    from searchers import BasicVariantGenerator

    searcher = BasicVariantGenerator(seed=11)
    searcher.set_search_properties("score", "max", {"x": uniform(0, 1), "sleep": 0.05,
                                                   "ckpt_bytes": 1})
    searcher.set_num_samples(6)
    return [searcher.suggest(f"t{i}")["x"] for i in range(6)]  # type: ignore[index]


def _state(storage: str) -> dict[str, Any] | None:
    fs, path = resolve_storage(f"{storage}/exp")
    fs.invalidate_cache()
    try:
        return load_state(fs, path)
    except RestoreError:
        return None


def wait_until(condition: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError("the experiment never reached the moment to kill it at")


def kill(process: subprocess.Popen[str]) -> None:
    """SIGKILL the driver and its workers, as a lost machine would."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate()


def finish(mode: str, storage: str, *extra: str, env: dict[str, str] | None = None) -> None:
    process = driver(mode, storage, "exp", *extra, env=env)
    _, err = process.communicate(timeout=180)
    assert process.returncode == 0, err


def files(storage: str) -> list[dict[str, Any]]:
    process = driver("files", storage, "exp")
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    return list(json.loads(out.strip().splitlines()[-1])["trials"])


def _saved(storage: str) -> bool:
    return _state(storage) is not None


def _running_with_checkpoint(storage: str) -> bool:
    state = _state(storage)
    return state is not None and any(
        t["status"] == "RUNNING" and t["checkpoints"] for t in state["trials"]
    )


def _all_results_written(storage: str) -> bool:
    """Every trial's result.json holds all its epochs: the last trial has just ended."""
    fs, path = resolve_storage(f"{storage}/exp")
    fs.invalidate_cache()
    try:
        names = fs.glob(f"{path}/*/result.json")
    except FileNotFoundError:
        return False
    if len(names) < 6:
        return False
    return all(fs.cat_file(n).count(b"\n") >= EPOCHS for n in names)


MOMENTS: dict[str, tuple[Any, float]] = {
    # moment: (when the kill is due, longest extra random delay after it)
    "before-first-trial": (_saved, 0.15),
    "mid-trial": (_running_with_checkpoint, 0.3),
    "during-state-saves": (_running_with_checkpoint, 0.6),
    "after-last-trial": (_all_results_written, 0.0),
}


def check_every_row(storage: str, trials: list[dict[str, Any]]) -> None:
    """Each trial's files hold each epoch exactly once, in order, as every reader sees them."""
    assert len(trials) == 6
    assert [t["status"] for t in trials] == ["TERMINATED"] * 6
    assert sorted(t["x"] for t in trials) == sorted(reference_configs())
    epochs, iterations = list(range(EPOCHS)), list(range(1, EPOCHS + 1))
    for trial in trials:
        assert trial["epoch"] == EPOCHS - 1
        assert trial["json_epochs"] == epochs, trial
        assert trial["csv_epochs"] == epochs, trial
        assert trial["csv_iterations"] == iterations, trial
        assert trial["tb_steps"] == iterations, trial
        assert trial["history_epochs"] == epochs, trial
    check_storage_is_clean(storage, trials)


def check_storage_is_clean(storage: str, trials: list[dict[str, Any]]) -> None:
    fs, _ = resolve_storage(storage)
    for trial in trials:
        names = [p.rstrip("/").rsplit("/", 1)[-1] for p in fs.ls(trial["path"], detail=False)]
        on_storage = sorted(n for n in names if n.startswith("checkpoint_"))
        recorded = sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in trial["checkpoints"])
        assert on_storage == recorded, "orphaned or missing checkpoint directories"
        assert not [n for n in names if ".tmp" in n], "half-written files left behind"
        for path in trial["checkpoints"]:
            assert fs.exists(f"{path}/{COMPLETE_MARKER}")


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("moment", list(MOMENTS))
def test_sigkill_then_restore_keeps_every_result_once(
    tmp_path: Path, moment: str, seed: int
) -> None:
    storage = str(tmp_path / "storage")
    when, longest_delay = MOMENTS[moment]
    env = {"TUNE_GLOBAL_CHECKPOINT_S": "0.001"} if moment == "during-state-saves" else None
    run = driver("run", storage, "exp", env=env)
    try:
        wait_until(lambda: when(storage))
        time.sleep(random.Random(seed).uniform(0.0, longest_delay))
    finally:
        kill(run)
    assert Tuner.can_restore(f"{storage}/exp"), "a state is saved before the first trial starts"
    finish("restore", storage, env=env)
    check_every_row(storage, files(storage))


@pytest.mark.slow
def test_a_restore_killed_in_turn_then_restored_again(tmp_path: Path) -> None:
    storage = str(tmp_path / "storage")
    run = driver("run", storage, "exp")
    try:
        wait_until(lambda: _running_with_checkpoint(storage))
    finally:
        kill(run)
    restore = driver("restore", storage, "exp")
    time.sleep(0.8)
    kill(restore)
    finish("restore", storage)
    trials = files(storage)
    check_every_row(storage, trials)
    assert any(t["start"] > 0 for t in trials), "no trial resumed from a checkpoint"


@pytest.mark.slow
def test_sigkill_during_a_checkpoint_upload_to_the_loopback_s3_server(s3_bucket: str) -> None:
    storage = f"{s3_bucket}/runs"
    run = driver("run", storage, "exp", "4000000")
    try:
        wait_until(lambda: _running_with_checkpoint(storage), timeout=120)
        time.sleep(0.1)
    finally:
        kill(run)
    finish("restore", storage)
    check_every_row(storage, files(storage))


class InterruptAfter(Callback):
    """Interrupts the experiment (as the first Ctrl-C would) after `n` results."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.controller: Any = None

    def on_trial_result(self, trial: Any, result: Any) -> None:
        self.n -= 1
        if self.n == 0:
            os.kill(os.getpid(), signal.SIGINT)


def steps(config: dict[str, Any]) -> None:
    for i in range(20):
        report({"i": i, "x": config["x"]})


def test_interrupt_then_restore_in_memory(memory_storage: str) -> None:
    tune = TuneConfig(num_samples=4, seed=5)
    grid = Tuner(
        steps,
        param_space={"x": uniform(0, 1)},
        tune_config=tune,
        run_config=RunConfig(storage_path=memory_storage, name="mem", verbose=0,
                             callbacks=[InterruptAfter(30)]),
        executor=InProcessExecutor(),
    ).fit()
    assert sum(r.status == "TERMINATED" for r in grid) < 4
    path = f"{memory_storage}/mem"
    assert Tuner.can_restore(path)
    grid = Tuner.restore(path, trainable=steps, executor=InProcessExecutor()).fit()
    assert len(grid) == 4
    assert {r.status for r in grid} == {"TERMINATED"}
    assert len({r.config["x"] for r in grid}) == 4


def test_restore_errors_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(RestoreError, match=r"no experiment found at .*nothing.*experiment_state-a"):
        Tuner.restore(str(tmp_path / "nothing"), trainable=steps)
    Tuner(steps, param_space={"x": 1}, run_config=RunConfig(
        storage_path=str(tmp_path), name="e", verbose=0), executor=InProcessExecutor()).fit()

    def other(config: dict[str, Any]) -> None: ...

    with pytest.raises(RestoreError, match="ran the trainable 'steps', but restore got 'other'"):
        Tuner.restore(str(tmp_path / "e"), trainable=other)
    for slot in SLOTS:
        state = json.loads((tmp_path / "e" / slot).read_text())
        state["format_version"] = 99
        (tmp_path / "e" / slot).write_text(json.dumps(state))
    with pytest.raises(RestoreError, match="format version 99, newer than"):
        Tuner.restore(str(tmp_path / "e"), trainable=steps)


def test_a_corrupt_state_file_falls_back_to_the_other_copy(tmp_path: Path) -> None:
    Tuner(steps, param_space={"x": 1}, run_config=RunConfig(
        storage_path=str(tmp_path), name="e", verbose=0), executor=InProcessExecutor()).fit()
    fs = fsspec.filesystem("file")
    sequences = {s: json.loads((tmp_path / "e" / s).read_text())["sequence"] for s in SLOTS}
    newest = max(SLOTS, key=sequences.__getitem__)
    (tmp_path / "e" / newest).write_text('{"format": "tuner-experiment-state", "trials": [')
    state = load_state(fs, str(tmp_path / "e"))
    assert state["sequence"] == sequences[newest] - 1  # the save before it, in the other slot
    for slot in SLOTS:
        (tmp_path / "e" / slot).write_text("{not json")
    with pytest.raises(RestoreError, match="unreadable"):
        load_state(fs, str(tmp_path / "e"))


def test_a_custom_scheduler_must_be_passed_again(tmp_path: Path) -> None:
    from schedulers import ASHAScheduler

    Tuner(steps, param_space={"x": 1},
          tune_config=TuneConfig(metric="i", mode="max", scheduler=ASHAScheduler(max_t=20)),
          run_config=RunConfig(storage_path=str(tmp_path), name="e", verbose=0),
          executor=InProcessExecutor()).fit()
    with pytest.raises(RestoreError, match=r"used the scheduler schedulers\._asha\.AsyncHyperBandScheduler"):
        Tuner.restore(str(tmp_path / "e"), trainable=steps)
    tuner = Tuner.restore(str(tmp_path / "e"), trainable=steps,
                          tune_config=TuneConfig(scheduler=ASHAScheduler(max_t=20)),
                          executor=InProcessExecutor())
    assert len(tuner.fit()) == 1


def test_a_state_save_cut_short_leaves_nothing_behind_after_restore(tmp_path: Path) -> None:
    """As if the driver died while writing a state file: a partial temporary file is left."""
    Tuner(steps, param_space={"x": 1}, tune_config=TuneConfig(num_samples=2),
          run_config=RunConfig(storage_path=str(tmp_path), name="e", verbose=0),
          executor=InProcessExecutor()).fit()
    partial = tmp_path / "e" / ".experiment_state-a.json.tmp-abc123"
    partial.write_text('{"format": "tuner-experiment-state", "trials": [{"trial_')
    grid = Tuner.restore(str(tmp_path / "e"), trainable=steps, executor=InProcessExecutor()).fit()
    assert len(grid) == 2 and {r.status for r in grid} == {"TERMINATED"}
    assert not partial.exists()
