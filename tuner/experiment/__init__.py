"""Trials as callbacks see them: `Trial` (Ray Tune's ``ray.tune.experiment``).

Example:
    >>> from tuner.experiment import Trial
    >>> Trial.RUNNING
    'RUNNING'
"""

from tuner.experiment._trial import Trial

__all__ = ["Trial"]
