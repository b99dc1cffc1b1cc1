"""`ResultGrid`: the results of every trial of an experiment, for analysis."""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from searchers._objective import as_real, best_by, check_mode
from tuner.analysis._result import Result, flatten, metric_value
from tuner.exceptions import ConfigError, TrialError

if TYPE_CHECKING:
    import fsspec
    import pandas as pd

_SCOPES = ("last", "avg", "last-5-avg", "last-10-avg", "all")


class ResultGrid:
    """The results of an experiment's trials, in creation order.

    Example:
        >>> grid = Tuner(train_fn, param_space=space).fit()  # doctest: +SKIP
        >>> best = grid.get_best_result(metric="loss", mode="min")  # doctest: +SKIP
        >>> grid.get_dataframe().sort_values("loss").head()  # doctest: +SKIP
        >>> grid = ResultGrid.from_path("s3://bucket/runs/my_exp")  # doctest: +SKIP
        >>> grid.plot_learning_curves("loss", "curves.png")  # doctest: +SKIP
    """

    def __init__(
        self,
        results: Sequence[Result],
        *,
        experiment_path: str = "",
        metric: str | None = None,
        mode: str | None = None,
    ) -> None:
        self._results = list(results)
        self.experiment_path = experiment_path
        self._metric = metric
        self._mode = mode

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

    def _need_metric(self, metric: str | None) -> str:
        metric = metric or self._metric
        if metric is None:
            raise ConfigError(
                "no metric to plot: pass one, e.g. plot_learning_curves('loss', 'curves.png'), "
                "or set TuneConfig(metric=...)"
            )
        return metric

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

        Args:
            metric: Result key to rank by (default: TuneConfig's metric).
            mode: "min" or "max" (default: TuneConfig's mode).
            scope: "last", "avg", "last-5-avg", "last-10-avg" or "all", as above.
            filter_nan_and_inf: Skip trials whose score is NaN or infinite (a diverged trial),
                as Ray Tune does; for "all", the best of a trial's finite values is its score.
                With False every score ranks: infinities as the numbers they are, NaN below
                every number in either mode (best only if all scores are NaN).

        Raises:
            ConfigError: No metric or mode, a bad mode or scope, a `metric` that is not a
                number, or no trial with a score to rank.

        Example:
            >>> grid.get_best_result("loss", "min", scope="all")  # doctest: +SKIP
        """
        metric = metric or self._metric
        mode = mode or self._mode
        if metric is None or mode is None:
            raise ConfigError(
                "get_best_result needs a metric and a mode: pass them, e.g. "
                "get_best_result(metric='loss', mode='min'), or set TuneConfig(metric=, mode=)"
            )
        check_mode(mode, owner="get_best_result", error=ConfigError)
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

    def get_dataframe(
        self, filter_metric: str | None = None, filter_mode: str | None = None
    ) -> pd.DataFrame:
        """One row per trial: its last result (or its best finite one for `filter_metric`) and config.

        Config values are in `config/<name>` columns; nested keys are joined with "/".
        """
        import pandas as pd

        if filter_metric is not None:
            mode = check_mode(filter_mode, name="filter_mode", owner="get_dataframe",
                              error=ConfigError)
        rows = []
        for result in self._results:
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

