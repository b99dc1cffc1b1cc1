"""Tune LightGBM with ASHA: one report per boosting round, the worst trials stopped early.

`TuneReportCheckpointCallback` reports each round's validation log loss; ASHA compares trials
at rounds 2, 6 and 18 and stops those behind. The best trial's final booster comes back from
its checkpoint. Runs in a few seconds:

    python examples/integrations/lightgbm_example.py
"""

from __future__ import annotations

import tempfile
from typing import Any

import lightgbm
from sklearn.datasets import make_classification

from schedulers import ASHAScheduler
from tuner import (
    InProcessExecutor,
    RunConfig,
    TuneConfig,
    Tuner,
    get_checkpoint,
    loguniform,
    randint,
)
from tuner.integrations.lightgbm import TuneReportCheckpointCallback

ROUNDS = 18
X, Y = make_classification(n_samples=600, n_features=12, random_state=0)


def train_lightgbm(config: dict[str, Any]) -> None:
    dtrain = lightgbm.Dataset(X[:450], label=Y[:450])
    deval = lightgbm.Dataset(X[450:], label=Y[450:], reference=dtrain)
    checkpoint = get_checkpoint()  # set when a failed trial is retried, or after a restore
    booster = None if checkpoint is None else TuneReportCheckpointCallback.get_model(checkpoint)
    done = 0 if booster is None else booster.current_iteration()
    lightgbm.train(
        {"objective": "binary", "metric": "binary_logloss", "verbose": -1, "num_threads": 1,
         "learning_rate": config["learning_rate"], "num_leaves": config["num_leaves"]},
        dtrain,
        num_boost_round=ROUNDS - done,
        init_model=booster,  # continue the checkpointed booster
        valid_sets=[deval],
        valid_names=["eval"],
        callbacks=[TuneReportCheckpointCallback(metrics={"loss": "eval-binary_logloss"},
                                                frequency=5)],
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as storage:
        grid = Tuner(
            train_lightgbm,
            param_space={"learning_rate": loguniform(0.01, 0.3), "num_leaves": randint(2, 32)},
            tune_config=TuneConfig(
                metric="loss", mode="min", num_samples=8, seed=0,
                scheduler=ASHAScheduler(max_t=ROUNDS, grace_period=2, reduction_factor=3)),
            run_config=RunConfig(storage_path=storage, name="lightgbm_asha", verbose=0),
            # LightGBM trains outside the GIL, so trials on threads run in parallel; the default
            # LocalExecutor (worker processes) works the same, at the cost of starting them
            executor=InProcessExecutor(max_concurrent=2),
        ).fit()
        best = grid.get_best_result()
        assert best.checkpoint is not None  # the callback checkpoints the last round
        booster = TuneReportCheckpointCallback.get_model(best.checkpoint)
        stopped = sum(r.metrics["training_iteration"] < ROUNDS for r in grid)
        print(f"best num_leaves={best.config['num_leaves']} "
              f"learning_rate={best.config['learning_rate']:.3f}: eval log loss "
              f"{best.metrics['loss']:.4f} after {booster.current_iteration()} rounds")
        print(f"stopped early by ASHA: {stopped} of {len(grid)}")


if __name__ == "__main__":
    main()
