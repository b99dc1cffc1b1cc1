"""What the dashboard's browser tests and `bench/dashboard.py` share: Chromium, real experiments.

The browser is Debian's Chromium (``/usr/bin/chromium``) driven by the Python ``playwright``
package; Playwright's own browser downloads are never used. Without either, the browser tests
skip, unless ``TUNER_REQUIRE_BROWSER=1`` (CI) makes that a failure.

Every experiment here comes from a real `Tuner.fit()` on `InProcessExecutor`, so the files the
dashboard reads are the engine's own.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tuner import (
    Checkpoint,
    CheckpointConfig,
    InProcessExecutor,
    ResultGrid,
    RunConfig,
    TuneConfig,
    Tuner,
    choice,
    get_checkpoint,
    grid_search,
    randint,
    report,
    uniform,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright, ViewportSize

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REQUIRE_ENV = "TUNER_REQUIRE_BROWSER"
VIEWPORT: ViewportSize = {"width": 1400, "height": 1000}


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    missing = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright Python package (pip install playwright)")
    if not os.access(CHROMIUM, os.X_OK):
        missing.append(f"Chromium at {CHROMIUM} (apt-get install chromium)")
    if not missing:
        return None
    return "the dashboard's browser tests need " + " and ".join(missing)


def skip_or_fail_without_browser() -> None:
    """Skip the calling test without a browser; fail instead when TUNER_REQUIRE_BROWSER=1."""
    reason = browser_missing()
    if reason is None:
        return
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason}; {REQUIRE_ENV}=1 requires them: apt-get install chromium "
                    "(and pip install playwright)", pytrace=False)
    pytest.skip(reason)


def launch(playwright: Playwright) -> Browser:
    """Headless Debian Chromium; Playwright gives each launch a fresh temporary profile."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


# ---------------------------------------------------------------------- page helpers


def plot_traces(page: Page, selector: str) -> list[dict[str, Any]]:
    """The traces a Plotly graph div holds: [{"name", "type", "x", "y"}] (x, y as lists)."""
    return page.evaluate(
        """(sel) => {
            const gd = document.querySelector(sel);
            if (!gd || !gd.data) return [];
            return gd.data.map((t) => ({name: t.name ?? null, type: t.type,
                x: Array.from(t.x ?? []), y: Array.from(t.y ?? [])}));
        }""",
        selector,
    )


def wait_for_traces(page: Page, selector: str, names: list[str], points: list[int] | None = None,
                    timeout_ms: float = 15_000) -> None:
    """Wait until the graph at `selector` draws exactly the traces `names` (in order), each with
    the given numbers of points when `points` is given."""
    page.wait_for_function(
        """([sel, names, points]) => {
            const gd = document.querySelector(sel);
            if (!gd || !gd.data || !gd._fullLayout) return false;
            const got = gd.data.map((t) => t.name);
            if (JSON.stringify(got) !== JSON.stringify(names)) return false;
            return points === null || gd.data.every((t, i) => (t.x ?? []).length === points[i]);
        }""",
        arg=[selector, names, points],
        timeout=timeout_ms,
    )


def table_column(page: Page, table: str, col: str) -> list[str]:
    """The text of one column (a `data-col` cell) of each body row of the table."""
    return page.eval_on_selector_all(f"{table} tbody td[data-col='{col}']",
                                     "(tds) => tds.map((td) => td.textContent.trim())")


def row_ids(page: Page) -> list[str]:
    """The trial ids of the trial table's rows, top to bottom."""
    return page.eval_on_selector_all("#trials tbody tr", "(trs) => trs.map((tr) => tr.dataset.id)")


# ---------------------------------------------------------------------- experiments


def _sweep(config: dict[str, Any]) -> None:
    for step in range(1, 4):
        report({"loss": (config["x"] - 0.3) ** 2 + 0.1 / step + 0.01 * config["layers"],
                "acc": 1.0 - abs(config["x"] - 0.3) / step})


def build_sweep(storage: str, *, name: str = "sweep", num_samples: int = 1000,
                reports: int = 3, seed: int = 0) -> str:
    """A random search of `num_samples` trials, each reporting `reports` results (3 by default;
    other values go through `_sweep_n`). Returns the experiment's path."""
    trainable = _sweep if reports == 3 else _sweep_n(reports)
    Tuner(
        trainable,
        param_space={"x": uniform(0.0, 1.0), "layers": randint(1, 5),
                     "opt": choice(["adam", "sgd"])},
        tune_config=TuneConfig(metric="loss", mode="min", num_samples=num_samples, seed=seed),
        run_config=RunConfig(name=name, storage_path=storage, verbose=0),
        executor=InProcessExecutor(),
    ).fit()
    return os.path.join(storage, name)


def _sweep_n(reports: int) -> Any:
    def sweep(config: dict[str, Any]) -> None:
        for step in range(1, reports + 1):
            report({"loss": (config["x"] - 0.3) ** 2 + 0.1 / step + 0.01 * config["layers"],
                    "acc": 1.0 - abs(config["x"] - 0.3) / step})

    return sweep


def _checkpointed(config: dict[str, Any]) -> None:
    for step in range(1, 6):
        if config["lr"] < 0.005 and step == 3:
            raise ValueError(f"loss diverged at step {step} with lr={config['lr']}")
        with tempfile.TemporaryDirectory() as d:
            Path(d, "weights.txt").write_text(f"lr={config['lr']} step={step}\n" * 50)
            report({"loss": config["lr"] * 10 / step, "epoch": step},
                   checkpoint=Checkpoint.from_directory(d))


def build_checkpointed(storage: str, *, name: str = "checkpointed") -> str:
    """Three trials with checkpoints (two kept, by lowest loss), one failing at step 3."""
    Tuner(
        _checkpointed,
        param_space={"lr": grid_search([0.1, 0.01, 0.001]), "model": {"width": 64, "depth": 2}},
        tune_config=TuneConfig(metric="loss", mode="min"),
        run_config=RunConfig(
            name=name, storage_path=storage, verbose=0,
            checkpoint_config=CheckpointConfig(num_to_keep=2, checkpoint_score_attribute="loss",
                                               checkpoint_score_order="min"),
        ),
        executor=InProcessExecutor(),
    ).fit()
    return os.path.join(storage, name)


def _two_objectives(config: dict[str, Any]) -> None:
    for step in range(1, 3):
        report({"loss": config["x"] ** 2 + 0.1 / step + config["noise"],
                "latency": (1.0 - config["x"]) ** 2 + config["noise"]})


def build_multi_objective(storage: str, *, name: str = "two_objectives") -> str:
    """40 trials trading loss against latency (both minimised)."""
    Tuner(
        _two_objectives,
        param_space={"x": uniform(0.0, 1.0), "noise": uniform(0.0, 0.2)},
        tune_config=TuneConfig(metric=["loss", "latency"], mode=["min", "min"], num_samples=40,
                               seed=1),
        run_config=RunConfig(name=name, storage_path=storage, verbose=0),
        executor=InProcessExecutor(),
    ).fit()
    return os.path.join(storage, name)


def _pbt_trainable(config: dict[str, Any]) -> None:
    step, value = 0, 0.0
    checkpoint = get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as d:
            state = json.loads(Path(d, "state.json").read_text())
        step, value = state["step"], state["value"]
    while step < 12:
        step += 1
        value += config["lr"]
        with tempfile.TemporaryDirectory() as d:
            Path(d, "state.json").write_text(json.dumps({"step": step, "value": value}))
            report({"score": value}, checkpoint=Checkpoint.from_directory(d))


def build_pbt(storage: str, *, name: str = "pbt") -> str:
    """Four trials under synchronous PBT, perturbing `lr` every 4 steps."""
    from schedulers import PopulationBasedTraining

    pbt = PopulationBasedTraining(
        time_attr="training_iteration", perturbation_interval=4,
        hyperparam_mutations={"lr": uniform(0.01, 1.0)}, quantile_fraction=0.5,
        synch=True, seed=3,
    )
    Tuner(
        _pbt_trainable,
        param_space={"lr": grid_search([0.05, 0.2, 0.5, 0.9])},
        tune_config=TuneConfig(metric="score", mode="max", scheduler=pbt),
        run_config=RunConfig(name=name, storage_path=storage, verbose=0),
        executor=InProcessExecutor(),
    ).fit()
    return os.path.join(storage, name)


@dataclass
class SlowFit:
    """A real `fit()` running in a thread whose one trial reports only when let through.

    `release(n)` lets n more results be reported. The trial reports `total` results in all.
    """

    storage: str
    name: str = "live"
    total: int = 6
    thread: threading.Thread | None = None
    error: list[Exception] = field(default_factory=list)
    _gate: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(0))
    _stop: threading.Event = field(default_factory=threading.Event)

    def trainable(self, config: dict[str, Any]) -> None:
        for step in range(1, self.total + 1):
            if step > 1:
                while not self._gate.acquire(timeout=0.1):
                    if self._stop.is_set():
                        return
            report({"loss": config["scale"] / step})

    def start(self) -> None:
        def run() -> None:
            try:
                Tuner(
                    self.trainable,
                    param_space={"scale": 2.0},
                    tune_config=TuneConfig(metric="loss", mode="min"),
                    run_config=RunConfig(name=self.name, storage_path=self.storage, verbose=0),
                    executor=InProcessExecutor(),
                ).fit()
            except Exception as exc:  # noqa: BLE001 (raised again by stop(), in the test's thread)
                self.error.append(exc)

        self.thread = threading.Thread(target=run, name="slow-fit", daemon=True)
        self.thread.start()

    def release(self, n: int = 1) -> None:
        for _ in range(n):
            self._gate.release()

    def stop(self) -> None:
        self._stop.set()
        if self.thread is not None:
            self.thread.join(timeout=60)
        if self.error:
            raise self.error[0]

    @property
    def path(self) -> str:
        return os.path.join(self.storage, self.name)


@contextmanager
def slow_fit(storage: str, **kwargs: Any) -> Iterator[SlowFit]:
    """A started `SlowFit`, stopped (and its error raised) at the end."""
    fit = SlowFit(storage, **kwargs)
    fit.start()
    try:
        yield fit
    finally:
        fit.stop()


def trial_dirs(experiment: str) -> dict[str, Path]:
    """trial_id -> trial folder, read from each folder's result.json (the engine's own ids)."""
    out = {}
    for d in sorted(Path(experiment).iterdir()):
        result = d / "result.json"
        if d.is_dir() and result.is_file():
            first = result.read_text().splitlines()
            if first:
                out[json.loads(first[0])["trial_id"]] = d
    return out


def results_of(experiment: str) -> dict[str, list[dict[str, Any]]]:
    """trial_id -> its results, from result.json."""
    return {tid: [json.loads(line) for line in (d / "result.json").read_text().splitlines()]
            for tid, d in trial_dirs(experiment).items()}


def configs_of(experiment: str) -> dict[str, dict[str, Any]]:
    """trial_id -> its config, from the `ResultGrid` of the experiment."""
    grid = ResultGrid.from_path(experiment)
    return {r.trial_id: dict(r.config) for r in grid}
