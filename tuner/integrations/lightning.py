"""PyTorch Lightning callbacks that report a `Trainer`'s metrics and checkpoints to its trial.

Ray Tune's ``ray.tune.integration.pytorch_lightning`` under tuner: `TuneReportCheckpointCallback`
reports ``trainer.callback_metrics`` (all of them, or the ones named) with `tuner.report` at the
Lightning hooks named by ``on``, with a checkpoint the Trainer wrote itself
(``trainer.save_checkpoint``); `TuneReportCallback` reports without checkpoints. A trial that is
paused (PBT, HyperBand), retried or restored resumes the Trainer from its checkpoint:

    def train_fn(config):
        model = MyModule(lr=config["lr"])
        trainer = lightning.Trainer(max_epochs=10, callbacks=[TuneReportCheckpointCallback()])
        trainer.fit(model, ckpt_path=checkpoint_path())   # None on a fresh start

The callbacks are Lightning callbacks of both packages Lightning ships as: ``lightning``
(``lightning.pytorch``) and the standalone ``pytorch_lightning``; the class derives from the
``Callback`` of each of them that is installed, so a `Trainer` of either accepts it. Importing
this module imports Lightning (``pip install 'tuner[lightning]'``); importing `tuner` does not.

Differences from Ray: ``on`` may not name ``save_checkpoint`` or ``load_checkpoint`` (saving a
checkpoint from inside a save would recurse) nor ``exception`` (a trial that is told to stop
unwinds through it); Lightning 1.x hook names Lightning 2 removed are refused with the new name.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import logging
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tuner._session import get_checkpoint, get_context, report
from tuner.exceptions import CheckpointError, TuneError
from tuner.storage._checkpoint import Checkpoint
from tuner.storage._filesystem import COMPLETE_MARKER, is_local

logger = logging.getLogger(__name__)

_PACKAGES = ("lightning.pytorch", "pytorch_lightning")
"""Where Lightning's `Callback` lives: the unified ``lightning`` package, then the standalone one."""

_REFUSED = {
    "save_checkpoint": "saving a checkpoint from inside Trainer.save_checkpoint would recurse",
    "load_checkpoint": "it runs while the Trainer restores, before there is anything to report",
    "exception": "a trial told to stop or pause unwinds through it: report before, not there",
}
_RENAMED = {  # Lightning 1.x hooks that Lightning 2.0 removed, and what to use instead
    "epoch_start": "train_epoch_start",
    "epoch_end": "train_epoch_end",
    "batch_start": "train_batch_start",
    "batch_end": "train_batch_end",
    "init_start": "fit_start",
    "init_end": "fit_start",
    "keyboard_interrupt": "fit_end",
}


def _installed_callback_classes() -> tuple[type, ...]:
    classes: list[type] = []
    for name in _PACKAGES:
        if importlib.util.find_spec(name.split(".")[0]) is None:
            continue
        classes.append(importlib.import_module(name).Callback)
    if not classes:
        raise ImportError(
            "tuner.integrations.lightning needs PyTorch Lightning, which is not installed: "
            "pip install 'tuner[lightning]' (or pip install lightning)"
        )
    return tuple(classes)


_CALLBACK_CLASSES = _installed_callback_classes()

if TYPE_CHECKING:
    from lightning.pytorch import Callback as _LightningCallback
elif len(_CALLBACK_CLASSES) == 1:
    _LightningCallback = _CALLBACK_CLASSES[0]
else:
    # A callback of both packages: each Trainer checks isinstance() against its own package's
    # Callback, and both classes are plain hook holders, so one subclass can be both.
    _LightningCallback = type("_LightningCallback", _CALLBACK_CLASSES, {})

HOOKS: frozenset[str] = frozenset(
    name[len("on_"):]
    for cls in _CALLBACK_CLASSES
    for name, _ in inspect.getmembers(cls, predicate=inspect.isfunction)
    if name.startswith("on_") and name[len("on_"):] not in _REFUSED
)
"""The hook names ``on`` accepts: every ``on_<name>`` hook of the installed Lightning's
``Callback`` (``train_batch_end``, ``train_epoch_end``, ``validation_end``, ``test_end``, ...)
but ``save_checkpoint``, ``load_checkpoint`` and ``exception``."""


def _hook_list(on: str | Sequence[str]) -> frozenset[str]:
    names = [on] if isinstance(on, str) else list(on) if isinstance(on, Sequence) else None
    if not names or not all(isinstance(name, str) for name in names):
        raise TypeError(
            f"`on` must be a hook name or a list of them, got {on!r}: pass e.g. "
            "on='validation_end' or on=['train_epoch_end', 'test_end']"
        )
    for name in names:
        if name in HOOKS:
            continue
        if name.startswith("on_") and name[len("on_"):] in HOOKS:
            fix = f"leave out the 'on_' prefix: on={name[len('on_'):]!r}"
        elif name in _RENAMED:
            fix = f"Lightning 2 removed it: use on={_RENAMED[name]!r}"
        elif name in _REFUSED:
            fix = f"{_REFUSED[name]}; pick another hook"
        else:
            fix = f"pick one of {sorted(HOOKS)}"
        raise ValueError(f"`on` must name Lightning Callback hooks, got {name!r}: {fix}")
    return frozenset(names)


def _metric_map(
    metrics: str | Sequence[str] | Mapping[str, str] | None,
) -> dict[str, str] | None:
    """{reported name: logged name}, or None for every callback metric."""
    if metrics is None:
        return None
    if isinstance(metrics, str):
        return {metrics: metrics}
    if isinstance(metrics, Mapping):
        pairs = list(metrics.items())
    elif isinstance(metrics, Sequence):
        pairs = [(name, name) for name in metrics]
    else:
        pairs = [(metrics, metrics)]
    bad = [pair for pair in pairs if not all(isinstance(part, str) for part in pair)]
    if bad or not pairs:
        raise TypeError(
            f"`metrics` must be None (all of trainer.callback_metrics), a metric name, a list "
            f"of names or a dict {{reported name: logged name}}, got {metrics!r}"
        )
    return dict(pairs)


def _number(value: Any) -> Any:
    """A logged value as a plain Python number (Lightning keeps them as 0-d tensors)."""
    item = getattr(value, "item", None)
    return item() if callable(item) else value


class TuneCallback(_LightningCallback):
    """Base of the reporting callbacks: calls `_handle` at the Lightning hooks named by ``on``.

    Subclass it (as with Ray) and implement ``_handle(trainer, pl_module)`` for a callback of
    your own; each hook in ``on`` calls it once per firing.

    Args:
        on: A hook name without its ``on_`` prefix, or a list of them: one of `HOOKS`.
    """

    def __init__(self, on: str | Sequence[str] = "validation_end") -> None:
        super().__init__()
        self._on = _hook_list(on)

    def _handle(self, trainer: Any, pl_module: Any) -> None:
        raise NotImplementedError(
            f"{type(self).__name__} must implement _handle(trainer, pl_module)"
        )


def _hook(name: str) -> Callable[..., None]:
    def hook(self: TuneCallback, trainer: Any, pl_module: Any = None, *args: Any,
             **kwargs: Any) -> None:
        if name in self._on:
            self._handle(trainer, pl_module)

    hook.__name__ = hook.__qualname__ = f"on_{name}"
    hook.__doc__ = f"Lightning's ``on_{name}``: calls `_handle` if ``{name!r}`` is in ``on``."
    return hook


for _name in HOOKS:
    setattr(TuneCallback, f"on_{_name}", _hook(_name))


class TuneReportCheckpointCallback(TuneCallback):
    """Report the Trainer's metrics, and a checkpoint of it, to the trial at each ``on`` hook.

    Each time one of the hooks fires (but not during Lightning's sanity check), the metrics
    are taken from ``trainer.callback_metrics`` (what ``self.log`` logged) as numbers; with
    ``save_checkpoints`` the Trainer writes a checkpoint (``trainer.save_checkpoint``) as
    ``<filename>`` into a temporary directory, and both go to `tuner.report`. A metric that was
    not logged is left out (with a warning in the log); if none is left nothing is reported.
    Only the Trainer's global rank 0 reports; every rank takes part in the checkpoint.

    Args:
        metrics: None for every callback metric; a name, or a list of names, to report under
            their own names; or a dict ``{reported name: logged name}``.
        filename: The checkpoint file's name inside the checkpoint directory.
        save_checkpoints: Whether to save and report checkpoints (False: metrics only).
        on: The hook(s) to report at, without ``on_``: ``"validation_end"`` (once per
            validation run), ``"train_epoch_end"``, ``"train_batch_end"``, ``"test_end"``, ...

    Example:
        >>> callback = TuneReportCheckpointCallback({"loss": "val_loss"}, on="validation_end")
        >>> callback.filename
        'checkpoint'
    """

    def __init__(
        self,
        metrics: str | Sequence[str] | Mapping[str, str] | None = None,
        filename: str = "checkpoint",
        save_checkpoints: bool = True,
        on: str | Sequence[str] = "validation_end",
    ) -> None:
        super().__init__(on=on)
        if not isinstance(filename, str) or not filename or os.sep in filename:
            raise ValueError(
                f"`filename` must be a plain file name, got {filename!r}: pass e.g. "
                "filename='checkpoint' (the file inside the checkpoint directory)"
            )
        self._metrics = _metric_map(metrics)
        self.filename = filename
        self.save_checkpoints = bool(save_checkpoints)

    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        """Lightning's ``setup``: refuse early a Trainer that runs outside a trial."""
        if trainer.is_global_zero and get_context().get_trial_id() is None:
            raise TuneError(
                f"{type(self).__name__} reports to a tuner trial, but this Trainer runs outside "
                "one: call trainer.fit() inside the function that Tuner(...).fit() runs, or "
                "leave the callback out"
            )

    def _report_dict(self, trainer: Any) -> dict[str, Any]:
        logged = trainer.callback_metrics
        if self._metrics is None:
            return {str(key): _number(value) for key, value in logged.items()}
        found: dict[str, Any] = {}
        for reported, name in self._metrics.items():
            if name in logged:
                found[reported] = _number(logged[name])
            else:
                logger.warning(
                    "metric %r is not in trainer.callback_metrics (logged: %s): log it with "
                    "self.log(%r, ...) or drop it from `metrics`", name, sorted(logged), name
                )
        return found

    def _handle(self, trainer: Any, pl_module: Any) -> None:
        if trainer.sanity_checking:
            return
        metrics = self._report_dict(trainer)
        if not metrics:
            return
        if not self.save_checkpoints:
            if trainer.is_global_zero:
                report(metrics)
            return
        with tempfile.TemporaryDirectory(prefix="tuner-lightning-") as directory:
            # Every rank calls save_checkpoint (it ends in a barrier); rank 0 writes the file.
            trainer.save_checkpoint(os.path.join(directory, self.filename))
            if trainer.is_global_zero:
                report(metrics, checkpoint=Checkpoint.from_directory(directory))


class TuneReportCallback(TuneReportCheckpointCallback):
    """Report the Trainer's metrics to the trial at each ``on`` hook, without checkpoints.

    `TuneReportCheckpointCallback` with ``save_checkpoints=False`` (as in Ray).

    Example:
        >>> TuneReportCallback(["val_loss", "val_acc"], on="validation_end").save_checkpoints
        False
    """

    def __init__(
        self,
        metrics: str | Sequence[str] | Mapping[str, str] | None = None,
        on: str | Sequence[str] = "validation_end",
    ) -> None:
        super().__init__(metrics=metrics, save_checkpoints=False, on=on)


def checkpoint_path(filename: str = "checkpoint") -> str | None:
    """The local path of the Lightning checkpoint this trial resumes from, or None.

    Pass it to ``trainer.fit(model, ckpt_path=checkpoint_path())``: on a fresh start it is None
    and the Trainer starts from scratch; after a pause, a failure or a restore it is the file
    `TuneReportCheckpointCallback` saved, and the Trainer continues from its epoch and global
    step with the optimizer's state. A checkpoint on remote storage is downloaded first. It is
    the same as::

        ckpt = tuner.get_checkpoint()
        path = os.path.join(ckpt.path, filename) if ckpt else None   # local storage

    Args:
        filename: The name the callback saved the file under (its ``filename``).

    Raises:
        CheckpointError: The checkpoint holds no file of that name.
    """
    checkpoint = get_checkpoint()
    if checkpoint is None:
        return None
    directory = checkpoint.path if is_local(checkpoint.filesystem) else checkpoint.to_directory()
    path = os.path.join(directory, filename)
    if not os.path.isfile(path):
        held = sorted(set(os.listdir(directory)) - {COMPLETE_MARKER}) if os.path.isdir(
            directory) else []
        raise CheckpointError(
            f"the checkpoint {checkpoint.uri} has no file {filename!r} (it holds {held}): pass "
            "the filename= that TuneReportCheckpointCallback(filename=...) saved it under"
        )
    return path


__all__ = [
    "HOOKS",
    "TuneCallback",
    "TuneReportCallback",
    "TuneReportCheckpointCallback",
    "checkpoint_path",
]
