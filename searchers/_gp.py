"""A Gaussian process on the unit cube with ARD Matern 5/2 or RBF kernel, in numpy."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

_SQRT5 = math.sqrt(5.0)
# Bounds and weak Gaussian priors on the log hyperparameters: lengthscales, signal and noise
# variances (the targets are standardised, the inputs lie in the unit cube).
_LOG_LS_BOUNDS = (math.log(0.01), math.log(20.0))
_LOG_SF_BOUNDS = (math.log(0.05), math.log(20.0))
_LOG_SN_BOUNDS = (math.log(1e-6), math.log(0.5))
_PRIOR_MEAN = {"ls": math.log(0.3), "sf": 0.0, "sn": math.log(1e-3)}
_PRIOR_SD = {"ls": 1.5, "sf": 1.5, "sn": 3.0}


@dataclass(frozen=True)
class Posterior:
    """A GP fitted to data: predicts mean and variance at new inputs."""

    kernel: str
    log_theta: Array
    x: Array
    alpha: Array
    chol_inv: Array

    def predict(self, xq: Array) -> tuple[Array, Array]:
        """Posterior mean and variance (noise-free) at the rows of `xq`."""
        ls, sf2, _ = _unpack(self.log_theta)
        k_star, _ = _kernel(self.kernel, xq, self.x, ls, sf2, grads=False)
        mean = k_star @ self.alpha
        v = k_star @ self.chol_inv.T
        var = sf2 - np.einsum("ij,ij->i", v, v)
        return mean, np.maximum(var, 1e-12)


def _unpack(log_theta: Array) -> tuple[Array, float, float]:
    return np.exp(log_theta[:-2]), float(np.exp(log_theta[-2])), float(np.exp(log_theta[-1]))


def _kernel(
    kernel: str, a: Array, b: Array, ls: Array, sf2: float, *, grads: bool
) -> tuple[Array, list[Array]]:
    """K(a, b) and, when `grads`, dK/dlog(lengthscale_d) for each d (a is b)."""
    if grads:
        diff = (a[:, None, :] - b[None, :, :]) / ls  # (n, m, d)
        d2 = diff * diff
        r2 = d2.sum(axis=2)
    else:  # no per-dimension terms needed: squared distances by one matrix product
        sa, sb = a / ls, b / ls
        r2 = (sa * sa).sum(axis=1)[:, None] + (sb * sb).sum(axis=1)[None, :] - 2.0 * sa @ sb.T
        r2 = np.maximum(r2, 0.0)
    if kernel == "rbf":
        k = sf2 * np.exp(-0.5 * r2)
        return k, [k * d2[:, :, j] for j in range(ls.size)] if grads else []
    r = np.sqrt(r2)
    e = np.exp(-_SQRT5 * r)
    k = sf2 * (1.0 + _SQRT5 * r + (5.0 / 3.0) * r2) * e
    if not grads:
        return k, []
    common = sf2 * (5.0 / 3.0) * (1.0 + _SQRT5 * r) * e
    return k, [common * d2[:, :, j] for j in range(ls.size)]


def _log_ml_and_grad(kernel: str, log_theta: Array, x: Array, y: Array) -> tuple[float, Array]:
    """Log marginal likelihood plus log prior, and its gradient in the log hyperparameters."""
    ls, sf2, sn2 = _unpack(log_theta)
    n = x.shape[0]
    k, dls = _kernel(kernel, x, x, ls, sf2, grads=True)
    k[np.diag_indices(n)] += sn2
    chol = np.linalg.cholesky(k)
    chol_inv = np.linalg.inv(chol)
    k_inv = chol_inv.T @ chol_inv
    alpha = k_inv @ y
    log_ml = -0.5 * float(y @ alpha) - float(np.log(np.diag(chol)).sum()) - 0.5 * n * math.log(
        2 * math.pi
    )
    w = np.outer(alpha, alpha) - k_inv
    grad = np.empty_like(log_theta)
    for j, dk in enumerate(dls):
        grad[j] = 0.5 * float((w * dk).sum())
    grad[-2] = 0.5 * float((w * (k - sn2 * np.eye(n))).sum())
    grad[-1] = 0.5 * sn2 * float(np.trace(w))
    mean, sd = _prior_arrays(log_theta.size - 2)
    log_ml -= float((((log_theta - mean) / sd) ** 2).sum()) / 2
    grad -= (log_theta - mean) / sd**2
    return log_ml, grad


def _prior_arrays(d: int) -> tuple[Array, Array]:
    mean = np.array([_PRIOR_MEAN["ls"]] * d + [_PRIOR_MEAN["sf"], _PRIOR_MEAN["sn"]])
    sd = np.array([_PRIOR_SD["ls"]] * d + [_PRIOR_SD["sf"], _PRIOR_SD["sn"]])
    return mean, sd


def _bounds(d: int) -> tuple[Array, Array]:
    low = np.array([_LOG_LS_BOUNDS[0]] * d + [_LOG_SF_BOUNDS[0], _LOG_SN_BOUNDS[0]])
    high = np.array([_LOG_LS_BOUNDS[1]] * d + [_LOG_SF_BOUNDS[1], _LOG_SN_BOUNDS[1]])
    return low, high


def default_log_theta(d: int) -> Array:
    """Starting hyperparameters: lengthscales 0.3, unit signal, small noise."""
    return _prior_arrays(d)[0].copy()


def fit(
    kernel: str, x: Array, y: Array, start: Array, steps: int, lr: float = 0.1
) -> Array:
    """Log hyperparameters maximising the (prior-regularised) marginal likelihood.

    Projected Adam from `start`, keeping the best point seen; deterministic.
    """
    low, high = _bounds(x.shape[1])
    theta = np.clip(start, low, high)
    best, best_value = theta.copy(), -math.inf
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    for t in range(1, steps + 1):
        try:
            value, grad = _log_ml_and_grad(kernel, theta, x, y)
        except np.linalg.LinAlgError:  # too little noise for these points: raise it
            theta = theta.copy()
            theta[-1] = min(theta[-1] + 1.0, high[-1])
            continue
        if value > best_value:
            best, best_value = theta.copy(), value
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad * grad
        step = lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        theta = np.clip(theta + step, low, high)
    return best


def posterior(kernel: str, log_theta: Array, x: Array, y: Array) -> Posterior:
    """The GP conditioned on `(x, y)` with the given hyperparameters."""
    ls, sf2, sn2 = _unpack(log_theta)
    n = x.shape[0]
    k, _ = _kernel(kernel, x, x, ls, sf2, grads=False)
    jitter = sn2
    for _ in range(8):
        try:
            chol = np.linalg.cholesky(k + jitter * np.eye(n))
            break
        except np.linalg.LinAlgError:
            jitter = max(jitter * 10, 1e-8)
    else:
        raise np.linalg.LinAlgError("the kernel matrix is not positive definite")
    chol_inv = np.linalg.inv(chol)
    return Posterior(kernel, log_theta, x, chol_inv.T @ (chol_inv @ y), chol_inv)
