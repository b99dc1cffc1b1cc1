"""Files the loop itself appends to: a trial's ``error.txt``, the experiment's PBT policy log."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from typing import Any

POLICY_FILE = "pbt_policy.jsonl"
"""Where PBT's perturbations are logged, one JSON record per line, in the experiment directory."""


def append_error(local_dir: str, failure: int, time: float, text: str) -> None:
    """Add failure number `failure` (its traceback `text`) to the trial's ``error.txt``."""
    os.makedirs(local_dir, exist_ok=True)
    with open(os.path.join(local_dir, "error.txt"), "a", encoding="utf-8") as f:
        f.write(f"Failure #{failure} at {time:.0f}:\n")
        f.write(text.rstrip() + "\n\n")


def append_perturbations(experiment_dir: str, records: Iterable[Mapping[str, Any]]) -> None:
    """Append PBT's perturbation records to the experiment's policy log."""
    lines = [json.dumps(record) + "\n" for record in records]
    if lines:
        with open(os.path.join(experiment_dir, POLICY_FILE), "a", encoding="utf-8") as f:
            f.writelines(lines)
