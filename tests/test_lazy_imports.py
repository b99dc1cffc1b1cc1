"""`import tuner` loads only what a `Tuner` needs: no numpy, pandas or optuna, no scheduler or
searcher it may never run (issue 14). How long it takes is measured in bench/import_time.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

_NOT_ON_IMPORT = (
    "numpy", "pandas", "optuna", "torch", "dask",
    "schedulers._asha", "schedulers._pbt", "schedulers._pb2", "schedulers._median",
    "searchers._tpe", "searchers._bayesopt", "searchers._optuna",
    "tuner.executors._local", "tuner.torch",
)


def _loaded_after(code: str) -> list[str]:
    probe = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout)


def test_import_tuner_loads_no_heavy_module() -> None:
    loaded = set(_loaded_after("import tuner"))
    assert sorted(loaded & set(_NOT_ON_IMPORT)) == []


@pytest.mark.parametrize(
    ("code", "module"),
    [
        ("from tuner import LocalExecutor", "tuner.executors._local"),
        ("from schedulers import ASHAScheduler", "schedulers._asha"),
        ("import searchers; searchers.TPESearch", "searchers._tpe"),
        ("import tuner; tuner.schedulers.PB2", "schedulers._pb2"),
    ],
)
def test_a_lazy_name_loads_its_module_on_first_use(code: str, module: str) -> None:
    assert module in _loaded_after(code)


def test_a_fit_whose_space_draws_nothing_never_imports_numpy(tmp_path: Path) -> None:
    """numpy (about 60 ms) loads when a searcher first draws, not for constants and grids."""
    loaded = _loaded_after(
        "from tuner import RunConfig, TuneConfig, Tuner, grid_search\n"
        "Tuner(lambda config: None, param_space={'a': grid_search([1, 2]), 'b': 3},\n"
        f"      run_config=RunConfig(storage_path={str(tmp_path)!r}, verbose=0)).fit()"
    )
    assert "numpy" not in loaded and "tuner._controller" in loaded


_WORKER_PROBE = """
import json, sys, tempfile
from tuner import Checkpoint, RunConfig, TuneConfig, Tuner, get_checkpoint, report

def trainable(config):
    before = sorted(sys.modules)
    if config["checkpoint"]:
        with tempfile.TemporaryDirectory() as folder:
            open(folder + "/step", "w").write("1")
            report({"step": 1}, checkpoint=Checkpoint.from_directory(folder))
    report({"loaded": json.dumps(before), "after": json.dumps(sorted(sys.modules))})

with tempfile.TemporaryDirectory() as storage:
    grid = Tuner(trainable, param_space={"checkpoint": %s},
                 run_config=RunConfig(storage_path=storage, verbose=0)).fit()
    result = grid[0]
    assert result.error is None, result.error
    print(result.metrics["loaded"])
    print(result.metrics["after"])
    print(result.checkpoint is not None)
"""


@pytest.mark.parametrize("checkpoint", [False, True])
def test_a_worker_process_on_local_storage_loads_no_storage_library(checkpoint: bool) -> None:
    """A new worker imports neither fsspec (about 0.1 s: the local disk is `LocalDisk`, and the
    experiment's filesystem travels unpickled until used), nor numpy or pandas, nor the loop,
    schedulers and searchers (the `tuner` package imports its names on first use), even when
    its trial saves a checkpoint."""
    done = subprocess.run([sys.executable, "-c", _WORKER_PROBE % checkpoint],
                          capture_output=True, text=True, check=True)
    before, after, has_checkpoint = done.stdout.split("\n")[:3]
    heavy = {"fsspec", "numpy", "pandas", "tuner._controller", "tuner._config", "schedulers",
             "searchers._variant_generator"}
    assert sorted(set(json.loads(before)) & heavy) == []
    assert sorted(set(json.loads(after)) & heavy) == []
    assert has_checkpoint == str(checkpoint)
