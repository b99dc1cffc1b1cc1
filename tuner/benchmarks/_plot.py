"""A plot of regret curves: per method, the median over seeds and the band between the first
and third quartile, on a log axis (matplotlib, `pip install 'tuner[plot]'`)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd


def regret_grid(curve: pd.DataFrame, x: str, points: np.ndarray) -> pd.DataFrame:
    """Each run's regret at each of `points` of `x` ('trials' or 'time'): one row per point,
    one column per (method, seed); NaN before a run's first result."""
    columns = {}
    for (method, seed), run in curve.groupby(["method", "seed"], sort=False):
        # The last result at or before each point.
        positions = np.searchsorted(run[x].to_numpy(), points, side="right") - 1
        regrets = run["regret"].to_numpy()
        columns[(method, seed)] = np.where(positions >= 0, regrets[np.maximum(positions, 0)],
                                           np.nan)
    return pd.DataFrame(columns, index=points)


def plot_regret(curve: pd.DataFrame, path: str, *, x: str = "trials", title: str = "") -> None:
    """Write the plot of `curve` (`tuner.benchmarks.regret`'s rows) against `x` to `path`.

    Args:
        x: 'trials' (evaluations) or 'time' (virtual seconds).
    """
    if x not in ("trials", "time"):
        raise ValueError(f"`x` must be 'trials' or 'time', got x={x!r}")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError("plots need matplotlib: pip install 'tuner[plot]'") from error
    end = float(curve[x].max())
    points = np.linspace(1.0 if x == "trials" else 0.0, end, 200)
    grid = regret_grid(curve, x, points)
    figure, axes = plt.subplots(figsize=(6.4, 4.0))
    positive = curve["regret"][curve["regret"] > 0]
    floor = float(positive.min()) / 2 if len(positive) else 1e-12
    for method in dict.fromkeys(curve["method"]):
        runs: Any = grid[method].clip(lower=floor)  # a regret of 0 on a log axis
        q1, median, q3 = (runs.quantile(q, axis=1) for q in (0.25, 0.5, 0.75))
        (line,) = axes.plot(points, median, label=method)
        axes.fill_between(points, q1, q3, color=line.get_color(), alpha=0.2)
    axes.set_yscale("log")
    axes.set_xlabel("evaluations" if x == "trials" else "virtual time (s)")
    axes.set_ylabel("regret (median, quartiles)")
    seeds = curve.groupby("method")["seed"].nunique().max()
    axes.set_title(title or f"{seeds} seed{'s' * (seeds != 1)}")
    if math.isfinite(end):
        axes.set_xlim(points[0], end)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
