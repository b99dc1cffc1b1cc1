"""scikit-learn: `TuneSearchCV` and `TuneGridSearchCV`, searches that run on this engine.

Drop-ins for scikit-learn's `RandomizedSearchCV` and `GridSearchCV` (with tune-sklearn's
arguments): each candidate is one trial of `tuner.Tuner.fit()`, cross-validated the way
scikit-learn does it, and the results come back as the same `cv_results_`, `best_*` and
refitted `best_estimator_`. Early stopping trains candidates an iteration at a time and lets
a scheduler (ASHA by default) stop the ones behind. See docs/integrations/sklearn.md.

Example:
    >>> from sklearn.linear_model import SGDClassifier
    >>> search = TuneSearchCV(SGDClassifier(), {"alpha": [1e-4, 1e-3]}, early_stopping=True,
    ...                       max_iters=5, n_trials=2)
    >>> search.max_iters
    5
"""

from __future__ import annotations

try:
    import sklearn  # noqa: F401
except ImportError as error:  # pragma: no cover - the extra is installed where this is tested
    raise ImportError(
        "tuner.integrations.sklearn needs scikit-learn: pip install 'tuner[sklearn]'"
    ) from error

from tuner.integrations.sklearn._search import TuneGridSearchCV, TuneSearchCV

__all__ = ["TuneGridSearchCV", "TuneSearchCV"]
