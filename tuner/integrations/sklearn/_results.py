"""`cv_results_` in scikit-learn's layout, from the trials' last results, and the warning (or
error) about failed fits that `RandomizedSearchCV` gives."""

from __future__ import annotations

import re
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.ma import MaskedArray
from scipy.stats import rankdata
from sklearn.exceptions import FitFailedWarning

_TEST_KEY = re.compile(r"^split0_test_(.+)$")


def scorer_names(results: Sequence[Mapping[str, Any]], ranking: str) -> list[str]:
    """The scorers' names, in the order the trials reported them (the ranking one if none)."""
    names: dict[str, None] = {}
    for result in results:
        for key in result:
            match = _TEST_KEY.match(key)
            if match:
                names.setdefault(match.group(1))
    return list(names) or [ranking]


def fold_errors(results: Sequence[Mapping[str, Any]], n_splits: int) -> list[str]:
    return [
        error for result in results for k in range(n_splits)
        if (error := result.get(f"split{k}_fit_error"))
    ]


def warn_or_raise_about_fit_failures(errors: list[str], n_fits: int, error_score: Any) -> None:
    """As scikit-learn does: a `ValueError` when every fit failed, else a `FitFailedWarning`,
    each with the tracebacks, identical ones counted once."""
    if not errors:
        return
    details = "\n".join(
        f"\n{'-' * 80}\n{count} fits failed with the following error:\n{text}"
        for text, count in Counter(errors).items()
    )
    if len(errors) == n_fits:
        raise ValueError(
            f"All the {n_fits} fits failed.\nIt is very likely that your model is "
            "misconfigured.\nYou can try to debug the error by setting error_score='raise'.\n\n"
            f"Below are more details about the failures:\n{details}"
        )
    warnings.warn(
        f"\n{len(errors)} fits failed out of a total of {n_fits}.\nThe score on these "
        f"train-test partitions for these parameters will be set to {error_score}.\nIf these "
        "failures are not expected, you can try to debug them by setting "
        f"error_score='raise'.\n\nBelow are more details about the failures:\n{details}",
        FitFailedWarning, stacklevel=3,
    )


def _param_arrays(candidates: Sequence[Mapping[str, Any]]) -> dict[str, MaskedArray]:
    """One masked array per parameter, masked where a candidate lacks it (lists of grids)."""
    by_name: dict[str, dict[int, Any]] = {}
    for index, params in enumerate(candidates):
        for name, value in params.items():
            by_name.setdefault(f"param_{name}", {})[index] = value
    arrays = {}
    for key, values in by_name.items():
        try:
            inferred = np.array(list(values.values()))
            dtype = inferred.dtype if inferred.dtype.kind != "U" and inferred.ndim == 1 else object
        except ValueError:  # sequences of different lengths
            dtype = np.dtype(object)
        array = MaskedArray(np.empty(len(candidates), dtype=dtype), mask=True)
        for index, value in values.items():
            array[index] = value
        arrays[key] = array
    return arrays


def cv_results(
    candidates: Sequence[Mapping[str, Any]],
    results: Sequence[Mapping[str, Any]],
    *,
    n_splits: int,
    names: Sequence[str],
    return_train_score: bool,
    error_score: Any,
    iterations: Sequence[int] | None = None,
) -> dict[str, Any]:
    """The `cv_results_` dict: its keys, order and dtypes as `BaseSearchCV` makes them."""
    n = len(candidates)
    fill = np.nan if error_score == "raise" else float(error_score)

    def table(key: str) -> np.ndarray:
        return np.array(
            [[r.get(key.format(k=k), fill) for k in range(n_splits)] for r in results],
            dtype=np.float64,
        ).reshape(n, n_splits)

    out: dict[str, Any] = {}

    def store(key: str, array: np.ndarray, *, splits: bool = False, rank: bool = False) -> None:
        if splits:
            for k in range(n_splits):
                out[f"split{k}_{key}"] = array[:, k]
        means = np.average(array, axis=1)
        out[f"mean_{key}"] = means
        if key.startswith(("train_", "test_")) and np.any(~np.isfinite(means)):
            warnings.warn(
                f"One or more of the {key.split('_')[0]} scores are non-finite: {means}",
                UserWarning, stacklevel=4,
            )
        out[f"std_{key}"] = np.sqrt(np.average((array - means[:, np.newaxis]) ** 2, axis=1))
        if rank:
            if np.isnan(means).all():
                ranks = np.ones_like(means, dtype=np.int32)
            else:  # failed candidates tie with the worst
                filled = np.where(np.isnan(means), np.nanmin(means) - 1, means)
                ranks = rankdata(-filled, method="min").astype(np.int32, copy=False)
            out[f"rank_{key}"] = ranks

    store("fit_time", table("split{k}_fit_time"))
    store("score_time", table("split{k}_score_time"))
    out.update(_param_arrays(candidates))
    out["params"] = [dict(c) for c in candidates]
    for name in names:
        store(f"test_{name}", table(f"split{{k}}_test_{name}"), splits=True, rank=True)
        if return_train_score:
            store(f"train_{name}", table(f"split{{k}}_train_{name}"), splits=True)
    if iterations is not None:  # early stopping: the iterations each candidate trained
        out["training_iteration"] = np.asarray(iterations, dtype=np.int64)
    return out
