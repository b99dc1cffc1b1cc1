"""`tuner.search`: the `searchers` package under Ray Tune's name for it (`ray.tune.search`).

So that a Ray Tune script runs after `import tuner as tune`: `tune.search.ConcurrencyLimiter`,
`from tuner.search import ConcurrencyLimiter`. The names are the `searchers` objects themselves.
"""

from searchers import *  # noqa: F403 - an alias: the whole package, nothing of its own
from searchers import __all__ as __all__
