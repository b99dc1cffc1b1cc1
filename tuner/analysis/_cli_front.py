"""What the `tuner` command prints for multi-objective and constrained experiments.

`tuner best` prints the Pareto front of a multi-objective experiment, one line per trial on it
(best first by the first objective); `tuner ls` shows the front's size where a single-objective
experiment shows its best value; `tuner show` adds a PARETO column (and FEASIBLE with
constraints). The commands themselves are in `tuner.analysis._cli`.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import TextIO

from searchers._constraints import Constraint, parse_constraints
from searchers._pareto import Objectives
from tuner.analysis import _front
from tuner.analysis._read import SavedExperiment, check_metric, user_url
from tuner.analysis._result import Result, flatten
from tuner.analysis._result_grid import ResultGrid
from tuner.analysis._table import fmt, table
from tuner.exceptions import ConfigError


def objective_names(exp: SavedExperiment) -> list[str]:
    """The experiment's objectives: [] without a metric."""
    metric = exp.metric
    if metric is None:
        return []
    return [metric] if isinstance(metric, str) else list(metric)


def mode_of(exp: SavedExperiment, metric: str) -> str | None:
    """The experiment's mode for `metric` if it is one of its objectives, else None."""
    names = objective_names(exp)
    if metric not in names:
        return None
    mode = exp.mode
    return mode if isinstance(mode, str) or mode is None else mode[names.index(metric)]


def constraints_of(exp: SavedExperiment) -> tuple[Constraint, ...]:
    """The experiment's constraints, parsed.

    Raises:
        ConfigError: A saved constraint does not parse (the state was edited by hand).
    """
    try:
        return parse_constraints(exp.constraints or ())
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"experiment {exp.url} holds a bad constraint: {exc}") from None


def objectives_of(exp: SavedExperiment) -> Objectives | None:
    """The experiment's objectives and modes; None without a metric."""
    names = objective_names(exp)
    modes = [mode_of(exp, metric) for metric in names]
    if not names or None in modes:
        return None
    return Objectives(tuple(names), tuple(mode for mode in modes if mode is not None))


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def summary(exp: SavedExperiment, grid: ResultGrid) -> str:
    """`tuner ls`'s BEST cell: the front's size for several objectives; the best value (marked
    if infeasible) for one objective with constraints; "" if there is nothing to rank."""
    objectives = objectives_of(exp)
    if objectives is None:
        return ""
    if len(objectives.metrics) > 1:
        return f"pareto front: {len(grid.get_pareto_front())}"
    metric = objectives.metrics[0]
    try:
        best = grid.get_best_result(metric, objectives.modes[0])
    except ConfigError:  # no trial reported it (yet): nothing to show
        return ""
    text = f"{metric}={fmt(flatten(best.metrics).get(metric))}"
    return text if grid.is_feasible(best) else f"{text} (infeasible)"


def marks(exp: SavedExperiment, results: Sequence[Result]) -> tuple[list[str], list[list[str]]]:
    """`tuner show`'s extra columns and each result's cells: PARETO ("*" on the front) for
    several objectives, FEASIBLE with constraints; none for a plain experiment."""
    objectives = objectives_of(exp)
    constraints = constraints_of(exp)
    header: list[str] = []
    on_front: set[int] | None = None
    if objectives is not None and len(objectives.metrics) > 1:
        header.append("PARETO")
        on_front = set(_front.front(results, objectives, constraints))
    if constraints:
        header.append("FEASIBLE")
    rows = []
    for i, result in enumerate(results):
        row = [] if on_front is None else ["*" if i in on_front else ""]
        if constraints:
            row.append(_yes(_front.feasibility(constraints, result.metrics).feasible))
        rows.append(row)
    return header, rows


def constraints_line(exp: SavedExperiment, feasible: bool) -> str:
    """`tuner best`'s last line for a constrained experiment: whether the best meets them."""
    listed = ", ".join(exp.constraints or ())
    if feasible:
        return f"constraints: {listed} (met)"
    return (f"constraints: {listed} (NOT met: no trial with a score meets them all; this one "
            "violates them least)")


def print_front(
    exp: SavedExperiment, grid: ResultGrid, args: argparse.Namespace, out: TextIO
) -> int:
    """`tuner best` for a multi-objective experiment: its Pareto front, as a table or JSON."""
    if args.scope != "last":
        raise ConfigError(
            "the Pareto front is made of each trial's last result: --scope ranks by one "
            "metric, pass --metric NAME with it"
        )
    results = list(grid)
    objectives = objectives_of(exp)
    if objectives is None:
        raise ConfigError(f"experiment {exp.url} has metrics without modes: its state is invalid")
    names, modes = list(objectives.metrics), list(objectives.modes)
    for metric in names:
        check_metric(results, metric, exp.url)
    front = grid.get_pareto_front()
    if args.json:
        out.write(json.dumps({
            "metric": names,
            "mode": modes,
            "constraints": exp.constraints or [],
            "pareto_front": [
                {
                    "trial_id": r.trial_id,
                    "status": r.status,
                    "values": {m: flatten(r.metrics).get(m) for m in names},
                    "feasible": grid.is_feasible(r),
                    "config": r.config,
                    "path": user_url(exp.filesystem, r.path),
                }
                for r in front
            ],
        }, default=repr) + "\n")
        return 0
    listed = ", ".join(exp.constraints or ())
    met = sum(grid.is_feasible(r) for r in results)
    limits = f"; constraints: {listed}, met by {met} of {len(results)}" if listed else ""
    shown = ", ".join(f"{m} {mode}" for m, mode in zip(names, modes, strict=True))
    out.write(f"pareto front: {len(front)} of {len(results)} trials ({shown}{limits})\n")
    if not front:
        placed = [i for i in _front.order(results, objectives, constraints_of(exp))
                  if _front.objective_values(objectives, results[i].metrics) is not None]
        if placed and listed:  # none of them feasible: the first violates the constraints least
            out.write(f"no trial meets every constraint: the least violating is "
                      f"{results[placed[0]].trial_id}\n")
        else:
            out.write("no trial reported every objective as a finite number\n")
        return 0
    rows = [["TRIAL", *names, "FEASIBLE"]]
    for result in front:
        flat = flatten(result.metrics)
        rows.append([result.trial_id, *[fmt(flat.get(m)) for m in names],
                     _yes(grid.is_feasible(result))])
    for line in table(rows):
        out.write(line + "\n")
    return 0
