"""Model-based search: TPE proposes each config from the results of the ones before it.

The objective is a noisy 2-D function with its minimum at lr=0.01, momentum=0.9. The first 8
trials are random; after that `TPESearch` models which region is good and samples there, so the
best loss found beats what the same number of random trials finds (both are printed).

Run: python examples/model_based_search.py
"""

from __future__ import annotations

import math
import tempfile
from typing import Any

from searchers import TPESearch
from tuner import InProcessExecutor, RunConfig, TuneConfig, Tuner, loguniform, report, uniform


def objective(config: dict[str, Any]) -> None:
    distance = (math.log10(config["lr"]) + 2) ** 2 + (config["momentum"] - 0.9) ** 2 * 10
    for step in range(1, 6):
        report({"loss": distance + 1 / step})


SPACE = {"lr": loguniform(1e-5, 1.0), "momentum": uniform(0.0, 1.0)}


def best_loss(search_alg: Any, storage: str, name: str) -> tuple[float, dict[str, Any]]:
    grid = Tuner(
        objective,
        param_space=SPACE,
        tune_config=TuneConfig(metric="loss", mode="min", num_samples=40, search_alg=search_alg,
                               seed=0),
        run_config=RunConfig(name=name, storage_path=storage, verbose=0),
        # The objective is cheap: threads in this process beat starting worker processes.
        executor=InProcessExecutor(),
    ).fit()
    best = grid.get_best_result()
    return best.metrics["loss"], best.config


def main(storage_path: str | None = None) -> None:
    storage = storage_path or tempfile.mkdtemp(prefix="tuner-tpe-")
    tpe_loss, tpe_config = best_loss(TPESearch(n_startup_trials=8, seed=0), storage, "tpe")
    random_loss, _ = best_loss(None, storage, "random")
    print(f"TPE best loss: {tpe_loss:.4f} at lr={tpe_config['lr']:.3g} "
          f"momentum={tpe_config['momentum']:.3f}")
    print(f"random best loss: {random_loss:.4f}")
    print("TPE beat random search" if tpe_loss < random_loss else "random search won this time")


if __name__ == "__main__":
    main()
