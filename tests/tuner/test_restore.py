"""Experiment state and Tuner.restore: kill the driver at random moments, restore, compare."""

from __future__ import annotations

import json
import os
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
from tuner._experiment_state import SLOTS, load_state
from tuner._storage import COMPLETE_MARKER, resolve_storage

DRIVER = str(Path(__file__).with_name("restore_driver.py"))


def driver(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, DRIVER, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TUNE_GLOBAL_CHECKPOINT_S": "0.05", **(env or {})},
        start_new_session=True,
    )


def reference_configs(tmp_path: Path) -> list[float]:
    """The configs an uninterrupted run samples (seed 11), from the state of a dry run."""
    from searchers import BasicVariantGenerator

    searcher = BasicVariantGenerator(seed=11)
    searcher.set_search_properties("score", "max", {"x": uniform(0, 1), "sleep": 0.05,
                                                   "ckpt_bytes": 1})
    searcher.set_num_samples(6)
    return [searcher.suggest(f"t{i}")["x"] for i in range(6)]  # type: ignore[index]


def wait_for_state(storage: str, predicate: Any, timeout: float = 60.0) -> None:
    """Wait until the saved state satisfies `predicate(state)`."""
    fs, path = resolve_storage(f"{storage}/exp")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.05)
        fs.invalidate_cache()
        try:
            state = load_state(fs, path)
        except RestoreError:
            continue
        if predicate(state):
            return
    raise AssertionError("the experiment never reached the state to kill it in")


def kill_then_restore(
    storage: str, when: Any, extra_delay: float, ckpt_bytes: int = 1000
) -> dict[str, Any]:
    run = driver("run", storage, "exp", str(ckpt_bytes))
    if when is not None:
        wait_for_state(storage, when)
    time.sleep(extra_delay)
    os.killpg(run.pid, signal.SIGKILL)  # the driver and its workers, as a lost machine would
    run.communicate()
    restore = driver("restore", storage, "exp")
    out, err = restore.communicate(timeout=120)
    assert restore.returncode == 0, err
    return dict(json.loads(out.strip().splitlines()[-1]))


def _running(state: dict[str, Any]) -> bool:
    return any(t["status"] == "RUNNING" for t in state["trials"])


def _checkpointed(state: dict[str, Any]) -> bool:
    return any(t["checkpoints"] for t in state["trials"])


def _two_done(state: dict[str, Any]) -> bool:
    return sum(t["status"] == "TERMINATED" for t in state["trials"]) >= 2


def check_storage_is_clean(storage: str, summary: dict[str, Any]) -> None:
    fs, _ = resolve_storage(storage)
    for trial in summary["trials"]:
        names = [p.rstrip("/").rsplit("/", 1)[-1] for p in fs.ls(trial["path"], detail=False)]
        on_storage = sorted(n for n in names if n.startswith("checkpoint_"))
        recorded = sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in trial["checkpoints"])
        assert on_storage == recorded, "orphaned or missing checkpoint directories"
        assert not [n for n in names if ".tmp" in n], "half-written files left behind"
        for path in trial["checkpoints"]:
            assert fs.exists(f"{path}/{COMPLETE_MARKER}")


@pytest.mark.parametrize(
    ("when", "extra_delay", "ckpt_bytes"),
    [(None, 0.05, 1000), (_running, 0.1, 1000), (_checkpointed, 0.02, 4_000_000),
     (_two_done, 0.0, 1000)],
    ids=["before-first-trial", "mid-trial", "during-checkpoint-upload", "later"],
)
def test_sigkill_then_restore_finishes_the_experiment(
    tmp_path: Path, when: Any, extra_delay: float, ckpt_bytes: int
) -> None:
    storage = str(tmp_path / "storage")
    summary = kill_then_restore(storage, when, extra_delay, ckpt_bytes)
    if not summary["restorable"]:
        # Killed before the first state save: nothing was promised yet; a new run starts over.
        assert when is None
        return
    trials = summary["trials"]
    assert len(trials) == 6
    assert {t["status"] for t in trials} == {"TERMINATED"}
    assert sorted(t["x"] for t in trials) == sorted(reference_configs(tmp_path))
    for trial in trials:
        assert trial["epoch"] == 7
        # Every epoch's result is on record, whether before the crash or after the resume.
        assert set(trial["epochs_logged"]) == set(range(8))
        # A resumed trial continued from its checkpoint: no epoch before it was re-run.
        assert trial["epochs_logged"].count(trial["start"]) >= 1
    check_storage_is_clean(storage, summary)


def test_sigkill_mid_trial_resumes_from_checkpoints(tmp_path: Path) -> None:
    storage = str(tmp_path / "storage")
    summary = kill_then_restore(
        storage,
        lambda state: any(t["status"] == "RUNNING" and t["checkpoints"] for t in state["trials"]),
        0.0,
    )
    resumed = [t for t in summary["trials"] if t["start"] > 0]
    assert resumed, "no trial resumed from a checkpoint"
    for trial in resumed:
        assert trial["epochs_logged"][-1] == 7
    check_storage_is_clean(storage, summary)


def test_restore_on_the_loopback_s3_server(s3_bucket: str) -> None:
    storage = f"{s3_bucket}/runs"
    summary = kill_then_restore(storage, _checkpointed, 0.1)
    assert summary["restorable"]
    for trial in summary["trials"]:
        # Results from before the crash survive the resumed run's uploads of its result.json.
        assert set(trial["epochs_logged"]) == set(range(8))
    assert len(summary["trials"]) == 6
    assert {t["status"] for t in summary["trials"]} == {"TERMINATED"}
    check_storage_is_clean(storage, summary)


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
    newest = max(SLOTS, key=lambda s: json.loads((tmp_path / "e" / s).read_text())["sequence"])
    (tmp_path / "e" / newest).write_text('{"format": "tuner-experiment-state", "trials": [')
    state = load_state(fs, str(tmp_path / "e"))
    assert state["trials"][0]["status"] == "TERMINATED"
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
