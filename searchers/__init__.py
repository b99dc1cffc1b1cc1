"""Searchers: propose configurations from a search space and learn from their results."""

from searchers._base import FINISHED, Searcher, SearchSignal
from searchers._bayesopt import BayesOptSearch
from searchers._concurrency import ConcurrencyLimiter
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
