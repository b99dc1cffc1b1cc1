"""Names a package imports on first use (PEP 562), so that importing the package stays fast.

`tuner`, `schedulers` and `searchers` each import their light parts with the package and the
rest (numpy, optuna, torch, executors) when a name is first used. Here because `searchers` is
the one package all three may import.

Example, in a package's ``__init__.py``::

    __getattr__, __dir__ = lazy_exports(globals(), {"TPESearch": "searchers._tpe"})
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def lazy_exports(
    namespace: dict[str, Any],
    names: Mapping[str, str],
    *,
    submodules: Iterable[str] = (),
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module-level `__getattr__` and `__dir__` of the package whose globals are `namespace`.

    Args:
        namespace: The package's `globals()`.
        names: Each lazy public name -> the module that defines it, imported on first access.
            The value is then kept in `namespace`, so later look-ups skip `__getattr__`.
        submodules: Names of the package's submodules that are attributes too (imported on
            first access, as `import package.name` would).

    `__dir__` lists the package's globals and its `__all__` (lazy names before their first use
    too).
    """
    package = namespace["__name__"]
    lazy = dict(names)
    modules = frozenset(submodules)

    def __getattr__(name: str) -> Any:
        module = lazy.get(name)
        if module is not None:
            value = getattr(importlib.import_module(module), name)
            namespace[name] = value  # later look-ups skip __getattr__
            return value
        if name in modules:
            return importlib.import_module(f"{package}.{name}")
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(namespace.get("__all__", ())))

    return __getattr__, __dir__
