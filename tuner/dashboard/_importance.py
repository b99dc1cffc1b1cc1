"""Hyperparameter importance: permutation importance of a small random forest, in numpy.

A forest of regression trees learns the metric from the config (numbers as they are, other
values as category codes: trees split on their order, which is arbitrary but consistent). A
parameter's importance is how much the forest's squared error on the trials grows when that
parameter's column is shuffled (Breiman 2001), averaged over a few shuffles, clipped at zero
and scaled to sum to 1. Each tree is fitted on a bootstrap sample and scored on the trials it
did not see (out-of-bag), so a tree that memorised its sample does not make noise look useful.

Example:
    >>> import numpy as np
    >>> configs = [{"lr": a, "noise": b} for a, b in np.random.default_rng(0).random((60, 2))]
    >>> found = parameter_importance(configs, [c["lr"] * 10 for c in configs], ["lr", "noise"])
    >>> found["importances"][0]["param"]
    'lr'
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

MIN_TRIALS = 8
METHOD = ("permutation importance (out-of-bag) of a random forest of {trees} regression trees "
          "(depth <= {depth}), fitted in numpy on {n} finished trials")
_TREES = 32
_DEPTH = 6
_MIN_LEAF = 2
_REPEATS = 3
_MAX_SAMPLES = 2000


@dataclass
class _Tree:
    feature: np.ndarray  # -1 at a leaf
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray

    def predict(self, x: np.ndarray) -> np.ndarray:
        import numpy as np

        node = np.zeros(len(x), dtype=np.int64)
        for _ in range(_DEPTH + 1):
            feature = self.feature[node]
            inner = feature >= 0
            if not inner.any():
                break
            rows = np.nonzero(inner)[0]
            go_left = x[rows, feature[rows]] <= self.threshold[node[rows]]
            node[rows] = np.where(go_left, self.left[node[rows]], self.right[node[rows]])
        return self.value[node]


def _best_split(x: np.ndarray, y: np.ndarray, features: np.ndarray) -> tuple[int, float, float]:
    """(feature, threshold, squared error after) of the best split of the rows, or (-1, 0, inf)."""
    import numpy as np

    best = (-1, 0.0, math.inf)
    n = len(y)
    for j in features.tolist():
        order = np.argsort(x[:, j], kind="stable")
        xs, ys = x[order, j], y[order]
        csum, csq = np.cumsum(ys), np.cumsum(ys * ys)
        k = np.arange(_MIN_LEAF, n - _MIN_LEAF + 1)  # left side holds rows [0, k)
        if len(k) == 0:
            continue
        k = k[xs[k - 1] < xs[np.minimum(k, n - 1)]]  # split between distinct values only
        if len(k) == 0:
            continue
        left_sum, left_sq = csum[k - 1], csq[k - 1]
        right_sum, right_sq = csum[-1] - left_sum, csq[-1] - left_sq
        error = (left_sq - left_sum**2 / k) + (right_sq - right_sum**2 / (n - k))
        at = int(np.argmin(error))
        if error[at] < best[2]:
            best = (j, float((xs[k[at] - 1] + xs[k[at]]) / 2), float(error[at]))
    return best


def _fit_tree(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, max_features: int) -> _Tree:
    import numpy as np

    feature: list[int] = []
    threshold: list[float] = []
    left: list[int] = []
    right: list[int] = []
    value: list[float] = []

    def grow(rows: np.ndarray, depth: int) -> int:
        node = len(feature)
        feature.append(-1)
        threshold.append(0.0)
        left.append(-1)
        right.append(-1)
        value.append(float(y[rows].mean()))
        if depth >= _DEPTH or len(rows) < 2 * _MIN_LEAF or np.ptp(y[rows]) == 0:
            return node
        features = rng.choice(x.shape[1], size=max_features, replace=False)
        j, cut, _ = _best_split(x[rows], y[rows], features)
        if j < 0:
            return node
        goes_left = x[rows, j] <= cut
        feature[node], threshold[node] = j, cut
        left[node] = grow(rows[goes_left], depth + 1)
        right[node] = grow(rows[~goes_left], depth + 1)
        return node

    grow(np.arange(len(y)), 0)
    return _Tree(np.array(feature), np.array(threshold), np.array(left), np.array(right),
                 np.array(value))


def _encode(configs: Sequence[Mapping[str, Any]], keys: Sequence[str]
            ) -> tuple[np.ndarray, list[str]]:
    """The columns of the parameters that vary, numbers as floats, other values as codes."""
    import numpy as np

    columns, names = [], []
    for key in keys:
        raw = [c.get(key) for c in configs]
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) and
                      math.isfinite(v) for v in raw)
        if numeric:
            column = np.array(raw, dtype=float)
        else:
            codes = {text: i for i, text in enumerate(sorted({repr(v) for v in raw}))}
            column = np.array([codes[repr(v)] for v in raw], dtype=float)
        if np.ptp(column) > 0:
            columns.append(column)
            names.append(key)
    if not columns:
        return np.zeros((len(configs), 0)), []
    return np.stack(columns, axis=1), names


def parameter_importance(configs: Sequence[Mapping[str, Any]], values: Sequence[float | None],
                         keys: Sequence[str], *, seed: int = 0) -> dict[str, Any]:
    """How much each config key explains `values` (see the module docstring).

    Args:
        configs: Flat configs of the finished trials.
        values: The metric of each (None where a trial has none: left out).
        keys: The config keys to weigh.

    Returns:
        ``{"method", "importances": [{"param", "importance"}, ...]}`` best first, summing to 1,
        or ``{"method", "importances": [], "note"}`` when there is too little to go on.
    """
    import numpy as np

    pairs = [(c, float(v)) for c, v in zip(configs, values, strict=True)
             if v is not None and math.isfinite(v)]
    rng = np.random.default_rng(seed)
    if len(pairs) > _MAX_SAMPLES:
        pick = rng.choice(len(pairs), size=_MAX_SAMPLES, replace=False)
        pairs = [pairs[i] for i in sorted(pick.tolist())]
    method = METHOD.format(trees=_TREES, depth=_DEPTH, n=len(pairs))
    if len(pairs) < MIN_TRIALS:
        return {"method": method, "importances": [],
                "note": f"{len(pairs)} finished trials have a value for this metric; "
                        f"importance needs at least {MIN_TRIALS}"}
    x, names = _encode([c for c, _ in pairs], keys)
    y = np.array([v for _, v in pairs])
    if not names:
        return {"method": method, "importances": [],
                "note": "no config key takes more than one value in the finished trials"}
    if np.ptp(y) == 0:
        return {"method": method, "importances": [],
                "note": "every finished trial has the same value of this metric"}
    n, d = x.shape
    max_features = max(1, math.ceil(d / 3)) if d > 3 else d
    increase = np.zeros(d)
    counted = 0
    for _ in range(_TREES):
        sample = rng.integers(0, n, size=n)
        out = np.setdiff1d(np.arange(n), sample)
        if len(out) < 2:
            continue
        tree = _fit_tree(x[sample], y[sample], rng, max_features)
        base = np.mean((tree.predict(x[out]) - y[out]) ** 2)
        for j in range(d):
            for _ in range(_REPEATS):
                shuffled = x[out].copy()
                shuffled[:, j] = rng.permutation(shuffled[:, j])
                increase[j] += np.mean((tree.predict(shuffled) - y[out]) ** 2) - base
        counted += 1
    increase = np.clip(increase / max(1, counted * _REPEATS), 0.0, None)
    total = float(increase.sum())
    if total <= 0:
        return {"method": method, "importances": [],
                "note": "shuffling no parameter made the forest's predictions worse: none "
                        "explains this metric in these trials"}
    ranked = sorted(zip(names, (increase / total).tolist(), strict=True),
                    key=lambda pair: (-pair[1], pair[0]))
    return {"method": method,
            "importances": [{"param": p, "importance": float(v)} for p, v in ranked]}
