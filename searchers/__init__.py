"""Searchers: propose configurations from a search space and learn from their results.

The base class, the search space and the default `BasicVariantGenerator` are imported with the
package; every other searcher and helper is imported on first use (PEP 562), so that
`import tuner` pays neither for numpy nor for optuna. `from searchers import TPESearch` and
`searchers.TPESearch` work as usual.
"""

from __future__ import annotations

import typing as _typing

from searchers._base import FINISHED, Searcher, SearchSignal
from searchers._fidelity import Fidelity
from searchers._lazy import lazy_exports as _lazy_exports
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
from searchers._variant_generator import BasicVariantGenerator

if _typing.TYPE_CHECKING:
    from searchers._bayesopt import BayesOptSearch
    from searchers._bohb import BOHBConfig, TuneBOHB
    from searchers._concurrency import ConcurrencyLimiter
    from searchers._nsga2 import NSGA2Search
    from searchers._optuna import OptunaSearch
    from searchers._repeater import TRIAL_INDEX, Repeater
    from searchers._space_json import NotSerializableError, space_from_json, space_to_json
    from searchers._tpe import TPESearch
    from searchers._wrapper import SearcherWrapper

# public name -> the private module that defines it, imported on first access
__getattr__, __dir__ = _lazy_exports(globals(), {
    "TRIAL_INDEX": "searchers._repeater",
    "BOHBConfig": "searchers._bohb",
    "BayesOptSearch": "searchers._bayesopt",
    "ConcurrencyLimiter": "searchers._concurrency",
    "NSGA2Search": "searchers._nsga2",
    "NotSerializableError": "searchers._space_json",
    "OptunaSearch": "searchers._optuna",  # optuna itself loads only when one is built
    "Repeater": "searchers._repeater",
    "SearcherWrapper": "searchers._wrapper",
    "TPESearch": "searchers._tpe",
    "TuneBOHB": "searchers._bohb",
    "space_from_json": "searchers._space_json",
    "space_to_json": "searchers._space_json",
})


__all__ = [
    "FINISHED",
    "TRIAL_INDEX",
    "BOHBConfig",
    "BasicVariantGenerator",
    "BayesOptSearch",
    "Categorical",
    "ConcurrencyLimiter",
    "Domain",
    "Fidelity",
    "Float",
    "Function",
    "GridSearch",
    "Integer",
    "NSGA2Search",
    "Normal",
    "NotSerializableError",
    "OptunaSearch",
    "Repeater",
    "SearchSignal",
    "Searcher",
    "SearcherWrapper",
    "TPESearch",
    "TuneBOHB",
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
