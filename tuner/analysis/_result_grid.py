"""`ResultGrid`: the results of every trial of an experiment, for analysis."""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from searchers._constraints import parse_constraints
from searchers._objective import as_real, best_by, check_mode
from searchers._pareto import Objectives
from searchers._ranking import check_objectives
from tuner.analysis import _front
from tuner.analysis._result import Result, flatten, metric_value
from tuner.exceptions import ConfigError, TrialError

if TYPE_CHECKING:
    import fsspec
    import pandas as pd

_SCOPES = ("last", "avg", "last-5-avg", "last-10-avg", "all")


class ResultGrid:
    """The results of an experiment's trials, in creation order.

    `metric`, `mode` and `constraints` are the experiment's (`TuneConfig`'s): one objective or
    several, and bounds on reported metrics. Build a grid with other ones to look at the same
    trials another way: ``ResultGrid(list(grid), metric=["loss", "ms"], mode=["min", "min"])``.

    Multi-objective and constrained experiments (see docs/analysis.md): `get_pareto_front()`
    gives the trade-offs, `hypervolume(reference)` one number for them, `get_best_result`
    needs one `metric` and ranks feasible trials first. Feasibility is judged on each trial's
    last result; a trial that did not report a constraint's metric (or reported something
    other than a number) is infeasible.

    Example:
        >>> grid = Tuner(train_fn, param_space=space).fit()  # doctest: +SKIP
        >>> best = grid.get_best_result(metric="loss", mode="min")  # doctest: +SKIP
        >>> grid.get_dataframe().sort_values("loss").head()  # doctest: +SKIP
        >>> grid = ResultGrid.from_path("s3://bucket/runs/my_exp")  # doctest: +SKIP
        >>> grid.plot_learning_curves("loss", "curves.png")  # doctest: +SKIP
        >>> front = grid.get_pareto_front()  # doctest: +SKIP
    """

    def __init__(
        self,
        results: Sequence[Result],
        *,
        experiment_path: str = "",
        metric: str | Sequence[str] | None = None,
        mode: str | Sequence[str] | None = None,
        constraints: Sequence[str] | None = None,
    ) -> None:
        """A grid of `results`, ranked by `metric`, `mode` and `constraints` (see above).

        Raises:
            ConfigError: `metric` and `mode` do not match (one mode per metric), or a
                constraint cannot be parsed.
        """
        self._results = list(results)
        self.experiment_path = experiment_path
        metric, mode = check_objectives(metric, mode, owner="ResultGrid", multi_ok=True,
                                        error=ConfigError)
        self._metric = metric
        self._mode = mode
        self._objectives = None if metric is None or mode is None else Objectives.of(metric, mode)
        try:
            self._constraints = parse_constraints(constraints or ())
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"ResultGrid(constraints=...): {exc}") from None

    @classmethod
    def from_path(
        cls,
        path: str | os.PathLike[str],
        *,
        storage_filesystem: fsspec.AbstractFileSystem | None = None,
    ) -> ResultGrid:
        """The results of the experiment saved at `path` (`<storage_path>/<name>`).

        Reads the experiment state and the trial directories only: no trainable is needed, and
        an unfinished or crashed experiment can be read too (as far as its last saved state).

        Raises:
            RestoreError: No experiment at `path`.
        """
        from tuner.analysis._read import open_experiment

        experiment = open_experiment(path, storage_filesystem)
        return cls(
            experiment.results(),
            experiment_path=experiment.path,
            metric=experiment.metric,
            mode=experiment.mode,
            constraints=experiment.constraints,
        )

    def plot_learning_curves(
        self, metric: str | None = None, path: Any = None, **kwargs: Any
    ) -> Any:
        """Plot `metric` over `training_iteration` for every trial; see `tuner.analysis._plot`.

        Writes a PNG (or whatever the suffix of `path` names) if `path` is given and returns the
        matplotlib `Figure`. Needs matplotlib (`pip install 'tuner[plot]'`).
        """
        from tuner.analysis._plot import plot_learning_curves

        return plot_learning_curves(self._results, self._need_metric(metric), path, **kwargs)

    def plot_scatter(
        self, param: str, metric: str | None = None, path: Any = None, **kwargs: Any
    ) -> Any:
        """Plot each trial's `metric` (last result) against its config value `param`."""
        from tuner.analysis._plot import plot_scatter

        return plot_scatter(self._results, param, self._need_metric(metric), path, **kwargs)

    def plot_pareto_front(self, path: Any = None, **kwargs: Any) -> Any:
        """Plot the objectives of every trial and the Pareto front; see `tuner.analysis._plot_pareto`.

        Two objectives: a scatter of the trials (infeasible ones marked apart) and the front's
        staircase; three or more: parallel coordinates, the front drawn over the rest.

        Raises:
            ConfigError: The experiment has fewer than two objectives.
        """
        from tuner.analysis._plot_pareto import plot_pareto_front

        objectives = self._need_objectives("plot_pareto_front")
        return plot_pareto_front(self._results, objectives, self._constraints, path, **kwargs)

    def _need_metric(self, metric: str | None) -> str:
        if metric is None and isinstance(self._metric, list):
            raise ConfigError(
                f"this experiment optimises several metrics, {self._metric}: pass the one to "
                f"plot, e.g. plot_learning_curves({self._metric[0]!r}, 'curves.png')"
            )
        metric = metric or self._single_metric
        if metric is None:
            raise ConfigError(
                "no metric to plot: pass one, e.g. plot_learning_curves('loss', 'curves.png'), "
                "or set TuneConfig(metric=...)"
            )
        return metric

    @property
    def _single_metric(self) -> str | None:
        return self._metric if isinstance(self._metric, str) else None

    def _need_objectives(self, owner: str) -> Objectives:
        if self._objectives is None:
            raise ConfigError(
                f"{owner} needs the experiment's objectives, but it was run without a metric: "
                "set TuneConfig(metric=[...], mode=[...]), or look at these trials with "
                "ResultGrid(list(grid), metric=['loss', 'latency'], mode=['min', 'min'])"
            )
        return self._objectives

    def __len__(self) -> int:
        return len(self._results)

    def __getitem__(self, index: int) -> Result:
        return self._results[index]

    def __iter__(self) -> Iterator[Result]:
        return iter(self._results)

    def __repr__(self) -> str:
        return (
            f"ResultGrid({len(self)} trials, {self.num_terminated} terminated, "
            f"{self.num_errors} errors, path={self.experiment_path!r})"
        )

    @property
    def errors(self) -> list[TrialError]:
        """The errors of the trials that failed."""
        return [r.error for r in self._results if r.error is not None and r.status == "ERROR"]

    @property
    def num_errors(self) -> int:
        return len(self.errors)

    @property
    def num_terminated(self) -> int:
        return sum(r.status == "TERMINATED" for r in self._results)

    def get_best_result(
        self,
        metric: str | None = None,
        mode: str | None = None,
        scope: str = "last",
        filter_nan_and_inf: bool = True,
    ) -> Result:
        """The trial whose `metric` is best in `mode`, judged by `scope`.

        Each trial gets one score: its last value of `metric` ("last"), the mean of all its
        values ("avg"), of its last 5 or 10 ("last-5-avg", "last-10-avg"), or its best value at
        any iteration ("all"). Ties go to the trial created first.

        With constraints, feasible trials rank before infeasible ones whatever `metric` is:
        the best is the feasible trial with the best score, or, if no trial with a score is
        feasible, the one with the smallest total violation (ties by score). Feasibility is
        that of the trial's last result, whatever the scope; see `is_feasible`.

        A multi-objective experiment has no single best trial: pass the `metric` to rank by
        (its mode defaults to that objective's), or use `get_pareto_front()`.

        Args:
            metric: Result key to rank by (default: TuneConfig's metric, if it is one).
            mode: "min" or "max" (default: TuneConfig's mode for that metric).
            scope: "last", "avg", "last-5-avg", "last-10-avg" or "all", as above.
            filter_nan_and_inf: Skip trials whose score is NaN or infinite (a diverged trial),
                as Ray Tune does; for "all", the best of a trial's finite values is its score.
                With False every score ranks: infinities as the numbers they are, NaN below
                every number in either mode (best only if all scores are NaN).

        Raises:
            ConfigError: No metric or mode (or several metrics), a bad mode or scope, a
                `metric` that is not a number, or no trial with a score to rank.

        Example:
            >>> grid.get_best_result("loss", "min", scope="all")  # doctest: +SKIP
        """
        metric, chosen = self._best_metric_and_mode(metric, mode)
        mode = check_mode(chosen, owner="get_best_result", error=ConfigError)
        if scope not in _SCOPES:
            raise ConfigError(f"scope must be one of {list(_SCOPES)}, got scope={scope!r}")
        scored: list[tuple[float, Result]] = []
        diverged = 0
        for result in self._results:
            score = _score(result, metric, mode, scope, finite_only=filter_nan_and_inf)
            if score is None:
                continue
            if filter_nan_and_inf and not math.isfinite(score):
                diverged += 1
                continue
            scored.append((score, result))
        if self._constraints and scored:
            feasible = [pair for pair in scored if self.is_feasible(pair[1])]
            if not feasible:
                return _front.least_violating(scored, self._constraints, mode)[1]
            scored = feasible
        best = best_by(scored, lambda pair: pair[0], mode)
        if best is None:
            if diverged:
                raise ConfigError(
                    f"no trial has a finite '{metric}' to rank by (scope {scope!r}): "
                    f"{diverged} trial(s) scored NaN or infinity; pass "
                    "get_best_result(..., filter_nan_and_inf=False) to rank them anyway"
                )
            keys = sorted(flatten(self._results[0].metrics)) if self._results else []
            raise ConfigError(
                f"no trial reported a numeric '{metric}' (the first trial's keys: {keys}): "
                "check the metric name"
            )
        return best[0][1]

    def _best_metric_and_mode(self, metric: object, mode: object) -> tuple[str, object]:
        """`get_best_result`'s metric and mode (still to be checked), defaulted from the
        experiment's objectives."""
        several = isinstance(self._metric, list)
        if metric is not None and not isinstance(metric, str):
            raise ConfigError(
                f"get_best_result ranks by one metric, got metric={metric!r}: pass one, e.g. "
                "get_best_result(metric='val_loss', mode='min'), or use get_pareto_front() "
                "for the trials no other beats on all of them"
            )
        if metric is None and several:
            first = self._objectives.metrics[0] if self._objectives else ""
            first_mode = self._objectives.modes[0] if self._objectives else "min"
            raise ConfigError(
                f"get_best_result ranks by one metric, but this experiment optimises "
                f"{len(self._metric or [])}: {self._metric}: pass one of them, e.g. "
                f"get_best_result(metric={first!r}, mode={first_mode!r}), or use "
                "get_pareto_front() for the trials no other beats on all of them"
            )
        metric = metric or self._single_metric
        if mode is None:
            if self._objectives is not None and metric in self._objectives.metrics:
                mode = self._objectives.modes[self._objectives.metrics.index(metric)]
            elif not several:
                mode = self._mode  # another metric, the experiment's one mode (as always)
            elif metric is not None:
                raise ConfigError(
                    f"get_best_result: the mode of '{metric}' is not known, it is none of the "
                    f"objectives {self._metric}: pass it, e.g. get_best_result(metric="
                    f"{metric!r}, mode='max')"
                )
        if metric is None or mode is None:
            raise ConfigError(
                "get_best_result needs a metric and a mode: pass them, e.g. "
                "get_best_result(metric='loss', mode='min'), or set TuneConfig(metric=, mode=)"
            )
        return metric, mode

    def is_feasible(self, result: Result) -> bool:
        """Whether `result`'s last metrics meet every constraint of the experiment (True
        without constraints; False where a constraint's metric is missing or not a number)."""
        return _front.feasibility(self._constraints, result.metrics).feasible

    def get_pareto_front(self) -> list[Result]:
        """The trials no feasible trial beats on every objective: the experiment's trade-offs.

        The front holds the feasible trials (every constraint met by the last result) whose
        objectives (last values) are finite and which no other such trial dominates (as good
        on every objective, better on one). It is sorted best first by the first objective
        (ties by the next objectives, then creation order); equal trials are all on it.

        With one objective, the front is the feasible trials that share the best value: one
        trial, or all that tie. With no feasible trial it is empty (`get_best_result` still
        names the least violating one). Trials whose objectives are missing, NaN or infinite
        are not on it.

        Raises:
            ConfigError: The experiment was run without a metric.

        Example:
            >>> for result in grid.get_pareto_front():  # doctest: +SKIP
            ...     print(result.metrics["val_loss"], result.metrics["latency_ms"])
        """
        objectives = self._need_objectives("get_pareto_front")
        return [self._results[i] for i in _front.front(self._results, objectives,
                                                       self._constraints)]

    def hypervolume(self, reference: Sequence[float] | Mapping[str, float]) -> float:
        """The hypervolume of the Pareto front: the volume of objective space its trials
        dominate, bounded by `reference`. Larger is better.

        `reference` is in the metrics' own units and directions (no sign flips): one value per
        objective, worse than the front, e.g. the largest acceptable loss and latency for
        mode=['min', 'min'] and the smallest acceptable accuracy for 'max'. A front trial that
        is not strictly better than the reference on every objective contributes nothing; an
        empty front (no feasible trial) has volume 0. Computed exactly
        (`searchers._hypervolume`).

        Args:
            reference: A sequence in objective order, or a mapping metric -> value.

        Raises:
            ConfigError: No objectives; a reference of the wrong length, with an unknown or
                missing metric, or a value that is not a finite number; or a reference that
                no front trial beats on every objective (its volume would be 0).

        Example:
            >>> grid.hypervolume({"val_loss": 1.0, "latency_ms": 100})  # doctest: +SKIP
            12.5
        """
        objectives = self._need_objectives("hypervolume")
        return _front.hypervolume(self._results, objectives, self._constraints, reference)

    def get_dataframe(
        self, filter_metric: str | None = None, filter_mode: str | None = None
    ) -> pd.DataFrame:
        """One row per trial: its last result (or its best finite one for `filter_metric`) and config.

        Config values are in `config/<name>` columns; nested keys are joined with "/".

        An experiment with several objectives or with constraints gets two more columns, for
        each trial's last result whatever `filter_metric` picks: `pareto` (on the front of
        `get_pareto_front()`) and `feasible` (`is_feasible`); one with constraints but no
        metric gets `feasible` only. Single-objective experiments without constraints get
        neither: their frames are as they always were.
        """
        import pandas as pd

        if filter_metric is not None:
            mode = check_mode(filter_mode, name="filter_mode", owner="get_dataframe",
                              error=ConfigError)
        objectives = self._objectives
        marked = bool(self._constraints) or isinstance(self._metric, list)
        on_front: set[int] | None = None
        if marked and objectives is not None:
            on_front = set(_front.front(self._results, objectives, self._constraints))
        rows = []
        for index, result in enumerate(self._results):
            metrics = result.metrics
            if filter_metric is not None:
                # NaN and infinite values are skipped, as by get_best_result: a trial's best
                # row is its best finite one (its last row if it has none).
                best = best_by(result._history(), _metric_of(filter_metric), mode)
                if best is not None:
                    metrics = best[0]
            row = flatten(metrics)
            row.update(flatten(result.config, "config"))
            row["trial_id"] = result.trial_id or row.get("trial_id")
            row["status"] = result.status
            row["logdir"] = result.path
            if on_front is not None:
                row["pareto"] = index in on_front
            if marked:
                row["feasible"] = self.is_feasible(result)
            rows.append(row)
        return pd.DataFrame(rows)


def _score(
    result: Result, metric: str, mode: str, scope: str, *, finite_only: bool
) -> float | None:
    """`result`'s score for `scope` (maybe NaN or infinite), or None if it has no value at all.

    With `finite_only`, scope "all" takes the best finite value: NaN has no place in an order,
    and a trial that diverged late still had its best iteration.
    """
    if scope == "last":
        flat = flatten(result.metrics)
        value = flat.get(metric)
        number = as_real(value)
        if number is None and value is not None:
            raise ConfigError(
                f"metric '{metric}' must be a number to rank trials, but trial "
                f"{result.trial_id} reported {value!r} ({type(value).__name__})"
            )
        return number
    history = [
        number
        for row in result._history()
        if (number := as_real(flatten(row).get(metric))) is not None
    ]
    if not history:
        return None
    if scope == "all":
        # NaN ranks after every number: the score only of a trial that has nothing else.
        values = [v for v in history if math.isfinite(v)] if finite_only else history
        best = best_by(values, lambda v: v, mode)
        return math.nan if best is None else best[1]
    window = {"avg": len(history), "last-5-avg": 5, "last-10-avg": 10}[scope]
    return _mean(history[-window:])


def _metric_of(metric: str) -> Callable[[Mapping[str, Any]], float | None]:
    """A result row's finite `metric` (a `best_by` score)."""
    return lambda row: metric_value(row, metric)


def _mean(values: list[float]) -> float:
    try:
        return statistics.fmean(values)
    except ValueError:  # both infinities: fsum refuses "-inf + inf"
        return math.nan

