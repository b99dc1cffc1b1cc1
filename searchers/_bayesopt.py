"""`BayesOptSearch`: Gaussian-process Bayesian optimisation with expected improvement."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from searchers import _gp
from searchers._model import ModelSearcher
from searchers._numeric import NumericDim
from searchers._stats import norm_cdf, norm_pdf

_FIT_POINTS = 100  # cap on the observations the hyperparameters are fitted to
_N_RANDOM = 500  # random candidates for the acquisition
_N_LOCAL_STARTS = 5
_LOCAL_ROUNDS = 8
_LOCAL_SAMPLES = 25


class BayesOptSearch(ModelSearcher):
    """Bayesian optimisation: a Gaussian process with expected improvement, in numpy.

    After `random_search_steps` configs drawn from the space's own distributions, each
    suggestion fits a GP (ARD Matern 5/2 or RBF kernel on the unit cube; log domains in log
    space; targets standardised) whose hyperparameters maximise the marginal likelihood (projected
    Adam, warm-started from the previous fit), and suggests the maximum of expected improvement
    found among random candidates refined by local search. Trials suggested but not completed
    enter the GP with the best value seen (the constant liar), so concurrent suggestions spread
    out. With more than `max_gp_points` observations the GP is trained on the best half of them
    and the most recent others, to keep `suggest()` fast.

    Numeric domains only: a categorical parameter or a grid search is an error; integers and
    quantised values are searched continuously and rounded; `randn` within 4 sd of its mean.
    Deterministic given the seed and the observations (the state includes the GP's
    hyperparameters), so a restored searcher makes the same suggestions as the original.

    Args:
        space: The search space, or None to take the Tuner's `param_space`.
        metric: The metric to optimise, or None to take TuneConfig's.
        mode: "min" or "max", or None to take TuneConfig's.
        points_to_evaluate: Partial configs to try first (missing values are sampled).
        random_search_steps: Random configs before the GP is used (>= 2).
        kernel: "matern52" or "rbf".
        xi: Exploration margin of expected improvement, in standard deviations of the metric.
        max_gp_points: Cap on the GP's training set.
        seed: Seed of the owned generator.

    Example:
        >>> from searchers import BayesOptSearch, uniform
        >>> bo = BayesOptSearch({"x": uniform(-1, 1)}, metric="loss", mode="min", seed=0)
        >>> for i in range(12):
        ...     config = bo.suggest(str(i))
        ...     bo.on_trial_complete(str(i), {"loss": config["x"] ** 2})
        >>> abs(bo.suggest("last")["x"]) < 0.5
        True
    """

    max_queued = 1
    numeric_only = True

    def __init__(
        self,
        space: Mapping[str, Any] | None = None,
        *,
        metric: str | None = None,
        mode: str | None = None,
        points_to_evaluate: Sequence[Mapping[str, Any]] | None = None,
        random_search_steps: int = 10,
        kernel: str = "matern52",
        xi: float = 0.01,
        max_gp_points: int = 200,
        seed: int | None = None,
    ) -> None:
        if isinstance(random_search_steps, bool) or not isinstance(random_search_steps, int) or (
            random_search_steps < 2
        ):
            raise ValueError(
                "`random_search_steps` must be an int >= 2, got "
                f"random_search_steps={random_search_steps!r}"
            )
        if kernel not in ("matern52", "rbf"):
            raise ValueError(f"`kernel` must be 'matern52' or 'rbf', got kernel={kernel!r}")
        if not xi >= 0:
            raise ValueError(f"`xi` must be >= 0, got xi={xi!r}")
        if isinstance(max_gp_points, bool) or not isinstance(max_gp_points, int) or (
            max_gp_points < 10
        ):
            raise ValueError(f"`max_gp_points` must be an int >= 10, got {max_gp_points!r}")
        self.random_search_steps = random_search_steps
        self.kernel = kernel
        self.xi = xi
        self.max_gp_points = max_gp_points
        self._log_theta: np.ndarray | None = None
        super().__init__(
            space, metric=metric, mode=mode, points_to_evaluate=points_to_evaluate, seed=seed
        )

    def _to_unit(self, dims: list[NumericDim], encoded: list[float | int]) -> list[float]:
        return [
            (d.to_axis(v) - d.low) / (d.high - d.low) for d, v in zip(dims, encoded, strict=True)
        ]

    def _training_set(self, cap: int) -> list[int]:
        """At most `cap` observations: the best half and the most recent others."""
        n = len(self.observations)
        if n <= cap:
            return list(range(n))
        order = np.argsort([loss for _, loss in self.observations], kind="stable")
        best = set(order[: cap // 2].tolist())
        recent = [i for i in range(n - 1, -1, -1) if i not in best]
        return sorted(best | set(recent[: cap - len(best)]))

    def _propose(self) -> list[Any]:
        n_seen = len(self.observations) + len(self.pending)  # this trial is not live yet
        if n_seen < self.random_search_steps or len(self.observations) < 2 or not self.params:
            return self.random_values()
        dims = [NumericDim.of(p.domain) for p in self.params]
        keep = self._training_set(self.max_gp_points)
        x = np.array([self._to_unit(dims, self.observations[i][0]) for i in keep])
        y = _warp(np.array([self.observations[i][1] for i in keep]))
        d = len(dims)
        start = self._log_theta if self._log_theta is not None else _gp.default_log_theta(d)
        steps = 60 if self._log_theta is None else 10
        # Hyperparameters are fitted on a smaller set (O(n^3) per step), the same selection rule.
        fit_rows = np.searchsorted(keep, self._training_set(_FIT_POINTS))
        self._log_theta = _gp.fit(self.kernel, x[fit_rows], y[fit_rows], start, steps)
        liars = [self._to_unit(dims, enc) for enc in self.pending]
        if liars:  # constant liar: pending trials count as the best value seen
            x = np.vstack([x, np.array(liars)])
            y = np.concatenate([y, np.full(len(liars), y.min())])
        post = _gp.posterior(self.kernel, self._log_theta, x, y)
        best_y = float(y.min())

        def acquisition(points: np.ndarray) -> np.ndarray:
            mean, var = post.predict(points)
            sd = np.sqrt(var)
            improvement = best_y - mean - self.xi
            z = improvement / sd
            return improvement * norm_cdf(z) + sd * norm_pdf(z)

        rng = self.rng
        best_points = x[np.argsort(y[: len(keep)])[:_N_LOCAL_STARTS]]
        candidates = np.vstack([
            rng.random((_N_RANDOM, d)),
            np.clip(np.repeat(best_points, 40, axis=0)
                    + rng.normal(0, 0.05, (len(best_points) * 40, d)), 0, 1),
        ])
        scores = acquisition(candidates)
        top = np.argsort(-scores)[:_N_LOCAL_STARTS]
        starts, start_scores = candidates[top], scores[top]
        step = 0.05
        for _ in range(_LOCAL_ROUNDS):
            trial = np.clip(
                np.repeat(starts, _LOCAL_SAMPLES, axis=0)
                + rng.normal(0, step, (len(starts) * _LOCAL_SAMPLES, d)), 0, 1
            )
            trial_scores = acquisition(trial).reshape(len(starts), _LOCAL_SAMPLES)
            pick = trial_scores.argmax(axis=1)
            better = trial_scores[np.arange(len(starts)), pick] > start_scores
            starts[better] = trial.reshape(len(starts), _LOCAL_SAMPLES, d)[better, pick[better]]
            start_scores[better] = trial_scores[better, pick[better]]
            step /= 2
        chosen = starts[int(np.argmax(start_scores))]
        return [
            dim.from_axis(dim.low + u * (dim.high - dim.low))
            for dim, u in zip(dims, chosen, strict=True)
        ]

    def state_dict(self) -> dict[str, Any]:
        """The base state plus the GP's hyperparameters (the next fit starts from them)."""
        state = super().state_dict()
        state["log_theta"] = None if self._log_theta is None else self._log_theta.tolist()
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore `state_dict()`."""
        super().load_state_dict(state)
        theta = state.get("log_theta")
        self._log_theta = None if theta is None else np.array(theta, dtype=float)


def _warp(y: np.ndarray) -> np.ndarray:
    """Standardised `log1p` of the losses above their minimum, in units of their median spread.

    Monotone, so the best stays the best; it tames heavy upper tails (Rosenbrock-like losses
    spanning orders of magnitude) that would otherwise flatten the GP near the optimum.
    """
    spread = y - y.min()
    scale = float(np.median(spread))
    warped = np.log1p(spread / scale) if scale > 0 else spread
    sd = float(warped.std())
    return (warped - warped.mean()) / (sd if sd > 0 else 1.0)
