"""`BayesOptSearch`: Gaussian-process Bayesian optimisation (UCB, EI or POI), in numpy."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from searchers import _gp
from searchers._acquisition import Utility
from searchers._base import FINISHED, SearchSignal
from searchers._model import ModelSearcher
from searchers._numeric import NumericDim
from searchers._objective import is_finite_number

logger = logging.getLogger(__name__)

_FIT_POINTS = 100  # cap on the observations the hyperparameters are fitted to
_N_RANDOM = 500  # random candidates for the acquisition
_N_LOCAL_STARTS = 5
_LOCAL_ROUNDS = 8
_LOCAL_SAMPLES = 25


class BayesOptSearch(ModelSearcher):
    """Bayesian optimisation with a Gaussian process, in numpy; Ray Tune's arguments.

    After `random_search_steps` configs drawn from the space's own distributions, each
    suggestion fits a GP (ARD Matern 5/2 or RBF kernel on the unit cube; log domains in log
    space; targets standardised) whose hyperparameters maximise the marginal likelihood (projected
    Adam, warm-started from the previous fit), and suggests the maximum of the acquisition
    (`utility_kwargs`; by default the upper confidence bound with kappa 1, where Ray Tune's is
    2.576: see `searchers._acquisition.KAPPA_WHEN_NOTHING_GIVEN`)
    found among random candidates refined by local search. Trials suggested
    but not completed enter the GP with the best value seen (the constant liar), so concurrent
    suggestions spread out. With more than `max_gp_points` observations the GP is trained on the
    best half of them and the most recent others, to keep `suggest()` fast.

    Duplicates, as in Ray Tune: with `skip_duplicate`, a config suggested before (its values
    equal to `repeat_float_precision` decimals; significant digits on a log scale) is not
    run: `suggest` returns None, and the loop asks again later. Once one config has come up more
    than `patience` times the search has converged: `suggest` returns `FINISHED`, so the
    experiment may end before `num_samples`. With `skip_duplicate=False` duplicates run and
    `patience` does not apply.

    One objective only, without constraints: `metric=[...]` with several metrics, or
    `TuneConfig(constraints=...)`, is a `ValueError` (a `ConfigError` from the Tuner); use
    TPESearch, NSGA2Search or OptunaSearch for those.

    Numeric domains only: a categorical parameter or a grid search is an error; integers and
    quantised values are searched continuously and rounded; `randn` within 4 sd of its mean.
    Deterministic given the seed and the observations (the state includes the GP's
    hyperparameters), so a restored searcher makes the same suggestions as the original.

    Args:
        space: The search space, or None to take the Tuner's `param_space`.
        metric: The metric to optimise, or None to take TuneConfig's.
        mode: "min" or "max", or None to take TuneConfig's.
        points_to_evaluate: Partial configs to try first (missing values are sampled).
        utility_kwargs: Ray Tune's acquisition: `{"kind": "ucb" | "ei" | "poi", "kappa": ...,
            "xi": ...}` (kind "ucb", kappa 2.576, xi 0 where left out, as in Ray; None: UCB
            with kappa 1, which explores less than Ray's default and finds better configs
            sooner on the synthetic benchmarks). `kappa` weighs the posterior sd in UCB (upper
            confidence bound); `xi` is the margin EI (expected improvement) and POI
            (probability of improvement) ask of an improvement, in standard deviations of the
            standardised metric.
        random_state: Ray Tune's name for `seed` (Ray's default is 42; here None, fresh
            entropy, as for every searcher: pass 42 for Ray's fixed default).
        random_search_steps: Random configs before the GP is used; the GP also waits for two
            observations, so fewer than 2 still start with random configs.
        verbose: Accepted for Ray Tune scripts and ignored: this searcher prints nothing; its
            messages go to the `searchers` logger (`logging.getLogger("searchers")`).
        patience: With `skip_duplicate`: the search ends once one config has been suggested more
            than this many times (>= 1).
        skip_duplicate: Do not run a config suggested before.
        analysis: A previous experiment's results to learn from before the first suggestion:
            its `ResultGrid` (Ray Tune: its `ExperimentAnalysis`), or any iterable of results
            with `.config` and `.metrics`. Each trial's last result counts; trials that lack a
            searched parameter or a finite metric are skipped.
        repeat_float_precision: Decimals to which float values must agree to count as the
            same config (>= 0).
        kernel: "matern52" or "rbf".
        xi: Without `utility_kwargs`: use expected improvement with this margin (this
            package's older argument; `utility_kwargs={"kind": "ei", "xi": xi}` says the same).
        max_gp_points: Cap on the GP's training set.
        seed: Seed of the owned generator.

    Example:
        >>> from searchers import BayesOptSearch, uniform
        >>> bo = BayesOptSearch({"x": uniform(-1, 1)}, metric="loss", mode="min", seed=0,
        ...                     utility_kwargs={"kind": "ei", "xi": 0.01})
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
        utility_kwargs: Mapping[str, Any] | None = None,
        random_state: int | None = None,
        random_search_steps: int = 10,
        verbose: int = 0,
        patience: int = 5,
        skip_duplicate: bool = True,
        analysis: Iterable[Any] | None = None,
        repeat_float_precision: int = 5,
        kernel: str = "matern52",
        xi: float | None = None,
        max_gp_points: int = 200,
        seed: int | None = None,
    ) -> None:
        _check_int("random_search_steps", random_search_steps, 0)
        _check_int("patience", patience, 1)
        _check_int("repeat_float_precision", repeat_float_precision, 0)
        _check_int("verbose", verbose, 0)
        if kernel not in ("matern52", "rbf"):
            raise ValueError(f"`kernel` must be 'matern52' or 'rbf', got kernel={kernel!r}")
        _check_int("max_gp_points", max_gp_points, 10)
        if random_state is not None and seed is not None:
            raise ValueError(
                f"pass `seed` or `random_state`, not both, got seed={seed!r}, "
                f"random_state={random_state!r}: they mean the same"
            )
        if analysis is not None and not isinstance(analysis, Iterable):
            raise ValueError(
                f"`analysis` must be a ResultGrid (or an iterable of results with .config and "
                f".metrics), got {type(analysis).__name__}: pass the ResultGrid of Tuner.fit()"
            )
        self.utility = Utility.of(utility_kwargs, xi=xi)
        self.random_search_steps = random_search_steps
        self.patience = patience
        self.skip_duplicate = bool(skip_duplicate)
        self.repeat_float_precision = repeat_float_precision
        self.verbose = verbose
        self.kernel = kernel
        self.max_gp_points = max_gp_points
        self._analysis = analysis
        self._log_theta: np.ndarray | None = None
        self._seen: dict[str, int] = {}  # duplicate key -> times suggested
        self._converged = False
        super().__init__(
            space,
            metric=metric,
            mode=mode,
            points_to_evaluate=points_to_evaluate,
            seed=seed if seed is not None else random_state,
        )

    @property
    def xi(self) -> float:
        """The acquisition's improvement margin."""
        return self.utility.xi

    def suggest(self, trial_id: str) -> dict[str, Any] | SearchSignal | None:
        """The next config; None for a duplicate skipped; FINISHED once the search converged."""
        if self._converged:
            return FINISHED
        config = super().suggest(trial_id)
        if not self.skip_duplicate or not isinstance(config, dict):
            return config
        key = self._duplicate_key(self._live[trial_id])
        count = self._seen[key] = self._seen.get(key, 0) + 1
        if count == 1:
            return config
        del self._live[trial_id]  # not run
        if count > self.patience:
            logger.warning(
                "BayesOptSearch is stopping early: a config came up %d times, more than "
                "patience=%d, so the search has converged and suggests no more trials; to run "
                "more, raise `patience`, set `skip_duplicate=False` or widen the search space",
                count, self.patience,
            )
            self._converged = True
            return FINISHED
        logger.info("BayesOptSearch: skipping a config suggested before: %s", config)
        return None

    def _duplicate_key(self, encoded: list[float | int]) -> str:
        digits = self.repeat_float_precision
        parts = []
        for param, value in zip(self.params, encoded, strict=True):
            if isinstance(value, int):
                parts.append(str(value))
            elif getattr(param.domain, "log", False):
                parts.append(f"{value:.{max(digits, 1)}g}")  # a log scale: significant digits
            else:
                parts.append(f"{value:.{digits}f}")
        return "|".join(parts)

    def _warm_start(self) -> None:
        """Observe the results of `analysis`."""
        if self._analysis is None:
            return
        used = total = 0
        for result in self._analysis:
            total += 1
            config, metrics = getattr(result, "config", None), getattr(result, "metrics", None)
            if not isinstance(config, Mapping) or not isinstance(metrics, Mapping):
                raise ValueError(
                    f"`analysis` must hold results with .config and .metrics dicts, got "
                    f"{result!r}: pass the ResultGrid of Tuner.fit()"
                )
            if not is_finite_number(metrics.get(self.metric or "")):
                continue
            try:
                self.add_evaluated_points([config], [metrics])
            except ValueError:
                continue  # not a config of this space
            used += 1
        logger.info("BayesOptSearch: learned from %d of the %d results in `analysis`", used, total)

    def _to_unit(self, dims: list[NumericDim], encoded: list[float | int]) -> list[float]:
        return [d.to_unit(v) for d, v in zip(dims, encoded, strict=True)]

    def _training_set(self, cap: int) -> list[int]:
        """At most `cap` observations: the best half and the most recent others."""
        n = len(self.outcomes)
        if n <= cap:
            return list(range(n))
        order = np.argsort([loss for _, loss in self.observations], kind="stable")
        best = set(order[: cap // 2].tolist())
        recent = [i for i in range(n - 1, -1, -1) if i not in best]
        return sorted(best | set(recent[: cap - len(best)]))

    def _propose(self) -> list[Any]:
        n_seen = len(self.outcomes) + len(self.pending)  # this trial is not live yet
        if n_seen < self.random_search_steps or len(self.outcomes) < 2 or not self.params:
            return self.random_values()
        dims = [NumericDim.of(p.domain) for p in self.params]
        keep = self._training_set(self.max_gp_points)
        observations = self.observations  # built on each access: once here
        x = np.array([self._to_unit(dims, observations[i][0]) for i in keep])
        y = _warp(np.array([observations[i][1] for i in keep]))
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
            return self.utility.score(mean, np.sqrt(var), best_y)

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
            dim.from_unit(u)
            for dim, u in zip(dims, chosen, strict=True)
        ]

    def state_dict(self) -> dict[str, Any]:
        """The base state, the GP's hyperparameters (the next fit starts from them) and the
        configs seen (for duplicates)."""
        state = super().state_dict()
        state["log_theta"] = None if self._log_theta is None else self._log_theta.tolist()
        state["seen"] = dict(self._seen)
        state["converged"] = self._converged
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore `state_dict()`."""
        super().load_state_dict(state)
        theta = state.get("log_theta")
        self._log_theta = None if theta is None else np.array(theta, dtype=float)
        self._seen = {str(k): int(v) for k, v in state.get("seen", {}).items()}
        self._converged = bool(state.get("converged", False))


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


def _check_int(name: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"`{name}` must be an int >= {low}, got {name}={value!r}")
