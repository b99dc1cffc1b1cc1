"""Searchers: propose configurations from a search space and learn from their results."""

import typing as _typing

from searchers._base import FINISHED, Searcher, SearchSignal
from searchers._bayesopt import BayesOptSearch
from searchers._concurrency import ConcurrencyLimiter
from searchers._repeater import TRIAL_INDEX, Repeater
from searchers._space import (
    Categorical,
    Domain,
    Float,
    Function,
    GridSearch,
    Integer,
    Normal,
    choice,
    grid_search,
    lograndint,
    loguniform,
    qlograndint,
    qloguniform,
    qrandint,
    qrandn,
    quniform,
    randint,
    randn,
    sample_from,
    uniform,
)
from searchers._space_json import NotSerializableError, space_from_json, space_to_json
from searchers._tpe import TPESearch
from searchers._variant_generator import BasicVariantGenerator

if _typing.TYPE_CHECKING:
    from searchers._optuna import OptunaSearch


def __getattr__(name: str) -> _typing.Any:
    # OptunaSearch (and its translation of spaces) is imported on first use: `import tuner`
    # stays fast, and optuna itself is imported only when an OptunaSearch is built.
    if name == "OptunaSearch":
        from searchers._optuna import OptunaSearch

        return OptunaSearch
    raise AttributeError(f"module 'searchers' has no attribute {name!r}")


__all__ = [
    "FINISHED",
    "TRIAL_INDEX",
    "BasicVariantGenerator",
    "BayesOptSearch",
    "Categorical",
    "ConcurrencyLimiter",
    "Domain",
    "Float",
    "Function",
    "GridSearch",
    "Integer",
    "Normal",
    "NotSerializableError",
    "OptunaSearch",
    "Repeater",
    "SearchSignal",
    "Searcher",
    "TPESearch",
    "choice",
    "grid_search",
    "lograndint",
    "loguniform",
    "qlograndint",
    "qloguniform",
    "qrandint",
    "qrandn",
    "quniform",
    "randint",
    "randn",
    "sample_from",
    "space_from_json",
    "space_to_json",
    "uniform",
]
