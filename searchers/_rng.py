"""The random generator a searcher owns, and its JSON state."""

from __future__ import annotations

import secrets
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

# numpy is imported in the functions: it loads when a searcher or scheduler is built, not with
# `import tuner` (these helpers sit on that import path through `BasicVariantGenerator`).
if TYPE_CHECKING:
    import numpy as np


def make_rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    """A generator from a seed (None: fresh entropy), or the given generator itself."""
    import numpy as np

    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(_checked_seed(seed))


def _checked_seed(seed: Any) -> int | None:
    """`seed` as a Python int (or None), whatever int type it is.

    Raises:
        ValueError: `seed` is no int (a bool, a float, a string...).
    """
    numpy = sys.modules.get("numpy")  # a numpy integer means numpy is loaded
    if numpy is not None and isinstance(seed, numpy.integer):
        return int(seed)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ValueError(f"`seed` must be an int or None, got seed={seed!r}: pass e.g. seed=0")
    return seed


class DeferredRng:
    """A generator from a seed, made on first use.

    A search space with nothing to draw (constants, grids of plain values) never needs one, and
    numpy costs about 60 ms to import. The seed is fixed when this is made (fresh entropy for
    None, as numpy draws), so the state saved before first use restores the same draws.

    Example:
        >>> rng = DeferredRng(7)
        >>> rng.state()
        {'seed': 7}
        >>> int(DeferredRng.from_state(rng.state()).get().integers(100)) == int(
        ...     rng.get().integers(100))
        True
        >>> "bit_generator" in rng.state()
        True
    """

    __slots__ = ("_generator", "_seed")

    def __init__(self, seed: int | np.random.Generator | None) -> None:
        numpy = sys.modules.get("numpy")  # a numpy generator means numpy is loaded
        self._generator: np.random.Generator | None = None
        self._seed = 0
        if numpy is not None and isinstance(seed, numpy.random.Generator):
            self._generator = seed
            return
        checked = _checked_seed(seed)
        self._seed = secrets.randbits(128) if checked is None else checked

    def get(self) -> np.random.Generator:
        """The generator (made on the first call, the same one after)."""
        if self._generator is None:
            self._generator = make_rng(self._seed)
        return self._generator

    def state(self) -> dict[str, Any]:
        """JSON data: the seed before first use, the generator's state after."""
        if self._generator is None:
            return {"seed": self._seed}
        return rng_state(self._generator)

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> DeferredRng:
        """The generator a `state()` describes (either form)."""
        if "seed" in state:
            return cls(int(state["seed"]))
        rng = cls(None)
        rng._generator = load_rng(state)
        return rng


def rng_state(rng: np.random.Generator) -> dict[str, Any]:
    """The generator's state as JSON data (Python ints may exceed 64 bits; JSON allows it)."""
    return _plain(rng.bit_generator.state)


def load_rng(state: Mapping[str, Any]) -> np.random.Generator:
    """A generator in the state returned by `rng_state`."""
    import numpy as np

    name = state["bit_generator"]
    bit_generator_cls = getattr(np.random, name, None)
    if bit_generator_cls is None:
        raise ValueError(f"unknown bit generator {name!r} in a searcher state")
    bit_generator = bit_generator_cls()
    bit_generator.state = _numpy(dict(state))
    return np.random.Generator(bit_generator)


def _plain(value: Any) -> Any:
    import numpy as np

    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return {"__ndarray__": value.tolist(), "dtype": str(value.dtype)}
    if isinstance(value, np.integer):
        return int(value)
    return value


def _numpy(value: Any) -> Any:
    import numpy as np

    if isinstance(value, dict):
        if "__ndarray__" in value:
            return np.asarray(value["__ndarray__"], dtype=value["dtype"])
        return {k: _numpy(v) for k, v in value.items()}
    return value
