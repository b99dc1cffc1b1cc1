"""`Result`: what one trial produced — its last metrics, config, checkpoints, error and history."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from searchers._objective import as_finite, best_by, check_mode
from tuner.exceptions import TrialError
from tuner.output._encode import flatten as _flatten
from tuner.storage._checkpoint import Checkpoint

if TYPE_CHECKING:
    import fsspec
    import pandas as pd


def flatten(data: Mapping[str, Any], prefix: str = "", sep: str = "/") -> dict[str, Any]:
    """`{"a": {"b": 1}}` -> `{"a/b": 1}`; with `prefix`, `{"prefix/a/b": 1}`.

    The output files' `flatten` (`tuner.output._encode`), so that a column read back has the
    name it was written under.
    """
    flat = _flatten(data, sep)
    if not prefix:
        return flat
    return {f"{prefix}{sep}{key}": value for key, value in flat.items()}


def metric_value(metrics: Mapping[str, Any], metric: str) -> float | None:
    """`metric` of a result (nested keys joined with "/") if it is a finite number, else None."""
    return as_finite(flatten(metrics).get(metric))


@dataclass(frozen=True)
class Result:
    """The outcome of one trial.

    Attributes:
        metrics: The trial's last reported result (with the auto-filled fields).
        config: The trial's config (its final one, if a scheduler changed it).
        path: The trial directory on the experiment's storage.
        filesystem: The filesystem `path` is on: an fsspec filesystem, or for a local disk a
            `LocalDisk`, which is fsspec's `LocalFileSystem` made on first use (every
            attribute is that filesystem's; `Checkpoint.filesystem` gives the fsspec object).
        error: Why the trial failed, or None.
        checkpoint: The trial's latest checkpoint, or None.
        best_checkpoints: Retained checkpoints with the metrics they were reported with, best first
            by the `CheckpointConfig` score attribute, then those reported without a finite
            score, newest first (all newest first without a score attribute).
        trial_id: The trial's id.
        status: The trial's final status name.
    """

    metrics: dict[str, Any]
    config: dict[str, Any]
    path: str
    filesystem: fsspec.AbstractFileSystem | None = None
    error: TrialError | None = None
    checkpoint: Checkpoint | None = None
    best_checkpoints: list[tuple[Checkpoint, dict[str, Any]]] = field(default_factory=list)
    trial_id: str = ""
    status: str = ""

    @classmethod
    def from_path(
        cls,
        path: str | os.PathLike[str],
        *,
        storage_filesystem: fsspec.AbstractFileSystem | None = None,
    ) -> Result:
        """The `Result` of the trial directory at `path` (``<storage_path>/<name>/<trial>``).

        Reads files only (no trainable needed, nothing from the folder is run); see
        `tuner.analysis._read.result_from_trial_dir` for what is known without the experiment state.
        """
        from tuner.analysis._read import result_from_trial_dir

        return result_from_trial_dir(path, storage_filesystem)

    def _history(self) -> list[dict[str, Any]]:
        if self.filesystem is None:
            import fsspec

            fs = fsspec.filesystem("file")
        else:
            fs = self.filesystem
        path = f"{self.path.rstrip('/')}/result.json"
        try:
            with fs.open(path, "rb") as f:
                data = f.read().decode("utf-8")
        except FileNotFoundError:
            return []
        rows = []
        for line in data.splitlines():
            line = line.strip()
            if line:
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut short by a crash (disk full, power loss): skip it
                if isinstance(row, dict):
                    rows.append(row)
        return rows

    @property
    def metrics_dataframe(self) -> pd.DataFrame:
        """Every result this trial reported, one row each (read from its result.json)."""
        import pandas as pd

        return pd.DataFrame([flatten(row) for row in self._history()])

    def metric_history(self, metric: str) -> list[float]:
        """The values of `metric` over the trial's results (non-numbers skipped)."""
        values = (metric_value(row, metric) for row in self._history())
        return [v for v in values if v is not None]

    def get_best_checkpoint(self, metric: str, mode: str) -> Checkpoint | None:
        """The retained checkpoint whose metrics are best for `metric` in `mode` (the first of
        equals in `best_checkpoints` order); None if none has a finite `metric`."""
        check_mode(mode, owner="Result.get_best_checkpoint")
        best = best_by(self.best_checkpoints, lambda pair: metric_value(pair[1], metric), mode)
        return None if best is None else best[0][0]

    def __repr__(self) -> str:
        shown = {
            k: v
            for k, v in self.metrics.items()
            if k not in ("pid", "hostname", "timestamp", "time_since_restore")
        }
        error = f", error={str(self.error)!r}" if self.error else ""
        return f"Result(metrics={shown}, config={self.config}, path={self.path!r}{error})"
