"""The Pareto front of a multi-objective experiment, drawn: a scatter or parallel coordinates.

Two objectives: every trial's last values as a point (feasible ones filled, infeasible ones as
grey crosses), the front's trials highlighted and joined by the staircase that bounds the
region they dominate. Three or more: parallel coordinates, one vertical axis per objective
(scaled to the trials' range, each labelled with it and its mode), one line per trial, the
front in colour over the others in grey. Same conventions as `tuner.analysis._plot`: object
API, Agg canvas, matplotlib optional.

Example:
    >>> grid = ResultGrid.from_path("/tmp/tuner_results/my_exp")  # doctest: +SKIP
    >>> grid.plot_pareto_front("front.png")  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from searchers._constraints import Constraint
from searchers._pareto import Objectives
from tuner.analysis import _front
from tuner.analysis._plot import _figure, _keys, _save
from tuner.analysis._result import Result
from tuner.exceptions import ConfigError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

_FRONT_COLOUR = "tab:red"
_FEASIBLE_COLOUR = "tab:blue"
_INFEASIBLE_COLOUR = "0.6"


def plot_pareto_front(
    results: Sequence[Result],
    objectives: Objectives,
    constraints: Sequence[Constraint] = (),
    path: str | os.PathLike[str] | None = None,
    *,
    size: tuple[float, float] | None = None,
) -> Figure:
    """Draw every trial's objectives and the Pareto front (see the module docstring).

    Args:
        results: The trials, e.g. `list(grid)`; their last results are plotted.
        objectives: Two or more metrics and their modes.
        constraints: What makes a trial feasible (`searchers._constraints`).
        path: Where to write the image (a local path or fsspec URL; the suffix picks the format).
        size: Figure size in inches at 100 dpi (default 7x5 for a scatter, 8x5 otherwise).

    Raises:
        ConfigError: Fewer than two objectives, or no trial reported them all as numbers.
        ImportError: matplotlib is not installed.
    """
    metrics = objectives.metrics
    if len(metrics) < 2:
        raise ConfigError(
            f"a Pareto front plot needs two or more objectives, got metric={list(metrics)}: "
            "plot one metric with plot_learning_curves or plot_scatter instead"
        )
    rows = [
        (i, point) for i, result in enumerate(results)
        if (point := _front.objective_values(objectives, result.metrics)) is not None
    ]
    if not rows:
        raise ConfigError(
            f"no trial reported every objective {list(metrics)} as a finite number: check the "
            f"metric names (reported keys: {', '.join(_keys(results)) or 'none'})"
        )
    on_front = _front.front(results, objectives, constraints)
    feasible = {i for i, _ in rows if _front.feasibility(constraints, results[i].metrics).feasible}
    figure = _figure(size or ((7.0, 5.0) if len(metrics) == 2 else (8.0, 5.0)))
    axes = figure.add_subplot()
    values = dict(rows)
    if len(metrics) == 2:
        _scatter(axes, objectives, values, on_front, feasible)
    else:
        _parallel(axes, objectives, values, on_front, feasible)
    infeasible = len(rows) - len(feasible)
    axes.set_title(
        f"Pareto front: {len(on_front)} of {len(rows)} trials"
        + (f" ({infeasible} infeasible)" if constraints else "")
    )
    _save(figure, path)
    return figure


def _label(metric: str, mode: str) -> str:
    return f"{metric} ({mode})"


def _scatter(
    axes: Axes,
    objectives: Objectives,
    values: dict[int, tuple[float, ...]],
    on_front: list[int],
    feasible: set[int],
) -> None:
    others = [i for i in values if i not in set(on_front)]
    good = [values[i] for i in others if i in feasible]
    bad = [values[i] for i in others if i not in feasible]
    if good:
        axes.scatter([v[0] for v in good], [v[1] for v in good], color=_FEASIBLE_COLOUR,
                     alpha=0.6, label="feasible")
    if bad:
        axes.scatter([v[0] for v in bad], [v[1] for v in bad], color=_INFEASIBLE_COLOUR,
                     marker="x", label="infeasible")
    if on_front:
        # By increasing x. The region the front dominates lies on the worse side of x: its
        # boundary holds each point's y until the next point for a 'min' x ("post"), and
        # takes the next point's y from the previous x on for a 'max' x ("pre").
        points = sorted(values[i] for i in on_front)
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        axes.step(xs, ys, where="post" if objectives.modes[0] == "min" else "pre",
                  color=_FRONT_COLOUR, alpha=0.7)
        axes.scatter(xs, ys, color=_FRONT_COLOUR, zorder=3, label="Pareto front")
    axes.set_xlabel(_label(objectives.metrics[0], objectives.modes[0]))
    axes.set_ylabel(_label(objectives.metrics[1], objectives.modes[1]))
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")


def _parallel(
    axes: Axes,
    objectives: Objectives,
    values: dict[int, tuple[float, ...]],
    on_front: list[int],
    feasible: set[int],
) -> None:
    columns = list(zip(*values.values(), strict=True))
    lows = [min(column) for column in columns]
    highs = [max(column) for column in columns]

    def scaled(point: tuple[float, ...]) -> list[float]:
        return [
            (v - low) / (high - low) if high > low else 0.5
            for v, low, high in zip(point, lows, highs, strict=True)
        ]

    xs = list(range(len(objectives.metrics)))
    front = set(on_front)
    labelled: set[str] = set()

    def draw(point: tuple[float, ...], label: str, **style: Any) -> None:
        shown = label if label not in labelled else None
        labelled.add(label)
        axes.plot(xs, scaled(point), label=shown, **style)

    for i, point in values.items():
        if i in front:
            continue
        if i in feasible:
            draw(point, "feasible", color=_FEASIBLE_COLOUR, alpha=0.35, linewidth=1)
        else:
            draw(point, "infeasible", color=_INFEASIBLE_COLOUR, alpha=0.6, linewidth=1,
                 linestyle="--")
    for i in on_front:
        draw(values[i], "Pareto front", color=_FRONT_COLOUR, linewidth=2, zorder=3)
    for x, low, high in zip(xs, lows, highs, strict=True):
        axes.axvline(x, color="0.3", linewidth=0.8)
        axes.annotate(f"{high:.4g}", (x, 1.0), xytext=(0, 4), textcoords="offset points",
                      ha="center", va="bottom", fontsize="small")
        axes.annotate(f"{low:.4g}", (x, 0.0), xytext=(0, -4), textcoords="offset points",
                      ha="center", va="top", fontsize="small")
    axes.set_xticks(xs, [_label(m, mode) for m, mode in zip(objectives.metrics,
                                                           objectives.modes, strict=True)])
    axes.set_yticks([])
    axes.set_xlim(-0.2, len(xs) - 0.8)
    axes.set_ylim(-0.12, 1.12)
    for spine in axes.spines.values():
        spine.set_visible(False)
    # Outside the axes: inside, it would hide the lines and the axes' range labels.
    axes.figure.legend(fontsize="small", loc="outside right upper")
