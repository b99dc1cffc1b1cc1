"""Every public package exports exactly what its `__all__` lists, and `__all__` is sorted."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize("package", ["tuner", "schedulers", "searchers", "tuner.testing"])
def test_all_is_complete_and_importable(package: str) -> None:
    module = importlib.import_module(package)
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, type(module))  # submodules are not exports
        and name not in ("annotations",)
    }
    assert public - {"__version__"} <= set(module.__all__) | {"__version__"}
    for name in module.__all__:
        assert hasattr(module, name), f"{package}.__all__ names {name!r}, which is missing"


@pytest.mark.parametrize("package", ["tuner", "schedulers", "searchers", "tuner.testing"])
def test_all_is_sorted(package: str) -> None:
    names = importlib.import_module(package).__all__
    # isort-style order, as ruff's RUF022 keeps it: SCREAMING_CASE, then CamelCase, then the rest.
    def key(name: str) -> tuple[int, str]:
        kind = 0 if name.isupper() and len(name) > 1 else 1 if name[0].isupper() else 2
        return kind, name

    assert list(names) == sorted(names, key=key)
