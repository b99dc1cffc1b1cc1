"""Ray AIR's `session` module: the trial API under the names Ray 2.0-2.6 scripts call.

`from ray.air import session` becomes `from tuner import session`; then `session.report(...)`,
`session.get_checkpoint()` and the `session.get_*()` getters work as they did in Ray. New code
calls `tuner.report`, `tuner.get_checkpoint` and `tuner.get_context()` directly.

Example:
    >>> from tuner import session
    >>> session.get_trial_id() is None  # outside a trial, as in Ray
    True
"""

from __future__ import annotations

from collections.abc import Mapping

from tuner._session import get_checkpoint, get_context, report


def get_trial_id() -> str | None:
    return get_context().get_trial_id()


def get_trial_name() -> str | None:
    return get_context().get_trial_name()


def get_trial_dir() -> str | None:
    return get_context().get_trial_dir()


def get_experiment_name() -> str | None:
    return get_context().get_experiment_name()


def get_trial_resources() -> Mapping[str, float] | None:
    return get_context().get_trial_resources()


def get_world_rank() -> int | None:
    return get_context().get_world_rank()


def get_world_size() -> int | None:
    return get_context().get_world_size()


def get_local_rank() -> int | None:
    return get_context().get_local_rank()


def get_local_world_size() -> int | None:
    return get_context().get_local_world_size()


def get_node_rank() -> int | None:
    return get_context().get_node_rank()


__all__ = [
    "get_checkpoint",
    "get_context",
    "get_experiment_name",
    "get_local_rank",
    "get_local_world_size",
    "get_node_rank",
    "get_trial_dir",
    "get_trial_id",
    "get_trial_name",
    "get_trial_resources",
    "get_world_rank",
    "get_world_size",
    "report",
]
