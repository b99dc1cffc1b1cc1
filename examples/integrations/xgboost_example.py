"""Tune XGBoost's learning rate with Population Based Training, one report per boosting round.

`TuneReportCheckpointCallback(frequency=1)` reports each round's validation log loss and saves
the booster with it. PBT pauses the worst trials, hands them a copy of a better trial's booster
and a perturbed `eta`, and resumes them: the trainable picks the booster up from
`get_checkpoint()` and boosts only the rounds still missing. Runs in a few seconds:

    python examples/integrations/xgboost_example.py
"""

from __future__ import annotations

import tempfile
from typing import Any

import xgboost
from sklearn.datasets import make_classification

from schedulers import PopulationBasedTraining
from tuner import InProcessExecutor, RunConfig, TuneConfig, Tuner, get_checkpoint, uniform
from tuner.integrations.xgboost import TuneReportCheckpointCallback

ROUNDS = 12
X, Y = make_classification(n_samples=400, n_features=10, random_state=0)


def train_xgboost(config: dict[str, Any]) -> None:
    dtrain = xgboost.DMatrix(X[:300], label=Y[:300])
    deval = xgboost.DMatrix(X[300:], label=Y[300:])
    checkpoint = get_checkpoint()  # set when PBT resumes this trial (or after a failure)
    booster = None if checkpoint is None else TuneReportCheckpointCallback.get_model(checkpoint)
    done = 0 if booster is None else booster.num_boosted_rounds()
    xgboost.train(
        {"objective": "binary:logistic", "eval_metric": "logloss", "max_depth": 3,
         "eta": config["eta"], "nthread": 1},
        dtrain,
        num_boost_round=ROUNDS - done,
        xgb_model=booster,  # continue the checkpointed booster
        evals=[(deval, "eval")],
        verbose_eval=False,
        callbacks=[TuneReportCheckpointCallback(metrics={"loss": "eval-logloss"}, frequency=1)],
    )


def main() -> None:
    pbt = PopulationBasedTraining(
        time_attr="training_iteration", perturbation_interval=3,
        hyperparam_mutations={"eta": uniform(0.01, 0.5)}, seed=0,
    )
    with tempfile.TemporaryDirectory() as storage:
        grid = Tuner(
            train_xgboost,
            param_space={"eta": uniform(0.01, 0.5)},
            tune_config=TuneConfig(metric="loss", mode="min", num_samples=4, seed=0,
                                   scheduler=pbt),
            run_config=RunConfig(storage_path=storage, name="xgboost_pbt", verbose=0),
            # XGBoost trains outside the GIL, so trials on threads run in parallel; the default
            # LocalExecutor (worker processes) works the same, at the cost of starting them
            executor=InProcessExecutor(max_concurrent=2),
        ).fit()
        best = grid.get_best_result()
        assert best.checkpoint is not None  # the callback checkpoints the last round
        booster = TuneReportCheckpointCallback.get_model(best.checkpoint)
        resumed = sum(
            (r.metrics_dataframe["iterations_since_restore"] == 1).sum() > 1 for r in grid
        )
        print(f"best eta {best.config['eta']:.3f}: eval log loss {best.metrics['loss']:.4f} "
              f"after {booster.num_boosted_rounds()} rounds")
        print(f"resumed trials: {resumed} of {len(grid)}")


if __name__ == "__main__":
    main()
