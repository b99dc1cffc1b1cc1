"""Search space domains and their Ray Tune compatible constructors.

A search space is a nested structure of dicts and lists whose leaves are constants, `Domain`s
(sampled) or `GridSearch` markers (expanded into a cartesian product by
`BasicVariantGenerator`). Domains are immutable values: build them with the constructors below.

Example:
    >>> import numpy as np
    >>> space = {"lr": loguniform(1e-4, 1e-1), "layers": randint(1, 5)}
    >>> rng = np.random.default_rng(0)
    >>> 1 <= space["layers"].sample(rng) < 5
    True
"""

from __future__ import annotations

import abc
import inspect
import math
import numbers
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from searchers._objective import as_real, is_finite_number

if TYPE_CHECKING:  # numpy loads when a searcher draws, not with `import tuner`
    import numpy as np

_EPS = 1e-9


class Domain(abc.ABC):
    """A set of values and a distribution over it, from which a searcher draws one value."""

    @abc.abstractmethod
    def sample(self, rng: np.random.Generator, spec: Mapping[str, Any] | None = None) -> Any:
        """Draw one value with `rng`.

        Args:
            rng: The searcher's random generator; the only source of randomness.
            spec: The partially resolved config, read by `Function` domains (`sample_from`).
        """

    @abc.abstractmethod
    def contains(self, value: Any) -> bool:
        """Whether `value` lies in this domain (within float tolerance)."""

    @abc.abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """A JSON description of the domain."""


def _check_number(name: str, value: Any, fix: str) -> float:
    if not is_finite_number(value):
        raise ValueError(f"`{name}` must be a finite number, got {name}={value!r}: {fix}")
    return float(value)


def _check_bounds(low: float, high: float, log: bool) -> None:
    if not low < high:
        raise ValueError(
            f"`low` must be < `high`, got low={low!r}, high={high!r}: swap them or widen the range"
        )
    if log and low <= 0:
        raise ValueError(
            f"`low` must be > 0 for a log scale, got low={low!r}: "
            "use a positive lower bound or a linear scale"
        )


def _check_q(q: float | None) -> None:
    if q is not None and not q > 0:
        raise ValueError(f"`q` must be > 0, got q={q!r}: pass a positive quantisation step")


def _check_base(base: float) -> None:
    if not base > 0 or base == 1:
        raise ValueError(f"`base` must be > 0 and != 1, got base={base!r}: use e.g. base=10")


def _on_grid(value: float, q: float) -> bool:
    k = value / q
    return abs(k - round(k)) <= _EPS * max(1.0, abs(k))


@dataclass(frozen=True)
class Float(Domain):
    """A float in `[low, high)`, uniform or log-uniform, optionally rounded to a multiple of `q`.

    With `q` the value is the multiple of `q` nearest to the draw, kept inside `[low, high]`
    (so `high` itself is reachable, as in Ray Tune).
    """

    low: float
    high: float
    log: bool = False
    base: float = 10.0
    q: float | None = None

    def __post_init__(self) -> None:
        fix = "pass a finite bound"
        object.__setattr__(self, "low", _check_number("low", self.low, fix))
        object.__setattr__(self, "high", _check_number("high", self.high, fix))
        _check_bounds(self.low, self.high, self.log)
        _check_base(self.base)
        if self.q is not None:
            object.__setattr__(self, "q", _check_number("q", self.q, "pass a positive step"))
        _check_q(self.q)
        if self.q is not None and self._k_range()[0] > self._k_range()[1]:
            raise ValueError(
                f"no multiple of q={self.q!r} lies in [{self.low!r}, {self.high!r}]: "
                "use a smaller `q` or a wider range"
            )

    def _k_range(self) -> tuple[int, int]:
        q = self.q if self.q is not None else 1.0
        return math.ceil(self.low / q - _EPS), math.floor(self.high / q + _EPS)

    def quantize(self, value: float) -> float:
        """Round `value` to the nearest multiple of `q` inside the bounds (identity if no `q`)."""
        if self.q is None:
            return float(min(max(value, self.low), self.high))
        k_low, k_high = self._k_range()
        return float(min(max(round(value / self.q), k_low), k_high) * self.q)

    def sample(self, rng: np.random.Generator, spec: Mapping[str, Any] | None = None) -> float:
        """Draw one float."""
        if self.log:
            value = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        else:
            value = float(rng.uniform(self.low, self.high))
        return self.quantize(value)

    def contains(self, value: Any) -> bool:
        """Whether `value` is a number in the bounds (and on the `q` grid)."""
        number = as_real(value)
        if number is None:
            return False
        tol = _EPS * max(1.0, abs(self.low), abs(self.high))
        if not self.low - tol <= number <= self.high + tol:
            return False
        return self.q is None or _on_grid(number, self.q)

    def to_dict(self) -> dict[str, Any]:
        """A JSON description."""
        return {"type": "float", "low": self.low, "high": self.high, "log": self.log,
                "base": self.base, "q": self.q}


@dataclass(frozen=True)
class Integer(Domain):
    """An integer in `[low, high)` (upper bound exclusive), uniform or log-uniform.

    With `q` the value is a multiple of `q` in `[low, high)`: uniform over those multiples on a
    linear scale, the nearest multiple to a log-uniform draw on a log scale.
    """

    low: int
    high: int
    log: bool = False
    base: float = 10.0
    q: int | None = None

    def __post_init__(self) -> None:
        for name in ("low", "high") + (("q",) if self.q is not None else ()):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise ValueError(
                    f"`{name}` must be an integer, got {name}={value!r}: pass an int "
                    "(use uniform()/quniform() for floats)"
                )
            object.__setattr__(self, name, int(value))
        _check_bounds(self.low, self.high, self.log)
        _check_base(self.base)
        _check_q(self.q)
        if self.q is not None and self._k_range()[0] > self._k_range()[1]:
            raise ValueError(
                f"no multiple of q={self.q!r} lies in [{self.low!r}, {self.high - 1!r}]: "
                "use a smaller `q` or a wider range"
            )

    def _k_range(self) -> tuple[int, int]:
        q = self.q or 1
        return -((-self.low) // q), (self.high - 1) // q

    def sample(self, rng: np.random.Generator, spec: Mapping[str, Any] | None = None) -> int:
        """Draw one int."""
        k_low, k_high = self._k_range()
        q = self.q or 1
        if not self.log:
            return int(rng.integers(k_low, k_high + 1)) * q
        value = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        k = math.floor(value) if self.q is None else round(value / q)
        return min(max(k, k_low), k_high) * q

    def contains(self, value: Any) -> bool:
        """Whether `value` is an integer in `[low, high)` (and a multiple of `q`)."""
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            return False
        return self.low <= int(value) < self.high and (self.q is None or int(value) % self.q == 0)

    def to_dict(self) -> dict[str, Any]:
        """A JSON description (`high` exclusive)."""
        return {"type": "int", "low": self.low, "high": self.high, "log": self.log,
                "base": self.base, "q": self.q}


@dataclass(frozen=True)
class Normal(Domain):
    """A normally distributed float, optionally rounded to a multiple of `q`."""

    mean: float = 0.0
    sd: float = 1.0
    q: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "mean", _check_number("mean", self.mean, "pass a finite mean"))
        object.__setattr__(self, "sd", _check_number("sd", self.sd, "pass a positive sd"))
        if not self.sd > 0:
            raise ValueError(f"`sd` must be > 0, got sd={self.sd!r}: pass a positive sd")
        _check_q(self.q)

    def quantize(self, value: float) -> float:
        """Round `value` to the nearest multiple of `q` (identity if no `q`)."""
        return float(value) if self.q is None else float(round(value / self.q) * self.q)

    def sample(self, rng: np.random.Generator, spec: Mapping[str, Any] | None = None) -> float:
        """Draw one float."""
        return self.quantize(float(rng.normal(self.mean, self.sd)))

    def contains(self, value: Any) -> bool:
        """Whether `value` is a finite number (on the `q` grid)."""
        return is_finite_number(value) and (self.q is None or _on_grid(float(value), self.q))

    def to_dict(self) -> dict[str, Any]:
        """A JSON description."""
        return {"type": "normal", "mean": self.mean, "sd": self.sd, "q": self.q}


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return repr(value)


def _index_of(values: tuple[Any, ...], value: Any) -> int | None:
    for i, candidate in enumerate(values):
        if candidate is value:
            return i
    for i, candidate in enumerate(values):
        try:
            if type(candidate) is type(value) and bool(candidate == value):
                return i
        except (TypeError, ValueError):  # e.g. arrays whose == is elementwise
            continue
    return None


@dataclass(frozen=True)
class Categorical(Domain):
    """One of a fixed list of values, each equally likely."""

    categories: tuple[Any, ...]

    def __post_init__(self) -> None:
        if isinstance(self.categories, (str, bytes)) or not isinstance(self.categories, Iterable):
            raise ValueError(
                f"`categories` must be a list, got {self.categories!r}: pass e.g. choice([1, 2])"
            )
        object.__setattr__(self, "categories", tuple(self.categories))
        if not self.categories:
            raise ValueError(
                "`categories` must not be empty, got []: pass at least one value to choice()"
            )

    def sample(self, rng: np.random.Generator, spec: Mapping[str, Any] | None = None) -> Any:
        """Draw one category."""
        return self.categories[int(rng.integers(len(self.categories)))]

    def index(self, value: Any) -> int | None:
        """The position of `value` among the categories, or None."""
        return _index_of(self.categories, value)

    def contains(self, value: Any) -> bool:
        """Whether `value` is one of the categories."""
        return self.index(value) is not None

    def to_dict(self) -> dict[str, Any]:
        """A JSON description (non-JSON categories shown by their repr)."""
        return {"type": "categorical", "categories": _jsonable(list(self.categories))}


@dataclass(frozen=True)
class Function(Domain):
    """A value computed by a user function of the partially resolved config (`sample_from`).

    As in Ray Tune, the function is called with the config first (`lambda config:
    config["lr"] * 2`, also `config.lr`); if that raises `KeyError` or `AttributeError`, it is
    called again with the older `spec` form, whose `spec.config` reads the config
    (`lambda spec: spec.config.lr * 2`) and whose `spec.rng` is the searcher's generator, for
    draws that must be reproducible. Either view is read-only. A function of no arguments is
    called bare.
    """

    func: Callable[..., Any]

    def __post_init__(self) -> None:
        if not callable(self.func):
            raise ValueError(
                f"sample_from() takes a callable, got {self.func!r}: "
                "pass e.g. sample_from(lambda config: config['a'] * 2)"
            )

    def _takes_spec(self) -> bool:
        try:
            params = inspect.signature(self.func).parameters.values()
        except (TypeError, ValueError):  # builtins without a signature
            return True
        return any(
            p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
            for p in params
        )

    def sample(self, rng: np.random.Generator, spec: Mapping[str, Any] | None = None) -> Any:
        """Call the function on the (guarded) partially resolved config, else on a `spec`."""
        from searchers._paths import GuardedMapping, make_spec  # a cycle: _paths knows Domain

        if not self._takes_spec():
            return self.func()
        config = spec or {}
        try:
            return self.func(GuardedMapping(config))
        except (KeyError, AttributeError):
            # Not a function of the config: the older form, `spec.config.x` (Ray Tune's order).
            return self.func(make_spec(config, rng))

    def contains(self, value: Any) -> bool:
        """Always True: the function's range is unknown."""
        return True

    def to_dict(self) -> dict[str, Any]:
        """A JSON description naming the function."""
        return {"type": "function", "name": getattr(self.func, "__qualname__", repr(self.func))}


@dataclass(frozen=True)
class GridSearch:
    """A marker for grid search: every value is tried (see `BasicVariantGenerator`).

    Not a `Domain`: it is expanded, never sampled. `{"grid_search": [...]}` in a space (the
    plain-JSON form Ray Tune accepts) means the same.
    """

    values: tuple[Any, ...]

    def __post_init__(self) -> None:
        if isinstance(self.values, (str, bytes)) or not isinstance(self.values, Iterable):
            raise ValueError(
                f"grid_search() takes a list, got {self.values!r}: pass e.g. grid_search([1, 2])"
            )
        object.__setattr__(self, "values", tuple(self.values))
        if not self.values:
            raise ValueError(
                "grid_search() values must not be empty, got []: pass at least one value"
            )

    def contains(self, value: Any) -> bool:
        """Whether `value` is one of the grid values."""
        return _index_of(self.values, value) is not None

    def to_dict(self) -> dict[str, Any]:
        """A JSON description."""
        return {"type": "grid_search", "values": _jsonable(list(self.values))}


def uniform(low: float, high: float) -> Float:
    """A float drawn uniformly from `[low, high)`."""
    return Float(low, high)


def quniform(low: float, high: float, q: float) -> Float:
    """A uniform float rounded to a multiple of `q` inside `[low, high]`."""
    return Float(low, high, q=q)


def loguniform(low: float, high: float, base: float = 10) -> Float:
    """A float drawn log-uniformly from `[low, high)`; `low` must be > 0."""
    return Float(low, high, log=True, base=base)


def qloguniform(low: float, high: float, q: float, base: float = 10) -> Float:
    """A log-uniform float rounded to a multiple of `q` inside `[low, high]`."""
    return Float(low, high, log=True, base=base, q=q)


def randn(mean: float = 0.0, sd: float = 1.0) -> Normal:
    """A normally distributed float."""
    return Normal(mean, sd)


def qrandn(mean: float, sd: float, q: float) -> Normal:
    """A normally distributed float rounded to a multiple of `q`."""
    return Normal(mean, sd, q)


def randint(low: int, high: int) -> Integer:
    """An integer drawn uniformly from `[low, high)`: the upper bound is EXCLUSIVE."""
    return Integer(low, high)


def qrandint(low: int, high: int, q: int = 1) -> Integer:
    """A multiple of `q` drawn uniformly from `[low, high]`: the upper bound is INCLUSIVE."""
    _check_int_bounds(low, high)
    return Integer(low, high + 1, q=q)


def lograndint(low: int, high: int, base: float = 10) -> Integer:
    """An integer drawn log-uniformly from `[low, high)`: the upper bound is EXCLUSIVE."""
    return Integer(low, high, log=True, base=base)


def qlograndint(low: int, high: int, q: int, base: float = 10) -> Integer:
    """A log-uniform integer rounded to a multiple of `q` in `[low, high]` (INCLUSIVE)."""
    _check_int_bounds(low, high)
    return Integer(low, high + 1, log=True, base=base, q=q)


def _check_int_bounds(low: Any, high: Any) -> None:
    # Checked before `high + 1` so the message shows the bounds the caller passed.
    if isinstance(low, numbers.Real) and isinstance(high, numbers.Real) and not low < high:
        raise ValueError(
            f"`low` must be < `high`, got low={low!r}, high={high!r}: swap them or widen the range"
        )


def choice(categories: Iterable[Any]) -> Categorical:
    """One of `categories`, each equally likely."""
    return Categorical(categories)  # type: ignore[arg-type]  # __post_init__ makes a tuple


def grid_search(values: Iterable[Any]) -> GridSearch:
    """Try every value in `values` (expanded by `BasicVariantGenerator`)."""
    return GridSearch(values)  # type: ignore[arg-type]  # __post_init__ makes a tuple


def sample_from(func: Callable[..., Any]) -> Function:
    """A value computed by `func(config)` from the other values (`config["name"]`).

    The older form `func(spec)` with `spec.config.name` works too (see `Function`).

    Example:
        >>> import numpy as np
        >>> from searchers._paths import resolve
        >>> space = {"a": 3, "b": sample_from(lambda config: config["a"] * 2),
        ...          "c": sample_from(lambda spec: spec.config.b + 1)}
        >>> resolve(space, np.random.default_rng(0))
        {'a': 3, 'b': 6, 'c': 7}
    """
    return Function(func)
