"""The JSON answers of the dashboard's API, one function per endpoint (docs/dashboard.md).

Each takes a `LiveExperiment` (already refreshed by the watcher) and the query parameters,
and returns plain JSON data. Bad parameters raise `BadRequest`, unknown things `NotFound`;
the server turns them into 400 and 404 answers.
"""

from __future__ import annotations

import operator
import os
from collections.abc import Callable, Mapping
from typing import Any

from tuner.dashboard._experiment import LiveExperiment
from tuner.dashboard._history import is_number
from tuner.dashboard._trial import TrialView

MAX_LIMIT = 1000
MAX_CURVES = 50
_SORT_FIXED = ("trial_id", "status", "iterations")
_NUMBER_TYPES = (int, float, bool)
_NOT_METRICS = frozenset({"pid", "timestamp", "trial_id", "hostname", "node_ip", "date", "done"})


class BadRequest(ValueError):
    """A query parameter is missing or wrong (400)."""


class NotFound(LookupError):
    """Something the URL names does not exist (404)."""


Query = Mapping[str, list[str]]


def param(query: Query, name: str, default: str | None = None) -> str | None:
    values = query.get(name)
    return values[-1] if values else default


def int_param(query: Query, name: str, default: int, low: int, high: int) -> int:
    raw = param(query, name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be an integer, got {name}={raw!r}") from None
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low} and {high}, got {name}={value}")
    return value


# ---------------------------------------------------------------------------- experiment
def metric_names(exp: LiveExperiment) -> list[str]:
    """Numeric keys any trial reported: the objectives first, then the others sorted."""
    def build() -> list[str]:
        keys: set[str] = set()
        for view in exp.trials.values():
            keys |= view.numeric_keys()
        objectives = [m for m in exp.objectives() if m in keys]
        return objectives + sorted(keys - set(objectives) - _NOT_METRICS)
    names: list[str] = exp.cached("metrics", build)
    return names


def config_keys(exp: LiveExperiment) -> list[str]:
    """Flattened config keys, in the order trials first have them."""
    def build() -> list[str]:
        seen: dict[str, None] = {}
        for view in exp.trials.values():
            for key in view.flat_config:
                seen.setdefault(key, None)
        return list(seen)
    keys: list[str] = exp.cached("config_keys", build)
    return keys


def experiment(exp: LiveExperiment) -> dict[str, Any]:
    with exp.lock:
        summary = exp.summary()
        scheduler = exp.state.get("scheduler") or {}
        scheduler_class = str(scheduler.get("class") or "") or None
        searcher = exp.state.get("searcher") or {}
        settings = exp.state.get("settings") or {}
        objectives = exp.objectives()
        return {
            **summary,
            "metrics": metric_names(exp),
            "config_keys": config_keys(exp),
            "scheduler": scheduler_class.rsplit(".", 1)[-1] if scheduler_class else None,
            "searcher": (str(searcher.get("class") or "").rsplit(".", 1)[-1] or None),
            "multi_objective": len(objectives) > 1,
            "has_lineage": bool(exp.policy_rows) or "PopulationBased" in (scheduler_class or ""),
            "constraints": settings.get("constraints"),
            "checkpoint_score_attribute": _score_attribute(exp),
            "path": exp.url,
        }


# ---------------------------------------------------------------------------- trial table
def _check_column(exp: LiveExperiment, column: str) -> None:
    if column in _SORT_FIXED:
        return
    kind, _, key = column.partition("/")
    if kind in ("config", "last", "best") and key:
        return
    raise BadRequest(
        f"sort must be trial_id, status, iterations, config/<key>, last/<metric> or "
        f"best/<metric>, got sort={column!r}"
    )


def _getter(column: str) -> Callable[[TrialView], Any]:
    if column in _SORT_FIXED:
        return lambda view: view.value(column)
    kind, _, key = column.partition("/")
    if kind == "config":
        return lambda view: view.flat_config.get(key)
    if kind == "last":
        return lambda view: view.last.get(key)
    return lambda view: view.best_values().get(key)


def _ordered(exp: LiveExperiment, column: str, descending: bool) -> list[TrialView]:
    """All trials sorted by `column`: numbers, then text; those without a value last in
    either order. Sorted once per version of the experiment (10,000 trials: tens of ms)."""
    def build() -> list[TrialView]:
        views = list(exp.trials.values())
        if column == "trial_id":
            return views[::-1] if descending else views  # creation order, which ids follow
        get = _getter(column)
        numbers: list[tuple[float, TrialView]] = []
        texts: list[tuple[str, TrialView]] = []
        missing: list[TrialView] = []
        for view in views:
            value = get(view)
            if value is None:
                missing.append(view)
            elif type(value) in _NUMBER_TYPES:
                if value != value:  # NaN
                    missing.append(view)
                else:
                    numbers.append((value, view))
            else:
                texts.append((str(value), view))
        first = operator.itemgetter(0)
        numbers.sort(key=first, reverse=descending)
        texts.sort(key=first, reverse=descending)
        ordered = texts + numbers if descending else numbers + texts
        return [view for _, view in ordered] + missing
    ordered: list[TrialView] = exp.cached(("order", column, descending), build)
    return ordered


def trials(exp: LiveExperiment, query: Query) -> dict[str, Any]:
    offset = int_param(query, "offset", 0, 0, 10**9)
    limit = int_param(query, "limit", 50, 1, MAX_LIMIT)
    column = param(query, "sort") or "trial_id"
    order = param(query, "order") or "asc"
    if order not in ("asc", "desc"):
        raise BadRequest(f"order must be asc or desc, got order={order!r}")
    _check_column(exp, column)
    status = param(query, "status") or None
    if status is not None and status.upper() not in ("PENDING", "RUNNING", "PAUSED",
                                                     "TERMINATED", "ERROR"):
        raise BadRequest(
            f"status must be PENDING, RUNNING, PAUSED, TERMINATED or ERROR, got status={status!r}")
    text = (param(query, "q") or "").strip().lower()
    with exp.lock:
        views = _ordered(exp, column, order == "desc")
        if status is not None:
            views = [v for v in views if v.status == status.upper()]
        if text:
            views = [v for v in views if text in v.search_text]
        return {
            "total": len(views),
            "offset": offset,
            "limit": limit,
            "rows": [v.row() for v in views[offset:offset + limit]],
            "version": exp.version,
        }


# ---------------------------------------------------------------------------- curves, points
def _default_metric(exp: LiveExperiment, query: Query) -> str:
    metric = param(query, "metric")
    if metric:
        return metric
    objectives = exp.objectives()
    if objectives:
        return objectives[0]
    names = metric_names(exp)
    if not names:
        raise BadRequest("the experiment has no numeric results yet: pass metric=<name>")
    raise BadRequest(
        f"the experiment was run without a metric: pass metric=<name>, one of {names[:10]}")


def _unknown_metric(exp: LiveExperiment, metric: str) -> None:
    names = metric_names(exp)
    if names and metric not in names:
        raise BadRequest(f"no trial reported a number for {metric!r}; reported: {names[:20]}")


def curves(exp: LiveExperiment, query: Query) -> dict[str, Any]:
    metric = _default_metric(exp, query)
    x = param(query, "x") or "training_iteration"
    with exp.lock:
        _unknown_metric(exp, metric)
        wanted = [t for t in (param(query, "trials") or "").split(",") if t]
        if len(wanted) > MAX_CURVES:
            raise BadRequest(f"at most {MAX_CURVES} trials at a time, got {len(wanted)}")
        if not wanted:
            wanted = [v.trial_id for v in _best_first(exp, metric)[:MAX_CURVES]]
        unknown = [t for t in wanted if t not in exp.trials]
        if unknown:
            raise NotFound(f"no trial {unknown[0]!r} in experiment {exp.id!r}")
        exp.watch(wanted)
        result: dict[str, dict[str, list[float]]] = {}
        for trial_id in wanted:
            history = exp.trials[trial_id].history
            pairs = [(xv, yv) for xv, yv in zip(history.column(x), history.column(metric),
                                                strict=True)
                     if is_number(xv) and is_number(yv)]
            result[trial_id] = {"x": [p[0] for p in pairs], "y": [p[1] for p in pairs]}
        return {"metric": metric, "x": x, "curves": result, "version": exp.version}


def _best_first(exp: LiveExperiment, metric: str) -> list[TrialView]:
    """Trials by their last `metric`, best first where its mode is known (creation order else)."""
    mode = exp.objective_modes().get(metric)
    views = list(exp.trials.values())
    if mode is None:
        return views
    having = [v for v in views if is_number(v.last.get(metric))]
    having.sort(key=lambda v: float(v.last[metric]), reverse=mode == "max")
    return having + [v for v in views if not is_number(v.last.get(metric))]


def trial_value(exp: LiveExperiment, view: TrialView, metric: str, which: str) -> float | None:
    if which == "best" and metric in exp.objective_modes():
        value = view.best_values().get(metric)
    else:
        value = view.last.get(metric)
    return float(value) if is_number(value) else None


def points(exp: LiveExperiment, query: Query) -> dict[str, Any]:
    metric = _default_metric(exp, query)
    which = param(query, "which") or "last"
    if which not in ("last", "best"):
        raise BadRequest(f"which must be last or best, got which={which!r}")
    with exp.lock:
        _unknown_metric(exp, metric)
        return {
            "metric": metric,
            "which": which,
            "mode": exp.objective_modes().get(metric),
            "config_keys": config_keys(exp),
            "points": [
                {"trial_id": v.trial_id, "status": v.status, "config": v.flat_config,
                 "value": trial_value(exp, v, metric, which)}
                for v in exp.trials.values()
            ],
            "version": exp.version,
        }


def importance(exp: LiveExperiment, query: Query) -> dict[str, Any]:
    from tuner.dashboard._importance import parameter_importance

    metric = _default_metric(exp, query)
    with exp.lock:
        _unknown_metric(exp, metric)

        def build() -> dict[str, Any]:
            which = "best" if metric in exp.objective_modes() else "last"
            finished = [v for v in exp.trials.values() if v.status == "TERMINATED"]
            return parameter_importance(
                [v.flat_config for v in finished],
                [trial_value(exp, v, metric, which) for v in finished],
                config_keys(exp),
            )

        # Computed under the lock: a forest on 2,000 trials takes about half a second, and
        # once per version of the experiment.
        found: dict[str, Any] = exp.cached(("importance", metric), build)
        return {"metric": metric, **found, "version": exp.version}


# ---------------------------------------------------------------------------- errors, lineage
def errors(exp: LiveExperiment) -> dict[str, Any]:
    with exp.lock:
        rows = []
        for view in exp.trials.values():
            text = view.trial.error
            if not text:
                continue
            rows.append({
                "trial_id": view.trial_id,
                "status": view.status,
                "message": view.error,
                "traceback": text,
                "num_failures": view.trial.num_failures,
            })
        return {"errors": rows, "version": exp.version}


def lineage(exp: LiveExperiment) -> dict[str, Any]:
    """PBT's exploits, from ``pbt_policy.jsonl`` (rows as `tuner.output._policy_log` writes)."""
    with exp.lock:
        events = []
        for row in exp.policy_rows:
            events.append({
                "trial_id": row.get("target_trial_id"),
                "donor_trial_id": row.get("donor_trial_id"),
                "iteration": row.get("target_iteration"),
                "donor_iteration": row.get("donor_iteration"),
                "time": row.get("time"),
                "old_config": _nested(row, "old_config"),
                "new_config": _nested(row, "new_config"),
                "target_config": _nested(row, "target_config"),
            })
        return {"events": events, "version": exp.version}


def _nested(row: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """The flat keys `prefix/...` of a flattened row, as a flat config again."""
    start = prefix + "/"
    return {k[len(start):]: v for k, v in row.items() if k.startswith(start)}


def pareto(exp: LiveExperiment) -> dict[str, Any]:
    from searchers._constraints import parse_constraints
    from searchers._pareto import Objectives
    from tuner.analysis import _front
    from tuner.analysis._result import Result

    with exp.lock:
        modes = exp.objective_modes()
        names = exp.objectives()
        if len(names) < 2 or len(modes) != len(names):
            metric = exp.saved.metric if exp.saved is not None else None
            raise NotFound(f"experiment {exp.id!r} is not multi-objective (metric={metric!r}): "
                           "it has no Pareto front")
        objectives = Objectives(tuple(names), tuple(modes[n] for n in names))
        constraints = parse_constraints(exp.state["settings"].get("constraints") or ())
        views = list(exp.trials.values())
        results = [Result(metrics=v.last, config=v.config, path=v.path, trial_id=v.trial_id)
                   for v in views]

        def build() -> dict[str, Any]:
            on_front = set(_front.front(results, objectives, constraints))
            rows = []
            for i, result in enumerate(results):
                values = _front.objective_values(objectives, result.metrics)
                if values is None:
                    continue
                rows.append({
                    "trial_id": result.trial_id,
                    "status": views[i].status,
                    "values": list(values),
                    "front": i in on_front,
                    "feasible": _front.feasibility(constraints, result.metrics).feasible,
                })
            return {"metrics": names, "modes": [modes[n] for n in names], "points": rows}

        found: dict[str, Any] = exp.cached("pareto", build)
        return {**found, "version": exp.version}


# ---------------------------------------------------------------------------- one trial
def _score_attribute(exp: LiveExperiment) -> str | None:
    settings = exp.state.get("settings") or {}
    attribute = (settings.get("checkpoint_config") or {}).get("checkpoint_score_attribute")
    if attribute:
        return str(attribute)
    objectives = exp.objectives()
    return objectives[0] if len(objectives) == 1 else None


def _size(exp: LiveExperiment, path: str) -> int | None:
    """Bytes in a checkpoint directory (None if it is gone)."""
    if exp.local:
        total = 0
        if not os.path.isdir(path):
            return None
        for folder, _, files in os.walk(path):
            for name in files:
                try:
                    total += os.lstat(os.path.join(folder, name)).st_size
                except OSError:
                    continue
        return total
    try:
        return int(exp.fs.du(path, total=True))
    except (FileNotFoundError, OSError):
        return None


def trial(exp: LiveExperiment, trial_id: str) -> dict[str, Any]:
    from tuner.analysis._read import user_url
    from tuner.analysis._result import flatten

    with exp.lock:
        view = exp.trials.get(trial_id)
        if view is None:
            raise NotFound(f"no trial {trial_id!r} in experiment {exp.id!r}")
        exp.watch([trial_id])
        attribute = _score_attribute(exp)
        records = list(view.trial.checkpoints)
        history = view.history.rows() if len(view.history) else (
            [view.last] if view.last else [])
        error = None
        if view.trial.error:
            error = {"message": view.error, "traceback": view.trial.error}
        answer = {
            "trial_id": view.trial_id,
            "status": view.status,
            "config": view.config,
            "history": history,
            "error": error,
            "logdir": user_url(exp.fs, view.path),
            "num_failures": view.trial.num_failures,
            "score_attribute": attribute,
            "readable": view.readable,
            "version": exp.version,
        }
    checkpoints = []
    for record in records:
        metrics = flatten(record.metrics)
        score = metrics.get(attribute) if attribute else None
        checkpoints.append({
            "index": record.index,
            "path": user_url(exp.fs, record.path),
            "size_bytes": _size(exp, record.path) if view.readable else None,
            "score": float(score) if is_number(score) else None,
            "metrics": metrics,
        })
    answer["checkpoints"] = checkpoints
    return answer
