"""Trial names: `TuneConfig(trial_name_creator)` for display, `trial_dirname_creator` for
directories, and the rule that no two trials share a directory.

A trial has a display name (``str(trial)``, ``get_context().get_trial_name()``, progress output)
and a directory name (its folder under the experiment). By default both are
``<trainable>_<trial_id>``. `trial_name_creator(trial)` sets the display name, and the directory
name too unless `trial_dirname_creator(trial)` is given. Directory names go through the one name
rule (`tuner.storage._names.check_name`); one already taken gets ``_<trial_id>`` appended.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

from tuner.exceptions import ConfigError
from tuner.experiment._trial import Trial
from tuner.storage._names import check_name

logger = logging.getLogger(__name__)

_FIX = "return at most 255 bytes (UTF-8) without '/', '\\' or NUL bytes"

NameCreator = Callable[[Trial], str]


def creator_arity(creator: object, what: str) -> int:
    """1 for Ray's ``f(trial)``, 2 for this engine's earlier ``f(trial_id, config)``; a
    `ConfigError` for anything else.

    Example:
        >>> creator_arity(lambda trial: trial.trial_id, "trial_name_creator")
        1
        >>> creator_arity(lambda trial_id, config: trial_id, "trial_name_creator")
        2
    """
    if not callable(creator):
        raise ConfigError(
            f"TuneConfig({what}) must be a function f(trial) -> str, got {creator!r} "
            f"({type(creator).__name__})"
        )
    try:
        signature = inspect.signature(creator)
    except (TypeError, ValueError):  # builtins without a signature: called with the trial
        return 1
    for arity in (1, 2):
        try:
            signature.bind(*[None] * arity)
        except TypeError:
            continue
        return arity
    raise ConfigError(
        f"TuneConfig({what}) is called with the trial (a tuner.experiment.Trial), but "
        f"{getattr(creator, '__qualname__', creator)!r}{signature} cannot take one positional "
        f"argument: define it as def {what.removesuffix('_creator')}(trial) -> str"
    )


def _as_ray_form(creator: Callable[..., Any] | None, what: str) -> NameCreator | None:
    if creator is None:
        return None
    if creator_arity(creator, what) == 1:
        return creator
    logger.warning(
        "TuneConfig(%s) takes (trial_id, config), this engine's earlier form; it still works, "
        "but Ray Tune's form takes the trial: def %s(trial) -> str (with trial.trial_id, "
        "trial.config)", what, what.removesuffix("_creator"),
    )
    return lambda trial: creator(trial.trial_id, trial.config)


class TrialNamer:
    """Gives new trials their display and directory names.

    Args:
        name_creator: `TuneConfig(trial_name_creator)`, ``f(trial) -> str`` (or the earlier
            ``f(trial_id, config)``), or None.
        dirname_creator: `TuneConfig(trial_dirname_creator)`, ``f(trial) -> str``, or None.
        taken: Directory names already in use; names given are added to it.
    """

    def __init__(
        self,
        name_creator: Callable[..., Any] | None,
        dirname_creator: Callable[..., Any] | None,
        taken: set[str],
    ) -> None:
        self._name = _as_ray_form(name_creator, "trial_name_creator")
        self._dirname = _as_ray_form(dirname_creator, "trial_dirname_creator")
        self._taken = taken

    def name(self, trial: Trial, default: str) -> tuple[str | None, str | None, str]:
        """``(custom display name, custom directory name, directory name)`` for a new trial.

        Args:
            trial: The new trial's view (its names not set yet).
            default: The directory name without creators, ``<trainable>_<trial_id>``.
        """
        display = None if self._name is None else str(self._name(trial))
        custom_dir = None
        if self._dirname is not None:
            what = f"the trial_dirname_creator's name for trial {trial.trial_id}"
            custom_dir = check_name(self._dirname(trial), fix=_FIX, what=what)
            directory = custom_dir
        elif display is not None:
            what = f"the trial_name_creator's name for trial {trial.trial_id}"
            directory = check_name(display, fix=_FIX, what=what)
        else:
            directory = default
        if directory in self._taken:
            # Names are directories: two trials must never share one.
            directory = check_name(f"{directory}_{trial.trial_id}", fix=f"{_FIX}, and one per trial",
                                   what=f"the name for trial {trial.trial_id}, taken so made unique")
        self._taken.add(directory)
        return display, custom_dir, directory

    def display_name(self, trial: Trial, directory: str, default: str) -> str | None:
        """The custom display name of a trial restored from a saved state: made again by the
        trial_name_creator if there is one, else its directory name when that is not the
        default (it came from a creator)."""
        if self._name is not None:
            return str(self._name(trial))
        return None if directory == default else directory
