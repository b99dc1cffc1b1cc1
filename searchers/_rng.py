"""The random generator a searcher owns, and its JSON state."""

from __future__ import annotations

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
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise ValueError(f"`seed` must be an int or None, got seed={seed!r}: pass e.g. seed=0")
    return np.random.default_rng(seed)


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
