"""Regret: how far the config a run would pick is from the best the benchmark holds.

After each result of a run, the incumbent is the config with the best *observed* value of the
first objective so far (any epoch of any trial: what a user of the run would pick, noise and
all); the run's regret then is how much worse the incumbent's *expected* value (without noise,
`Benchmark.expected`) is than the benchmark's `optimum`. It is never negative. Under noise it
can grow: a lucky draw can make a worse config the incumbent, as it would for a user.

`regret` gives the curve of every run (one row per result); `regret_at` reads it after a
number of evaluations or of virtual seconds, one value per run, and `summary` turns those into
the median and quartiles of each method.

Example:
    >>> import pandas as pd
    >>> from tuner.benchmarks._synthetic import branin
    >>> rows = pd.DataFrame({
    ...     "method": "m", "seed": 0, "evaluation": [0, 1, 2], "trial": [0, 1, 2],
    ...     "time": [1.0, 2.0, 3.0], "value": [10.0, 0.5, 3.0],
    ...     "config/x0": [0.0, 3.0, 9.0], "config/x1": [0.0, 2.0, 3.0]})
    >>> curve = regret(branin(), rows)
    >>> [round(r, 3) for r in curve["regret"]]  # incumbent: trial 0, then trial 1 (observed 0.5)
    [55.204, 0.247, 0.247]
    >>> regret_at(curve, evaluations=2)["regret"].round(3).tolist()
    [0.247]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from tuner.benchmarks._benchmark import Benchmark

KEYS = ("method", "seed")
"""The columns that tell the runs apart."""


def regret(benchmark: Benchmark, rows: pd.DataFrame) -> pd.DataFrame:
    """The regret after each result of each run in `rows` (as `tuner.benchmarks.run` gives).

    Returns:
        One row per result, in each run's arrival order: `method`, `seed`, `evaluation`,
        `trials` (trials that reported so far), `time` and `regret`.
    """
    objective = benchmark.objectives[0]
    sign = 1.0 if objective.mode == "min" else -1.0
    params = [f"config/{name}" for name in benchmark.space]
    missing = [c for c in (*KEYS, "evaluation", "trial", "time", objective.metric, *params)
               if c not in rows.columns]
    if missing:
        raise ValueError(f"`rows` lacks the columns {missing}: pass what run() returned")
    optimum = benchmark.optimum
    expected: dict[tuple[Any, ...], float] = {}
    frames = []
    for _, run in rows.groupby(list(KEYS), sort=False):
        observed = sign * run[objective.metric].to_numpy(dtype=float)
        configs = list(run[params].itertuples(index=False, name=None))
        incumbent = _incumbents(observed)
        values = []
        for position in incumbent:
            config = configs[position]
            value = expected.get(config)
            if value is None:
                value = expected[config] = benchmark.expected(dict(zip(benchmark.space, config,
                                                                       strict=True)))
            values.append(sign * (value - optimum))
        frames.append(_curve(run, np.maximum(values, 0.0)))
    return _joined(frames)


def _curve(run: pd.DataFrame, regrets: Any) -> pd.DataFrame:
    """One run's curve: its rows' keys, evaluation, trials so far and time, and `regrets`."""
    return pd.DataFrame({
        "method": run["method"].to_numpy(), "seed": run["seed"].to_numpy(),
        "evaluation": run["evaluation"].to_numpy(),
        "trials": np.maximum.accumulate(run["trial"].to_numpy()) + 1,
        "time": run["time"].to_numpy(), "regret": regrets,
    })


def _joined(frames: list[pd.DataFrame]) -> pd.DataFrame:
    columns = [*KEYS, "evaluation", "trials", "time", "regret"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def hypervolume_gap(benchmark: Benchmark, rows: pd.DataFrame) -> pd.DataFrame:
    """`regret`'s rows for several objectives: after each result, 1 minus the normalised
    hypervolume of the results observed so far (`normalized_hypervolume`: 0 would be one result
    at the best value of every objective at once, so the gap never reaches 0), in the
    `regret` column, so that `regret_at`, `summary` and the plots read it alike."""
    from searchers._hypervolume import hypervolume
    from tuner.benchmarks._hypervolume import normalized_points

    frames = []
    reference = np.ones(len(benchmark.objectives))
    for _, run in rows.groupby(list(KEYS), sort=False):
        points = normalized_points(benchmark, run)
        gaps = [1.0 - hypervolume(points[: i + 1], reference) for i in range(len(points))]
        frames.append(_curve(run, gaps))
    return _joined(frames)


def _incumbents(observed: np.ndarray) -> np.ndarray:
    """For each position, the position of the smallest value so far (the first of ties); NaN
    never leads."""
    filled = np.where(np.isnan(observed), np.inf, observed)
    best = np.minimum.accumulate(filled)
    improved = np.empty(len(filled), dtype=bool)
    improved[:1] = True
    improved[1:] = filled[1:] < best[:-1]
    positions = np.where(improved, np.arange(len(filled)), 0)
    return np.maximum.accumulate(positions)


def regret_at(curve: pd.DataFrame, *, evaluations: int | None = None,
              seconds: float | None = None) -> pd.DataFrame:
    """Each run's regret once `evaluations` trials have reported, or after `seconds` of
    virtual time (exactly one of the two): one row per run, `method`, `seed` and `regret`.

    A run that had not reached the point (fewer trials, or no result yet by then) counts as
    not there: its regret is its last one for a count of evaluations, NaN before its first
    result for a time.
    """
    if (evaluations is None) == (seconds is None):
        raise ValueError("pass exactly one of `evaluations` and `seconds`")
    rows = []
    for (method, seed), run in curve.groupby(list(KEYS), sort=False):
        if evaluations is not None:
            # The last result of the first `evaluations` trials.
            within = run[run["trials"] <= evaluations]
        else:
            within = run[run["time"] <= seconds]
        value = float(within["regret"].iloc[-1]) if len(within) else float("nan")
        rows.append({"method": method, "seed": seed, "regret": value})
    return pd.DataFrame(rows, columns=[*KEYS, "regret"])


def summary(curve: pd.DataFrame, *, evaluations: Sequence[int] = (),
            seconds: Sequence[float] = ()) -> pd.DataFrame:
    """The median, first and third quartile over seeds of each method's regret at each of
    `evaluations` and `seconds`: one row per method (in order of appearance), columns
    ``(point, statistic)`` with points like ``"50 evals"`` or ``"3600 s"``."""
    columns: dict[tuple[str, str], pd.Series] = {}
    points: list[tuple[str, dict[str, Any]]] = [(f"{n} evals", {"evaluations": n})
                                                  for n in evaluations]
    points += [(f"{s:g} s", {"seconds": s}) for s in seconds]
    methods = list(dict.fromkeys(curve["method"]))
    for label, where in points:
        at = regret_at(curve, **where).groupby("method", sort=False)["regret"]
        for name, q in (("median", 0.5), ("q1", 0.25), ("q3", 0.75)):
            columns[(label, name)] = at.quantile(q).reindex(methods)
    frame = pd.DataFrame(columns)
    frame.index.name = "method"
    return frame
