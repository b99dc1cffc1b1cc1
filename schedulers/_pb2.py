"""PB2: Population Based Bandits, PBT whose explore step is a GP-UCB bandit over bounds."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from schedulers._checks import check_number
from schedulers._pb2_gp import select_ucb
from schedulers._pbt import PopulationBasedTraining
from schedulers._scores import Score, signed
from searchers._space import uniform

_MAX_DATA = 500  # the GP is cubic in its data; like Ray, keep only the latest points
_CANDIDATES = 512


def _flatten(owner: str, bounds: Mapping[str, Any], path: tuple[str, ...] = ()) -> list[Any]:
    flat: list[Any] = []
    for key, value in bounds.items():
        where = (*path, key)
        if isinstance(value, Mapping):
            flat.extend(_flatten(owner, value, where))
            continue
        name = "/".join(where)
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise ValueError(
                f"{owner}: hyperparam_bounds[{name!r}] must be [low, high], got {value!r}: "
                "pass e.g. {'lr': [1e-4, 1e-1]}"
            )
        low = check_number(owner, f"hyperparam_bounds[{name!r}][0]", value[0], fix="a number")
        high = check_number(owner, f"hyperparam_bounds[{name!r}][1]", value[1], fix="a number")
        if not low < high:
            raise ValueError(
                f"{owner}: hyperparam_bounds[{name!r}] needs low < high, got low={low!r}, "
                f"high={high!r}: swap them or widen the range"
            )
        flat.append((where, low, high))
    return flat


def _as_mutations(bounds: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: _as_mutations(v) if isinstance(v, Mapping) else uniform(float(v[0]), float(v[1]))
        for k, v in bounds.items()
    }


def _get(config: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        config = config[key]
    return config


def _set(config: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    """A copy of `config` (copying the nested dicts on `path`) with `value` at `path`."""
    new = dict(config)
    if len(path) == 1:
        new[path[0]] = value
    else:
        new[path[0]] = _set(dict(config[path[0]]), path[1:], value)
    return new


class PB2(PopulationBasedTraining):
    """Population Based Bandits (Parker-Holder et al. 2020): PBT with a GP-UCB explore step.

    Exploit is PBT's (see `PopulationBasedTraining`). Explore fits a Gaussian process with a
    time-varying kernel to every trial's reward change per unit of time between perturbation
    intervals, as a function of (time, reward before, hyperparameters), and gives the exploiting
    trial the hyperparameters inside `hyperparam_bounds` with the highest upper confidence bound
    from the donor's (time, reward). Configs chosen earlier in the same round count as pending, so
    one round spreads its choices (GP-BUCB). Before any data exists the values are drawn
    uniformly. Hyperparameters that are ints in the donor's config stay ints. Everything is
    numpy, seeded by `seed`.

    Life cycle: as `PopulationBasedTraining`.

    Example:
        >>> from schedulers import PB2
        >>> pb2 = PB2(time_attr="training_iteration", metric="reward", mode="max",
        ...           perturbation_interval=4, hyperparam_bounds={"lr": [1e-4, 1e-1]}, seed=0)
    """

    supports_multi_objective = False  # its Gaussian process models one reward
    supports_constraints = False

    def __init__(
        self,
        time_attr: str = "time_total_s",
        *,
        metric: str | None = None,
        mode: str | None = None,
        perturbation_interval: float = 60.0,
        burn_in_period: float = 0.0,
        hyperparam_bounds: Mapping[str, Any] | None = None,
        quantile_fraction: float = 0.25,
        custom_explore_fn: Callable[[dict[str, Any]], Any] | None = None,
        synch: bool = False,
        seed: int | np.random.Generator | None = None,
    ) -> None:
        name = type(self).__name__
        if not hyperparam_bounds:
            raise ValueError(
                f"{name}: `hyperparam_bounds` is empty: give each explored hyperparameter its "
                "range, e.g. hyperparam_bounds={'lr': [1e-4, 1e-1]}"
            )
        self._bounds = _flatten(name, hyperparam_bounds)
        super().__init__(
            time_attr,
            metric=metric,
            mode=mode,
            perturbation_interval=perturbation_interval,
            burn_in_period=burn_in_period,
            hyperparam_mutations=_as_mutations(hyperparam_bounds),
            quantile_fraction=quantile_fraction,
            custom_explore_fn=custom_explore_fn,
            synch=synch,
            seed=seed,
        )
        self.hyperparam_bounds = dict(hyperparam_bounds)
        # rows: time before, reward before, hyperparameters in [0, 1], reward change per time
        self._data: list[list[float]] = []
        # trial id -> [time, reward, *hyperparameters in [0, 1]] at its last interval
        self._last_point: dict[str, list[float]] = {}
        self._pending: list[list[float]] = []
        self._last_timestep = -math.inf

    def _normalised(self, config: Mapping[str, Any]) -> list[float]:
        values = []
        for path, low, high in self._bounds:
            value = _get(config, path)
            values.append(min(max((float(value) - low) / (high - low), 0.0), 1.0))
        return values

    def _observe(self, trial_id: str, time: float, score: Score) -> None:
        score = signed(score)  # one objective: supports_multi_objective is False
        last = self._last_point.get(trial_id)
        if last is not None and time > last[0] and math.isfinite(score):
            self._data.append([*last, (score - last[1]) / (time - last[0])])
            del self._data[:-_MAX_DATA]
        self._last_point[trial_id] = [time, score, *self._normalised(self._configs[trial_id])]

    def _on_exploit(self, trial_id: str, donor_id: str, new_config: Mapping[str, Any]) -> None:
        donor = self._states[donor_id]
        score = signed(donor.last_score) if donor.last_score is not None else 0.0
        self._last_point[trial_id] = [donor.last_train_time, score, *self._normalised(new_config)]

    def _explore_config(
        self, trial_id: str, donor_id: str, donor_config: Mapping[str, Any]
    ) -> dict[str, Any]:
        if self._data:
            latest = max(row[0] for row in self._data)
            if latest > self._last_timestep:  # a new round: earlier choices are no longer pending
                self._pending, self._last_timestep = [], latest
        candidates = self._rng.random((_CANDIDATES, len(self._bounds)))
        chosen = self._select(donor_id, candidates) if self._data else candidates[0]
        self._pending.append([float(v) for v in chosen])
        config = dict(donor_config)
        for (path, low, high), unit in zip(self._bounds, chosen, strict=True):
            value: float | int = low + float(unit) * (high - low)
            old = _get(donor_config, path)
            if isinstance(old, numbers.Integral) and not isinstance(old, bool):
                value = int(min(max(round(value), math.ceil(low)), math.floor(high)))
            config = _set(config, path, value)
        return config

    def _select(self, donor_id: str, candidates: np.ndarray) -> np.ndarray:
        data = np.asarray(self._data, dtype=float)
        donor = self._states[donor_id]
        start = np.array([donor.last_train_time, donor.last_score or 0.0])
        # Scale time and reward to [0, 1] over the data and the starting state.
        low = np.minimum(data[:, :2].min(axis=0), start)
        span = np.maximum(data[:, :2].max(axis=0), start) - low
        span[span == 0] = 1.0
        x = data[:, :-1].copy()
        x[:, :2] = (x[:, :2] - low) / span
        pending = np.asarray(self._pending, dtype=float).reshape(-1, len(self._bounds))
        return select_ucb(x, data[:, -1], (start - low) / span, pending, candidates)

    def state_dict(self) -> dict[str, Any]:
        """PBT's state plus the GP data and this round's pending choices."""
        state = super().state_dict()
        state["pb2"] = {
            "data": [list(r) for r in self._data],
            "last_point": {k: list(v) for k, v in self._last_point.items()},
            "pending": [list(p) for p in self._pending],
            "last_timestep": None if math.isinf(self._last_timestep) else self._last_timestep,
        }
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore from `state_dict()`."""
        super().load_state_dict(state)
        pb2 = state["pb2"]
        self._data = [[float(x) for x in r] for r in pb2["data"]]
        self._last_point = {k: [float(x) for x in v] for k, v in pb2["last_point"].items()}
        self._pending = [[float(x) for x in p] for p in pb2["pending"]]
        last = pb2["last_timestep"]
        self._last_timestep = -math.inf if last is None else float(last)
