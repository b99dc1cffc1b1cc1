"""Read-only dicts and lists for trial views: they wrap the trial's own data, copying nothing deep.

A `TrialView` hands a scheduler the trial's config and last result. Copying them deeply for
every view (one per result) would cost as much as the results are large; instead the view
holds a `FrozenDict`, a shallow copy of the top level whose nested dicts and lists are wrapped
the same way only when they are read. So nothing reachable through a view can change the
trial, while reading stays as cheap and as familiar as a dict:

* `FrozenDict` is a `dict` and `FrozenList` a `list` (isinstance, `==`, `in`, `len`,
  iteration, `json.dumps` and `repr` all work as for plain ones);
* `dict(d)`, `d.copy()`, `{**d}` and `d | other` give a plain dict whose nested values are
  still read-only; `copy.deepcopy(d)` and `thaw(d)` give plain, mutable data all the way down;
  pickling gives plain data too;
* every mutating method raises `TypeError`, as a `tuple` or a `MappingProxyType` does.

Tuples and sets are shown with their items read-only, numpy arrays as read-only views. Other
objects are shown as they are: a scheduler must treat them as read-only.

Example:
    >>> config = {"lr": 0.1, "layers": [{"units": 32}]}
    >>> view = FrozenDict(config)
    >>> view["layers"][0]["units"] = 64  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    TypeError: cannot set 'units': a trial view's config and last_result are read-only; ...
    >>> new = copy.deepcopy(view)
    >>> new["layers"][0]["units"] = 64
    >>> config["layers"][0]["units"], view == config
    (32, True)
"""

from __future__ import annotations

import copy
import sys
from collections.abc import ItemsView, Iterable, Iterator, Mapping, ValuesView
from typing import Any, NoReturn, SupportsIndex, overload

_FIX = (
    "a trial view's config and last_result are read-only; change a copy "
    "(copy.deepcopy(view.config) gives plain dicts)"
)


def _refuse(what: str) -> NoReturn:
    raise TypeError(f"cannot {what}: {_FIX}")


def freeze(value: Any) -> Any:
    """`value` as it is shown through a view: containers read-only, other objects as they are."""
    if isinstance(value, FrozenDict | FrozenList):
        return value
    if isinstance(value, dict):
        return FrozenDict(value)
    if isinstance(value, list):
        return FrozenList(value)
    if type(value) is tuple:
        return tuple(freeze(item) for item in value)
    if type(value) is set:
        return frozenset(value)
    # A value can only be an ndarray once numpy is loaded: looking it up, rather than importing
    # it here, keeps numpy out of `import tuner` (trial views are on that import path).
    np = sys.modules.get("numpy")
    if np is not None and isinstance(value, np.ndarray) and value.flags.writeable:
        view = value.view()
        view.flags.writeable = False
        return view
    return value


def thaw(value: Any) -> Any:
    """Plain, mutable containers for `value`'s read-only ones (and copies of plain ones).

    Objects that are not dicts, lists or tuples are kept, not copied: unlike `copy.deepcopy`,
    this only undoes `freeze`.
    """
    if isinstance(value, dict):
        return {key: thaw(item) for key, item in dict.items(value)}
    if isinstance(value, list):
        return [thaw(item) for item in list.__iter__(value)]
    if type(value) is tuple:
        return tuple(thaw(item) for item in value)
    return value


class FrozenDict(dict[str, Any]):
    """A read-only dict: nested dicts and lists read through it are read-only too."""

    __slots__ = ()

    # -- reading: nested values are wrapped as they are read ---------------------------------

    def __getitem__(self, key: str) -> Any:
        return freeze(dict.__getitem__(self, key))

    def get(self, key: str, default: Any = None) -> Any:
        return freeze(dict.get(self, key, default))

    def __iter__(self) -> Iterator[str]:
        # Defined so that dict(), {**d} and d.copy() read values through __getitem__ instead of
        # copying the unwrapped ones straight from the table.
        return dict.__iter__(self)

    def values(self) -> ValuesView[Any]:  # type: ignore[override]
        return ValuesView(self)

    def items(self) -> ItemsView[str, Any]:  # type: ignore[override]
        return ItemsView(self)

    # -- copies: shallow ones are plain dicts; deep ones plain all the way down ---------------

    def __copy__(self) -> dict[str, Any]:
        return dict(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        copied: dict[str, Any] = {}
        memo[id(self)] = copied
        for key, value in dict.items(self):
            copied[copy.deepcopy(key, memo)] = copy.deepcopy(value, memo)
        return copied

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[Any, ...]:
        return (dict, (dict(self),))

    def __or__(self, other: Any) -> dict[str, Any]:  # type: ignore[override]
        if not isinstance(other, Mapping):
            return NotImplemented
        return {**self, **other}

    def __ror__(self, other: Any) -> dict[str, Any]:  # type: ignore[override]
        if not isinstance(other, Mapping):
            return NotImplemented
        return {**other, **self}

    # -- writing: refused --------------------------------------------------------------------

    def __setitem__(self, key: str, value: Any) -> NoReturn:
        _refuse(f"set {key!r}")

    def __delitem__(self, key: str) -> NoReturn:
        _refuse(f"delete {key!r}")

    def __ior__(self, other: Any) -> NoReturn:
        _refuse("update it")

    def update(self, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse("update it")

    def setdefault(self, key: str, default: Any = None) -> NoReturn:
        _refuse(f"set {key!r}")

    def pop(self, key: str, *default: Any) -> NoReturn:
        _refuse(f"pop {key!r}")

    def popitem(self) -> NoReturn:
        _refuse("pop an item")

    def clear(self) -> NoReturn:
        _refuse("clear it")


class FrozenList(list[Any]):
    """A read-only list: nested dicts and lists read through it are read-only too."""

    __slots__ = ()

    # -- reading -----------------------------------------------------------------------------

    @overload
    def __getitem__(self, index: SupportsIndex) -> Any: ...

    @overload
    def __getitem__(self, index: slice) -> FrozenList: ...

    def __getitem__(self, index: SupportsIndex | slice) -> Any:
        if isinstance(index, slice):
            return FrozenList(list.__getitem__(self, index))
        return freeze(list.__getitem__(self, index))

    def __iter__(self) -> Iterator[Any]:
        return (freeze(item) for item in list.__iter__(self))

    def __reversed__(self) -> Iterator[Any]:
        return (freeze(item) for item in list.__reversed__(self))

    def copy(self) -> list[Any]:
        return list(self)

    def __copy__(self) -> list[Any]:
        return list(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> list[Any]:
        copied: list[Any] = []
        memo[id(self)] = copied
        copied.extend(copy.deepcopy(item, memo) for item in list.__iter__(self))
        return copied

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[Any, ...]:
        return (list, (list(self),))

    # list's own + and * would copy the unwrapped items: these go through iteration.
    def __add__(self, other: Iterable[Any]) -> list[Any]:
        return [*self, *other]

    def __radd__(self, other: Iterable[Any]) -> list[Any]:
        return [*other, *self]

    def __mul__(self, times: SupportsIndex) -> list[Any]:
        return list(self) * times

    def __rmul__(self, times: SupportsIndex) -> list[Any]:
        return list(self) * times

    # -- writing: refused --------------------------------------------------------------------

    def __setitem__(self, index: Any, value: Any) -> NoReturn:
        _refuse(f"set item {index!r}")

    def __delitem__(self, index: Any) -> NoReturn:
        _refuse(f"delete item {index!r}")

    def __iadd__(self, other: Any) -> NoReturn:  # type: ignore[misc]
        _refuse("extend it")

    def __imul__(self, times: Any) -> NoReturn:  # type: ignore[misc]
        _refuse("repeat it")

    def append(self, value: Any) -> NoReturn:
        _refuse("append to it")

    def extend(self, values: Iterable[Any]) -> NoReturn:
        _refuse("extend it")

    def insert(self, index: SupportsIndex, value: Any) -> NoReturn:
        _refuse("insert into it")

    def pop(self, index: SupportsIndex = -1) -> NoReturn:
        _refuse("pop from it")

    def remove(self, value: Any) -> NoReturn:
        _refuse("remove from it")

    def clear(self) -> NoReturn:
        _refuse("clear it")

    def sort(self, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse("sort it")

    def reverse(self) -> NoReturn:
        _refuse("reverse it")
