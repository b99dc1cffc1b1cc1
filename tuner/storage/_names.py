"""The one rule for names that become directories: experiments, trials, checkpoints.

A name is joined to a parent directory and then written into and deleted from, so it must stay
one level below that parent whatever the filesystem: a name from user code
(`TuneConfig(trial_name_creator)`, `RunConfig(name)`) or from a saved experiment state (which
anyone who can write the experiment folder can craft) is checked here before it is used.
"""

from __future__ import annotations

import posixpath

from tuner.exceptions import ConfigError
from tuner.storage._filesystem import _CHECKPOINT_RE

MAX_NAME_BYTES = 255
"""The longest file name, in bytes, that common filesystems (ext4, XFS, APFS) take."""


def name_problem(name: object) -> str | None:
    """Why `name` cannot be a directory name, or None when it can.

    The rule: a non-empty str, valid UTF-8, at most 255 bytes in UTF-8, without `/`, `\\` or a
    NUL byte, and neither `.` nor `..`.

    Example:
        >>> name_problem("train_fn_00001") is None
        True
        >>> name_problem("../victim")
        "must not contain '/' or '\\\\'"
    """
    if not isinstance(name, str):
        return "must be a str"
    if not name:
        return "must not be empty"
    if "\x00" in name:
        return "must not contain a NUL byte"
    if "/" in name or "\\" in name:
        return "must not contain '/' or '\\'"
    if name in (".", ".."):
        return "must not be '.' or '..'"
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        return "must be valid Unicode text (it holds a lone surrogate)"
    if size > MAX_NAME_BYTES:
        return f"must be at most {MAX_NAME_BYTES} bytes in UTF-8 (it has {size})"
    return None


def check_name(name: object, *, what: str, fix: str) -> str:
    """`name` if it can be a directory name, else a `ConfigError` with the rule, value and fix.

    Args:
        name: The proposed name.
        what: What it names, as the message should start, e.g. "RunConfig(name)".
        fix: What to do instead.

    Example:
        >>> check_name("exp", what="RunConfig(name)", fix="pick another name")
        'exp'
    """
    problem = name_problem(name)
    if problem is not None or not isinstance(name, str):
        raise ConfigError(f"{what} is a directory name and {problem}, got {_shown(name)}: {fix}")
    return name


def checkpoint_path_problem(path: object, index: object) -> str | None:
    """Why `path` cannot be the directory of checkpoint number `index`, or None when it can.

    Only the last part of the path counts (readers point it into the trial directory): it must be
    `checkpoint_<index, 6 digits>`.

    Example:
        >>> checkpoint_path_problem("/old/exp/trial/checkpoint_000002", 2) is None
        True
        >>> checkpoint_path_problem("/old/exp/trial/checkpoint_000002", 3)
        'names checkpoint 2, but its index is 3'
    """
    if not isinstance(path, str):
        return "must be a str"
    base = posixpath.basename(path.rstrip("/"))
    match = _CHECKPOINT_RE.match(base)  # the pattern the storage lists checkpoints by
    if match is None:
        return "must end in a directory named checkpoint_<6 digits>"
    if int(match.group(1)) != index:
        return f"names checkpoint {int(match.group(1))}, but its index is {index!r}"
    return None


def _shown(value: object, limit: int = 80) -> str:
    """`repr(value)`, cut to `limit` characters (a 300-byte name need not fill the screen)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 5]}...{text[-3:]} ({len(text)} chars)"
