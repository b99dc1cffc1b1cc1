"""Real experiments for the dashboard's tests, written by real `Tuner.fit()` runs.

One storage root (built once per session) holds:

- ``funcs``: a function trainable, 16 trials, checkpoints every step scored by ``acc``, a nested
  config, and trials that raise (x > 0.8) at their third step;
- ``classes``: a class trainable (`Trainable` with save/load_checkpoint);
- ``pbt``: Population Based Training, which exploits and logs to ``pbt_policy.jsonl``;
- ``multi``: two objectives (``loss`` min, ``acc`` max);
- ``restored``: a run killed mid-experiment (SIGKILL), then `Tuner.restore(...).fit()`
  (the `crashed` fixture keeps one that was never restored).

`get` and `get_raw` make real HTTP requests with urllib.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tuner import (
    Checkpoint,
    CheckpointConfig,
    InProcessExecutor,
    RunConfig,
    Trainable,
    TuneConfig,
    Tuner,
    choice,
    get_checkpoint,
    grid_search,
    report,
    uniform,
)
from tuner.dashboard import Dashboard, serve

ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------------------- trainables
def train_funcs(config: dict[str, Any]) -> None:
    for step in range(1, 5):
        if config["x"] > 0.8 and step == 3:
            raise RuntimeError(f"diverged at x={config['x']:.3f}")
        with tempfile.TemporaryDirectory() as d:
            Path(d, "weights.bin").write_bytes(b"w" * (100 * step))
            report({"loss": config["x"] / step + 0.01 * config["model"]["layers"],
                    "acc": 1 - config["x"] / step, "nan_metric": float("nan")},
                   checkpoint=Checkpoint.from_directory(d))


class Counter(Trainable):
    def setup(self, config: dict[str, Any]) -> None:
        self.value = 0.0

    def step(self) -> dict[str, Any]:
        self.value += self.config["rate"]
        return {"value": self.value, "done": self.iteration + 1 >= 5}

    def save_checkpoint(self, checkpoint_dir: str) -> None:
        Path(checkpoint_dir, "value.json").write_text(json.dumps(self.value))

    def load_checkpoint(self, checkpoint: Any) -> None:
        self.value = json.loads(Path(checkpoint, "value.json").read_text())


def train_pbt(config: dict[str, Any]) -> None:
    step, value = 0, 0.0
    checkpoint = get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as d:
            step, value = json.loads(Path(d, "state.json").read_text())
    while step < 12:
        time.sleep(0.002)
        step += 1
        value += config["rate"]
        with tempfile.TemporaryDirectory() as d:
            Path(d, "state.json").write_text(json.dumps([step, value]))
            report({"value": value}, checkpoint=Checkpoint.from_directory(d))


def train_multi(config: dict[str, Any]) -> None:
    for step in range(1, 4):
        report({"loss": config["x"] / step, "acc": 1 - (config["x"] - 0.5) ** 2 - 0.01 * step})


_CRASHING = textwrap.dedent("""
    import os, signal, sys
    from tuner import InProcessExecutor, RunConfig, TuneConfig, Tuner, report, uniform

    def crashing(config):
        for step in range(1, 9):
            report({"loss": config["x"] / step})
            if step == 5 and os.environ.get("CRASH"):
                os.kill(os.getpid(), signal.SIGKILL)

    Tuner(crashing, param_space={"x": uniform(1, 3)},
          tune_config=TuneConfig(metric="loss", mode="min", num_samples=3, seed=0),
          run_config=RunConfig(storage_path=sys.argv[1], name="restored", verbose=0,
                               experiment_checkpoint_period_s=0.01),
          executor=InProcessExecutor()).fit()
""")


def crashing(config: dict[str, Any]) -> None:
    for step in range(1, 9):
        report({"loss": config["x"] / step})


# ---------------------------------------------------------------------------- experiments
def fit_funcs(storage: str, name: str = "funcs", num_samples: int = 16) -> None:
    Tuner(
        train_funcs,
        param_space={"x": uniform(0, 1), "model": {"layers": choice([1, 2, 3])}},
        tune_config=TuneConfig(metric="loss", mode="min", num_samples=num_samples, seed=3),
        run_config=RunConfig(storage_path=storage, name=name, verbose=0,
                             checkpoint_config=CheckpointConfig(
                                 num_to_keep=2, checkpoint_score_attribute="acc")),
        executor=InProcessExecutor(),
    ).fit()


def crash(root: str) -> None:
    """Run the ``restored`` experiment in a subprocess that kills itself mid-run (SIGKILL)."""
    done = subprocess.run([sys.executable, "-c", _CRASHING, root], capture_output=True,
                          timeout=120, env={**os.environ, "CRASH": "1"}, cwd=ROOT)
    assert done.returncode == -signal.SIGKILL, done.stderr


def build_storage(root: str) -> None:
    fit_funcs(root)
    Tuner(Counter, param_space={"rate": grid_search([1.0, 2.0])},
          tune_config=TuneConfig(metric="value", mode="max"),
          run_config=RunConfig(storage_path=root, name="classes", verbose=0),
          executor=InProcessExecutor()).fit()
    from schedulers import PopulationBasedTraining

    pbt = PopulationBasedTraining(
        time_attr="training_iteration", perturbation_interval=3,
        hyperparam_mutations={"rate": uniform(0.0, 4.0)}, quantile_fraction=0.5, seed=1)
    Tuner(train_pbt, param_space={"rate": grid_search([0.1, 0.2, 3.0, 4.0])},
          tune_config=TuneConfig(metric="value", mode="max", scheduler=pbt),
          run_config=RunConfig(storage_path=root, name="pbt", verbose=0),
          executor=InProcessExecutor(max_concurrent=4)).fit()
    Tuner(train_multi, param_space={"x": uniform(0.1, 1.0)},
          tune_config=TuneConfig(metric=["loss", "acc"], mode=["min", "max"], num_samples=8,
                                 seed=0),
          run_config=RunConfig(storage_path=root, name="multi", verbose=0),
          executor=InProcessExecutor()).fit()
    crash(root)
    Tuner.restore(os.path.join(root, "restored"), crashing,
                  executor=InProcessExecutor()).fit()


@pytest.fixture(scope="session")
def storage(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = str(tmp_path_factory.mktemp("dashboard") / "storage")
    build_storage(root)
    return root


@pytest.fixture(scope="session")
def crashed(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A storage root whose one experiment (``restored``) crashed and was never restored."""
    root = str(tmp_path_factory.mktemp("crashed") / "storage")
    crash(root)
    return root


@pytest.fixture
def s3_experiment(s3_bucket: str) -> str:
    """A 3-trial ``funcs`` experiment at ``s3://<bucket>/on-s3`` (the loopback moto server)."""
    fit_funcs(s3_bucket, name="on-s3", num_samples=3)
    return f"{s3_bucket}/on-s3"


@pytest.fixture
def board(storage: str) -> Iterator[Dashboard]:
    with serve(storage, port=0) as running:
        yield running


# ---------------------------------------------------------------------------- HTTP
@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Http:
    """Real HTTP requests with urllib (the `http` fixture)."""

    @staticmethod
    def raw(base: str, path: str, headers: dict[str, str] | None = None) -> Answer:
        """GET `path` (sent as it is: nothing is normalised) from the server at `base`."""
        request = urllib.request.Request(base.split("?")[0].rstrip("/") + path,
                                         headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return Answer(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:
            with error:
                return Answer(error.code, dict(error.headers), error.read())

    def get(self, board: Dashboard, path: str, status: int = 200) -> Any:
        """The JSON of GET `path`; fails unless it has `status`."""
        answer = self.raw(board.url, path)
        assert answer.status == status, (path, answer.status, answer.body[:500])
        assert answer.headers["Content-Type"] == "application/json"
        return answer.json()

    @staticmethod
    def wait_for(check: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Poll `check` until it returns something true; fail with its last value otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"not true within {timeout} s: {value!r}")
            time.sleep(0.1)


@pytest.fixture(scope="session")
def http() -> Http:
    return Http()
