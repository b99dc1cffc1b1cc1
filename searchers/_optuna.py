"""`OptunaSearch`: any Optuna sampler behind the searcher interface (ask and tell)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from searchers._model import NORMAL_SPAN, ModelSearcher, Param
from searchers._space import Categorical, Float, Integer, Normal


def _import_optuna() -> Any:
    try:
        import optuna
    except ImportError as error:
        raise ImportError(
            "install optuna to use OptunaSearch (pip install 'tuner[optuna]')"
        ) from error
    return optuna


class OptunaSearch(ModelSearcher):
    """Suggest configs with an Optuna sampler (TPE by default) through Optuna's ask and tell.

    Each parameter becomes an Optuna distribution named by its path (`model/lr`): floats and
    integers keep their bounds and log scale, a quantised domain is searched over the multiples
    of `q` (as integers), a categorical by the index of its choice, and `randn` within 4 sd of its
    mean. `sample_from` values are computed from the sampled ones. The Optuna study always
    minimises (the metric is negated for `mode="max"`).

    State: the observations are stored as JSON and replayed into a fresh study on
    `load_state_dict`. Optuna samplers keep their own random state, which is not restored: a
    restored searcher is equivalent to the original (same knowledge) but not bit-identical.

    Args:
        space: The search space, or None to take the Tuner's `param_space`.
        metric: The metric to optimise, or None to take TuneConfig's.
        mode: "min" or "max", or None to take TuneConfig's.
        sampler: An `optuna.samplers.BaseSampler`; None for `TPESampler(seed=seed)`.
        seed: Seed of the default sampler and of this searcher's own generator.
        points_to_evaluate: Partial configs to try first (missing values are sampled).

    Example:
        >>> from searchers import OptunaSearch, uniform
        >>> search = OptunaSearch({"x": uniform(-1, 1)}, metric="loss", mode="min", seed=0)
        >>> config = search.suggest("t0")
        >>> search.on_trial_complete("t0", {"loss": config["x"] ** 2})
        >>> len(search.observations)
        1
    """

    max_queued = 1

    def __init__(
        self,
        space: Mapping[str, Any] | None = None,
        *,
        metric: str | None = None,
        mode: str | None = None,
        sampler: Any = None,
        seed: int | None = None,
        points_to_evaluate: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        self._optuna = _import_optuna()
        if sampler is not None and not isinstance(sampler, self._optuna.samplers.BaseSampler):
            raise ValueError(
                f"`sampler` must be an optuna.samplers.BaseSampler, got {sampler!r}: pass e.g. "
                "optuna.samplers.TPESampler(seed=0)"
            )
        self._seed = seed
        self._sampler = sampler
        self._study: Any = None
        self._asked: dict[str, Any] = {}  # trial id -> the Optuna trial asked for it
        self._just_asked: Any = None
        super().__init__(
            space, metric=metric, mode=mode, points_to_evaluate=points_to_evaluate, seed=seed
        )

    def _distribution(self, param: Param) -> Any:
        dist = self._optuna.distributions
        domain = param.domain
        if isinstance(domain, Categorical):
            return dist.CategoricalDistribution(list(range(len(domain.categories))))
        if isinstance(domain, Float):
            if domain.q is not None and not domain.log:
                q = domain.q
                return dist.IntDistribution(math.ceil(domain.low / q - 1e-9),
                                            math.floor(domain.high / q + 1e-9))
            return dist.FloatDistribution(domain.low, domain.high, log=domain.log)
        if isinstance(domain, Integer):
            q = domain.q or 1
            return dist.IntDistribution(-((-domain.low) // q), (domain.high - 1) // q,
                                        log=domain.log)
        if isinstance(domain, Normal):
            span = NORMAL_SPAN * domain.sd
            return dist.FloatDistribution(domain.mean - span, domain.mean + span)
        raise ValueError(f"OptunaSearch cannot search {domain!r} at {param.name!r}")

    def _from_optuna(self, param: Param, value: Any) -> Any:
        domain = param.domain
        if isinstance(domain, Categorical):
            return domain.categories[int(value)]
        if isinstance(domain, Float):
            return domain.quantize(value * domain.q if domain.q and not domain.log else value)
        if isinstance(domain, Integer):
            return int(value) * (domain.q or 1)
        if isinstance(domain, Normal):
            return domain.quantize(value)
        raise ValueError(f"OptunaSearch cannot search {domain!r} at {param.name!r}")

    def _to_optuna(self, param: Param, encoded: float | int) -> Any:
        domain = param.domain
        distribution = self._distribution(param)
        if isinstance(domain, Categorical):
            return int(encoded)
        if isinstance(domain, Float) and domain.q is not None and not domain.log:
            value: Any = round(encoded / domain.q)
        elif isinstance(domain, Integer):
            value = int(encoded) // (domain.q or 1)
        else:
            value = float(encoded)
        return min(max(value, distribution.low), distribution.high)

    def _get_study(self) -> Any:
        if self._study is None:
            sampler = self._sampler or self._optuna.samplers.TPESampler(seed=self._seed)
            self._study = self._optuna.create_study(direction="minimize", sampler=sampler)
        return self._study

    def _propose(self) -> list[Any]:
        distributions = {p.name: self._distribution(p) for p in self.params}
        trial = self._get_study().ask(distributions)
        self._just_asked = trial
        return [self._from_optuna(p, trial.params[p.name]) for p in self.params]

    def suggest(self, trial_id: str) -> Any:
        """The next point to evaluate, else the Optuna sampler's proposal."""
        self._just_asked = None
        config = super().suggest(trial_id)
        if self._just_asked is not None:
            self._asked[trial_id] = self._just_asked
        return config

    def _tell(self, trial: Any, encoded: list[float | int], loss: float | None) -> None:
        optuna = self._optuna
        study = self._get_study()
        if trial is not None:
            if loss is None:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
            else:
                study.tell(trial, loss)
        elif loss is not None:  # suggested as a point, or before a restore: add it whole
            study.add_trial(optuna.trial.create_trial(
                params={p.name: self._to_optuna(p, e)
                        for p, e in zip(self.params, encoded, strict=True)},
                distributions={p.name: self._distribution(p) for p in self.params},
                value=loss,
            ))

    def on_trial_complete(
        self, trial_id: str, result: Mapping[str, Any] | None = None, error: bool = False
    ) -> None:
        """Tell the study the trial's final metric (or that it failed)."""
        encoded = self._live.get(trial_id)
        trial = self._asked.pop(trial_id, None)
        before = len(self.observations)
        super().on_trial_complete(trial_id, result, error)
        if encoded is None:
            return
        observed = len(self.observations) > before
        self._tell(trial, encoded, self.observations[-1][1] if observed else None)

    def add_evaluated_points(
        self, points: Sequence[Mapping[str, Any]], results: Sequence[Mapping[str, Any]]
    ) -> None:
        """Observe configs evaluated elsewhere and add them to the study."""
        before = len(self.observations)
        super().add_evaluated_points(points, results)
        for encoded, loss in self.observations[before:]:
            self._tell(None, encoded, loss)

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore `state_dict()`: observations are replayed into a fresh study."""
        super().load_state_dict(state)
        self._study = None
        self._asked = {}
        for encoded, loss in self.observations:
            self._tell(None, encoded, loss)
