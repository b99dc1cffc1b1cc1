"""DaskExecutor on a real LocalCluster: trials, checkpoints on S3, lost workers, bad input."""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import fsspec
import pytest

from schedulers import ASHAScheduler, PopulationBasedTraining
from tuner import (
    Callback,
    Checkpoint,
    CheckpointConfig,
    ConfigError,
    FailureConfig,
    RunConfig,
    Trainable,
    TrialInfo,
    TuneConfig,
    Tuner,
    get_checkpoint,
    grid_search,
    report,
    with_resources,
)
from tuner.executors.dask._cluster import WorkerInfo
from tuner.executors.dask._executor import DaskExecutor
from tuner.executors.dask._storage import storage_problem

distributed = pytest.importorskip("distributed")

# dashboard_address=":0": with None the scheduler still serves HTTP on port 8787 and warns (an
# error here) when another cluster on this machine has it; ":0" takes any free port instead.
_CLUSTER = {"threads_per_worker": 1, "processes": True, "host": "127.0.0.1",
            "dashboard_address": ":0"}


@pytest.fixture(scope="module")
def cluster(s3_server: Any) -> Iterator[Any]:
    # Started after the S3 server, so that worker processes inherit its endpoint variables.
    with distributed.LocalCluster(n_workers=2, **_CLUSTER) as cluster:
        yield cluster


@pytest.fixture
def client(cluster: Any) -> Iterator[Any]:
    with distributed.Client(cluster, set_as_default=False) as client:
        client.wait_for_workers(2, timeout=30)  # a test may have killed one; its nanny restarts it
        yield client


def fit(trainable: Any, storage: str, executor: DaskExecutor, **kwargs: Any) -> Any:
    run_config = RunConfig(storage_path=storage, name="exp", verbose=0,
                           failure_config=kwargs.pop("failure_config", FailureConfig()),
                           checkpoint_config=kwargs.pop("checkpoint_config", CheckpointConfig()),
                           callbacks=kwargs.pop("callbacks", []), stop=kwargs.pop("stop", None))
    return Tuner(
        trainable,
        param_space=kwargs.pop("param_space", {"x": grid_search([0, 1, 2, 3, 4, 5])}),
        tune_config=kwargs.pop("tune_config", TuneConfig(metric="loss", mode="min")),
        run_config=run_config,
        executor=executor,
    ).fit()


def quadratic(config: dict[str, Any]) -> None:
    for step in range(5):
        if config["x"] == 2 and step == 1:
            raise RuntimeError("boom at x=2")
        report({"loss": (config["x"] - 3.0) ** 2 / (step + 1), "worker_pid": os.getppid()})


def test_function_trials_run_on_the_workers_which_are_reused(tmp_path: Path, client: Any) -> None:
    grid = fit(quadratic, str(tmp_path), DaskExecutor(client))
    by_x = {r.config["x"]: r for r in grid}
    assert by_x[2].status == "ERROR" and by_x[2].error is not None
    assert "boom at x=2" in by_x[2].error.traceback
    dask_pids = set(client.run(os.getpid).values())
    for x, result in by_x.items():
        if x == 2:
            continue
        metrics = result.metrics
        assert result.status == "TERMINATED"
        assert metrics["training_iteration"] == 5 and metrics["trial_id"] == result.trial_id
        assert metrics["loss"] == pytest.approx((x - 3.0) ** 2 / 5)
        for key in ("time_this_iter_s", "time_total_s", "timestamp", "hostname"):
            assert key in metrics
        lines = (Path(result.path) / "result.json").read_text().splitlines()
        assert [json.loads(line)["training_iteration"] for line in lines] == [1, 2, 3, 4, 5]
        assert metrics["worker_pid"] in dask_pids
    # Two single-thread workers: two slots, each one worker process, for all six trials, but
    # for the slot whose trial failed (x=2): it is retired, a fresh one runs what follows.
    pids = {r.metrics["pid"] for r in grid if r.metrics}
    assert len(pids) <= 3
    assert by_x[2].metrics["pid"] not in {r.metrics["pid"] for r in grid if r.config["x"] > 2}
    assert os.getpid() not in pids


class FailsOnce(Trainable):
    def setup(self, config: dict[str, Any]) -> None:
        self.value, self.rate, self.restored = 0.0, config["rate"], False

    def step(self) -> dict[str, Any]:
        if self.iteration == 3 and not self.restored:
            raise RuntimeError("fails before its 4th step")
        self.value += self.rate
        return {"value": self.value, "restored": self.restored, "done": self.iteration + 1 >= 6}

    def save_checkpoint(self, checkpoint_dir: str) -> None:
        Path(checkpoint_dir, "state.json").write_text(json.dumps({"value": self.value}))

    def load_checkpoint(self, checkpoint: str | dict[str, Any]) -> None:
        self.value = json.loads(Path(str(checkpoint), "state.json").read_text())["value"]
        self.restored = True


def test_class_trials_checkpoint_to_s3_and_resume_after_a_failure(
    s3_bucket: str, client: Any
) -> None:
    grid = fit(
        FailsOnce, f"{s3_bucket}/runs", DaskExecutor(client),
        param_space={"rate": grid_search([1.0, 2.0])},
        tune_config=TuneConfig(metric="value", mode="max"),
        checkpoint_config=CheckpointConfig(checkpoint_frequency=2),
        failure_config=FailureConfig(max_failures=1),
    )
    fs = fsspec.filesystem("s3")
    for result in grid:
        assert result.status == "TERMINATED", result.error
        assert result.metrics["training_iteration"] == 6
        assert result.metrics["restored"] is True
        assert result.metrics["value"] == 6 * result.config["rate"]  # resumed at 2, not at 0
        names = {p.rsplit("/", 1)[-1] for p in fs.ls(result.path, refresh=True)}
        assert {"checkpoint_000000", "checkpoint_000002"} <= names
        assert result.checkpoint is not None
        assert result.path.startswith(s3_bucket.removeprefix("s3://"))


def checkpointed_steps(config: dict[str, Any]) -> None:
    start = 0
    checkpoint = get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as d:
            start = json.loads(Path(d, "state.json").read_text())["step"]
    for step in range(start, config["steps"]):
        with tempfile.TemporaryDirectory() as d:
            Path(d, "state.json").write_text(json.dumps({"step": step + 1}))
            report({"loss": 1.0 / (step + 1), "worker_pid": os.getppid(), "resumed_at": start},
                   checkpoint=Checkpoint.from_directory(d))
        time.sleep(config.get("sleep", 0.0))


class KillWorkerAt(Callback):
    """Kills the Dask worker process running the trial when it reports `iteration`."""

    def __init__(self, iteration: int) -> None:
        self.iteration = iteration
        self.killed: int | None = None

    def on_trial_result(self, trial: TrialInfo, result: Mapping[str, Any]) -> None:
        if self.killed is None and result["training_iteration"] == self.iteration:
            self.killed = result["worker_pid"]
            os.kill(result["worker_pid"], signal.SIGKILL)


def test_a_killed_worker_fails_its_trial_which_resumes_elsewhere(
    tmp_path: Path, client: Any
) -> None:
    killer = KillWorkerAt(3)
    grid = fit(
        checkpointed_steps, str(tmp_path), DaskExecutor(client),
        param_space={"steps": 8, "sleep": 0.2},
        tune_config=TuneConfig(metric="loss", mode="min", num_samples=1),
        failure_config=FailureConfig(max_failures=1), callbacks=[killer],
    )
    result = grid[0]
    assert result.status == "TERMINATED", result.error
    error_text = (Path(result.path) / "error.txt").read_text()
    assert "its Dask worker tcp://127.0.0.1:" in error_text and "died" in error_text
    rows = [json.loads(line) for line in (Path(result.path) / "result.json").read_text().splitlines()]
    # Nothing lost, nothing repeated: every iteration once, the second attempt going on from
    # the checkpoint of the last result the first one delivered.
    assert [r["training_iteration"] for r in rows] == list(range(1, 9))
    resumed = [r for r in rows if r["resumed_at"] > 0]
    assert resumed and resumed[0]["training_iteration"] == resumed[0]["resumed_at"] + 1
    assert {r["worker_pid"] for r in resumed}.isdisjoint({killer.killed})
    assert result.metrics["training_iteration"] == 8


def test_asha_stops_trials_early_on_the_cluster(tmp_path: Path, client: Any) -> None:
    def curve(config: dict[str, Any]) -> None:
        for step in range(8):
            report({"loss": config["x"] + 1.0 / (step + 1)})
            time.sleep(0.02)

    grid = fit(
        curve, str(tmp_path), DaskExecutor(client),
        param_space={"x": grid_search([0.0, 1.0, 2.0, 3.0, 4.0, 5.0])},
        tune_config=TuneConfig(metric="loss", mode="min", scheduler=ASHAScheduler(
            max_t=8, grace_period=2, reduction_factor=2)),
    )
    iterations = {r.config["x"]: r.metrics["training_iteration"] for r in grid}
    assert grid.num_errors == 0
    assert iterations[0.0] == 8
    assert min(iterations.values()) < 8


def test_pbt_pauses_and_resumes_trials_from_copied_checkpoints(
    tmp_path: Path, client: Any
) -> None:
    def trained(config: dict[str, Any]) -> None:
        start = 0
        checkpoint = get_checkpoint()
        if checkpoint is not None:
            with checkpoint.as_directory() as d:
                start = json.loads(Path(d, "state.json").read_text())["step"]
        for step in range(start, 7):
            with tempfile.TemporaryDirectory() as d:
                Path(d, "state.json").write_text(json.dumps({"step": step + 1}))
                report({"loss": config["lr"] / (step + 1), "resumed_at": start},
                       checkpoint=Checkpoint.from_directory(d))
            # The worse trial is slower, so that it reaches the interval while the better one
            # (its donor) still runs.
            time.sleep(0.1 if config["lr"] <= 0.2 else 0.2)

    pbt = PopulationBasedTraining(
        "training_iteration", perturbation_interval=3, quantile_fraction=0.5,
        hyperparam_mutations={"lr": [0.1, 0.2]}, seed=0,
    )
    grid = fit(
        trained, str(tmp_path), DaskExecutor(client), param_space={"lr": grid_search([0.1, 0.4])},
        tune_config=TuneConfig(metric="loss", mode="min", scheduler=pbt),
    )
    assert grid.num_errors == 0 and {r.status for r in grid} == {"TERMINATED"}
    # The worse trial was paused at iteration 3 and resumed from a copy of the better one's
    # checkpoint, with the better one's lr explored. (Its final training_iteration is not
    # checked: the event loop drops a result that crosses a PAUSE, with any executor.)
    assert sorted(r.config["lr"] for r in grid) in ([0.1, 0.1], [0.1, 0.2])


def test_a_trial_that_ignores_stop_is_killed_after_the_grace_period(
    tmp_path: Path, client: Any
) -> None:
    def stubborn(config: dict[str, Any]) -> None:
        report({"loss": 1.0})
        time.sleep(60)  # never reports again, so never learns it should stop
        report({"loss": 0.0})

    grid = fit(stubborn, str(tmp_path), DaskExecutor(client, stop_grace_s=0.5),
               param_space={}, stop={"training_iteration": 1},
               tune_config=TuneConfig(metric="loss", mode="min", num_samples=1))
    assert grid[0].status == "TERMINATED" and grid[0].metrics["training_iteration"] == 1


def test_gpu_trials_get_their_own_cuda_visible_devices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def gpu_fn(config: dict[str, Any]) -> None:
        time.sleep(0.2)  # overlap, so that both GPUs are in use at once
        report({"loss": 0.0, "cuda": os.environ.get("CUDA_VISIBLE_DEVICES", "unset")})

    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    with distributed.LocalCluster(n_workers=1, resources={"GPU": 2}, **_CLUSTER) as cluster, \
            distributed.Client(cluster, set_as_default=False) as client:
        grid = fit(with_resources(gpu_fn, {"cpu": 0.5, "gpu": 1}), str(tmp_path),
                   DaskExecutor(client), param_space={"x": grid_search([0, 1, 2, 3])})
        cpu_grid = fit(gpu_fn, str(tmp_path / "cpu"), DaskExecutor(client), param_space={})
    assert {r.metrics["cuda"] for r in grid} == {"0", "1"}
    assert cpu_grid[0].metrics["cuda"] == ""  # the worker has GPUs, this trial asked for none


# ---------------------------------------------------------------------- bad input
def test_an_unreachable_scheduler_fails_fast_naming_the_address() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again below: nothing listens there
    address = f"tcp://127.0.0.1:{port}"
    with pytest.raises(ConfigError, match=f"Dask scheduler at '{address}' within 1 s"):
        DaskExecutor(address, connect_timeout_s=1)


@pytest.mark.parametrize(
    ("resources", "named"), [({"gpu": 1}, "GPU=1"), ({"cpu": 1, "TPU": 2}, "TPU=2")]
)
def test_resources_no_worker_offers_fail_before_any_trial(
    tmp_path: Path, client: Any, resources: dict[str, float], named: str
) -> None:
    with pytest.raises(ConfigError, match="no worker of the scheduler") as info:
        fit(with_resources(quadratic, resources), str(tmp_path), DaskExecutor(client))
    assert named in str(info.value) and "(CPU=1, GPU=0)" in str(info.value)


def test_an_unpicklable_trainable_names_the_object(tmp_path: Path, client: Any) -> None:
    lock = threading.Lock()

    def holds_a_lock(config: dict[str, Any]) -> None:
        with lock:
            report({"loss": 0.0})

    with pytest.raises(ConfigError, match="'holds_a_lock' cannot be sent to Dask workers") as info:
        fit(holds_a_lock, str(tmp_path), DaskExecutor(client))
    assert "_thread.lock" in str(info.value)


def test_memory_storage_is_refused(client: Any) -> None:
    with pytest.raises(ConfigError, match="in this process's memory"):
        fit(quadratic, "memory://tuner-dask-test", DaskExecutor(client))


def test_local_storage_is_refused_when_workers_on_other_hosts_do_not_see_it(
    tmp_path: Path,
) -> None:
    fs = fsspec.filesystem("file")
    workers = {
        "tcp://127.0.0.1:1": WorkerInfo("tcp://127.0.0.1:1", "127.0.0.1", {}, frozenset()),
        "tcp://10.0.0.7:1": WorkerInfo("tcp://10.0.0.7:1", "10.0.0.7", {}, frozenset()),
        "tcp://10.0.0.7:2": WorkerInfo("tcp://10.0.0.7:2", "10.0.0.7", {}, frozenset()),
    }
    probed: list[list[str]] = []

    def probe(path: str, expected: bytes, addresses: list[str]) -> dict[str, str | None]:
        probed.append(addresses)
        return dict.fromkeys(addresses, f"FileNotFoundError: {path}")

    problem = storage_problem(fs, str(tmp_path), workers, ["10.0.0.1"], probe)
    assert problem is not None
    assert problem.startswith(f"storage_path '{tmp_path}' is local to this machine but Dask "
                              "workers run on hosts ['10.0.0.7']")
    assert "use shared storage such as s3://" in problem
    assert len(probed) == 1 and len(probed[0]) == 1  # one worker per remote host
    assert list(tmp_path.iterdir()) == []  # the probe file is removed

    def sees_it(path: str, expected: bytes, addresses: list[str]) -> dict[str, str | None]:
        return dict.fromkeys(addresses)

    assert storage_problem(fs, str(tmp_path), workers, ["10.0.0.1"], sees_it) is None  # NFS


def test_missing_dask_is_an_import_error_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match=r"pip install 'tuner\[dask\]'"):
        DaskExecutor("tcp://127.0.0.1:8786")


def test_reading_a_hello_does_not_block_on_the_connection_it_identified() -> None:
    """A slot's connection that was ready with only its hello must not be drained in the same
    read: that recv() would block the driver's loop until the trial's first message."""
    import threading
    from multiprocessing import Pipe

    from tuner._clock import SystemClock
    from tuner.executors.dask._cluster import WorkerInfo
    from tuner.executors.dask._slot import Role, SlotHello
    from tuner.executors.dask._slot_table import Slot, SlotTable

    class NeverDone:
        def done(self) -> bool:
            return False

    table = SlotTable(SystemClock(), stop_grace_s=10, start_timeout_s=60)
    worker = WorkerInfo("tcp://w:1", "w", {"CPU": 1.0}, frozenset())
    slot = Slot("tok", worker, {"CPU": 1.0}, (), NeverDone(), 0.0)
    ctl_driver, _ctl_slot = Pipe()
    slot.ctl = ctl_driver
    table.add(slot)
    data_driver, data_slot = Pipe()
    data_slot.send(SlotHello("tok", Role.DATA, "tcp://w:1", "w"))
    table.unidentified.append(data_driver)
    returned = threading.Event()
    reader = threading.Thread(
        target=lambda: (table.read({data_driver}), returned.set()), daemon=True
    )
    reader.start()
    assert returned.wait(5.0), "SlotTable.read blocked on a connection it had just identified"
    assert slot.connected
