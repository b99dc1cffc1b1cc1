"""scikit-learn searches on tuner: `TuneSearchCV` in place of `RandomizedSearchCV`, with early
stopping by ASHA for an estimator that learns with `partial_fit`.

1. A random search over logistic regression, next to scikit-learn's own on the same data and
   seed: the same candidates, scores and `cv_results_` columns.
2. An SGD classifier trained one `partial_fit` epoch at a time on every fold, its
   cross-validated score reported after each epoch; ASHA stops the candidates that fall behind.

Runs in a few seconds: python examples/integrations/sklearn_example.py
"""

from __future__ import annotations

import pandas as pd
from scipy.stats import loguniform
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.model_selection import RandomizedSearchCV

from schedulers import ASHAScheduler
from tuner.integrations.sklearn import TuneSearchCV

X, y = make_classification(n_samples=600, n_features=20, n_informative=6, random_state=0)


def main() -> None:
    space = {"C": loguniform(1e-3, 1e2), "fit_intercept": [True, False]}
    ours = TuneSearchCV(LogisticRegression(), space, n_trials=6, cv=3, random_state=0).fit(X, y)
    theirs = RandomizedSearchCV(LogisticRegression(), space, n_iter=6, cv=3,
                                random_state=0).fit(X, y)
    same = list(pd.DataFrame(ours.cv_results_).columns) == list(
        pd.DataFrame(theirs.cv_results_).columns)
    print(f"TuneSearchCV best {ours.best_params_} score {ours.best_score_:.4f}; "
          f"RandomizedSearchCV {theirs.best_score_:.4f}; "
          f"{'same columns as' if same else 'OTHER columns than'} RandomizedSearchCV")

    max_iters = 9
    sgd = TuneSearchCV(
        SGDClassifier(random_state=0),
        {"alpha": loguniform(1e-6, 1e0), "penalty": ["l2", "l1", "elasticnet"]},
        early_stopping=ASHAScheduler(max_t=max_iters, grace_period=1, reduction_factor=3),
        max_iters=max_iters,
        n_trials=9,
        cv=3,
        random_state=0,
    ).fit(X, y)
    epochs = sgd.cv_results_["training_iteration"]
    print(f"SGD best {sgd.best_params_} score {sgd.best_score_:.4f}")
    print(f"stopped early by ASHA: {(epochs < max_iters).sum()} of {len(epochs)} "
          f"(epochs trained: {sorted(epochs.tolist())})")


if __name__ == "__main__":
    main()
