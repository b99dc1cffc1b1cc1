"""`TrialInfo`s for callbacks in tuner 0.1's form, made once per trial and status."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from tuner._callback import TrialInfo

if TYPE_CHECKING:
    from tuner._trial import Trial


class TrialInfos:
    """The `TrialInfo` of a trial, rebuilt only when its config or status changed."""

    def __init__(self, local_dir: Callable[[Trial], str]) -> None:
        self._local_dir = local_dir
        self._cache: dict[str, TrialInfo] = {}

    def __call__(self, trial: Trial) -> TrialInfo:
        cached = self._cache.get(trial.trial_id)
        if cached is not None and cached.config is trial.config and (
            cached.status == trial.status.value
        ):
            return cached
        info = TrialInfo(
            trial.trial_id, trial.name, trial.config, self._local_dir(trial), trial.status.value
        )
        if trial.status.is_finished:
            self._cache.pop(trial.trial_id, None)  # it will not change again
        else:
            self._cache[trial.trial_id] = info
        return info
