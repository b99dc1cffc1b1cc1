"""`tuner.schedulers`: the `schedulers` package under Ray Tune's name for it
(`ray.tune.schedulers`).

So that a Ray Tune script runs after `import tuner as tune`: `tune.schedulers.ASHAScheduler`,
`from tuner.schedulers import ASHAScheduler`. The names are the `schedulers` objects themselves.
"""

from schedulers import *  # noqa: F403 - an alias: the whole package, nothing of its own
from schedulers import __all__ as __all__
