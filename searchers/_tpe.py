"""`TPESearch`: a tree-structured Parzen estimator in numpy."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from searchers._model import ModelSearcher
from searchers._motpe import below_weights, split_good_bad
from searchers._numeric import NumericDim, OrdinalDim, is_ordinal
from searchers._parzen import FULL_WEIGHT_WINDOW, Parzen
from searchers._space import Categorical


class TPESearch(ModelSearcher):
    """Tree-structured Parzen estimator (Bergstra et al. 2011), multivariate, in numpy.

    The first `n_startup_trials` configs are drawn from the space's own distributions. After
    that the observations are split into the best `gamma` fraction (at most 25) and the rest;
    each part is modelled by a Parzen mixture (a product of truncated normals per observation on
    numeric axes, a smoothed one-hot on categorical ones, plus a broad prior component);
    `n_ei_candidates` configs drawn from the good mixture are scored by the log density ratio
    good/bad and the best one is suggested. A category kernel moves the same mass off its
    category whatever the number of categories (`Parzen(size_free_smoothing=True)`: sharper
    than Optuna's with five or more), and in a space of categories only a candidate already
    tried or running is suggested only if every candidate is one (NAS-Bench-201: 0.75 vs 1.0
    median regret at 50 evaluations on cifar100 against TPESampler, 100 seeds). Log domains
    are modelled in log space; integers and quantised values are rounded after sampling;
    `randn` domains are searched within 4 sd. `sample_from` values are computed from the
    chosen values.

    Several objectives and constraints (`TuneConfig(metric=[...], mode=[...],
    constraints=[...])`): the good part is chosen as Optuna's TPESampler chooses it
    (`searchers._motpe`): feasible trials first, then the least violating ones (Optuna's
    `constraints_func` rule, Deb's constrained domination); among feasible ones whole
    non-dominated fronts, and the front that does not fit cut by greedy hypervolume subset
    selection (MOTPE, Ozaki et al. 2020/2022). With several objectives each good trial's weight
    in its mixture is its hypervolume contribution (MOTPE's weights). With one objective and no
    constraints nothing changes: the same seed gives the same suggestions as before.

    Why Optuna's rule and not c-TPE (Watanabe and Hutter 2023, one density ratio per
    constraint, multiplied into the acquisition): it ranks trials exactly as the rest of the
    engine does (schedulers, `get_best_result`, the Pareto front), it needs only each trial's
    total violation, it reduces to plain TPE when every trial is feasible, and it is what Ray
    users of OptunaSearch with constraints get. c-TPE models each constraint apart, which pays
    off when feasible configs are rare; that is a possible addition, not this one.

    The model is deterministic given the seed and observations, so a searcher restored from
    `state_dict()` makes the same suggestions as the original.

    Args:
        space: The search space, or None to take the Tuner's `param_space`.
        metric: The metric to optimise, a list of them, or None to take TuneConfig's.
        mode: "min" or "max" (a list of them, one per metric), or None to take TuneConfig's.
        points_to_evaluate: Partial configs to try first (missing values are sampled).
        n_startup_trials: Random configs before the model is used.
        n_ei_candidates: Candidates scored per suggestion.
        gamma: Fraction of observations deemed good (capped at 25 observations).
        prior_weight: Weight of the prior component in each mixture.
        ordinal_choices: Search a `choice` of three or more numbers as an ordered scale (by
            rank: a kernel on one value shares strength with its neighbours in size) rather
            than as unordered categories, as Optuna does. Tabular grids of learning rates,
            batch sizes and widths are such choices.
        seed: Seed of the owned generator.

    Example:
        >>> from searchers import TPESearch, uniform
        >>> tpe = TPESearch({"x": uniform(-1, 1)}, metric="loss", mode="min", seed=0)
        >>> for i in range(15):
        ...     config = tpe.suggest(str(i))
        ...     tpe.on_trial_complete(str(i), {"loss": config["x"] ** 2})
        >>> len(tpe.observations)
        15
    """

    max_queued = 1
    supports_multi_objective = True
    supports_constraints = True

    def __init__(
        self,
        space: Mapping[str, Any] | None = None,
        *,
        metric: str | list[str] | None = None,
        mode: str | list[str] | None = None,
        points_to_evaluate: Sequence[Mapping[str, Any]] | None = None,
        n_startup_trials: int = 10,
        n_ei_candidates: int = 24,
        gamma: float = 0.1,
        prior_weight: float = 1.0,
        ordinal_choices: bool = True,
        seed: int | None = None,
    ) -> None:
        if isinstance(n_startup_trials, bool) or not isinstance(n_startup_trials, int) or (
            n_startup_trials < 1
        ):
            raise ValueError(
                f"`n_startup_trials` must be an int >= 1, got n_startup_trials={n_startup_trials!r}"
            )
        if isinstance(n_ei_candidates, bool) or not isinstance(n_ei_candidates, int) or (
            n_ei_candidates < 1
        ):
            raise ValueError(
                f"`n_ei_candidates` must be an int >= 1, got n_ei_candidates={n_ei_candidates!r}"
            )
        if not 0 < gamma <= 1:
            raise ValueError(f"`gamma` must be in (0, 1], got gamma={gamma!r}: e.g. gamma=0.1")
        if not prior_weight > 0:
            raise ValueError(f"`prior_weight` must be > 0, got prior_weight={prior_weight!r}")
        self.n_startup_trials = n_startup_trials
        self.n_ei_candidates = n_ei_candidates
        self.gamma = gamma
        self.prior_weight = prior_weight
        self.ordinal_choices = ordinal_choices
        super().__init__(
            space, metric=metric, mode=mode, points_to_evaluate=points_to_evaluate, seed=seed
        )

    def _propose(self) -> list[Any]:
        n = len(self.outcomes)
        if n < self.n_startup_trials or not self.params:
            return self.random_values()
        ordinal = [self.ordinal_choices and is_ordinal(p.domain) for p in self.params]
        numeric = [i for i, p in enumerate(self.params)
                   if ordinal[i] or not isinstance(p.domain, Categorical)]
        categorical = [i for i, p in enumerate(self.params)
                       if isinstance(p.domain, Categorical) and not ordinal[i]]
        dims: list[NumericDim | OrdinalDim] = [
            OrdinalDim.of(self.params[i].domain) if ordinal[i]
            else NumericDim.of(self.params[i].domain) for i in numeric]
        sizes = [len(self.params[i].domain.categories) for i in categorical]  # type: ignore[attr-defined]
        x_num = np.array(
            [[dim.to_axis(enc[i]) for dim, i in zip(dims, numeric, strict=True)]
             for enc, _ in self.outcomes],
            dtype=float,
        ).reshape(n, len(numeric))
        x_cat = np.array(
            [[int(enc[i]) for i in categorical] for enc, _ in self.outcomes], dtype=int
        ).reshape(n, len(categorical))
        n_below = max(1, min(math.ceil(self.gamma * n), FULL_WEIGHT_WINDOW))
        below, above, weights = self._split(n_below)
        low = np.array([d.low for d in dims])
        high = np.array([d.high for d in dims])
        good = Parzen(x_num[below], x_cat[below], low, high, sizes, self.prior_weight, weights,
                      size_free_smoothing=True)
        bad = Parzen(x_num[above], x_cat[above], low, high, sizes, self.prior_weight,
                     size_free_smoothing=True)
        cand_num, cand_cat = good.sample(self.rng, self.n_ei_candidates)
        # Score what would be suggested: the rounded, quantised values.
        values_num = [[dim.from_axis(x) for dim, x in zip(dims, row, strict=True)]
                      for row in cand_num]
        snapped = np.array(
            [[dim.to_axis(v) for dim, v in zip(dims, row, strict=True)] for row in values_num],
            dtype=float,
        ).reshape(cand_num.shape)
        score = good.log_pdf(snapped, cand_cat) - bad.log_pdf(snapped, cand_cat)
        if not numeric:
            # In a space of categories only, the sharp kernels draw exact copies of the good
            # configs often; one already tried or running is the last choice (a new config is
            # worth more than a repeat). Not with numeric axes: there repeats are rare, and on
            # noisy tables avoiding them cost regret late in runs (HPOLib, 100 seeds).
            tried = {tuple(enc) for enc, _ in self.outcomes} | {
                tuple(enc) for enc in self._live.values()}
            repeats = np.array([tuple(row) in tried for row in cand_cat.tolist()])
            if not repeats.all():
                score = np.where(repeats, -np.inf, score)
        best = int(np.argmax(score))
        values: list[Any] = [None] * len(self.params)
        for j, i in enumerate(numeric):
            # An ordinal axis gives back the category's index.
            values[i] = self.params[i].decode(values_num[best][j]) if ordinal[i] \
                else values_num[best][j]
        for j, i in enumerate(categorical):
            values[i] = self.params[i].decode(int(cand_cat[best, j]))
        return values

    def _split(
        self, n_below: int
    ) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64] | None]:
        """The good and the bad observations (indices in time order), and the good ones'
        mixture weights (None: TPE's ramp)."""
        outcomes = [outcome for _, outcome in self.outcomes]
        losses = np.array([o.losses for o in outcomes], dtype=float)
        if self.ranking.simple:
            order = np.argsort(losses[:, 0], kind="stable")
            return np.sort(order[:n_below]), np.sort(order[n_below:]), None
        feasible = np.array([o.feasible for o in outcomes], dtype=bool)
        violations = np.array([o.violation for o in outcomes], dtype=float)
        below, above = split_good_bad(losses, violations, feasible, n_below)
        weights = None
        if losses.shape[1] > 1:
            weights = below_weights(losses[below], feasible[below])
        return below, above, weights
