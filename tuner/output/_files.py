"""A trial's output files: their names, and how the loggers open them.

Kept apart from the loggers so that what cuts the files back or reads them (`_rewind`, the
state's restore) does not have to import the loggers, nor the loggers each other.
"""

from __future__ import annotations

import os
from typing import IO, Any

PARAMS_FILE = "params.json"
RESULT_FILE = "result.json"
PROGRESS_FILE = "progress.csv"
EVENT_FILE_PREFIX = "events.out.tfevents."
"""TensorBoard event files are named ``events.out.tfevents.<second>.<host>.<n>``."""


def open_creating(path: str, mode: str) -> IO[Any]:
    """`open` (as UTF-8 text with no newline translation unless `mode` is binary), making the
    file's folder if it is missing. Mostly the engine made it already: trying first saves a
    call per file, and a trial's files are opened once."""
    kwargs: dict[str, Any] = {} if "b" in mode else {"encoding": "utf-8", "newline": ""}
    try:
        return open(path, mode, **kwargs)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return open(path, mode, **kwargs)
