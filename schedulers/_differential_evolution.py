"""Differential evolution in the unit cube: a subpopulation, and one rand/1/bin step.

One step (Storn and Price 1997) makes a config from a target and a pool of parents: the mutant
``a + F * (b - c)`` of three distinct parents (rand/1), binomially crossed with the target (each
dimension from the mutant with probability CR, one dimension, drawn at random, always), its
components outside [0, 1] drawn again uniformly (as DEHB's reference package does).

Example:
    >>> import numpy as np
    >>> rand1_mutant(np.array([0.5]), np.array([0.4]), np.array([0.2]), 0.5)
    array([0.6])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

MIN_PARENTS = 3
"""rand/1 draws three distinct parents."""


def rand1_mutant(a: np.ndarray, b: np.ndarray, c: np.ndarray, factor: float) -> np.ndarray:
    """The rand/1 mutant ``a + factor * (b - c)``."""
    return a + factor * (b - c)


def crossover_mask(dims: int, crossover_prob: float, rng: np.random.Generator) -> np.ndarray:
    """Which dimensions come from the mutant: each with probability `crossover_prob`, and one
    drawn at random always (so that the child differs from the target)."""
    mask = rng.random(dims) < crossover_prob
    if dims:
        mask[rng.integers(dims)] = True
    return mask


def binomial_crossover(target: np.ndarray, mutant: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The mutant's components where `mask` is set, the target's elsewhere."""
    return np.where(mask, mutant, target)


def resample_outside(vector: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`vector` with each component outside [0, 1] drawn again uniformly from [0, 1)."""
    out = (vector < 0.0) | (vector > 1.0)
    fixed = np.array(vector, dtype=float)
    fixed[out] = rng.random(int(out.sum()))
    return fixed


def parent_pool(pool: np.ndarray, fill: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The distinct rows of `pool`, topped up to `MIN_PARENTS` with distinct rows of `fill`
    taken in random order (and, should those run out too, uniform random points)."""
    dims = pool.shape[1]
    rows: dict[tuple[float, ...], np.ndarray] = {}
    for row in pool:
        rows.setdefault(tuple(row.tolist()), row)
    if len(rows) < MIN_PARENTS and len(fill):
        for index in rng.permutation(len(fill)):
            if len(rows) >= MIN_PARENTS:
                break
            rows.setdefault(tuple(fill[index].tolist()), fill[index])
    parents = list(rows.values())
    while len(parents) < MIN_PARENTS:
        parents.append(rng.random((dims,)))
    return np.array(parents, dtype=float).reshape(len(parents), dims)


def evolve(
    target: np.ndarray,
    pool: np.ndarray,
    fill: np.ndarray,
    *,
    mutation_factor: float,
    crossover_prob: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """One rand/1/bin step: a child of `target` from three distinct parents of `pool` (topped
    up from `fill` when it holds fewer than three distinct configs; see `parent_pool`)."""
    dims = len(target)
    if dims == 0:  # nothing is searched: the one config there is
        return np.zeros(0)
    parents = parent_pool(pool, fill, rng)
    a, b, c = parents[rng.choice(len(parents), MIN_PARENTS, replace=False)]
    mutant = rand1_mutant(a, b, c, mutation_factor)
    child = binomial_crossover(target, mutant, crossover_mask(dims, crossover_prob, rng))
    return resample_outside(child, rng)


class Subpopulation:
    """One budget's DE population: configs in the unit cube with their fitness (a loss; +inf
    until evaluated), and the counter that picks each next target in turn.

    Example:
        >>> pop = Subpopulation(np.array([[0.1], [0.9]]), np.array([np.inf, 2.0]))
        >>> pop.next_target(), pop.next_target(), pop.next_target()
        (0, 1, 0)
        >>> pop.select(1, np.array([0.5]), 3.0), pop.select(0, np.array([0.4]), 3.0)
        (False, True)
        >>> pop.best(1).tolist()
        [[0.9]]
    """

    def __init__(self, vectors: np.ndarray, fitness: np.ndarray, counter: int = 0) -> None:
        self.vectors = np.array(vectors, dtype=float)
        self.fitness = np.array(fitness, dtype=float)
        self.counter = counter

    @classmethod
    def random(cls, size: int, dims: int, rng: np.random.Generator) -> Subpopulation:
        """`size` configs drawn uniformly in the unit cube, none evaluated."""
        return cls(rng.random((size, dims)), np.full(size, np.inf))

    def __len__(self) -> int:
        return len(self.fitness)

    @property
    def dims(self) -> int:
        return int(self.vectors.shape[1])

    def next_target(self) -> int:
        """The slot of the next target, looping over the population."""
        slot = self.counter
        self.counter = (self.counter + 1) % len(self)
        return slot

    def best(self, k: int) -> np.ndarray:
        """The `k` configs of lowest fitness (ties in slot order)."""
        order = np.argsort(self.fitness, kind="stable")[:k]
        return self.vectors[order]

    def select(self, slot: int, vector: np.ndarray, fitness: float) -> bool:
        """DE selection: `vector` takes `slot` if its fitness is at least as good; whether it
        did."""
        if fitness <= self.fitness[slot]:
            self.vectors[slot] = vector
            self.fitness[slot] = fitness
            return True
        return False

    def state_dict(self) -> dict[str, Any]:
        """Configs, fitness (+inf as None: JSON has no infinity) and counter as JSON data."""
        return {
            "vectors": self.vectors.tolist(),
            "fitness": [None if np.isinf(f) else float(f) for f in self.fitness],
            "counter": self.counter,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any], dims: int | None = None) -> Subpopulation:
        fitness = [np.inf if f is None else float(f) for f in state["fitness"]]
        vectors = np.array(state["vectors"], dtype=float)
        if vectors.ndim != 2:  # rows of no dimensions come back as an empty 1-d array
            vectors = vectors.reshape(len(fitness), 0)
        if dims is not None and vectors.shape[1] != dims:
            raise ValueError(
                f"a saved subpopulation has {vectors.shape[1]} dimensions but the search space "
                f"has {dims} searched parameters: restore with the same search space"
            )
        return cls(vectors, np.array(fitness), int(state["counter"]))
