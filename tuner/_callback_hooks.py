"""How the event loop calls the callbacks: each override looked at once, called with Ray's
keyword arguments, and the hooks of this engine's earlier form adapted.

`hook_forms` tells, by signature, how each overridden hook of a callback is called (Ray Tune's
keyword form, or the earlier positional one taking a `TrialInfo`) and refuses one no form fits;
`RunConfig` runs it on every callback, so that the error comes before the experiment. The loop
holds one `CallbackHooks` and tells it what happens; it calls only the overrides, so a hook
nobody overrides costs nothing on the hot path.
"""

from __future__ import annotations

import contextlib
import enum
import inspect
import logging
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tuner._callback import Callback, LoggerCallback, TrialInfo
from tuner.exceptions import ConfigError
from tuner.result import SHOULD_CHECKPOINT

if TYPE_CHECKING:
    from tuner.exceptions import TrialError
    from tuner.experiment import Trial
    from tuner.experiment._views import TrialViews

logger = logging.getLogger(__name__)


class HookForm(enum.Enum):
    """How a callback's override of a hook is called."""

    RAY = "ray"  # keyword arguments, Ray Tune's names
    LEGACY = "legacy"  # positional, with TrialInfo: this engine's earlier form


_ARGS: Mapping[str, tuple[str, ...]] = {
    "on_step_begin": ("iteration", "trials"),
    "on_step_end": ("iteration", "trials"),
    "on_trial_start": ("iteration", "trials", "trial"),
    "on_trial_restore": ("iteration", "trials", "trial"),
    "on_trial_save": ("iteration", "trials", "trial"),
    "on_trial_result": ("iteration", "trials", "trial", "result"),
    "on_trial_pause": ("iteration", "trials", "trial"),
    "on_trial_complete": ("iteration", "trials", "trial"),
    "on_trial_recover": ("iteration", "trials", "trial"),
    "on_trial_error": ("iteration", "trials", "trial"),
    "on_checkpoint": ("iteration", "trials", "trial", "checkpoint"),
    "on_experiment_end": ("trials",),
    "flush": (),
}
"""The keyword arguments each hook is called with."""

_SETUP_ARGS = ("stop", "num_samples", "total_num_samples", "time_budget_s", "clock")

_LEGACY_ARITY: Mapping[str, int] = {
    "setup": 1,
    "on_trial_start": 1,
    "on_trial_result": 2,
    "on_trial_pause": 1,
    "on_trial_complete": 1,
    "on_trial_error": 2,
    "on_experiment_end": 1,
}
"""Hooks of the earlier form, and how many positional arguments they took."""


def _binds(signature: inspect.Signature, *args: Any, **kwargs: Any) -> bool:
    try:
        signature.bind(*args, **kwargs)
    except TypeError:
        return False
    return True


def _setup_kwargs(signature: inspect.Signature) -> tuple[str, ...] | None:
    """The setup arguments `signature` takes (all of them with ``**info``), None if it takes
    none of them but needs an argument (the earlier ``setup(self, experiment_local_path)``)."""
    params = signature.parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return _SETUP_ARGS
    names = tuple(name for name in _SETUP_ARGS if name in signature.parameters)
    return names if _binds(signature, **dict.fromkeys(names)) else None


def hook_forms(callback: object) -> dict[str, HookForm]:
    """How to call each hook `callback` overrides; a `ConfigError` for one no form fits.

    Example:
        >>> class Old(Callback):
        ...     def on_trial_result(self, trial_info, result): ...
        >>> hook_forms(Old())
        {'on_trial_result': <HookForm.LEGACY: 'legacy'>}
    """
    if isinstance(callback, type):
        raise ConfigError(
            f"RunConfig(callbacks) takes Callback instances, got the class "
            f"{callback.__name__}: pass {callback.__name__}()"
        )
    if not isinstance(callback, Callback):
        raise ConfigError(
            f"RunConfig(callbacks) takes tuner.Callback instances, got {callback!r} "
            f"({type(callback).__name__}): subclass tuner.Callback and override its hooks"
        )
    forms: dict[str, HookForm] = {}
    for name in ("setup", *_ARGS):
        if getattr(type(callback), name) is getattr(Callback, name):
            continue
        try:
            signature = inspect.signature(getattr(callback, name))
        except (TypeError, ValueError):  # no signature to read (a builtin): called Ray's way
            forms[name] = HookForm.RAY
            continue
        if name == "setup":
            ray = _setup_kwargs(signature) is not None
        else:
            ray = _binds(signature, **dict.fromkeys(_ARGS[name]))
        if ray:
            forms[name] = HookForm.RAY
        elif name in _LEGACY_ARITY and _binds(signature, *[None] * _LEGACY_ARITY[name]):
            forms[name] = HookForm.LEGACY
        else:
            wanted = ", ".join(("self", *(_SETUP_ARGS[:3] if name == "setup" else _ARGS[name])))
            raise ConfigError(
                f"{type(callback).__qualname__}.{name}{signature} cannot take the arguments "
                f"the engine passes ({', '.join(_ARGS.get(name, _SETUP_ARGS))} as keywords): "
                f"define it as def {name}({wanted}, **info)"
            )
    return forms


_Hook = Callable[..., None]

_WARNED: weakref.WeakSet[type] = weakref.WeakSet()
"""Callback classes with earlier-form hooks that were warned about (once per process)."""


class CallbackHooks:
    """The callbacks' overrides, by hook, and the calls the event loop makes to them.

    Built once per experiment from the callbacks in calling order. Each method tells the
    overrides of one hook (or two) what happened to a trial, with Ray's keyword arguments:
    ``iteration`` (`iteration`, counted up by `step_end`), ``trials`` (every view) and ``trial``
    (the trial's view). An earlier-form override is wrapped to get what it took before.

    Args:
        callbacks: The experiment's callbacks, in calling order.
        views: The trials' views.
        info_of: The `TrialInfo` for a trial view, for earlier-form hooks.
        local_path: The experiment's local directory (the earlier ``setup`` took it).
        filesystem: The experiment storage's filesystem (checkpoints are on it).
    """

    def __init__(
        self,
        callbacks: Sequence[Callback],
        *,
        views: TrialViews,
        info_of: Callable[[Trial], TrialInfo],
        local_path: str,
        filesystem: Any,
    ) -> None:
        self.iteration = 0
        """Turns of the event loop so far."""
        self._views = views
        self._info_of = info_of
        self._local_path = local_path
        self._filesystem = filesystem
        self._setup: list[Callable[[Mapping[str, Any]], None]] = []
        hooks: dict[str, list[_Hook]] = {name: [] for name in _ARGS}
        # The hot path: a logger's own log_trial_result is called straight (positionally),
        # without LoggerCallback.on_trial_result in between.
        on_result: list[tuple[bool, _Hook]] = []
        for callback in callbacks:
            for name, form in hook_forms(callback).items():
                method = getattr(callback, name)
                if name == "setup":
                    self._setup.append(self._setup_call(method, form))
                    continue
                hook = method if form is HookForm.RAY else self._legacy(name, method)
                hooks[name].append(hook)
                if name == "on_trial_result":
                    if isinstance(callback, LoggerCallback) and (
                        type(callback).on_trial_result is LoggerCallback.on_trial_result
                    ):
                        on_result.append((True, callback.log_trial_result))
                    else:
                        on_result.append((False, hook))
                if name == "on_trial_error" and form is HookForm.LEGACY:
                    # It was called for every failure, also those retried.
                    hooks["on_trial_recover"].append(hook)
                if form is HookForm.LEGACY and type(callback) not in _WARNED:
                    _WARNED.add(type(callback))
                    logger.warning(
                        "%s.%s%s is written in the earlier form (with a TrialInfo); it still "
                        "works, but move to Ray Tune's: def %s(self, %s, **info)",
                        type(callback).__qualname__, name, inspect.signature(method), name,
                        ", ".join(_ARGS.get(name, _SETUP_ARGS[:3])),
                    )
        self._hooks = {name: tuple(methods) for name, methods in hooks.items()}
        self._on_result = tuple(on_result)

    # ----------------------------------------------------------------- the experiment
    def setup(self, **kwargs: Any) -> None:
        """Call every `setup` with what its signature takes of `kwargs`."""
        for call in self._setup:
            call(kwargs)

    def step_begin(self) -> None:
        self._each("on_step_begin")

    def step_end(self) -> None:
        """A turn of the loop ended: count it, then tell `on_step_end`."""
        self.iteration += 1
        self._each("on_step_end")

    def experiment_end(self) -> None:
        for hook in self._hooks["on_experiment_end"]:
            hook(trials=self._views.all)

    # ----------------------------------------------------------------- a trial
    def started(self, trial_id: str, *, restored: bool) -> None:
        """`on_trial_start`, then `on_trial_restore` if it resumes from a checkpoint."""
        self._each("on_trial_start", trial_id)
        if restored:
            self._each("on_trial_restore", trial_id)

    def result(self, trial_id: str, result: dict[str, Any]) -> bool:
        """`on_trial_result`; whether a hook asked for a checkpoint of this result (by
        ``result["should_checkpoint"]`` or ``trial.checkpoint_now()``)."""
        view = self._views[trial_id]
        if self._on_result:
            # `_all_called` written out: this runs for every result.
            trials, iteration = self._views.all, self.iteration
            first: Exception | None = None
            for positional, hook in self._on_result:
                try:
                    if positional:
                        hook(iteration, view, result)
                    else:
                        hook(iteration=iteration, trials=trials, trial=view, result=result)
                except Exception as exc:  # noqa: BLE001 - raised below, after the other hooks ran
                    first = first or exc
            if first is not None:
                raise first
        asked = view._checkpoint_requested and view._take_checkpoint_request()
        return asked or bool(result.get(SHOULD_CHECKPOINT))

    def checkpoint(self, trial_id: str, path: str) -> None:
        """`on_checkpoint` with the checkpoint at `path`, then `on_trial_save`."""
        hooks = self._hooks["on_checkpoint"]
        if hooks:
            from tuner.storage._checkpoint import Checkpoint

            view, trials = self._views[trial_id], self._views.all
            checkpoint = Checkpoint(path, self._filesystem)
            for hook in hooks:
                hook(iteration=self.iteration, trials=trials, trial=view, checkpoint=checkpoint)
        self._each("on_trial_save", trial_id)

    def paused(self, trial_id: str) -> None:
        self._each("on_trial_pause", trial_id)

    def completed(self, trial_id: str) -> None:
        self._each("on_trial_complete", trial_id)

    def recovering(self, trial_id: str, error: TrialError) -> None:
        """The trial failed and will be retried: `on_trial_recover`."""
        self._views[trial_id]._error = error
        self._each("on_trial_recover", trial_id)

    def errored(self, trial_id: str, error: TrialError) -> None:
        """The trial failed for good: `on_trial_error`."""
        self._views[trial_id]._error = error
        self._each("on_trial_error", trial_id)

    # ----------------------------------------------------------------- helpers
    def _each(self, name: str, trial_id: str | None = None) -> None:
        hooks = self._hooks[name]
        if not hooks:
            return
        trials = self._views.all
        with _all_called() as call:
            if trial_id is None:
                for hook in hooks:
                    call(hook, iteration=self.iteration, trials=trials)
            else:
                view = self._views[trial_id]
                for hook in hooks:
                    call(hook, iteration=self.iteration, trials=trials, trial=view)

    def _setup_call(
        self, method: Callable[..., None], form: HookForm
    ) -> Callable[[Mapping[str, Any]], None]:
        if form is HookForm.LEGACY:
            return lambda kwargs: method(self._local_path)
        try:
            names = _setup_kwargs(inspect.signature(method)) or ()
        except (TypeError, ValueError):
            names = _SETUP_ARGS
        return lambda kwargs: method(**{k: kwargs[k] for k in names if k in kwargs})

    def _legacy(self, name: str, method: Callable[..., None]) -> _Hook:
        info_of = self._info_of
        if name == "on_trial_result":
            return lambda *, trial, result, **_: method(info_of(trial), result)
        if name == "on_trial_error":
            return lambda *, trial, **_: method(info_of(trial), trial.get_error())
        if name == "on_experiment_end":
            return lambda *, trials, **_: method([info_of(t) for t in trials])
        return lambda *, trial, **_: method(info_of(trial))


@contextlib.contextmanager
def _all_called() -> Iterator[Callable[..., None]]:
    """Call every hook even when one raises, then raise the first error.

    The built-in loggers come after the user's callbacks: one callback's error must not keep a
    result (or a trial's end) from the files, since the loop has counted it as written.
    """
    errors: list[BaseException] = []

    def call(hook: Callable[..., None], *args: Any, **kwargs: Any) -> None:
        try:
            hook(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - raised below, after the other hooks ran
            errors.append(exc)

    yield call
    if errors:
        raise errors[0]
