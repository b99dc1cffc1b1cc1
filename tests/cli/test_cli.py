"""The `tuner` command, driven as a user drives it, on experiments written by real `fit()` runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tuner import (
    Checkpoint,
    InProcessExecutor,
    ResultGrid,
    RunConfig,
    TuneConfig,
    Tuner,
    grid_search,
    report,
)

ROOT = Path(__file__).resolve().parents[2]


def train(config: dict) -> None:
    import tempfile

    for step in range(1, 5):
        if config["x"] > 0.8 and step == 3:
            raise RuntimeError("diverged")
        with tempfile.TemporaryDirectory() as d:
            Path(d, "step").write_text(str(step))
            report({"loss": config["x"] / step, "acc": 1 - config["x"] / step},
                   checkpoint=Checkpoint.from_directory(d))


def fit(storage: str, name: str) -> ResultGrid:
    return Tuner(
        train,
        param_space={"x": grid_search([0.2, 0.5, 0.9]), "layers": 2},
        tune_config=TuneConfig(metric="loss", mode="min"),
        run_config=RunConfig(storage_path=storage, name=name, verbose=0),
        executor=InProcessExecutor(),
    ).fit()


# A run that dies mid-experiment (SIGKILL of the driver), as a lost machine would.
_CRASHING = textwrap.dedent("""
    import os, signal, sys
    from tuner import InProcessExecutor, RunConfig, TuneConfig, Tuner, report, uniform

    def crashing(config):
        for step in range(1, 20):
            report({"loss": config["x"] / step})
            if step == 5 and config["x"] < 2 and os.environ.get("CRASH"):
                os.kill(os.getpid(), signal.SIGKILL)

    Tuner(crashing, param_space={"x": uniform(1, 3)},
          tune_config=TuneConfig(metric="loss", mode="min", num_samples=3, seed=0),
          run_config=RunConfig(storage_path=sys.argv[1], name="crashed", verbose=0,
                               experiment_checkpoint_period_s=0.01),
          executor=InProcessExecutor()).fit()
""")


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = str(tmp_path_factory.mktemp("cli") / "storage")
    fit(root, "done")
    crash = subprocess.run([sys.executable, "-c", _CRASHING, root], capture_output=True,
                           timeout=60, env={**os.environ, "CRASH": "1"})
    assert crash.returncode == -9, crash.stderr
    yield root


def tuner_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tuner.analysis._cli", *args], capture_output=True,
                          text=True, timeout=60, cwd=ROOT)


def assert_one_line_error(done: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith("tuner: error: ")
    for fragment in fragments:
        assert fragment in done.stderr


def test_ls_lists_experiments_and_how_to_resume_the_unfinished(storage: str) -> None:
    # The installed entry point, as a user types it.
    script = Path(sys.executable).with_name("tuner")
    done = subprocess.run([str(script), "ls", storage], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["EXPERIMENT", "STATUS", "TRIALS", "BEST", "ELAPSED"]
    crashed = next(line for line in lines if line.startswith("crashed "))
    assert crashed.split()[1] == "running/crashed"
    finished = next(line for line in lines if line.startswith("done "))
    assert finished.split()[1] == "finished" and "2 TERMINATED, 1 ERROR" in finished
    assert "loss=0.05" in finished  # x=0.2 at step 4
    path = f"{storage}/crashed"
    assert f"resume crashed (running/crashed): Tuner.restore({path!r}, trainable=crashing).fit()" in lines
    assert (f"retry the 1 failed trials of done: Tuner.restore({storage + '/done'!r}, "
            "trainable=train, resume_errored=True).fit()") in lines


def test_the_printed_restore_line_resumes_the_crashed_experiment(storage: str, tmp_path: Path) -> None:
    hint = next(line for line in tuner_cli("ls", storage).stdout.splitlines()
                if line.startswith("resume crashed"))
    restore_line = hint.split(": ", 1)[1]
    script = _CRASHING.split("Tuner(crashing")[0] + textwrap.dedent(f"""
        grid = {restore_line.replace(").fit()", ", executor=InProcessExecutor()).fit()")}
        print(sorted(r.status for r in grid))
    """)
    # Resume a copy: the module's other tests read the crashed one.
    import shutil

    copy = tmp_path / "crashed"
    shutil.copytree(f"{storage}/crashed", copy)
    script = script.replace(repr(f"{storage}/crashed"), repr(str(copy)))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "['TERMINATED', 'TERMINATED', 'TERMINATED']"
    after = tuner_cli("ls", str(tmp_path))
    assert "finished" in after.stdout and "resume" not in after.stdout


def test_show_prints_the_trial_table(storage: str) -> None:
    done = tuner_cli("show", f"{storage}/done", "--sort")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("done: finished, 2 TERMINATED, 1 ERROR")
    assert lines[2].split() == ["TRIAL", "STATUS", "ITER", "loss", "x", "layers", "ERROR"]
    rows = [line.split() for line in lines[3:]]
    assert [r[1:6] for r in rows] == [
        ["TERMINATED", "4", "0.05", "0.2", "2"],
        ["TERMINATED", "4", "0.125", "0.5", "2"],
        ["ERROR", "2", "0.45", "0.9", "2"],
    ]
    assert "RuntimeError: diverged" in lines[-1]


def test_best_prints_the_best_trial_config_and_checkpoint(storage: str) -> None:
    done = tuner_cli("best", f"{storage}/done", "--metric", "acc", "--mode", "max")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    expected = ResultGrid.from_path(f"{storage}/done").get_best_result("acc", "max")
    assert lines[0] == f"best trial: {expected.trial_id} (TERMINATED), acc=0.95 (max, scope last)"
    assert json.loads(lines[1].removeprefix("config: ")) == {"x": 0.2, "layers": 2}
    checkpoint = lines[2].removeprefix("checkpoint: ")
    assert Path(checkpoint, "step").read_text() == "4"
    assert lines[3] == f"path: {expected.path}"
    as_json = json.loads(tuner_cli("best", f"{storage}/done", "--json").stdout)
    assert as_json["config"] == {"x": 0.2, "layers": 2} and as_json["value"] == 0.05


def test_errors_are_one_line_and_a_non_zero_exit(storage: str, tmp_path: Path) -> None:
    assert_one_line_error(tuner_cli("best", f"{storage}/done", "--metric", "nope", "--mode", "min"),
                          "metric 'nope'", "acc, ")
    assert_one_line_error(tuner_cli("show", str(tmp_path / "missing")), "no experiment found at")
    assert_one_line_error(tuner_cli("ls", str(tmp_path)), "no experiments found at")
    assert_one_line_error(tuner_cli("plot", storage, "-o", "x.png"),
                          "is a storage path, not an experiment", f"{storage}/done")
    assert_one_line_error(tuner_cli("best", f"{storage}/done", "--metric", "acc"),
                          "pass --mode min or --mode max")
    usage = tuner_cli("best")
    assert usage.returncode == 2 and "Traceback" not in usage.stderr


def test_plot_writes_learning_curves_and_a_scatter(storage: str, tmp_path: Path) -> None:
    from matplotlib.image import imread

    curves, scatter = tmp_path / "curves.png", tmp_path / "scatter.png"
    done = tuner_cli("plot", f"{storage}/done", "--metric", "loss", "-o", str(curves))
    assert done.returncode == 0, done.stderr
    assert imread(curves).shape == (500, 800, 4)
    done = tuner_cli("plot", f"{storage}/done", "--param", "x", "-o", str(scatter))
    assert done.returncode == 0, done.stderr
    assert imread(scatter).shape == (500, 700, 4)


def test_plot_without_matplotlib_names_the_extra(storage: str, tmp_path: Path) -> None:
    code = ("import sys; sys.modules['matplotlib'] = None; from tuner.analysis._cli import main; "
            f"sys.exit(main(['plot', {storage + '/done'!r}, '-o', {str(tmp_path / 'c.png')!r}]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert_one_line_error(done, "pip install 'tuner[plot]'")


def test_memory_storage_in_process(memory_storage: str, capsys: pytest.CaptureFixture[str]) -> None:
    from tuner.analysis._cli import main

    fit(memory_storage, "mem")
    assert main(["ls", memory_storage]) == 0
    assert capsys.readouterr().out.splitlines()[1].split()[:2] == ["mem", "finished"]
    assert main(["best", f"{memory_storage}/mem"]) == 0
    out = capsys.readouterr().out
    assert f"checkpoint: {memory_storage}/mem/" in out and "loss=0.05" in out


def test_s3_storage(s3_bucket: str) -> None:
    storage = f"{s3_bucket}/runs"
    fit(storage, "remote")
    done = tuner_cli("ls", storage)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1].split()[:2] == ["remote", "finished"]
    done = tuner_cli("best", f"{storage}/remote")
    assert done.returncode == 0, done.stderr
    assert f"checkpoint: {storage}/remote/train_" in done.stdout
    grid = ResultGrid.from_path(f"{storage}/remote")
    assert grid.get_best_result().metrics["loss"] == 0.05
    assert len(grid[0].metric_history("loss")) == 4


def test_ls_lists_the_readable_experiments_and_names_a_malformed_one(tmp_path: Path) -> None:
    fit(str(tmp_path), "good")
    fit(str(tmp_path), "broken")
    for slot in ("experiment_state-a.json", "experiment_state-b.json"):
        state = json.loads((tmp_path / "broken" / slot).read_text())
        state["trials"] = None
        (tmp_path / "broken" / slot).write_text(json.dumps(state))
    done = tuner_cli("ls", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "good" in done.stdout and "broken" not in done.stdout
    assert "Traceback" not in done.stderr
    assert f"skipping {tmp_path / 'broken'}" in done.stderr
    assert "trials must be a list, got null" in done.stderr
