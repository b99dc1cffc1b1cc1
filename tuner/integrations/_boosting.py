"""What the XGBoost and LightGBM callbacks share: choosing the metrics to report, and the
checkpoint of a booster.

Both libraries name an evaluation result ``<dataset>-<metric>`` here, as Ray Tune does
(``"eval-logloss"``, ``"valid-binary_logloss"``); cross-validation adds ``-mean`` and a
standard deviation (``-std`` for XGBoost, ``-stdv`` for LightGBM, as Ray reports them).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from tuner._session import report
from tuner.exceptions import ConfigError
from tuner.storage._checkpoint import Checkpoint

Metrics = str | Sequence[str] | Mapping[str, str] | None
"""``None`` (every evaluation result), a name, a list of names, or ``{report_as: name}``."""

PostProcess = Callable[[dict[str, float]], dict[str, float]]


def metric_names(metrics: Metrics, owner: str) -> dict[str, str] | None:
    """`metrics` as ``{report_as: evaluation name}``, or None for every evaluation result."""
    if metrics is None:
        return None
    if isinstance(metrics, str):
        return {metrics: metrics}
    if isinstance(metrics, Mapping):
        pairs = dict(metrics)
    elif isinstance(metrics, Sequence):
        pairs = {name: name for name in metrics}
    else:
        pairs = {}
    if not pairs or not all(isinstance(k, str) and isinstance(v, str) for k, v in pairs.items()):
        raise ConfigError(
            f"{owner}(metrics=...) takes None, a name, a list of names or a dict "
            f"{{report_as: name}} of evaluation results such as 'eval-logloss', got {metrics!r}"
        )
    return pairs


def check_frequency(frequency: int, owner: str) -> int:
    if isinstance(frequency, bool) or not isinstance(frequency, int) or frequency < 0:
        raise ConfigError(
            f"{owner}(frequency=...) must be an int >= 0 (checkpoint every `frequency` boosting "
            f"rounds; 0: only at the end), got frequency={frequency!r}"
        )
    return frequency


def check_filename(filename: str, owner: str) -> str:
    if not isinstance(filename, str) or not filename or "/" in filename or "\\" in filename:
        raise ConfigError(
            f"{owner}(filename=...) must be a plain file name such as 'model.ubj', got "
            f"{filename!r}"
        )
    return filename


def select(
    evaluated: Mapping[str, float],
    names: dict[str, str] | None,
    postprocess: PostProcess | None,
    owner: str,
) -> dict[str, float]:
    """The metrics to report from one round's evaluation results."""
    if names is None:
        chosen = dict(evaluated)
    else:
        missing = [name for name in names.values() if name not in evaluated]
        if missing:
            raise ConfigError(
                f"{owner} was asked to report {missing}, which the booster did not evaluate; "
                f"it evaluated {sorted(evaluated)}: name one of those (<dataset>-<metric>, the "
                "dataset as named in evals/valid_names) or add the metric to the params"
            )
        chosen = {report_as: evaluated[name] for report_as, name in names.items()}
    if postprocess is not None:
        chosen = postprocess(chosen)
    return chosen


class ReportsMetrics:
    """What both libraries' `TuneReportCallback` keep: which metrics to report, and how."""

    def _set_metrics(self, metrics: Metrics, postprocess: PostProcess | None) -> None:
        self._names = metric_names(metrics, type(self).__name__)
        self._postprocess = postprocess

    def _chosen(self, evaluated: Mapping[str, float]) -> dict[str, float]:
        return select(evaluated, self._names, self._postprocess, type(self).__name__)


class SavesBoosters(ReportsMetrics):
    """What both libraries' `TuneReportCheckpointCallback` add: when and how to checkpoint."""

    def _set_checkpointing(self, filename: str, frequency: int, checkpoint_at_end: bool) -> None:
        owner = type(self).__name__
        self.filename = check_filename(filename, owner)
        self.frequency = check_frequency(frequency, owner)
        self.checkpoint_at_end = bool(checkpoint_at_end)

    def _report_with_booster(self, metrics: dict[str, float], save: Callable[[str], Any]) -> None:
        with booster_checkpoint(save, self.filename) as checkpoint:
            report(metrics, checkpoint=checkpoint)


@contextlib.contextmanager
def booster_checkpoint(save: Callable[[str], Any], filename: str) -> Iterator[Checkpoint]:
    """A checkpoint directory holding the booster saved as `filename` (removed afterwards:
    `report` copies it to the trial's storage before it returns)."""
    with tempfile.TemporaryDirectory(prefix="tuner-booster-") as directory:
        save(Path(directory, filename).as_posix())
        yield Checkpoint.from_directory(directory)


@contextlib.contextmanager
def model_file(checkpoint: Checkpoint, filename: str, owner: str) -> Iterator[str]:
    """The path of `filename` inside the checkpoint (downloaded first if it is remote)."""
    if not isinstance(checkpoint, Checkpoint):
        raise ConfigError(
            f"{owner}.get_model() takes a tuner.Checkpoint (result.checkpoint, "
            f"get_checkpoint()), got {type(checkpoint).__name__}"
        )
    with checkpoint.as_directory() as directory:
        path = Path(directory, filename)
        if not path.is_file():
            present = sorted(p.name for p in Path(directory).iterdir())
            raise FileNotFoundError(
                f"the checkpoint {checkpoint.path} holds no {filename!r} (it has {present}): "
                f"pass the filename the callback saved with, {owner}.get_model(checkpoint, "
                "filename=...)"
            )
        yield path.as_posix()
