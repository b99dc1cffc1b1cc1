"""`OptunaSearch`: any Optuna sampler behind the searcher interface (ask and tell)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from searchers._base import Searcher, SearchSignal
from searchers._constraints import Constraint
from searchers._model import ModelSearcher
from searchers._optuna_constraints import (
    constraint_values,
    constraints_func,
    set_on_trial,
    sets_constraints,
    trial_attrs,
)
from searchers._optuna_space import (
    distribution,
    finite_values,
    flatten,
    from_optuna,
    import_optuna,
    native_space,
    to_optuna,
    unflatten,
)
from searchers._outcome import Outcome
from searchers._paths import copy_structure, find_domains, find_grids, merge

logger = logging.getLogger(__name__)

DefineByRun = Callable[[Any], Mapping[str, Any] | None]
"""A function of an `optuna.Trial` that calls `trial.suggest_*` and may return constants."""


class OptunaSearch(ModelSearcher):
    """Suggest configs with an Optuna sampler (TPE by default) through Optuna's ask and tell.

    The space is one of:

    - tuner domains (`uniform`, `choice`, ...; here or in the Tuner's `param_space`): each
      parameter becomes an Optuna distribution named by its path (`model/lr`); floats and
      integers keep their bounds and log scale, a quantised domain is searched over the
      multiples of `q`, a categorical by the index of its choice, `randn` within 4 sd of its
      mean; `sample_from` values are computed from the sampled ones;
    - a define-by-run function, as in Ray Tune: `space=fn` where `fn(trial)` calls
      `trial.suggest_float(...)` and the like (conditionally, if it likes) and returns None or a
      dict of constants that join the config; or
    - a dict of `optuna.distributions` (nested dicts join their keys with `/`).

    With the last two the Tuner's `param_space` may hold constants only. Parameter names with
    `/` become nested dicts in the config.

    Several objectives, as in Ray Tune: `metric=["loss", "gain"], mode=["min", "max"]` (here or
    in TuneConfig) makes a multi-objective study (`directions`) that is told every objective of
    each trial's last result. TuneConfig's metric may be left out, be the same lists, or name one
    of the objectives with its mode (for schedulers and `ResultGrid.get_best_result()`).

    Constraints (`TuneConfig(constraints=["memory_mb <= 512"])`) are told to the study with
    each trial, in Optuna's form (<= 0: met; `searchers._optuna_constraints`), and the samplers
    that handle constraints (TPESampler, NSGAIISampler, NSGAIIISampler, GPSampler) rank by
    them: feasible trials first, then by total violation. From Optuna 5.0 they are set with
    `Trial.set_constraint`, which every such sampler reads, yours included; samplers that do
    not handle constraints (RandomSampler, QMCSampler) ignore them. Before 5.0 a sampler sees
    them only through its `constraints_func`: the default `TPESampler` gets
    `OptunaSearch.constraints_func`, and a sampler of your own must be built with it, e.g.
    `NSGAIISampler(constraints_func=OptunaSearch.constraints_func, seed=0)`, or
    `set_constraints` raises.

    State: every trial told to the study is stored as JSON and replayed into a fresh study on
    `load_state_dict`. Optuna samplers keep their own random state, which is not restored: a
    restored searcher is equivalent to the original (same knowledge) but not bit-identical. Its
    sampler is seeded anew (from `seed` and the number of suggestions made, or at random for a
    sampler passed in), so that it does not draw the first run's startup configs again.

    Args:
        space: Tuner domains, a define-by-run function or Optuna distributions; None to take
            the Tuner's `param_space`.
        metric: The metric to optimise, a list of them, or None to take TuneConfig's.
        mode: "min" or "max", a list of them (one per metric), or None to take TuneConfig's.
        points_to_evaluate: Partial configs to try first (missing values are sampled).
        sampler: An `optuna.samplers.BaseSampler`; None for `TPESampler(seed=seed)`.
        seed: Seed of the default sampler and of this searcher's own generator.
        evaluated_rewards: The results of `points_to_evaluate`, already known: the points are
            told to the study instead of run. One number per point (a list of numbers with
            several objectives); each point must set every parameter. Not with a
            define-by-run space.

    Example:
        >>> from searchers import OptunaSearch
        >>> def space(trial):
        ...     if trial.suggest_categorical("kind", ["a", "b"]) == "a":
        ...         trial.suggest_float("x", -1, 1)
        ...     return {"epochs": 3}
        >>> search = OptunaSearch(space, metric="loss", mode="min", seed=0)
        >>> config = search.suggest("t0")
        >>> search.on_trial_complete("t0", {"loss": 1.0})
        >>> config["epochs"], len(search.observations)
        (3, 1)
    """

    max_queued = 1
    supports_multi_objective = True
    supports_constraints = True

    def __init__(
        self,
        space: Mapping[str, Any] | DefineByRun | None = None,
        *,
        metric: str | Sequence[str] | None = None,
        mode: str | Sequence[str] | None = None,
        points_to_evaluate: Sequence[Mapping[str, Any]] | None = None,
        sampler: Any = None,
        seed: int | None = None,
        evaluated_rewards: Sequence[Any] | None = None,
    ) -> None:
        self._optuna = import_optuna()
        if sampler is not None and not isinstance(sampler, self._optuna.samplers.BaseSampler):
            raise ValueError(
                f"`sampler` must be an optuna.samplers.BaseSampler, got {sampler!r}: pass e.g. "
                "optuna.samplers.TPESampler(seed=0)"
            )
        self._define_by_run: DefineByRun | None = None
        self._fixed: dict[str, Any] | None = None  # a space of Optuna distributions, flat
        if callable(space) and not isinstance(space, Mapping):
            self._define_by_run = space
        elif space is not None:
            self._fixed = native_space(space, self._optuna)
        native = self._define_by_run is not None or self._fixed is not None
        points = list(points_to_evaluate or [])
        self._rewarded: list[tuple[Mapping[str, Any], Any]] = []
        if evaluated_rewards is not None:
            if self._define_by_run is not None:
                raise ValueError(
                    "`evaluated_rewards` needs a space whose parameters are known up front, "
                    "got a define-by-run function: give the space as tuner domains or optuna "
                    "distributions, or drop evaluated_rewards to run the points"
                )
            if len(evaluated_rewards) != len(points):
                raise ValueError(
                    f"`evaluated_rewards` needs one result per point of `points_to_evaluate`, "
                    f"got {len(evaluated_rewards)} rewards for {len(points)} points"
                )
            self._rewarded, points = list(zip(points, evaluated_rewards, strict=True)), []
        if native and any(not isinstance(p, Mapping) for p in points):
            raise ValueError(
                f"`points_to_evaluate` must be a list of dicts, got {points!r}: pass partial "
                "configs such as [{'lr': 0.1}]"
            )
        self._enqueued = [flatten(p) for p in points] if native else []
        self._seed = seed
        self._sampler = sampler
        self._study: Any = None
        self._asked: dict[str, Any] = {}  # trial id -> the Optuna trial asked for it
        self._just_asked: Any = None
        self._records: dict[str, dict[str, Any]] = {}  # live trial id -> its Optuna params
        self._told: list[dict[str, Any]] = []  # trials told to the study, for the state
        super().__init__(
            space if isinstance(space, Mapping) and not native else None,
            metric=_as_list(metric),
            mode=_as_list(mode),
            points_to_evaluate=None if native else points,
            seed=seed,
        )
        if native:
            self._space = {}  # the Tuner's constants, once known

    @staticmethod
    def constraints_func(trial: Any) -> list[float]:
        """An Optuna `constraints_func`: the constraint values OptunaSearch stored on `trial`
        (<= 0: met), none if it stored none. For a sampler of your own before Optuna 5.0
        (from 5.0 samplers read the constraints without it, and Optuna deprecates it)."""
        return constraints_func(trial)

    @property
    def _objective_metrics(self) -> tuple[str, ...]:
        """The metrics the study is told (TuneConfig's constraints are not among them)."""
        if self.metric is None:
            return ()
        return (self.metric,) if isinstance(self.metric, str) else tuple(self.metric)

    @property
    def _native(self) -> bool:
        return self._define_by_run is not None or self._fixed is not None

    def set_search_properties(
        self,
        metric: str | Sequence[str] | None,
        mode: str | Sequence[str] | None,
        param_space: Mapping[str, Any],
    ) -> None:
        """Take the experiment's metric(s), mode(s) and (unless given at construction) space."""
        if isinstance(self.metric, list) and isinstance(metric, str):
            modes = self.mode if isinstance(self.mode, list) else []
            if not any(metric == m and mode == d for m, d in zip(self.metric, modes, strict=True)):
                raise ValueError(
                    f"OptunaSearch was built with metric={self.metric!r}, mode={self.mode!r} but "
                    f"TuneConfig has metric={metric!r}, mode={mode!r}: leave TuneConfig's metric "
                    "out, or set it to one of the objectives with its mode"
                )
            metric = mode = None  # the study optimises all objectives
        if not self._native:
            super().set_search_properties(metric, mode, param_space)
            return
        Searcher.set_search_properties(self, metric, mode, param_space)
        if find_domains(param_space) or find_grids(param_space):
            raise ValueError(
                "OptunaSearch was given a search space and so was the Tuner (param_space): "
                "define it in one place only (the Tuner's param_space may hold constants)"
            )
        self._space = dict(copy_structure(param_space))

    def set_constraints(self, constraints: tuple[Constraint, ...]) -> None:
        """Take the constraints; before Optuna 5.0 a sampler passed in must have been built
        with a `constraints_func` to see them.

        Raises:
            ValueError: Before Optuna 5.0, the sampler has no `constraints_func`.
        """
        super().set_constraints(constraints)
        if constraints and self._sampler is not None and not sets_constraints(self._optuna) and (
            getattr(self._sampler, "_constraints_func", None) is None
        ):
            name = type(self._sampler).__name__
            raise ValueError(
                f"OptunaSearch's sampler {name} would not see the constraints "
                f"{[str(c) for c in constraints]}: build it with "
                f"{name}(constraints_func=OptunaSearch.constraints_func, ...) (TPESampler, "
                "NSGAIISampler, NSGAIIISampler and GPSampler take one), or leave `sampler` out "
                "for a TPESampler that does"
            )

    def _get_study(self) -> Any:
        if self._study is None:
            sampler = self._sampler_for_study()
            modes = [self.mode] if isinstance(self.mode, str) else list(self.mode or ["min"])
            directions = ["maximize" if m == "max" else "minimize" for m in modes]
            self._study = self._optuna.create_study(directions=directions, sampler=sampler)
            for point in self._enqueued[self._n_suggested:]:
                self._study.enqueue_trial(point)
            for record in self._told:  # a restored state: what the original study knew
                self._study.add_trial(self._frozen_trial(record, record["values"]))
        return self._study

    def _sampler_for_study(self) -> Any:
        """The sampler of a new study. One rebuilt after a restore (suggestions made already)
        gets a new seed: the same seed would draw the first run's startup configs again."""
        optuna, resumed = self._optuna, self._n_suggested > 0
        if self._sampler is not None:
            if resumed:
                self._sampler.reseed_rng()
            return self._sampler
        seed = self._seed
        if resumed and seed is not None:
            import numpy as np  # the seed after `n_suggested` suggestions, the same every time

            seed = int(np.random.SeedSequence([seed, self._n_suggested]).generate_state(1)[0])
        if self.constraints and not sets_constraints(optuna):
            return optuna.samplers.TPESampler(seed=seed, constraints_func=self.constraints_func)
        return optuna.samplers.TPESampler(seed=seed)

    def _frozen_trial(self, record: Mapping[str, Any], values: list[float]) -> Any:
        optuna = self._optuna
        json_to_distribution = optuna.distributions.json_to_distribution
        attrs: dict[str, Any] = {}
        if "constraints" in record:
            attrs = trial_attrs(optuna, self.constraints, record["constraints"])
        return optuna.trial.create_trial(
            params=dict(record["params"]),
            distributions={k: json_to_distribution(v) for k, v in record["distributions"].items()},
            values=values,
            **attrs,
        )

    def _record(
        self, params: Mapping[str, Any], distributions: Mapping[str, Any]
    ) -> dict[str, Any]:
        to_json = self._optuna.distributions.distribution_to_json
        return {"params": dict(params),
                "distributions": {k: to_json(d) for k, d in distributions.items()}}

    def _record_of(self, encoded: list[float | int]) -> dict[str, Any]:
        """The Optuna params of a config of tuner domains, by its encoded values."""
        optuna = self._optuna
        return self._record(
            {p.name: to_optuna(optuna, p, e) for p, e in zip(self.params, encoded, strict=True)},
            {p.name: distribution(optuna, p) for p in self.params},
        )

    # ------------------------------------------------------------------ suggesting
    def _propose(self) -> list[Any]:
        distributions = {p.name: distribution(self._optuna, p) for p in self.params}
        trial = self._get_study().ask(distributions)
        self._just_asked = trial
        return [from_optuna(p, trial.params[p.name]) for p in self.params]

    def _next_config(self, space: Mapping[str, Any]) -> dict[str, Any]:
        if not self._native:
            return super()._next_config(space)
        trial = self._get_study().ask(self._fixed)
        self._just_asked = trial
        constants = {}
        if self._define_by_run is not None:
            constants = _checked_constants(self._define_by_run(trial))
        return dict(merge(space, unflatten({**trial.params, **constants})))

    def suggest(self, trial_id: str) -> dict[str, Any] | SearchSignal | None:
        """The next point to evaluate, else the Optuna sampler's proposal."""
        self._just_asked = None
        config = super().suggest(trial_id)
        trial, self._just_asked = self._just_asked, None
        if not isinstance(config, dict):
            return config
        if trial is not None:
            self._asked[trial_id] = trial
            self._records[trial_id] = self._record(trial.params, trial.distributions)
        else:  # a point to evaluate, suggested without asking the study
            self._records[trial_id] = self._record_of(self._live[trial_id])
        return config

    # ------------------------------------------------------------------ learning
    def _values(
        self, result: Mapping[str, Any] | None, error: bool, trial_id: str
    ) -> tuple[list[float], list[float] | None] | None:
        """The objective values the study is told and the constraint values (None without
        constraints), or None if the trial is told it failed."""
        if error or result is None:
            logger.info("OptunaSearch: trial %s errored or reported nothing; not observed",
                        trial_id)
            return None
        values = finite_values(result, self._objective_metrics)
        constraints = constraint_values(self.constraints, result) if self.constraints else None
        for problem in (values, constraints):
            if isinstance(problem, str):
                logger.warning("OptunaSearch: trial %s result %s; not observed", trial_id,
                               problem)
                return None
        return values, constraints  # type: ignore[return-value]  # no str left

    def _observe_values(
        self, encoded: list[float | int], values: list[float], constraints: list[float] | None
    ) -> None:
        """The base's outcome of the trial (`observations`, `outcomes`)."""
        modes = [self.mode] if isinstance(self.mode, str) else list(self.mode or [])
        losses = tuple(v if m == "min" else -v for v, m in zip(values, modes, strict=True))
        if constraints is None:
            self.outcomes.append((encoded, Outcome(losses)))
            return
        violation = sum(max(0.0, c) for c in constraints)
        self.outcomes.append((encoded, Outcome(losses, violation, all(c <= 0 for c in constraints))))

    def _tell(
        self,
        trial: Any,
        record: dict[str, Any],
        told: tuple[list[float], list[float] | None] | None,
    ) -> None:
        study = self._get_study()
        if told is None:
            if trial is not None:
                study.tell(trial, state=self._optuna.trial.TrialState.FAIL)
            return
        values, constraints = told
        if constraints is not None:
            record = {**record, "constraints": constraints}
        if trial is not None:
            if constraints is not None:
                set_on_trial(self._optuna, trial, self.constraints, constraints)
            study.tell(trial, values)
        else:  # suggested as a point, or before a restore: add it whole
            study.add_trial(self._frozen_trial(record, values))
        self._told.append({**record, "values": values})

    def on_trial_complete(
        self, trial_id: str, result: Mapping[str, Any] | None = None, error: bool = False
    ) -> None:
        """Tell the study the trial's final metric(s), or that it failed."""
        encoded = self._live.pop(trial_id, None)
        record = self._records.pop(trial_id, None)
        trial = self._asked.pop(trial_id, None)
        if encoded is None or record is None:
            logger.debug("OptunaSearch: trial %s was not suggested here", trial_id)
            return
        told = self._values(result, error, trial_id)
        if told is not None:
            self._observe_values(encoded, *told)
        self._tell(trial, record, told)

    def add_evaluated_points(
        self, points: Sequence[Mapping[str, Any]], results: Sequence[Mapping[str, Any]]
    ) -> None:
        """Tell the study configs evaluated elsewhere; each must set every parameter."""
        self._check_ready()
        if self._define_by_run is not None:
            raise ValueError(
                "OptunaSearch with a define-by-run space cannot take evaluated points (their "
                "parameters are not known up front): give the space as tuner domains or "
                "optuna distributions"
            )
        if len(points) != len(results):
            raise ValueError(
                f"`points` and `results` must have the same length, got {len(points)} and "
                f"{len(results)}"
            )
        for i, (point, result) in enumerate(zip(points, results, strict=True)):
            name = f"points[{i}]"
            encoded: list[float | int] = []
            if self._fixed is not None:
                params = flatten(point)
                if set(params) != set(self._fixed):
                    raise ValueError(
                        f"{name} must set exactly the parameters {sorted(self._fixed)}, got "
                        f"{sorted(params)}"
                    )
                record = self._record(params, self._fixed)
            else:
                encoded = self._encode_point(point, name)
                record = self._record_of(encoded)
            told = self._values(result, False, name)
            if told is not None:
                self._observe_values(encoded, *told)
                self._tell(None, record, told)

    def _warm_start(self) -> None:
        """Tell the study `points_to_evaluate` with their `evaluated_rewards`."""
        if not self._rewarded:
            return
        if self.constraints:
            logger.warning(
                "OptunaSearch: evaluated_rewards give the objectives only, so the %d points are "
                "not told: with constraints, pass each point's result with its constraint "
                "metrics to add_evaluated_points(points, results)", len(self._rewarded),
            )
            return
        metrics = self._objective_metrics
        results = []
        for i, (_, reward) in enumerate(self._rewarded):
            rewards = reward if isinstance(reward, (list, tuple)) else [reward]
            if len(rewards) != len(metrics):
                raise ValueError(
                    f"evaluated_rewards[{i}] must give one value per objective {list(metrics)}, "
                    f"got {reward!r}"
                )
            results.append(dict(zip(metrics, rewards, strict=True)))
        self.add_evaluated_points([p for p, _ in self._rewarded], results)

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """The base state, the trials told to the study and the Optuna params of live ones."""
        state = super().state_dict()
        state["told"] = [dict(r) for r in self._told]
        state["records"] = [[k, r] for k, r in self._records.items()]
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore `state_dict()`: the told trials are replayed into a fresh study."""
        super().load_state_dict(state)
        self._study = None
        self._asked = {}
        if "told" in state:
            self._told = [dict(r) for r in state["told"]]
            self._records = {k: dict(r) for k, r in state["records"]}
            return
        # A state from before multi-objective support: one minimised loss per observation.
        sign = 1.0 if self.mode != "max" else -1.0
        self._told = [{**self._record_of(encoded), "values": [sign * loss]}
                      for encoded, loss in self.observations]
        self._records = {k: self._record_of(v) for k, v in self._live.items()}


def _as_list(value: Any) -> Any:
    """A tuple of names as a list, what `Searcher` takes; anything else as it is (the base
    class checks it)."""
    return list(value) if isinstance(value, tuple) else value


def _checked_constants(returned: Any) -> dict[str, Any]:
    """What a define-by-run function returned: None or a dict of constants with str keys."""
    if returned is None:
        return {}
    if not isinstance(returned, Mapping) or not all(isinstance(k, str) for k in returned):
        raise TypeError(
            f"the define-by-run function passed as `space` must return None or a dict of "
            f"constants with str keys, got {returned!r}: return e.g. {{'epochs': 10}}"
        )
    return dict(returned)
