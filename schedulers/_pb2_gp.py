"""The time-varying Gaussian process and GP-UCB choice behind PB2, in plain numpy."""

from __future__ import annotations

import math

import numpy as np

_NOISE = 1e-2  # observation noise on standardised rewards
_LENGTHSCALES = (0.1, 0.3, 1.0)
_FORGETTING = (0.01, 0.1, 0.3)  # how fast old data loses weight (Bogunovic et al. 2016)


def _kernel(a: np.ndarray, b: np.ndarray, lengthscale: float, epsilon: float) -> np.ndarray:
    """Squared exponential over columns 1.. times ``(1 - eps)**(|t - t'| / 2)`` over column 0."""
    sq = ((a[:, None, 1:] - b[None, :, 1:]) ** 2).sum(axis=-1)
    dt = np.abs(a[:, None, 0] - b[None, :, 0])
    return np.exp(-sq / (2 * lengthscale**2)) * (1 - epsilon) ** (dt / 2)


def _cholesky(k: np.ndarray) -> np.ndarray:
    return np.linalg.cholesky(k + _NOISE * np.eye(len(k)))


def _fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """The lengthscale and forgetting rate of the grid with the highest marginal likelihood."""
    best = (-math.inf, _LENGTHSCALES[0], _FORGETTING[0])
    for lengthscale in _LENGTHSCALES:
        for epsilon in _FORGETTING:
            chol = _cholesky(_kernel(x, x, lengthscale, epsilon))
            alpha = np.linalg.solve(chol.T, np.linalg.solve(chol, y))
            likelihood = float(-0.5 * y @ alpha - np.log(np.diag(chol)).sum())
            if likelihood > best[0]:
                best = (likelihood, lengthscale, epsilon)
    return best[1], best[2]


def select_ucb(
    x: np.ndarray,
    y: np.ndarray,
    state: np.ndarray,
    pending: np.ndarray,
    candidates: np.ndarray,
) -> np.ndarray:
    """The candidate hyperparameters with the highest GP-UCB score (GP-BUCB for a batch).

    Args:
        x: Observed inputs, one row each: normalised time, normalised reward before, then the
            hyperparameters in [0, 1].
        y: Observed reward change per unit of time, one per row of `x`.
        state: The (time, reward) the new config starts from, normalised like `x`.
        pending: Hyperparameters chosen earlier in this round, still being evaluated; their
            predicted value is taken as observed, which shrinks the uncertainty near them.
        candidates: Hyperparameters to choose from, one row each, in [0, 1].

    Returns:
        One row of `candidates`.
    """
    y = (y - y.mean()) / (y.std() if y.std() > 0 else 1.0)
    lengthscale, epsilon = _fit(x, y)
    query = np.hstack([np.repeat(state[None, :], len(candidates), axis=0), candidates])
    chol = _cholesky(_kernel(x, x, lengthscale, epsilon))
    alpha = np.linalg.solve(chol.T, np.linalg.solve(chol, y))
    mean = _kernel(query, x, lengthscale, epsilon) @ alpha
    if len(pending):
        rows = np.hstack([np.repeat(state[None, :], len(pending), axis=0), pending])
        x = np.vstack([x, rows])
        chol = _cholesky(_kernel(x, x, lengthscale, epsilon))
    v = np.linalg.solve(chol, _kernel(x, query, lengthscale, epsilon))
    std = np.sqrt(np.clip(1.0 - (v**2).sum(axis=0), 0.0, None))
    beta = 0.2 + max(0.0, math.log(0.4 * len(y)))  # Ray's PB2 schedule for the UCB weight
    return np.asarray(candidates[int(np.argmax(mean + math.sqrt(beta) * std))])
