"""Every example runs as a user would run it: `python examples/<name>.py`, in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_example(name: str, tmp_path: Path, timeout: float = 120.0) -> str:
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / name)],
        capture_output=True, text=True, timeout=timeout, env=env, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_quickstart(tmp_path: Path) -> None:
    out = run_example("quickstart.py", tmp_path)
    assert "50 TERMINATED" in out
    assert "best config: {'lr':" in out


def test_torch_checkpoint_resumes_the_killed_trial(tmp_path: Path) -> None:
    out = run_example("torch_checkpoint.py", tmp_path)
    assert out.count("status=TERMINATED final epoch=5") == 3
    assert "the killed trial (lr=0.1) resumed at epoch 3 instead of starting over" in out


def test_torch_trainer(tmp_path: Path) -> None:
    out = run_example("torch_trainer.py", tmp_path, timeout=240)
    assert "trained: epoch=" in out


def test_class_trainable(tmp_path: Path) -> None:
    out = run_example("class_trainable.py", tmp_path)
    assert "6 TERMINATED" in out
    assert "kept checkpoints: 2" in out
    assert "restored weights: [" in out


def test_model_based_search(tmp_path: Path) -> None:
    out = run_example("model_based_search.py", tmp_path)
    assert "TPE beat random search" in out


def test_restore_after_a_crash(tmp_path: Path) -> None:
    out = run_example("restore.py", tmp_path)
    assert "killed the run (exit -9); can restore: True" in out
    assert out.count(": TERMINATED, last epoch 9,") == 4
    resumed = int(out.rsplit(" trials, ", 1)[1].split()[0])
    assert resumed >= 1, out


def test_asha_stops_most_trials_early(tmp_path: Path) -> None:
    out = run_example("asha.py", tmp_path)
    assert "best config: lr=" in out
    used = int(out.split("iterations used: ")[1].split(" ")[0])
    assert used < 27 * 27 / 2


def test_pbt_perturbs_and_beats_fixed_hyperparameters(tmp_path: Path) -> None:
    out = run_example("pbt.py", tmp_path)
    assert "copied" in out
    best = float(out.split("best Q: ")[1].split(" ")[0])
    assert best > 0.5  # each trial alone, with its starting h, stops near 0.36


def test_dask_cluster(tmp_path: Path) -> None:
    out = run_example("dask_cluster.py", tmp_path, timeout=180)
    assert "8 trials ran on the Dask cluster's workers" in out
