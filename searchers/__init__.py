"""Searchers: propose configurations from a search space and learn from their results.

Every searcher and helper is imported on first use (PEP 562), so that `import tuner` pays
neither for numpy nor for optuna, and a worker process, which imports `searchers._lazy`, for
none of them. `from searchers import TPESearch` and
`searchers.TPESearch` work as usual.
"""

from __future__ import annotations

import typing as _typing

from searchers._lazy import lazy_exports as _lazy_exports

if _typing.TYPE_CHECKING:
    from searchers._base import FINISHED, Searcher, SearchSignal
    from searchers._bayesopt import BayesOptSearch
    from searchers._bohb import BOHBConfig, TuneBOHB
    from searchers._concurrency import ConcurrencyLimiter
    from searchers._fidelity import Fidelity
    from searchers._nsga2 import NSGA2Search
    from searchers._optuna import OptunaSearch
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
    from searchers._wrapper import SearcherWrapper

# public name -> the private module that defines it, imported on first access
__getattr__, __dir__ = _lazy_exports(globals(), {
    "BasicVariantGenerator": "searchers._variant_generator",
    "Categorical": "searchers._space",
    "Domain": "searchers._space",
    "FINISHED": "searchers._base",
    "Fidelity": "searchers._fidelity",
    "Float": "searchers._space",
    "Function": "searchers._space",
    "GridSearch": "searchers._space",
    "Integer": "searchers._space",
    "Normal": "searchers._space",
    "SearchSignal": "searchers._base",
    "Searcher": "searchers._base",
    "choice": "searchers._space",
    "grid_search": "searchers._space",
    "lograndint": "searchers._space",
    "loguniform": "searchers._space",
    "qlograndint": "searchers._space",
    "qloguniform": "searchers._space",
    "qrandint": "searchers._space",
    "qrandn": "searchers._space",
    "quniform": "searchers._space",
    "randint": "searchers._space",
    "randn": "searchers._space",
    "sample_from": "searchers._space",
    "uniform": "searchers._space",
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
