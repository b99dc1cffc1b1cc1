"""`lazy_exports`: the PEP 562 `__getattr__`/`__dir__` of `tuner`, `schedulers` and `searchers`."""

from __future__ import annotations

import sys
import types

import pytest

from searchers._lazy import lazy_exports


def _package() -> types.ModuleType:
    package = types.ModuleType("lazy_probe")
    package.__path__ = []  # a package, so `lazy_probe.<sub>` can be a submodule
    namespace = vars(package)
    namespace.update(__all__=["Fraction", "here"], here=1)
    namespace["__getattr__"], namespace["__dir__"] = lazy_exports(
        namespace, {"Fraction": "fractions"}, submodules=("json_sub",)
    )
    return package


def test_a_lazy_name_is_imported_on_first_use_and_kept() -> None:
    package = _package()
    assert "Fraction" not in vars(package)
    assert "Fraction" in dir(package)  # listed before its first use
    from fractions import Fraction

    assert package.Fraction is Fraction
    assert vars(package)["Fraction"] is Fraction  # later look-ups skip __getattr__


def test_an_unknown_name_is_an_attribute_error_naming_the_package() -> None:
    with pytest.raises(AttributeError, match="module 'lazy_probe' has no attribute 'nope'"):
        _package().nope  # noqa: B018


def test_a_submodule_name_imports_the_submodule(monkeypatch: pytest.MonkeyPatch) -> None:
    sub = types.ModuleType("lazy_probe.json_sub")
    monkeypatch.setitem(sys.modules, "lazy_probe.json_sub", sub)
    assert _package().json_sub is sub
