"""How much `persist_directory` costs over a plain copy, for a 100 MB local checkpoint.

Run: ``python bench/checkpoint_copy.py [--size-mb 100] [--repeats 5]``. Target: ratio <= 1.5.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable

# Run as a script, this folder comes first on sys.path, where bench/searchers.py would shadow the
# `searchers` package that `import tuner` needs.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(__file__)]

from tuner.storage._filesystem import persist_directory, resolve_storage  # noqa: E402


def _make_checkpoint(root: str, size_mb: int) -> None:
    os.makedirs(os.path.join(root, "optimizer"), exist_ok=True)
    sizes = {"model.pt": 0.6, "optimizer/state.pt": 0.35, "extra.bin": 0.05}
    for name, share in sizes.items():
        with open(os.path.join(root, name), "wb") as file:
            file.write(os.urandom(int(size_mb * 1024 * 1024 * share)))
    with open(os.path.join(root, "meta.json"), "w") as file:
        file.write('{"epoch": 10}')


def _time(fn: Callable[[int], None], i: int) -> float:
    start = time.perf_counter()
    fn(i)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="tuner-bench-") as work:
        src = os.path.join(work, "src")
        _make_checkpoint(src, args.size_mb)
        fs, storage_root = resolve_storage(os.path.join(work, "storage"))

        def copy(i: int) -> None:
            shutil.copytree(src, os.path.join(work, "copies", f"checkpoint_{i:06d}"))

        def persist(i: int) -> None:
            persist_directory(src, fs, os.path.join(storage_root, f"checkpoint_{i:06d}"))

        # Interleaved so that both see the same page-cache and disk state.
        copy_times, persist_times = [], []
        for i in range(args.repeats):
            copy_times.append(_time(copy, i))
            persist_times.append(_time(persist, i))

    copy_median = statistics.median(copy_times)
    persist_median = statistics.median(persist_times)
    print(f"checkpoint: {args.size_mb} MB, {args.repeats} repeats")
    print(f"shutil.copytree    median {copy_median * 1000:8.1f} ms")
    print(f"persist_directory  median {persist_median * 1000:8.1f} ms")
    print(f"ratio {persist_median / copy_median:.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main()
