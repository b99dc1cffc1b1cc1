"""An XGBoost experiment for the crash test: `python xgb_driver.py run|restore STORAGE NAME`.

`run` starts it (the test SIGKILLs this process and its workers mid-run), `restore` continues it
with `Tuner.restore`. Each result carries the booster's rounds at that report (`rounds`) and
the rounds the run resumed from (`start`).
"""

from __future__ import annotations

import sys
import time
from typing import Any

import numpy as np
import xgboost

from tuner import RunConfig, TuneConfig, Tuner, get_checkpoint, uniform
from tuner.integrations.xgboost import TuneReportCheckpointCallback

ROUNDS = 12
TRIALS = 3


class Pace(xgboost.callback.TrainingCallback):
    """Slows each round down (so that the kill lands mid-run) and notes the booster's rounds."""

    def __init__(self) -> None:
        super().__init__()
        self.rounds = 0

    def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        self.rounds = model.num_boosted_rounds()
        time.sleep(0.06)
        return False


def train(config: dict[str, Any]) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(160, 6))
    y = (X[:, 0] + X[:, 1] * X[:, 2] + rng.normal(scale=0.5, size=160) > 0).astype(int)
    dtrain = xgboost.DMatrix(X[:120], label=y[:120])
    deval = xgboost.DMatrix(X[120:], label=y[120:])
    checkpoint = get_checkpoint()
    booster = None if checkpoint is None else TuneReportCheckpointCallback.get_model(checkpoint)
    start = 0 if booster is None else booster.num_boosted_rounds()
    pace = Pace()
    params = {"objective": "binary:logistic", "eval_metric": "logloss", "max_depth": 2,
              "eta": config["eta"], "nthread": 1}
    xgboost.train(
        params, dtrain, num_boost_round=ROUNDS - start, xgb_model=booster,
        evals=[(deval, "eval")], verbose_eval=False,
        callbacks=[pace, TuneReportCheckpointCallback(
            metrics={"loss": "eval-logloss"}, frequency=1,
            results_postprocessing_fn=lambda m: {**m, "rounds": pace.rounds, "start": start},
        )],
    )


def main() -> None:
    mode, storage, name = sys.argv[1:4]
    path = f"{storage.rstrip('/')}/{name}"
    if mode == "run":
        Tuner(
            train,
            param_space={"eta": uniform(0.1, 0.5)},
            tune_config=TuneConfig(metric="loss", mode="min", num_samples=TRIALS,
                                   max_concurrent_trials=2, seed=3),
            run_config=RunConfig(storage_path=storage, name=name, verbose=0),
        ).fit()
    else:
        Tuner.restore(path, trainable=train).fit()


if __name__ == "__main__":
    main()
