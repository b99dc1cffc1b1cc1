"""The parts of an experiment the Tuner checks and builds before the loop runs."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from schedulers import FIFOScheduler, TrialScheduler
from searchers import BasicVariantGenerator, Searcher
from tuner._config import CheckpointConfig, RunConfig, TuneConfig
from tuner._stoppers import make_stopper, may_end_experiment
from tuner._trainable import TrainableKind
from tuner.exceptions import ConfigError

logger = logging.getLogger("tuner._tuner")


def check_checkpoint_settings(kind: TrainableKind, ckpt: CheckpointConfig) -> None:
    """Refuse checkpoint settings a function trainable cannot follow."""
    if kind is TrainableKind.FUNCTION and (ckpt.checkpoint_frequency or ckpt.checkpoint_at_end):
        raise ConfigError(
            "CheckpointConfig(checkpoint_frequency=..., checkpoint_at_end=...) only apply to "
            "class trainables; a function trainable decides itself when to checkpoint: call "
            "report(metrics, checkpoint=Checkpoint.from_directory(dir)) in it"
        )


def build_searcher(tc: TuneConfig, param_space: Mapping[str, Any]) -> tuple[Searcher, bool]:
    """The searcher, and whether the loop caps the number of trials at num_samples.

    As in Ray Tune, `num_samples` caps the trials of every searcher and wrapper; only one
    that suggests more by design (`total_trials` above `num_samples`: a grid walked
    `num_samples` times) is left to end the experiment itself, by returning FINISHED.
    """
    searcher = tc.search_alg
    if searcher is None:
        searcher = BasicVariantGenerator(seed=tc.seed)
    elif tc.seed is not None:
        logger.info("TuneConfig(seed=...) seeds the default searcher only; seed %s yourself",
                    type(searcher).__name__)
    try:
        searcher.set_search_properties(tc.metric, tc.mode, dict(param_space))
        if tc.ranking is not None and tc.ranking.constraints:
            searcher.set_constraints(tc.ranking.constraints)
        searcher.set_num_samples(tc.num_samples)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    return searcher, caps_trials(searcher.total_trials, tc.num_samples)


def caps_trials(total_trials: int | None, num_samples: int) -> bool:
    """Whether the loop stops at `num_samples`: always, unless the searcher's own count
    (`total_trials`) is larger; a smaller one ends the searcher before the cap anyway."""
    return total_trials is None or num_samples == -1 or total_trials <= num_samples


def build_scheduler(
    tc: TuneConfig,
    ckpt: CheckpointConfig,
    kind: TrainableKind,
    trainable_name: str,
    searcher: Searcher,
    param_space: Mapping[str, Any],
) -> TrialScheduler:
    """The scheduler, told the metric, mode and search space (and the searcher told its
    budgets), or a ConfigError for a combination that cannot work."""
    scheduler = tc.scheduler or FIFOScheduler()
    if not scheduler.supports_model_based_searchers and searcher.learns_from_results:
        raise ConfigError(
            f"{type(scheduler).__name__} cannot be combined with {type(searcher).__name__}: "
            "it sets trial configs itself (PBT's exploits, DEHB's evolution), so the "
            "searcher's model would learn from results that belong to other configs; use "
            "the default random/grid search (BasicVariantGenerator) with it"
        )
    try:
        scheduler.set_search_properties(tc.metric, tc.mode)
        if tc.ranking is not None and tc.ranking.constraints:
            scheduler.set_constraints(tc.ranking.constraints)
        scheduler.set_param_space(dict(param_space))
        fidelity = scheduler.fidelity
        if fidelity is not None:
            searcher.set_fidelity(fidelity)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    if (
        scheduler.copies_checkpoints
        and kind is TrainableKind.CLASS
        and not ckpt.checkpoint_frequency
    ):
        logger.warning(
            "%s copies the checkpoints of good trials into bad ones, but %s saves one only "
            "when paused: set RunConfig(checkpoint_config=CheckpointConfig("
            "checkpoint_frequency=...)), e.g. to the perturbation interval",
            type(scheduler).__name__,
            trainable_name,
        )
    return scheduler


def check_bounded(tc: TuneConfig, rc: RunConfig) -> None:
    """Raise ConfigError if `num_samples=-1` would sample trials forever.

    Bounded: a time budget, a stopper that can end the experiment, or a search algorithm of
    the user's own (it may return FINISHED). The built-in searchers never finish at -1, and
    per-trial stop criteria end trials, not the sampling.
    """
    if tc.num_samples != -1 or tc.time_budget_s is not None:
        return
    if may_end_experiment(make_stopper(rc.stop)):
        return
    searcher = tc.search_alg
    while searcher is not None and hasattr(searcher, "searcher"):  # ConcurrencyLimiter, Repeater
        searcher = searcher.searcher
    if searcher is not None and not type(searcher).__module__.startswith("searchers."):
        return
    raise ConfigError(
        "TuneConfig(num_samples=-1) samples trials without end, and nothing ends the experiment "
        f"(time_budget_s=None, stop={rc.stop!r}; per-trial criteria end trials, not the "
        "sampling): set TuneConfig(time_budget_s=...), or RunConfig(stop=...) with a Stopper "
        "that ends the experiment (TimeoutStopper, ExperimentPlateauStopper, or your own whose "
        "stop_all() returns True), or set num_samples to the number of trials to run"
    )
