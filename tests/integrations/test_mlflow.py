"""MLflow: real experiments logged to a real MLflow tracking store (SQLite), read back with
MLflow's own `MlflowClient`: runs, params, metric histories with their steps, statuses, artifacts.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tests.integrations.scripts import doc_code, example, run_python

pytest.importorskip("mlflow")
pytest.importorskip("sqlalchemy")  # MLflow's SQLite store

from mlflow import MlflowClient

from tuner import (
    Callback,
    Checkpoint,
    InProcessExecutor,
    LocalExecutor,
    RunConfig,
    TuneConfig,
    Tuner,
    get_checkpoint,
    grid_search,
    report,
)
from tuner.integrations.mlflow import MLflowLoggerCallback, setup_mlflow

pytestmark = [
    # SQLAlchemy 2.1 deprecates a loader option MLflow's SQL store still uses.
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated"),
]





@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One SQLite tracking store for the module (MLflow takes seconds to create one); each
    test logs to experiments of its own."""
    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    # MLflow's store for a URI is made once per process, with ./mlruns, resolved now, as the
    # artifact root of the experiments it creates: resolve it in the temporary directory.
    here = os.getcwd()
    os.chdir(root)
    try:
        MlflowClient(uri).search_experiments()  # creates the tables
    finally:
        os.chdir(here)
    return uri


@pytest.fixture
def tracking_uri(database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    # An experiment MLflow creates keeps its artifacts in ./mlruns: keep them in tmp_path.
    monkeypatch.chdir(tmp_path)
    return database


def train_fn(config: dict[str, Any]) -> None:
    for step in range(config["steps"]):
        if config["fail"] and step == 2:
            raise ValueError(f"diverged at step {step}")
        with tempfile.TemporaryDirectory() as d:
            Path(d, "weights.txt").write_text(f"{config['lr']}@{step}")
            report({"loss": config["lr"] / (step + 1), "nested": {"acc": step / 10},
                    "note": "text is not a metric"}, checkpoint=Checkpoint.from_directory(d))


def history(client: MlflowClient, run_id: str, key: str) -> list[tuple[int, float]]:
    return [(m.step, m.value) for m in client.get_metric_history(run_id, key)]


def results(trial_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (trial_dir / "result.json").read_text().splitlines()]


@pytest.mark.slow
def test_each_trial_is_a_run_with_params_metrics_status_and_artifacts(
    tmp_path: Path, tracking_uri: str
) -> None:
    callback = MLflowLoggerCallback(tracking_uri, experiment_name="tuning",
                                    tags={"owner": "tests"}, save_artifact=True)
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

    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name("tuning")
    assert experiment is not None
    runs = {r.info.run_name: r for r in client.search_runs([experiment.experiment_id])}
    trial_dirs = sorted((tmp_path / "runs" / "exp").glob("train_fn_*"))
    assert sorted(runs) == [d.name for d in trial_dirs]
    for trial_dir in trial_dirs:
        run = runs[trial_dir.name]
        rows = results(trial_dir)
        config = json.loads((trial_dir / "params.json").read_text())
        assert run.info.status == ("FAILED" if config["fail"] else "FINISHED")
        assert run.data.tags["trial_name"] == trial_dir.name
        assert run.data.tags["trial_id"] == rows[0]["trial_id"]
        assert run.data.tags["owner"] == "tests"
        assert run.data.params == {"lr": str(config["lr"]), "steps": "4",
                                   "fail": str(config["fail"]), "model/width": "4"}
        assert history(client, run.info.run_id, "loss") == [
            (row["training_iteration"], row["loss"]) for row in rows]
        assert history(client, run.info.run_id, "nested/acc") == [
            (1, 0.0), (2, 0.1), (3, 0.2), (4, 0.3)][:len(rows)]
        assert len(rows) == (2 if config["fail"] else 4)
        assert "note" not in run.data.metrics  # strings are not metrics
        assert run.data.metrics["training_iteration"] == len(rows)
        last = f"checkpoint_{len(rows) - 1:06d}"
        top = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert {"result.json", "progress.csv", "params.json", last} <= top
        assert ("error.txt" in top) == config["fail"]
        kept = [a.path for a in client.list_artifacts(run.info.run_id, last)]
        assert kept == [f"{last}/weights.txt"]  # tuner's .tuner_complete marker left out
        logged = Path(client.download_artifacts(run.info.run_id, "result.json", str(tmp_path)))
        assert [json.loads(line) for line in logged.read_text().splitlines()] == rows


def test_without_save_artifact_a_run_has_no_artifacts(tmp_path: Path, tracking_uri: str) -> None:
    callback = MLflowLoggerCallback(tracking_uri, experiment_name="bare")
    Tuner(train_fn, param_space={"lr": 0.5, "steps": 2, "fail": False},
          run_config=RunConfig(storage_path=str(tmp_path), name="bare", callbacks=[callback]),
          executor=InProcessExecutor()).fit()
    experiment = MlflowClient(tracking_uri).get_experiment_by_name("bare")
    assert experiment is not None
    (run,) = MlflowClient(tracking_uri).search_runs([experiment.experiment_id])
    assert run.info.status == "FINISHED"
    assert MlflowClient(tracking_uri).list_artifacts(run.info.run_id) == []


def fails_once(config: dict[str, Any]) -> None:
    checkpoint = get_checkpoint()
    start = 0 if checkpoint is None else int(Path(checkpoint.path, "step").read_text()) + 1
    for step in range(start, 4):
        marker = Path(config["marker"])
        if step == 2 and not marker.exists():
            marker.touch()
            raise RuntimeError("the machine went away")
        with tempfile.TemporaryDirectory() as d:
            Path(d, "step").write_text(str(step))
            report({"loss": 1 / (step + 1)}, checkpoint=Checkpoint.from_directory(d))


def test_a_trial_resumed_by_restore_goes_on_in_its_run(tmp_path: Path, tracking_uri: str) -> None:
    def run_config() -> RunConfig:
        return RunConfig(storage_path=str(tmp_path), name="again", callbacks=[
            MLflowLoggerCallback(tracking_uri, experiment_name="again")])

    space = {"marker": str(tmp_path / "failed-once")}
    first = Tuner(fails_once, param_space=space, run_config=run_config(),
                  executor=InProcessExecutor()).fit()
    assert len(first.errors) == 1
    again = Tuner.restore(str(tmp_path / "again"), fails_once, resume_errored=True,
                          run_config=run_config(), executor=InProcessExecutor()).fit()
    assert not again.errors, again.errors
    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name("again")
    assert experiment is not None
    (run,) = client.search_runs([experiment.experiment_id])  # the same run, not a second one
    assert run.info.status == "FINISHED"
    assert history(client, run.info.run_id, "loss") == [
        (1, 1.0), (2, 0.5), (3, 1 / 3), (4, 0.25)]  # steps 1-2, then 3-4 after the restore
    assert run.data.params == {"marker": space["marker"]}


class ParamsWhileRunning(Callback):
    """Reads the trial's MLflow run while the trial runs."""

    def __init__(self, mlflow_callback: MLflowLoggerCallback) -> None:
        self.mlflow_callback = mlflow_callback
        self.seen: list[dict[str, str]] = []

    def on_trial_result(self, iteration: int, trials: Any, trial: Any, result: Any,
                        **info: Any) -> None:
        run_id = self.mlflow_callback.run_id(trial)
        if run_id is not None:
            self.seen.append(dict(self.mlflow_callback.client.get_run(run_id).data.params))


def test_params_can_wait_for_the_trial_s_end(tmp_path: Path, tracking_uri: str) -> None:
    mlflow_callback = MLflowLoggerCallback(tracking_uri, experiment_name="late",
                                           log_params_on_trial_end=True)
    watcher = ParamsWhileRunning(mlflow_callback)
    Tuner(
        train_fn,
        param_space={"lr": 0.5, "steps": 3, "fail": False},
        run_config=RunConfig(storage_path=str(tmp_path), name="late",
                             callbacks=[mlflow_callback, watcher]),
        executor=InProcessExecutor(),
    ).fit()
    assert watcher.seen == [{}, {}, {}]
    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name("late")
    assert experiment is not None
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.data.params == {"lr": "0.5", "steps": "3", "fail": "False"}


def logs_itself(config: dict[str, Any]) -> None:
    mlflow = setup_mlflow({"x": config["x"]}, tracking_uri=config["uri"],
                          experiment_name=config["experiment"],
                          create_experiment_if_not_exists=True, tags={"who": "trainable"})
    for step in range(3):
        mlflow.log_metric("score", config["x"] * step, step=step)
        report({"score": config["x"] * step})
    # the run is left open: tuner ends it when the trial ends


def test_setup_mlflow_gives_each_trial_its_own_run_in_a_reused_worker(
    tmp_path: Path, tracking_uri: str
) -> None:
    grid = Tuner(
        logs_itself,
        param_space={"x": grid_search([1, 2, 3]), "uri": tracking_uri, "experiment": "inside"},
        run_config=RunConfig(storage_path=str(tmp_path), name="inside"),
        executor=LocalExecutor(num_cpus=1),  # one worker runs the three trials in turn
    ).fit()
    assert not grid.errors, grid.errors
    pids = {r.metrics["pid"] for r in grid}
    assert len(pids) == 1
    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name("inside")
    assert experiment is not None
    runs = {r.info.run_name: r for r in client.search_runs([experiment.experiment_id])}
    names = sorted(os.path.basename(r.path) for r in grid)
    assert sorted(runs) == names
    for result in grid:
        run = runs[os.path.basename(result.path)]
        x = result.config["x"]
        assert run.info.status == "FINISHED"
        assert run.data.tags["trial_id"] == result.metrics["trial_id"]
        assert run.data.tags["who"] == "trainable"
        assert run.data.params == {"x": str(x)}
        assert history(client, run.info.run_id, "score") == [(0, 0.0), (1, x), (2, 2.0 * x)]


def test_setup_mlflow_runs_of_trials_at_once_in_one_process_end_with_their_trials(
    tmp_path: Path, tracking_uri: str
) -> None:
    grid = Tuner(
        logs_itself,
        param_space={"x": grid_search([1, 2]), "uri": tracking_uri, "experiment": "threads"},
        run_config=RunConfig(storage_path=str(tmp_path), name="threads"),
        executor=InProcessExecutor(max_concurrent=2),  # two threads of this process
    ).fit()
    assert not grid.errors, grid.errors
    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name("threads")
    assert experiment is not None
    # A trial's thread ends its run before the loop hears the trial ended: by the time fit()
    # returns. This process goes on: only the trials' ends can have ended their runs.
    runs = client.search_runs([experiment.experiment_id])
    assert sorted((r.data.params["x"], r.info.status) for r in runs) == [
        ("1", "FINISHED"), ("2", "FINISHED")]
    for run in runs:
        x = float(run.data.params["x"])
        assert history(client, run.info.run_id, "score") == [(0, 0.0), (1, x), (2, 2 * x)]


def test_setup_mlflow_refuses_a_missing_experiment_it_may_not_create(tracking_uri: str) -> None:
    with pytest.raises(ValueError, match=r"no MLflow experiment with .*experiment_name='nope'.*"
                                         r"create_experiment_if_not_exists=True"):
        setup_mlflow({"a": 1}, tracking_uri=tracking_uri, experiment_name="nope")


def test_setup_mlflow_outside_a_trial_starts_an_ordinary_run(tracking_uri: str) -> None:
    mlflow = setup_mlflow({"a": 1, "mlflow": {"skip": True}}, tracking_uri=tracking_uri,
                          experiment_name="plain", create_experiment_if_not_exists=True,
                          run_name="by-hand")
    try:
        mlflow.log_metric("m", 2.0, step=5)
        run_id = mlflow.active_run().info.run_id
    finally:
        mlflow.end_run()
    run = MlflowClient(tracking_uri).get_run(run_id)
    assert (run.info.run_name, run.info.status, run.data.params) == (
        "by-hand", "FINISHED", {"a": "1"})
    assert history(MlflowClient(tracking_uri), run_id, "m") == [(5, 2.0)]


def test_bad_tags_are_refused() -> None:
    with pytest.raises(TypeError, match="`tags` must be a dict"):
        MLflowLoggerCallback(tags=["a"])  # type: ignore[arg-type]


@pytest.mark.slow
def test_the_docs_and_the_example_run(tmp_path: Path) -> None:
    run_python(tmp_path, code=doc_code("mlflow.md"))
    out = run_python(tmp_path, example("mlflow_example.py"))
    assert out.count(" FINISHED params=") == 4 and out.count(" FAILED params=") == 1
    assert "loss by step: [(1, 1.0), (2, 0.5), (3, 0.333), (4, 0.25), (5, 0.2)]" in out
