"""`searchers.__all__` is complete and in ruff's (isort-style) order."""

from __future__ import annotations

import importlib
import pkgutil

import searchers


def test_all_is_importable_and_unique() -> None:
    assert len(set(searchers.__all__)) == len(searchers.__all__)
    for name in searchers.__all__:
        assert hasattr(searchers, name)


def test_public_classes_of_private_modules_are_exported() -> None:
    internal = {"Param", "ModelSearcher", "NumericDim", "OrdinalDim", "Posterior", "GuardedMapping",
                "Parzen",  # TPE's and BOHB's density (searchers/_parzen.py)
                "GuardedList", "Spec", "UnresolvedError", "Acquisition", "Utility",
                # The multi-objective math every package shares (searchers/_pareto.py, ...).
                "Objectives", "Constraint", "Feasibility", "MetricNotReportedError", "Ranking",
                # What a model-based searcher records of a trial (searchers/_outcome.py).
                "Outcome",
                # A searcher's generator, made on first use (searchers/_rng.py).
                "DeferredRng"}
    for module_info in pkgutil.iter_modules(searchers.__path__):
        module = importlib.import_module(f"searchers.{module_info.name}")
        for name, value in vars(module).items():
            if (isinstance(value, type) and value.__module__ == module.__name__
                    and not name.startswith("_") and name not in internal):
                assert name in searchers.__all__, name


def test_all_is_sorted() -> None:
    def key(name: str) -> tuple[int, str]:
        kind = 0 if name.isupper() else 1 if name[0].isupper() else 2
        return kind, name

    assert searchers.__all__ == sorted(searchers.__all__, key=key)
