"""Walking a nested search space by path, and resolving it into a config.

A path is a tuple of dict keys and list indices, e.g. `("model", "layers", 0, "units")`, shown
to users as `model/layers/0/units`. Dicts and lists are walked to any depth; every other value
(tuples included) is a leaf.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from searchers._rng import DeferredRng
from searchers._space import Domain, Function, GridSearch

if TYPE_CHECKING:  # numpy loads when a searcher draws, not with `import tuner`
    import numpy as np

Path = tuple[Any, ...]


def path_str(path: Path) -> str:
    """The path as users read it: keys joined by `/`."""
    return "/".join(str(p) for p in path)


def as_grid(value: Any) -> GridSearch | None:
    """The grid marker `value` stands for: a `GridSearch` or Ray's `{"grid_search": [...]}`."""
    if isinstance(value, GridSearch):
        return value
    if isinstance(value, Mapping) and len(value) == 1 and "grid_search" in value:
        return GridSearch(value["grid_search"])
    return None


def iter_leaves(space: Any, prefix: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Every leaf of `space` with its path, in insertion order (grid markers count as leaves)."""
    if as_grid(space) is None and isinstance(space, Mapping):
        for key, value in space.items():
            yield from iter_leaves(value, (*prefix, key))
    elif isinstance(space, list):
        for i, value in enumerate(space):
            yield from iter_leaves(value, (*prefix, i))
    else:
        yield prefix, space


def find_domains(space: Any) -> list[tuple[Path, Domain]]:
    """The domains of `space`, in path order."""
    return [(p, v) for p, v in iter_leaves(space) if isinstance(v, Domain)]


def find_grids(space: Any) -> list[tuple[Path, GridSearch]]:
    """The grid search markers of `space`, in path order."""
    found = []
    for path, value in iter_leaves(space):
        grid = as_grid(value)
        if grid is not None:
            found.append((path, grid))
    return found


def copy_structure(space: Any) -> Any:
    """A copy of the dicts and lists of `space`; leaves are shared, not copied."""
    if as_grid(space) is None and isinstance(space, Mapping):
        return {key: copy_structure(value) for key, value in space.items()}
    if isinstance(space, list):
        return [copy_structure(value) for value in space]
    return space


def get_value(config: Any, path: Path) -> Any:
    """The value at `path`."""
    for key in path:
        config = config[key]
    return config


def set_value(config: Any, path: Path, value: Any) -> None:
    """Set the value at `path` (its parent containers must exist)."""
    if not path:
        raise ValueError("cannot set the value at the empty path: the space must be a dict")
    get_value(config, path[:-1])[path[-1]] = value


def merge(space: Any, point: Mapping[str, Any]) -> Any:
    """`space` with the values of the partial config `point` put in, dicts merged recursively."""
    merged = copy_structure(space)
    for key, value in point.items():
        ours = merged.get(key)
        nested = isinstance(ours, dict) and as_grid(ours) is None
        if nested and isinstance(value, Mapping) and as_grid(value) is None:
            merged[key] = merge(ours, value)
        else:
            merged[key] = value
    return merged


class UnresolvedError(Exception):
    """A `sample_from` function read a value that is not resolved yet (internal signal)."""

    def __init__(self, key: Any) -> None:
        super().__init__(key)
        self.key = key


def _guard(value: Any) -> Any:
    if isinstance(value, Domain) or as_grid(value) is not None:
        raise UnresolvedError(value)
    if isinstance(value, Mapping):
        return GuardedMapping(value)
    if isinstance(value, list):
        return GuardedList(value)
    return value


class GuardedMapping(Mapping[str, Any]):
    """A read-only view of a partially resolved dict, read by key or by attribute.

    Reading a value that is still a domain raises `UnresolvedError`, which tells the resolver to
    try that `sample_from` again once more values are known.
    """

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return _guard(self._data[key])

    def __getattr__(self, name: str) -> Any:
        if name == "_data" or name.startswith("__"):  # not set yet (copy, pickle): no recursion
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(
                f"the config has no key {name!r}; it has {sorted(map(str, self._data))}"
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"GuardedMapping({self._data!r})"


class GuardedList:
    """A read-only view of a partially resolved list (see `GuardedMapping`)."""

    def __init__(self, data: list[Any]) -> None:
        self._data = data

    def __getitem__(self, index: int) -> Any:
        return _guard(self._data[index])

    def __len__(self) -> int:
        return len(self._data)

    def __iter__(self) -> Iterator[Any]:
        return (self[i] for i in range(len(self._data)))


class Spec(GuardedMapping):
    """What a `sample_from` function receives: `spec.config` and `spec.rng`."""

    def __init__(self, config: Mapping[str, Any], rng: np.random.Generator) -> None:
        super().__init__({"config": config})
        self.rng = rng


def make_spec(config: Mapping[str, Any], rng: np.random.Generator) -> Spec:
    """The `spec` a `sample_from` function is called with."""
    return Spec(config, rng)


def resolve(
    space: Any, rng: np.random.Generator | DeferredRng, fixed: Mapping[Path, Any] | None = None
) -> Any:
    """A config from `space`: `fixed` values put in, then every domain sampled with `rng`.

    A `DeferredRng` is made into its generator only when there is a domain to sample.

    Order: plain domains in path order first, then `sample_from` functions in path order. A
    function that reads a value that is still unresolved (another function later in path order)
    is retried after the others, until a pass makes no progress; then it is a cycle.

    Raises:
        ValueError: On a grid marker left in the space, or `sample_from` functions that read each
            other in a cycle (or read a value that is never resolved).
    """
    config = copy_structure(space)
    for path, value in (fixed or {}).items():
        set_value(config, path, value)
    leaves = list(iter_leaves(config))
    for path, value in leaves:
        if as_grid(value) is not None:
            raise ValueError(
                f"grid_search at {path_str(path)!r} is not expanded here: grid_search may not be "
                "nested inside another grid_search's values; move it up to the space"
            )
    pending: list[tuple[Path, Function]] = []
    for path, value in leaves:
        if isinstance(value, Function):
            pending.append((path, value))
        elif isinstance(value, Domain):
            set_value(config, path, value.sample(_generator(rng), config))
    while pending:
        waiting = []
        for path, function in pending:
            try:
                value = function.sample(_generator(rng), config)
            except UnresolvedError:
                waiting.append((path, function))
                continue
            set_value(config, path, value)
        if len(waiting) == len(pending):
            names = ", ".join(repr(path_str(p)) for p, _ in waiting)
            raise ValueError(
                f"sample_from at {names} read values that never resolve: sample_from functions "
                "must not read each other in a cycle"
            )
        pending = waiting
    return config


def _generator(rng: np.random.Generator | DeferredRng) -> np.random.Generator:
    return rng.get() if isinstance(rng, DeferredRng) else rng
