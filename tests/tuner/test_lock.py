"""The experiment lock: one `Tuner.fit()` at a time per experiment, on local and object storage.

Drivers are real processes (`lock_driver.py`), killed for real; crafted lock files stand for
drivers on other hosts. Nothing waits for a guessed time: the driver's trials wait for a gate
file that the test creates, and the test waits for conditions with a deadline.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import pickle
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tuner import (
    Callback,
    ConfigError,
    ExperimentLockedError,
    FakeClock,
    InProcessExecutor,
    LocalExecutor,
    RestoreError,
    ResultGrid,
    RunConfig,
    Trainable,
    TrialInfo,
    TuneConfig,
    Tuner,
    report,
)
from tuner.analysis._cli import main as cli_main
from tuner.state._experiment import load_state
from tuner.state._lock import LOCK_FILE, ExperimentLock
from tuner.state._lock_holder import LockHolder, process_start_time, this_machine
from tuner.storage._filesystem import join, resolve_storage

DRIVER = str(Path(__file__).with_name("lock_driver.py"))
NUM_SAMPLES = 4  # lock_driver.NUM_SAMPLES
STEPS = 3  # lock_driver.STEPS
HOST = socket.gethostname()


# ---------------------------------------------------------------------------- helpers
def start_driver(mode: str, storage: str, gate: Path, name: str = "exp") -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, DRIVER, mode, storage, name, str(gate)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TUNE_GLOBAL_CHECKPOINT_S": "0.05"},
        start_new_session=True,  # its workers too are killed with os.killpg
    )


@pytest.fixture
def drivers() -> Iterator[list[subprocess.Popen[str]]]:
    """Driver processes a test starts; any still running at its end are killed with their workers."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()


def lock_bytes(storage: str, name: str = "exp") -> bytes | None:
    fs, path = resolve_storage(f"{storage}/{name}")
    fs.invalidate_cache()
    try:
        data: bytes = fs.cat_file(join(path, LOCK_FILE))
    except FileNotFoundError:
        return None
    return data


def lock_holder(storage: str, name: str = "exp") -> LockHolder | None:
    data = lock_bytes(storage, name)
    try:
        return None if data is None else LockHolder.from_bytes(data)
    except ValueError:
        return None  # being written


def wait_until(condition: Callable[[], bool], what: str, proc: subprocess.Popen[str] | None = None,
               timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"the driver ended before {what}:\n{out}\n{err}")
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def saved_state(storage: str, name: str = "exp") -> dict[str, Any] | None:
    fs, path = resolve_storage(f"{storage}/{name}")
    fs.invalidate_cache()
    try:
        return load_state(fs, path)
    except RestoreError:
        return None


def wait_until_running(proc: subprocess.Popen[str], storage: str) -> None:
    """Until `proc` holds the lock and its state shows trials running."""
    def holds_and_runs() -> bool:
        holder = lock_holder(storage)
        state = saved_state(storage)
        return (holder is not None and holder.pid == proc.pid and state is not None
                and any(t["status"] == "RUNNING" for t in state["trials"]))

    wait_until(holds_and_runs, "the driver held the lock with trials running", proc)


def check_intact(storage: str, name: str = "exp") -> dict[str, Any]:
    """The state holds NUM_SAMPLES finished trials, and they are exactly the trial directories."""
    state = saved_state(storage, name)
    assert state is not None
    fs, path = resolve_storage(f"{storage}/{name}")
    fs.invalidate_cache()
    on_disk = {e["name"].rstrip("/").rsplit("/", 1)[-1]
               for e in fs.ls(path, detail=True) if e["type"] == "directory"}
    in_state = {t["name"] for t in state["trials"]}
    assert on_disk == in_state
    assert len(in_state) == NUM_SAMPLES
    assert all(t["status"] == "TERMINATED" for t in state["trials"])
    assert all(t["last_result"]["step"] == STEPS - 1 for t in state["trials"])
    return state


def storage_root(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "local":
        return str(tmp_path / "storage")
    return str(request.getfixturevalue("s3_bucket")) + "/runs"


def quick(config: dict[str, Any]) -> None:
    report({"score": 1.0})


def quick_tuner(storage: str, name: str = "exp", **kwargs: Any) -> Tuner:
    executor = kwargs.pop("executor", None) or InProcessExecutor()
    return Tuner(quick, param_space={"a": 1},
                 run_config=RunConfig(storage_path=storage, name=name, verbose=0, **kwargs),
                 executor=executor)


def craft_lock(storage: str, name: str = "exp", **fields: Any) -> bytes:
    """Write a lock file as another driver would have; returns its bytes."""
    now = time.time()
    values: dict[str, Any] = {
        "host": "elsewhere.invalid", "boot_id": None, "pid_namespace": None, "pid": 4242,
        "process_start": None, "started_at": now - 3600, "heartbeat_at": now, "token": "theirs",
    }
    values.update(fields)
    data = LockHolder(**values).to_bytes()
    fs, path = resolve_storage(f"{storage}/{name}")
    fs.makedirs(path, exist_ok=True)
    fs.pipe_file(join(path, LOCK_FILE), data)
    return data


def craft_local_lock(storage: str, pid: int, process_start: str | None, **fields: Any) -> bytes:
    """A lock of a driver on this very machine."""
    here = this_machine()
    return craft_lock(storage, host=here.host, boot_id=here.boot_id,
                      pid_namespace=here.pid_namespace, pid=pid, process_start=process_start,
                      **fields)


# ---------------------------------------------------------------------------- two drivers
@pytest.mark.slow
@pytest.mark.parametrize("backend", ["local", "s3"])
def test_a_second_run_is_refused_while_a_driver_holds_the_experiment(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest,
    drivers: list[subprocess.Popen[str]],
) -> None:
    storage, gate = storage_root(backend, tmp_path, request), tmp_path / "gate"
    first = start_driver("fit", storage, gate)
    drivers.append(first)
    wait_until_running(first, storage)
    held = lock_bytes(storage)

    # Another process, as in the bug report: it must not start trials of its own.
    second = start_driver("fit", storage, gate)
    drivers.append(second)
    _, err = second.communicate(timeout=120)
    assert second.returncode != 0
    assert "ExperimentLockedError" in err
    assert f"pid {first.pid}" in err and repr(HOST) in err
    # And in this process, where the error's fields can be read.
    with pytest.raises(ExperimentLockedError, match=f"pid {first.pid}") as caught:
        quick_tuner(storage).fit()
    assert (caught.value.host, caught.value.pid) == (HOST, first.pid)
    assert caught.value.lock_path.endswith(f"exp/{LOCK_FILE}")
    message = str(caught.value)
    assert "wait for that run to end" in message and "delete" in message
    assert lock_bytes(storage) == held  # refusing does not touch the holder's lock

    gate.touch()
    out, err = first.communicate(timeout=180)
    assert first.returncode == 0, err
    check_intact(storage)
    assert lock_bytes(storage) is None  # released at the end of fit()
    summary = json.loads(out.strip().splitlines()[-1])
    assert len(summary["trials"]) == NUM_SAMPLES


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["local", "s3"])
def test_after_kill_9_of_the_driver_a_restore_takes_the_lock_over(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest,
    drivers: list[subprocess.Popen[str]],
) -> None:
    storage, gate = storage_root(backend, tmp_path, request), tmp_path / "gate"
    first = start_driver("fit", storage, gate)
    drivers.append(first)
    wait_until_running(first, storage)
    os.killpg(first.pid, signal.SIGKILL)  # the driver and its workers: nothing gets to clean up
    first.communicate()
    holder = lock_holder(storage)
    assert holder is not None and holder.pid == first.pid  # left behind

    gate.touch()
    restore = start_driver("restore", storage, gate)
    drivers.append(restore)
    out, err = restore.communicate(timeout=180)
    assert restore.returncode == 0, err
    assert "taking over the lock" in err and "has exited" in err
    check_intact(storage)
    assert lock_bytes(storage) is None
    summary = json.loads(out.strip().splitlines()[-1])
    assert [t["step"] for t in summary["trials"]] == [STEPS - 1] * NUM_SAMPLES


@pytest.mark.slow
def test_ctrl_c_of_the_driver_releases_the_lock(
    tmp_path: Path, drivers: list[subprocess.Popen[str]]
) -> None:
    storage, gate = str(tmp_path / "storage"), tmp_path / "gate"
    first = start_driver("fit", storage, gate)
    drivers.append(first)
    wait_until_running(first, storage)
    os.kill(first.pid, signal.SIGINT)
    gate.touch()  # trials reach report(), where they are paused
    _, err = first.communicate(timeout=180)
    assert first.returncode == 0, err
    assert "[tuner] interrupted" in err
    assert lock_bytes(storage) is None
    restore = start_driver("restore", storage, gate)  # and the experiment continues
    drivers.append(restore)
    _, err = restore.communicate(timeout=180)
    assert restore.returncode == 0, err
    assert "taking over" not in err
    check_intact(storage)


# ---------------------------------------------------------------------------- other hosts
def test_a_lock_from_another_host_with_a_fresh_heartbeat_is_refused(storage_url: str) -> None:
    crafted = craft_lock(storage_url, heartbeat_at=time.time() - 5)
    with pytest.raises(ExperimentLockedError, match="pid 4242") as caught:
        quick_tuner(storage_url).fit()
    assert caught.value.host == "elsewhere.invalid"
    assert "'elsewhere.invalid'" in str(caught.value)
    assert "60 s after its last heartbeat" in str(caught.value)
    assert lock_bytes(storage_url) == crafted
    assert saved_state(storage_url) is None  # nothing was started


def test_a_lock_from_another_host_with_an_old_heartbeat_is_taken_over(
    storage_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    craft_lock(storage_url, heartbeat_at=time.time() - 61)
    with caplog.at_level(logging.WARNING, logger="tuner.state._lock"):
        grid = quick_tuner(storage_url).fit()
    assert len(grid) == 1 and grid[0].metrics["score"] == 1.0
    assert any("taking over" in r.message and "elsewhere.invalid" in r.message
               and re.search(r"heartbeat is 6\d s old \(> 60 s\)", r.message)
               for r in caplog.records)
    assert lock_bytes(storage_url) is None


def test_staleness_of_other_hosts_is_judged_on_the_injected_clock(tmp_path: Path) -> None:
    fs, path = resolve_storage(str(tmp_path / "exp"))
    clock = FakeClock(wall_start=1_800_000_000.0)
    craft_lock(str(tmp_path), heartbeat_at=clock.time())
    with pytest.raises(ExperimentLockedError):
        ExperimentLock.acquire(fs, path, clock=clock)
    clock.advance(60.0)
    with pytest.raises(ExperimentLockedError):
        ExperimentLock.acquire(fs, path, clock=clock)  # at the limit: not yet
    clock.advance(1.0)
    with ExperimentLock.acquire(fs, path, clock=clock) as lock:
        assert lock.holder.pid == os.getpid()
        assert lock.holder.heartbeat_at == clock.time()


# ---------------------------------------------------------------------------- this host
def test_a_lock_of_a_live_process_on_this_host_is_refused_however_old_its_heartbeat(
    tmp_path: Path,
) -> None:
    storage = str(tmp_path)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        wait_until(lambda: process_start_time(sleeper.pid) is not None, "the sleeper started")
        craft_local_lock(storage, sleeper.pid, process_start_time(sleeper.pid),
                         heartbeat_at=time.time() - 86_400)
        with pytest.raises(ExperimentLockedError, match=f"pid {sleeper.pid}"):
            quick_tuner(storage).fit()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_lock_of_an_exited_process_on_this_host_is_taken_over_at_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_pid = int(done.stdout)
    craft_local_lock(str(tmp_path), dead_pid, "12345", heartbeat_at=time.time())
    with caplog.at_level(logging.WARNING, logger="tuner.state._lock"):
        quick_tuner(str(tmp_path)).fit()
    # (Should the pid have been reused meanwhile, the start time tells the new process apart.)
    assert any(f"pid {dead_pid}" in r.message and "taking over" in r.message
               for r in caplog.records)
    assert lock_bytes(str(tmp_path)) is None


def test_a_reused_pid_does_not_keep_a_lock(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # This very process is alive, but it started at another time than the one the lock names.
    start = process_start_time(os.getpid())
    if start is None:
        pytest.skip("needs /proc to tell process start times")
    craft_local_lock(str(tmp_path), os.getpid(), str(int(start) + 1), heartbeat_at=time.time())
    with caplog.at_level(logging.WARNING, logger="tuner.state._lock"):
        quick_tuner(str(tmp_path)).fit()
    assert any("now belongs to another process" in r.message for r in caplog.records)


def test_a_zombie_holder_counts_as_exited(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        wait_until(lambda: process_start_time(child.pid) is not None, "the child started")
        start = process_start_time(child.pid)
        craft_local_lock(str(tmp_path), child.pid, start, heartbeat_at=time.time())
        os.kill(child.pid, signal.SIGKILL)  # not reaped yet: its pid still answers kill(pid, 0)
        stat = Path(f"/proc/{child.pid}/stat")
        wait_until(lambda: stat.read_bytes().rsplit(b")", 1)[1].split()[0] == b"Z",
                   "the child became a zombie")
        quick_tuner(str(tmp_path)).fit()
        assert lock_bytes(str(tmp_path)) is None
    finally:
        child.kill()
        child.wait()


def test_two_runs_in_one_process_exclude_each_other_too(tmp_path: Path) -> None:
    fs, path = resolve_storage(str(tmp_path / "exp"))
    with (
        ExperimentLock.acquire(fs, path, clock=FakeClock()),
        pytest.raises(ExperimentLockedError, match=f"pid {os.getpid()}"),
    ):
        quick_tuner(str(tmp_path)).fit()
    quick_tuner(str(tmp_path)).fit()  # once released, the experiment is free


def test_an_unreadable_lock_is_refused_while_young_and_taken_over_once_old(tmp_path: Path) -> None:
    storage = str(tmp_path)
    lock = tmp_path / "exp" / LOCK_FILE
    lock.parent.mkdir(parents=True)
    lock.write_bytes(b"")  # a driver that died between creating the file and writing it
    with pytest.raises(ExperimentLockedError, match="unreadable") as caught:
        quick_tuner(storage).fit()
    assert caught.value.pid is None and caught.value.host is None
    old = time.time() - 120
    os.utime(lock, (old, old))
    quick_tuner(storage).fit()
    assert not lock.exists()


# ---------------------------------------------------------------------------- release
def test_no_lock_remains_after_a_normal_fit(storage_url: str) -> None:
    quick_tuner(storage_url).fit()
    assert lock_bytes(storage_url) is None
    quick_tuner(storage_url).fit()  # and a second run on the same experiment is not refused


def test_the_lock_is_released_when_fit_raises(memory_storage: str) -> None:
    # The in-memory filesystem with worker processes is refused inside fit(), after the lock.
    with pytest.raises(ConfigError, match="memory"):
        quick_tuner(memory_storage, executor=LocalExecutor()).fit()
    assert lock_bytes(memory_storage) is None


class _Interrupting(Callback):
    def on_trial_result(self, trial: TrialInfo, result: Mapping[str, Any]) -> None:
        raise KeyboardInterrupt  # what a second Ctrl-C raises in the loop


# A second Ctrl-C leaves at once, with the trial's output files still open (the process is
# about to exit); they are collected here, so that their ResourceWarning is this test's.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_the_lock_is_released_on_a_second_ctrl_c(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        quick_tuner(str(tmp_path), callbacks=[_Interrupting()]).fit()
    assert lock_bytes(str(tmp_path)) is None
    gc.collect()


def test_release_leaves_a_lock_that_another_run_took_over(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fs, path = resolve_storage(str(tmp_path / "exp"))
    lock = ExperimentLock.acquire(fs, path, clock=FakeClock())
    theirs = craft_lock(str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="tuner.state._lock"):
        lock.release()
        lock.release()  # idempotent
    assert lock_bytes(str(tmp_path)) == theirs
    assert sum("taken by another run" in r.message for r in caplog.records) == 1


def test_release_of_a_deleted_lock_is_not_an_error(tmp_path: Path) -> None:
    fs, path = resolve_storage(str(tmp_path / "exp"))
    lock = ExperimentLock.acquire(fs, path, clock=FakeClock())
    os.unlink(lock.path)
    lock.release()
    assert lock_bytes(str(tmp_path)) is None


# ---------------------------------------------------------------------------- heartbeat
def test_the_heartbeat_refreshes_the_lock_on_the_injected_clock(storage_url: str) -> None:
    fs, path = resolve_storage(f"{storage_url}/exp")
    clock = FakeClock()
    lock = ExperimentLock.acquire(fs, path, clock=clock)
    lost: list[bool] = []
    beat = lock.heartbeat(on_lost=lambda: lost.append(True), period_s=10.0)
    assert beat.due_in(0.0) == 0.0  # the first beat is due at once
    clock.advance(25.0)
    beat.run(3.0)
    assert beat.due_in(4.0) == 9.0
    beat.close()  # waits for the refresh under way
    written = lock_bytes(storage_url)
    assert written is not None
    assert LockHolder.from_bytes(written).heartbeat_at == clock.time()
    assert LockHolder.from_bytes(written).started_at == clock.time() - 25.0
    lock.release()
    assert lost == []
    assert lock_bytes(storage_url) is None


def test_a_heartbeat_that_finds_the_lock_taken_stops_the_run(tmp_path: Path) -> None:
    fs, path = resolve_storage(str(tmp_path / "exp"))
    lock = ExperimentLock.acquire(fs, path, clock=FakeClock())
    lost: list[bool] = []
    beat = lock.heartbeat(on_lost=lambda: lost.append(True))
    theirs = craft_lock(str(tmp_path))
    beat.run(0.0)
    lock.release()
    assert lost == [True]
    assert beat.due_in(100.0) == float("inf")
    assert lock_bytes(str(tmp_path)) == theirs  # neither refreshed nor removed


class _Step(Trainable):
    clock: FakeClock

    def step(self) -> dict[str, Any]:
        self.clock.advance(1.0)
        return {"score": 1.0}


class _WatchHeartbeat(Callback):
    """Once 15 fake seconds have passed, waits for the lock file to show a refreshed heartbeat."""

    def __init__(self, lock_path: Path, clock: FakeClock) -> None:
        self.lock_path, self.clock = lock_path, clock
        self.start = clock.time()
        self.seen: list[float] = []

    def on_trial_result(self, trial: TrialInfo, result: Mapping[str, Any]) -> None:
        if self.clock.time() - self.start < 15 or self.seen:
            return
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            holder = LockHolder.from_bytes(self.lock_path.read_bytes())
            if holder.heartbeat_at >= self.start + 10:
                self.seen.append(holder.heartbeat_at)
                return
            time.sleep(0.01)


def test_a_running_fit_refreshes_its_heartbeat(tmp_path: Path) -> None:
    clock = FakeClock()
    _Step.clock = clock
    watch = _WatchHeartbeat(tmp_path / "exp" / LOCK_FILE, clock)
    Tuner(
        _Step,
        param_space={},
        tune_config=TuneConfig(time_budget_s=25.0, num_samples=1),
        run_config=RunConfig(storage_path=str(tmp_path), name="exp", verbose=0,
                             callbacks=[watch]),
        executor=InProcessExecutor(),
        clock=clock,
    ).fit()
    assert watch.seen, "the heartbeat was not refreshed during the run"
    assert not (tmp_path / "exp" / LOCK_FILE).exists()


class _TakeOverAfter(Callback):
    """After 5 fake seconds, plays another run taking the lock over; records the state then.

    The heartbeat runs on the Tuner's clock (this fake one, 10 s a beat) and writes on a thread
    of its own. The takeover waits for the first beat's write to be done (one under way would
    write the old holder back over the new one), and each later result takes 10 real
    milliseconds, so that the next beat's write is done, and read, by the beat after it, however
    loaded the machine is.
    """

    def __init__(self, storage: str, clock: FakeClock) -> None:
        self.storage, self.clock = storage, clock
        self.start = clock.time()
        self.taken: bytes | None = None
        self.state_then: dict[str, bytes] = {}

    def on_trial_result(self, trial: TrialInfo, result: Mapping[str, Any]) -> None:
        if self.taken is None and self.clock.time() - self.start >= 5:
            exp = Path(self.storage, "exp")
            self.state_then = {p.name: p.read_bytes() for p in exp.glob("experiment_state-*")}
            time.sleep(0.5)
            self.taken = craft_lock(self.storage)
        elif self.taken is not None:
            time.sleep(0.01)


def test_a_run_that_lost_its_lock_stops_and_saves_nothing_over_the_new_holder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TUNE_GLOBAL_CHECKPOINT_S", "1000")  # no periodic save in between
    clock = FakeClock()
    _Step.clock = clock
    takeover = _TakeOverAfter(str(tmp_path), clock)
    Tuner(
        _Step,
        param_space={},
        tune_config=TuneConfig(time_budget_s=1000.0, num_samples=1),
        run_config=RunConfig(storage_path=str(tmp_path), name="exp", verbose=0,
                             callbacks=[takeover]),
        executor=InProcessExecutor(),
        clock=clock,
    ).fit()
    assert clock.time() - takeover.start < 100, "the run did not stop when its lock was taken"
    exp = tmp_path / "exp"
    assert {p.name: p.read_bytes() for p in exp.glob("experiment_state-*")} == takeover.state_then
    assert lock_bytes(str(tmp_path)) == takeover.taken  # the new holder's lock stays
    assert "another run took over" in capsys.readouterr().err


# ---------------------------------------------------------------------------- readers, restore
def test_reading_an_experiment_takes_no_lock(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    storage = str(tmp_path)
    quick_tuner(storage).fit()
    crafted = craft_lock(storage)  # a run elsewhere holds it now
    path = str(tmp_path / "exp")
    assert len(ResultGrid.from_path(path)) == 1
    assert Tuner.can_restore(path)
    assert cli_main(["ls", storage]) == 0
    assert "exp" in capsys.readouterr().out
    restored = Tuner.restore(path, trainable=quick)  # reads; only fit() writes
    with pytest.raises(ExperimentLockedError):
        restored.fit()
    assert lock_bytes(storage) == crafted


def test_a_restore_refuses_a_state_saved_again_since_it_was_read(tmp_path: Path) -> None:
    quick_tuner(str(tmp_path)).fit()
    path = str(tmp_path / "exp")
    stale = Tuner.restore(path, trainable=quick, executor=InProcessExecutor())
    Tuner.restore(path, trainable=quick, executor=InProcessExecutor()).fit()
    with pytest.raises(RestoreError, match="saved again"):
        stale.fit()
    assert lock_bytes(str(tmp_path)) is None


def test_the_lock_error_survives_pickling() -> None:
    error = ExperimentLockedError("held", lock_path="/x/.tuner-lock.json", host="h", pid=7)
    copy = pickle.loads(pickle.dumps(error))
    assert (str(copy), copy.lock_path, copy.host, copy.pid) == ("held", error.lock_path, "h", 7)


def test_a_lock_file_on_object_storage_is_confirmed_by_reading_it_back(
    s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A racer whose write lands between ours and our read-back wins: we refuse and it holds.
    fs, path = resolve_storage(f"{s3_bucket}/runs/exp")
    original = fs.pipe_file

    def pipe_then_race(target: str, data: bytes, **kwargs: Any) -> Any:
        result = original(target, data, **kwargs)
        if target.endswith(LOCK_FILE):
            original(target, _theirs_fresh(), mode="overwrite")
        return result

    monkeypatch.setattr(fs, "pipe_file", pipe_then_race)
    with pytest.raises(ExperimentLockedError, match="pid 4242"):
        ExperimentLock.acquire(fs, path, clock=FakeClock(wall_start=time.time()), settle_s=0.0)


def _theirs_fresh() -> bytes:
    now = time.time()
    return LockHolder("elsewhere.invalid", None, None, 4242, None, now, now, "theirs").to_bytes()


def test_the_lock_file_is_json_naming_its_holder(tmp_path: Path) -> None:
    fs, path = resolve_storage(str(tmp_path / "exp"))
    clock = FakeClock(wall_start=1_800_000_000.0)
    with ExperimentLock.acquire(fs, path, clock=clock):
        data = json.loads((tmp_path / "exp" / LOCK_FILE).read_text())
    assert data["host"] == HOST and data["pid"] == os.getpid()
    assert data["started_at"] == data["heartbeat_at"] == 1_800_000_000.0
    assert data["process_start"] == process_start_time(os.getpid())
    assert len(data["token"]) == 32


def test_a_lock_on_memory_storage_is_exclusive(memory_storage: str) -> None:
    fs, path = resolve_storage(f"{memory_storage}/exp")
    with (
        ExperimentLock.acquire(fs, path, clock=FakeClock()),
        pytest.raises(ExperimentLockedError),
    ):
        ExperimentLock.acquire(fs, path, clock=FakeClock())
    assert lock_bytes(memory_storage) is None
