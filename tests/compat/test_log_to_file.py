"""`RunConfig(log_to_file=...)` as Ray Tune documents it: a trial's output in its directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import tuner as tune


def noisy(config: dict[str, Any]) -> None:
    print(f"hello from {config['x']}")
    print(f"warning from {config['x']}", file=sys.stderr)
    os.write(1, b"straight to fd 1\n")  # what a C extension would print
    subprocess.run([sys.executable, "-c", "print('from a subprocess')"], check=True)
    tune.report({"x": config["x"]})


def run(tmp_path: Path, log_to_file: Any, **kwargs: Any) -> tune.ResultGrid:
    return tune.Tuner(
        noisy, param_space={"x": tune.grid_search([1, 2])},
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="logs", verbose=0,
                                  log_to_file=log_to_file),
        **kwargs,
    ).fit()


def test_true_writes_stdout_and_stderr_files_per_trial(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    for result in run(tmp_path, True):
        x = result.config["x"]
        out = Path(result.path, "stdout").read_text()
        assert f"hello from {x}\n" in out and "straight to fd 1\n" in out
        assert "from a subprocess\n" in out
        assert Path(result.path, "stderr").read_text() == f"warning from {x}\n"
    assert "hello from" not in capfd.readouterr().out  # not on the console any more


def test_one_name_takes_both_and_a_pair_names_each(tmp_path: Path) -> None:
    (first, _) = run(tmp_path / "one", "combined.log")
    text = Path(first.path, "combined.log").read_text()
    assert "hello from 1" in text and "warning from 1" in text
    (first, _) = run(tmp_path / "pair", ("out.txt", "err.txt"))
    assert "hello from 1" in Path(first.path, "out.txt").read_text()
    assert "warning from 1" in Path(first.path, "err.txt").read_text()


def test_threads_redirect_python_output(tmp_path: Path) -> None:
    def quiet_c(config: dict[str, Any]) -> None:
        print("from a thread")
        tune.report({"x": 1})

    (result,) = tune.Tuner(
        quiet_c, run_config=tune.RunConfig(storage_path=str(tmp_path), name="t", verbose=0,
                                           log_to_file=True),
        executor=tune.InProcessExecutor(),
    ).fit()
    assert Path(result.path, "stdout").read_text() == "from a thread\n"


@pytest.mark.parametrize("bad", [3, ("a",), ("a", "b", "c"), "../escape", ""])
def test_a_bad_value_names_the_rule(bad: Any) -> None:
    with pytest.raises(tune.ConfigError, match=r"log_to_file"):
        tune.RunConfig(log_to_file=bad)
