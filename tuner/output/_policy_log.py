"""The experiment's PBT policy log: one JSON record per exploit the loop carried out.

``<experiment>/pbt_policy.jsonl`` is what `PopulationBasedTrainingReplay` replays and what a
user reads to follow a trial's lineage. Each record says, when a trial resumed from another's
checkpoint, who gave what to whom:

    time                when the loop carried the exploit out (the experiment's clock)
    target_trial_id     the trial that resumed from the copy
    donor_trial_id      the trial whose checkpoint was copied
    target_iteration    the target's training_iteration before (what it discarded)
    donor_iteration     the training_iteration of the copied checkpoint
    old_config          the donor's config: the one the copied checkpoint was trained with
    target_config       the config the target discarded
    new_config          the config the target goes on with

The experiment state counts the records; a restore cuts the file back to that count, so that
an exploit carried out again after a crash is not logged twice (`rewind`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tuner.output._experiment_files import POLICY_FILE
from tuner.storage._filesystem import is_local, join

if TYPE_CHECKING:
    import fsspec


class PolicyLog:
    """Appends exploit records to ``pbt_policy.jsonl`` in the experiment's local folder.

    Args:
        experiment_dir: The experiment's local folder (the staging folder on remote storage,
            which the syncer uploads).
        records: How many records the file already holds (from a restored state).
    """

    def __init__(self, experiment_dir: str, records: int = 0) -> None:
        self._path = os.path.join(experiment_dir, POLICY_FILE)
        self.records = records
        """How many records were written, the restored ones included."""

    def append(self, record: Mapping[str, Any]) -> None:
        """Write one record (JSON data) as the file's next line."""
        line = json.dumps(record, default=repr) + "\n"
        with open(self._path, "a", encoding="utf-8") as file:
            file.write(line)
        self.records += 1


def rewind_policy_log(
    fs: fsspec.AbstractFileSystem, exp_path: str, experiment_dir: str, records: int | None
) -> int:
    """Before a restored experiment runs: the policy log as the saved state counted it.

    On remote storage the stored file is first fetched into the local folder (the syncer
    uploads the local file whole). Then lines after the first `records` are cut (they were
    written after the last state save: the exploits they log happen again), and so is a last
    line cut short by a crash. `records` None (a state from before records were counted)
    keeps the complete lines.

    Returns:
        How many records the file holds now.
    """
    local = os.path.join(experiment_dir, POLICY_FILE)
    if not is_local(fs):
        remote = join(exp_path, POLICY_FILE)
        if fs.exists(remote):
            os.makedirs(experiment_dir, exist_ok=True)
            fs.get_file(remote, local)
    if not os.path.exists(local):
        return 0
    with open(local, encoding="utf-8") as file:
        text = file.read()
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines.pop()  # cut short by a crash
    keep = lines if records is None else lines[:records]
    if len(keep) != len(lines) or len("".join(keep)) != len(text):
        temporary = f"{local}.tmp-rewind"
        with open(temporary, "w", encoding="utf-8") as file:
            file.writelines(keep)
        os.replace(temporary, local)
    return len(keep)
