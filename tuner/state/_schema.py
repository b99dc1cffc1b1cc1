"""The shape of an experiment state, checked when a state slot is loaded.

A state is read from storage that anyone who can write the experiment folder can change, so
every field that restore, analysis and the `tuner` command read is checked here first. A damaged
or crafted slot is then refused with the path of what is wrong (`trials[3].checkpoints must be
a list, got null`) instead of failing later with a KeyError, and no trial or checkpoint name in
it can lead outside the experiment directory (`tuner.storage._names`).

Unknown keys are accepted (newer writers add optional fields) and the optional keys below may
be missing. Values inside configs, results and searcher/scheduler states are not walked: they
are the user's data, read as JSON and never run. A value JSON cannot carry is stored as the
marker `{"__not_json__": repr(value)}` (defined here, written by
`tuner.state._experiment.encode_value`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

from schedulers import TrialStatus
from tuner.storage._names import checkpoint_path_problem, name_problem

NOT_JSON = "__not_json__"
"""Marks a value JSON cannot carry: `{"__not_json__": repr(value)}` (see docs/experiment_state.md)."""
OLD_PICKLED = "__pickled__"
"""How earlier states held such values (a cloudpickle): read as the repr beside it, never loaded."""
TUPLE = "__tuple__"
"""Marks a tuple, `{"__tuple__": [items]}`: plain data (configs hold layer sizes as tuples)."""


def not_json_repr(data: Any) -> str | None:
    """The repr that a marker of a value JSON cannot carry holds, or None if `data` is none.

    An `__pickled__` marker of an older state counts too: its repr is read, its pickle never is.
    """
    if not isinstance(data, dict):
        return None
    if NOT_JSON in data and len(data) == 1:
        text = data[NOT_JSON]
        return text if isinstance(text, str) else json.dumps(text)
    if OLD_PICKLED in data and set(data) <= {OLD_PICKLED, "repr"}:
        text = data.get("repr")
        return text if isinstance(text, str) else "<a pickled value>"
    return None


Check = Callable[[Any, str], None]
"""Checks the value at a path (`trials[3].checkpoints`); raises `_Invalid` if it is wrong."""


class _Invalid(Exception):
    """The first thing wrong with a state, as `<path> <rule>, got <value>`."""


def _shown(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = json.dumps(value) if isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else f"{text[:72]}... ({len(text)} chars)"


def _fail(at: str, rule: str, value: Any) -> NoReturn:
    raise _Invalid(f"{at} {rule}, got {_shown(value)}")


# ---------------------------------------------------------------------------- checks
def _str(value: Any, at: str) -> None:
    if not isinstance(value, str):
        _fail(at, "must be a str", value)


def _bool(value: Any, at: str) -> None:
    if not isinstance(value, bool):
        _fail(at, "must be true or false", value)


def _number(value: Any, at: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        _fail(at, "must be a number", value)


def _int(minimum: int | None = None) -> Check:
    def check(value: Any, at: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            _fail(at, "must be an int", value)
        if minimum is not None and value < minimum:
            _fail(at, f"must be >= {minimum}", value)

    return check


def _dict(value: Any, at: str) -> None:
    if not isinstance(value, dict):
        _fail(at, "must be an object", value)


def _data(value: Any, at: str) -> None:
    """A dict of user data (a config, a result): an object, but not a marker of one value."""
    _dict(value, at)
    if not_json_repr(value) is not None:
        raise _Invalid(f"{at} must be an object of values, got the marker of one value")


def _nullable(check: Check) -> Check:
    def nullable(value: Any, at: str) -> None:
        if value is not None:
            check(value, at)

    return nullable


def _one_of(*choices: Any) -> Check:
    def check(value: Any, at: str) -> None:
        if isinstance(value, bool) or value not in choices:
            _fail(at, f"must be one of {', '.join(json.dumps(c) for c in choices)}", value)

    return check


def _list_of(item: Check) -> Check:
    def check(value: Any, at: str) -> None:
        if not isinstance(value, list):
            _fail(at, "must be a list", value)
        for i, element in enumerate(value):
            item(element, f"{at}[{i}]")

    return check


def _dict_of(item: Check) -> Check:
    def check(value: Any, at: str) -> None:
        _dict(value, at)
        for key, element in value.items():
            item(element, f"{at}.{key}")

    return check


def _fields(spec: Mapping[str, Check], optional: frozenset[str] = frozenset()) -> Check:
    """An object with the keys of `spec` (those in `optional` may be missing); others are fine."""

    def check(value: Any, at: str) -> None:
        _dict(value, at)
        for key, field_check in spec.items():
            where = f"{at}.{key}" if at else key
            if key in value:
                field_check(value[key], where)
            elif key not in optional:
                raise _Invalid(f"{where} is missing")

    return check


def _dir_name(value: Any, at: str) -> None:
    problem = name_problem(value)
    if problem is not None:
        _fail(at, f"is a directory name and {problem}", value)


# ---------------------------------------------------------------------------- the state
_STATUS = _one_of(*(s.value for s in TrialStatus))


def _status_change(value: Any, at: str) -> None:
    if not isinstance(value, list) or len(value) != 2:
        _fail(at, "must be a [status, unix_time] pair", value)
    _STATUS(value[0], f"{at}[0]")
    _number(value[1], f"{at}[1]")


_CHECKPOINT = _fields(
    {"index": _int(0), "path": _str, "metrics": _data, "num_results": _nullable(_int(0))},
    optional=frozenset({"num_results"}),
)


def _checkpoint(value: Any, at: str) -> None:
    _CHECKPOINT(value, at)
    problem = checkpoint_path_problem(value["path"], value["index"])
    if problem is not None:
        _fail(f"{at}.path", problem, value["path"])


_TRIAL = _fields(
    {
        "trial_id": _str,
        "name": _dir_name,
        "config": _data,
        "path": _str,
        "resources": _dict_of(_number),
        "status": _STATUS,
        "history": _list_of(_status_change),
        "last_result": _data,
        "num_failures": _int(0),
        "error": _nullable(_str),
        "checkpoints": _list_of(_checkpoint),
        "next_checkpoint_index": _int(0),
        "restore_from": _nullable(_int(0)),
        "num_results": _int(0),
    },
    optional=frozenset({"error", "restore_from", "num_results"}),
)


def _trial(value: Any, at: str) -> None:
    _TRIAL(value, at)
    if not value["trial_id"]:
        _fail(f"{at}.trial_id", "must not be empty", value["trial_id"])
    for i, record in enumerate(value["checkpoints"]):
        if record["index"] >= value["next_checkpoint_index"]:
            # Restore deletes checkpoint directories at or above next_checkpoint_index.
            _fail(f"{at}.next_checkpoint_index",
                  f"must be above every checkpoint index (checkpoints[{i}] has {record['index']})",
                  value["next_checkpoint_index"])


def _trials(value: Any, at: str) -> None:
    _list_of(_trial)(value, at)
    seen: dict[tuple[str, str], int] = {}
    for i, trial in enumerate(value):
        for key in ("trial_id", "name"):
            first = seen.setdefault((key, trial[key]), i)
            if first != i:
                # Two trials in one directory would write into and delete each other's files.
                _fail(f"{at}[{i}].{key}", f"must be unique, but trials[{first}] has it too",
                      trial[key])


_COMPONENT = _fields({"class": _str, "state": _dict})

_EXPERIMENT = _fields(
    {
        "name": _dir_name,
        "path": _str,
        "experiment_id": _str,
        "trainable_name": _str,
        "trainable_kind": _str,
        "elapsed_s": _number,
        "searcher_finished": _bool,
        "status": _str,
        "counts": _dict_of(_int(0)),
        "policy_records": _int(0),
    },
    optional=frozenset({"path", "policy_records"}),
)

def _period(value: Any, at: str) -> None:
    if value != "auto":
        _number(value, at)


def _one_or_list(check: Check) -> Check:
    """A value that passes `check`, or a list of such values (one objective, or several)."""
    listed = _list_of(check)

    def either(value: Any, at: str) -> None:
        (listed if isinstance(value, list) else check)(value, at)

    return either


_SETTINGS = _fields(
    {
        # One objective, or a list of them (multi-objective).
        "metric": _nullable(_one_or_list(_str)),
        "mode": _nullable(_one_or_list(_one_of("min", "max"))),
        "constraints": _nullable(_list_of(_str)),
        "num_samples": _int(),
        "max_concurrent_trials": _nullable(_int()),
        "time_budget_s": _nullable(_number),
        "reuse_actors": _bool,
        "seed": _nullable(_int()),
        "resources": _dict_of(_number),
        "stop": _nullable(_dict),
        "stop_is_json": _bool,
        "checkpoint_config": _dict,
        "failure_config": _dict,
        "verbose": _int(),
        "experiment_checkpoint_period_s": _period,
    },
    optional=frozenset({"constraints"}),
)

_STATE = _fields(
    {
        "format_version": _int(),
        "sequence": _int(0),
        "experiment": _EXPERIMENT,
        "settings": _SETTINGS,
        "param_space": _nullable(_dict),
        "param_space_note": _nullable(_str),
        "searcher": _COMPONENT,
        "scheduler": _COMPONENT,
        "stopper": _nullable(_COMPONENT),
        "trials": _trials,
    },
    optional=frozenset({"param_space", "param_space_note", "stopper"}),
)


def state_problem(state: Any) -> str | None:
    """What is wrong with the shape of `state` (the first thing found), or None if nothing is.

    Example:
        >>> state_problem({"format_version": 1, "sequence": "7"})
        'sequence must be an int, got "7"'
    """
    if not isinstance(state, dict):
        return f"the state must be an object, got {_shown(state)}"
    try:
        _STATE(state, "")
    except _Invalid as exc:
        return str(exc)
    return None
