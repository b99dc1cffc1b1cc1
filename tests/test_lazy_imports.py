"""`import tuner` loads only what a `Tuner` needs: no numpy, pandas or optuna, no scheduler or
searcher it may never run (issue 14). How long it takes is measured in bench/import_time.py."""

from __future__ import annotations

import json
import subprocess
import sys

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
