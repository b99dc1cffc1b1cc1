"""Plots of an experiment's results: learning curves, and a parameter against a metric.

matplotlib is an optional dependency (`pip install 'tuner[plot]'`). Figures are built with the
object API and the Agg canvas, never `pyplot`: plotting neither switches the user's backend nor
keeps figures alive in pyplot's global registry.

Example:
    >>> grid = ResultGrid.from_path("/tmp/tuner_results/my_exp")  # doctest: +SKIP
    >>> plot_learning_curves(list(grid), "loss", "curves.png")  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from searchers._objective import as_finite
from tuner.analysis._result import Result, flatten, metric_value
from tuner.exceptions import ConfigError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MAX_LEGEND = 10
"""More curves than this get no legend (it would hide the plot)."""


def _figure(size: tuple[float, float]) -> Figure:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(
            "plotting needs matplotlib, which is not installed: pip install 'tuner[plot]'"
        ) from exc
    figure = Figure(figsize=size, dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Figure, path: str | os.PathLike[str] | None) -> None:
    if path is None:
        return
    text = os.fspath(path)
    if "://" in text:
        import fsspec

        suffix = os.path.splitext(text)[1].lstrip(".") or "png"
        with fsspec.open(text, "wb") as f:
            figure.savefig(f, format=suffix)
    else:
        figure.savefig(text)


def _label(result: Result, limit: int = 40) -> str:
    config = ", ".join(
        f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
        for k, v in flatten(result.config).items()
    )
    text = f"{result.trial_id} {config}".strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."


def plot_learning_curves(
    results: Sequence[Result],
    metric: str,
    path: str | os.PathLike[str] | None = None,
    *,
    x: str = "training_iteration",
    size: tuple[float, float] = (8.0, 5.0),
) -> Figure:
    """One line per trial: `metric` against `x` over the trial's results (its result.json).

    Args:
        results: The trials, e.g. `list(grid)`.
        metric: The result key on the y axis (nested keys joined with "/").
        path: Where to write the image (a local path or fsspec URL; the suffix picks the format).
        x: The result key on the x axis.
        size: Figure size in inches (at 100 dpi).

    Returns:
        The matplotlib `Figure`.

    Raises:
        ConfigError: No trial reported `metric` as a number.
        ImportError: matplotlib is not installed.
    """
    figure = _figure(size)
    axes = figure.add_subplot()
    drawn = 0
    for result in results:
        xs, ys = [], []
        for step, row in enumerate(result._history(), start=1):
            flat = flatten(row)
            y = as_finite(flat.get(metric))
            if y is None:
                continue
            x_value = as_finite(flat.get(x))
            xs.append(x_value if x_value is not None else float(step))
            ys.append(y)
        if ys:
            axes.plot(xs, ys, marker="." if len(ys) < 30 else None, label=_label(result))
            drawn += 1
    if not drawn:
        raise ConfigError(
            f"no trial reported '{metric}' as a number in its result history: check the metric "
            f"name (reported keys: {', '.join(_keys(results)) or 'none'})"
        )
    if x == "training_iteration":
        from matplotlib.ticker import MaxNLocator

        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel(x)
    axes.set_ylabel(metric)
    axes.set_title(f"{metric} per trial ({drawn} trials)")
    axes.grid(alpha=0.3)
    if drawn <= MAX_LEGEND:
        axes.legend(fontsize="small")
    _save(figure, path)
    return figure


def plot_scatter(
    results: Sequence[Result],
    param: str,
    metric: str,
    path: str | os.PathLike[str] | None = None,
    *,
    size: tuple[float, float] = (7.0, 5.0),
) -> Figure:
    """Each trial's last `metric` against its config value `param` (nested keys joined with "/").

    Numeric parameters spanning more than two decades get a log axis; others are categories.

    Raises:
        ConfigError: No trial has both `param` in its config and a numeric `metric`.
        ImportError: matplotlib is not installed.
    """
    points = []
    for result in results:
        config = flatten(result.config)
        y = metric_value(result.metrics, metric)
        if param in config and y is not None:
            points.append((config[param], y))
    if not points:
        params = sorted({k for r in results for k in flatten(r.config)})
        raise ConfigError(
            f"no trial has both config '{param}' and a numeric '{metric}': config keys: "
            f"{', '.join(params) or 'none'}; reported keys: {', '.join(_keys(results)) or 'none'}"
        )
    figure = _figure(size)
    axes = figure.add_subplot()
    xs_num = [as_finite(p) for p, _ in points]
    ys = [y for _, y in points]
    if all(v is not None for v in xs_num):
        xs = [float(v) for v in xs_num if v is not None]
        axes.scatter(xs, ys)
        if min(xs) > 0 and max(xs) / min(xs) > 100:
            axes.set_xscale("log")
    else:
        axes.scatter([str(p) for p, _ in points], ys)
    axes.set_xlabel(param)
    axes.set_ylabel(metric)
    axes.set_title(f"{metric} by {param} ({len(points)} trials)")
    axes.grid(alpha=0.3)
    _save(figure, path)
    return figure


def _keys(results: Sequence[Result]) -> list[str]:
    hidden = {"hostname", "pid", "trial_id", "timestamp", "done"}
    return sorted({k for r in results for k in flatten(r.metrics)} - hidden)
