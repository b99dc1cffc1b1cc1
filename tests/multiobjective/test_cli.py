"""The `tuner` command on multi-objective and constrained experiments written by real `fit()`
runs: `best` prints the Pareto front, `ls` its size, `show` marks it, `plot --pareto` draws it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tuner import InProcessExecutor, RunConfig, TuneConfig, Tuner, grid_search, report

ROOT = Path(__file__).resolve().parents[2]

# Each trial's last (val_loss, latency_ms, memory_mb, accuracy); constraints memory_mb <= 512.
POINTS = [
    (0.30, 10.0, 256.0, 0.95),  # 0 on the front
    (0.20, 20.0, 300.0, 0.96),  # 1 on the front
    (0.10, 40.0, 400.0, 0.92),  # 2 on the front
    (0.25, 25.0, 200.0, 0.91),  # 3 dominated by 1
    (0.05, 5.0, 1024.0, 0.99),  # 4 dominates all, infeasible
]
FRONT = [2, 1, 0]  # by hand, best first by val_loss
CONSTRAINTS = ["memory_mb <= 512"]


def train(config: dict) -> None:
    loss, latency, memory, accuracy = POINTS[config["i"]]
    report({"val_loss": loss + 1, "latency_ms": latency, "memory_mb": memory,
            "accuracy": accuracy})
    report({"val_loss": loss, "latency_ms": latency, "memory_mb": memory, "accuracy": accuracy})


def fit(storage: Path, name: str, tune_config: TuneConfig) -> None:
    Tuner(
        train,
        param_space={"i": grid_search(list(range(len(POINTS))))},
        tune_config=tune_config,
        run_config=RunConfig(storage_path=str(storage), name=name, verbose=0),
        executor=InProcessExecutor(),
    ).fit()


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mo_cli")
    fit(root, "two", TuneConfig(metric=["val_loss", "latency_ms"], mode=["min", "min"],
                                constraints=CONSTRAINTS))
    fit(root, "three", TuneConfig(metric=["val_loss", "latency_ms", "accuracy"],
                                  mode=["min", "min", "max"]))
    fit(root, "hopeless", TuneConfig(metric="val_loss", mode="min",
                                     constraints=["memory_mb <= 100"]))
    return root


def tuner_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tuner.analysis._cli", *map(str, args)],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)


def index(trial_id: str) -> int:
    return int(trial_id.rsplit("_", 1)[1])


def assert_one_line_error(done: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout == "" and "Traceback" not in done.stderr
    assert len(done.stderr.splitlines()) == 1, done.stderr
    for fragment in fragments:
        assert fragment in done.stderr


def test_best_prints_the_pareto_front(storage: Path) -> None:
    # The installed entry point, as a user types it.
    script = Path(sys.executable).with_name("tuner")
    done = subprocess.run([str(script), "best", str(storage / "two")], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == ("pareto front: 3 of 5 trials (val_loss min, latency_ms min; "
                        "constraints: memory_mb <= 512, met by 4 of 5)")
    assert lines[1].split() == ["TRIAL", "val_loss", "latency_ms", "FEASIBLE"]
    rows = [line.split() for line in lines[2:]]
    assert [index(row[0]) for row in rows] == FRONT
    assert [row[1:] for row in rows] == [
        [f"{POINTS[i][0]:g}", f"{POINTS[i][1]:g}", "yes"] for i in FRONT
    ]


def test_best_json_lists_the_front(storage: Path) -> None:
    done = tuner_cli("best", storage / "two", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["metric"] == ["val_loss", "latency_ms"] and data["mode"] == ["min", "min"]
    assert data["constraints"] == CONSTRAINTS
    assert [index(m["trial_id"]) for m in data["pareto_front"]] == FRONT
    assert [m["values"] for m in data["pareto_front"]] == [
        {"val_loss": POINTS[i][0], "latency_ms": POINTS[i][1]} for i in FRONT
    ]
    assert [m["config"] for m in data["pareto_front"]] == [{"i": i} for i in FRONT]
    assert all(m["feasible"] for m in data["pareto_front"])


def test_best_with_one_metric_ranks_feasible_trials_first(storage: Path) -> None:
    done = tuner_cli("best", storage / "two", "--metric", "latency_ms")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("best trial: ") and index(lines[0].split()[2]) == 0
    assert "latency_ms=10 (min, scope last)" in lines[0]  # trial 4 (5 ms) is infeasible
    assert lines[-1] == "constraints: memory_mb <= 512 (met)"
    as_json = json.loads(tuner_cli("best", storage / "two", "--metric", "val_loss",
                                   "--json").stdout)
    assert as_json["value"] == 0.1 and as_json["feasible"] is True


def test_a_constrained_experiment_without_feasible_trials(storage: Path) -> None:
    done = tuner_cli("best", storage / "hopeless")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert index(lines[0].split()[2]) == 3  # 200 MB: the least over the limit
    assert lines[-1].startswith("constraints: memory_mb <= 100 (NOT met")
    assert json.loads(tuner_cli("best", storage / "hopeless", "--json").stdout)["feasible"] is False


def test_ls_shows_the_front_size(storage: Path) -> None:
    done = tuner_cli("ls", storage)
    assert done.returncode == 0, done.stderr
    lines = {line.split()[0]: line for line in done.stdout.splitlines()[1:]}
    assert "pareto front: 3" in lines["two"]
    assert "pareto front: 1" in lines["three"]  # trial 4 is best on all three
    assert "val_loss=0.25 (infeasible)" in lines["hopeless"]


def test_show_marks_the_front_and_sorts_by_it(storage: Path) -> None:
    done = tuner_cli("show", storage / "two", "--sort")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    header = lines[2].split()
    assert header == ["TRIAL", "STATUS", "ITER", "val_loss", "latency_ms", "PARETO", "FEASIBLE",
                      "i"]
    rows = [line.split() for line in lines[3:]]
    # Front first (by val_loss), then the next front (3), then the infeasible trial.
    assert [int(row[-1]) for row in rows] == [*FRONT, 3, 4]
    assert [row[5] for row in rows[:3]] == ["*"] * 3
    assert rows[3][5:] == ["yes", "3"] and rows[4][5:] == ["no", "4"]


def test_plot_pareto_writes_a_scatter_or_parallel_coordinates(storage: Path,
                                                             tmp_path: Path) -> None:
    from matplotlib.image import imread

    for name, shape in (("two", (500, 700, 4)), ("three", (500, 800, 4))):
        image = tmp_path / f"{name}.png"
        done = tuner_cli("plot", storage / name, "--pareto", "-o", image)
        assert done.returncode == 0, done.stderr
        assert done.stdout == f"wrote {image}\n"
        assert imread(image).shape == shape


def test_errors_are_one_line(storage: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "x.png")
    assert_one_line_error(tuner_cli("plot", storage / "two", "-o", out),
                          "optimises several metrics (val_loss, latency_ms)", "--metric val_loss")
    assert_one_line_error(tuner_cli("plot", storage / "hopeless", "--pareto", "-o", out),
                          "two or more objectives")
    assert_one_line_error(tuner_cli("plot", storage / "two", "--pareto", "--metric", "val_loss",
                                    "-o", out), "drop --metric")
    assert_one_line_error(tuner_cli("best", storage / "two", "--scope", "avg"),
                          "pass --metric NAME")
    assert_one_line_error(tuner_cli("best", storage / "two", "--metric", "nope", "--mode", "min"),
                          "metric 'nope'")
    # A metric that is one of the objectives takes its mode; another one needs --mode.
    assert_one_line_error(tuner_cli("best", storage / "two", "--metric", "accuracy"),
                          "pass --mode min or --mode max")
    learning = tuner_cli("plot", storage / "two", "--metric", "val_loss", "-o", out)
    assert learning.returncode == 0, learning.stderr


def test_an_experiment_saved_before_constraints_existed(tmp_path: Path) -> None:
    fit(tmp_path, "old", TuneConfig(metric="val_loss", mode="min"))
    for slot in ("experiment_state-a.json", "experiment_state-b.json"):
        path = tmp_path / "old" / slot
        if path.exists():
            state = json.loads(path.read_text())
            del state["settings"]["constraints"]
            path.write_text(json.dumps(state))
    done = tuner_cli("ls", tmp_path)
    assert done.returncode == 0, done.stderr
    assert "val_loss=0.05" in done.stdout.splitlines()[1]
    done = tuner_cli("best", tmp_path / "old")
    assert done.returncode == 0, done.stderr
    assert "val_loss=0.05 (min, scope last)" in done.stdout.splitlines()[0]
    assert "constraints" not in done.stdout
    done = tuner_cli("show", tmp_path / "old", "--sort")
    assert done.stdout.splitlines()[2].split() == ["TRIAL", "STATUS", "ITER", "val_loss", "i"]
