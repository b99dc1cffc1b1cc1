"""How long `import tuner` takes, beside `import ray.tune` and `import optuna` where installed.

Each import runs in a fresh interpreter, timed inside it (interpreter start-up not counted), with
bytecode caching on: one unmeasured run first writes the `.pyc` files, as a user's first import
does once. The table shows the median and the fastest of `--repeats` runs; this machine may be
shared and noisy, so read the medians. Target: `import tuner` under 0.2 s.

To see which modules cost the time:
    env -u PYTHONDONTWRITEBYTECODE python -X importtime -c "import tuner" 2>&1 \
        | sort -t'|' -k2 -n | tail -30

Usage:
    python bench/import_time.py               # 15 runs each
    python bench/import_time.py --repeats 5
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
from pathlib import Path

# The repository root as the child's working directory: `python -c` puts it first on sys.path,
# where this folder's `searchers.py` would otherwise shadow the `searchers` package.
_ROOT = Path(__file__).resolve().parent.parent
_MODULES = ("tuner", "ray.tune", "optuna")
_TIMED = "import time; t = time.perf_counter(); import {name}; print(time.perf_counter() - t)"


def _installed(name: str) -> bool:
    # find_spec("ray.tune") would import ray: look for the top-level package only.
    return importlib.util.find_spec(name.partition(".")[0]) is not None


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # measure what users see: bytecode cached
    return env


def _import_seconds(name: str) -> float:
    done = subprocess.run(
        [sys.executable, "-c", _TIMED.format(name=name)],
        cwd=_ROOT, env=_env(), capture_output=True, text=True, check=True,
    )
    return float(done.stdout.strip().splitlines()[-1])


def measure(name: str, repeats: int) -> list[float]:
    """Seconds `import name` took in each of `repeats` fresh interpreters, bytecode cached."""
    _import_seconds(name)  # writes the .pyc files; not counted
    return [_import_seconds(name) for _ in range(repeats)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="fresh interpreters per module")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats}")

    print(f"{'import':<12} {'median':>9} {'fastest':>9}   ({args.repeats} fresh interpreters)")
    for name in _MODULES:
        if not _installed(name):
            print(f"{name:<12} {'not installed':>19}")
            continue
        try:
            times = measure(name, args.repeats)
        except subprocess.CalledProcessError as error:
            reason = (error.stderr or "").strip().splitlines()[-1:] or ["failed"]
            print(f"{name:<12} import failed: {reason[0]}")
            continue
        print(f"{name:<12} {statistics.median(times) * 1000:>7.0f}ms {min(times) * 1000:>7.0f}ms")


if __name__ == "__main__":
    main()
