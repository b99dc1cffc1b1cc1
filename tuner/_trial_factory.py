"""Creating trials: asking the searcher, naming, and adding them to the experiment."""

from __future__ import annotations

import logging
import os
import shutil
from typing import TYPE_CHECKING

from searchers import FINISHED, Searcher
from tuner._trial import PENDING, StatusChange, Trial, TrialTable
from tuner.experiment._naming import TrialNamer

if TYPE_CHECKING:
    from schedulers import TrialScheduler
    from tuner._clock import Clock
    from tuner._settings import ExperimentSettings
    from tuner.executors._base import Executor
    from tuner.experiment._views import TrialViews

logger = logging.getLogger(__name__)


class TrialFactory:
    """Makes the experiment's trials from the searcher's suggestions, and adds restored ones.

    Keeps the trials created and not started yet (`queued`), so that the loop need not walk
    every waiting trial to know how many wait for their first start.
    """

    def __init__(
        self,
        settings: ExperimentSettings,
        *,
        experiment_id: str,
        searcher: Searcher,
        scheduler: TrialScheduler,
        executor: Executor,
        trials: TrialTable,
        views: TrialViews,
        clock: Clock,
        restored: bool,
        searcher_finished: bool,
    ) -> None:
        self.settings = settings
        self.experiment_id = experiment_id
        self.searcher = searcher
        self.scheduler = scheduler
        self.executor = executor
        self.trials = trials
        self.views = views
        self.clock = clock
        self.restored = restored
        """True when resuming a saved experiment: leftovers of unsaved trials are cleared."""
        self.searcher_finished = searcher_finished
        self._namer = TrialNamer(
            settings.trial_name_creator,
            settings.trial_dirname_creator,
            taken={trial.name for trial in trials},
        )
        self._queued = {t.trial_id for t in trials.with_status(PENDING) if t.never_started}
        for trial in trials:
            self._add_view(trial)

    @property
    def queued(self) -> int:
        """How many trials were created and wait for their first start (bounded by how many
        the searcher queues ahead, so this stays cheap)."""
        gone = [i for i in self._queued if self.trials[i].status is not PENDING]
        self._queued.difference_update(gone)
        return len(self._queued)

    def create(self) -> bool:
        """Create one trial from the searcher's next suggestion; False when there is none now."""
        if self.searcher_finished:
            return False
        samples = self.settings.num_samples
        if self.settings.cap_trials and samples != -1 and len(self.trials) >= samples:
            self.searcher_finished = True
            return False
        trial_id = f"{self.experiment_id}_{len(self.trials):05d}"
        suggestion = self.searcher.suggest(trial_id)
        if suggestion is None:
            return False
        if suggestion is FINISHED:
            self.searcher_finished = True
            return False
        if not isinstance(suggestion, dict):
            raise TypeError(
                f"{type(self.searcher).__name__}.suggest() must return a dict, None or FINISHED, "
                f"got {type(suggestion).__name__}: {suggestion!r}"
            )
        default = f"{self.settings.trainable_name}_{trial_id}"
        resources = dict(self.settings.resources)
        if self.settings.resources_for is not None:
            resources = self.settings.resources_for(suggestion)
            self.executor.check_resources(resources)
        trial = Trial(
            trial_id=trial_id,
            name=default,
            config=suggestion,
            path=self.trial_path(default),
            resources=resources,
        )
        # The name creators are handed the trial's view, as Ray Tune hands them the trial.
        view = self.views.add(trial)
        display, custom_dir, name = self._namer.name(view, default)
        view._set_names(display, custom_dir)
        if name != default:
            trial.name, trial.path = name, self.trial_path(name)
        self.add(trial)
        return True

    def trial_path(self, name: str) -> str:
        return f"{self.settings.path.rstrip('/')}/{name}"

    def local_dir(self, trial: Trial) -> str:
        return os.path.join(self.settings.local_path, trial.name)

    def _add_view(self, trial: Trial) -> None:
        """The view of a trial the loop did not create (restored): its names are kept."""
        view = self.views.add(trial)
        default = f"{self.settings.trainable_name}_{trial.trial_id}"
        view._set_names(self._namer.display_name(view, trial.name, default), None)

    def add(self, trial: Trial) -> None:
        """Add a new trial to the experiment and tell the scheduler."""
        if not trial.history:
            trial.history.append(StatusChange(trial.status, self.clock.time()))
        if self.restored:
            self._clear_leftovers(trial)
        self.trials.add(trial)
        self.views.add(trial)
        if trial.status is PENDING and trial.never_started:
            self._queued.add(trial.trial_id)
        self.scheduler.on_trial_add(trial.view())

    def _clear_leftovers(self, trial: Trial) -> None:
        """Remove what a trial of the same name left before the crash that lost its record."""
        from tuner.storage._filesystem import remove_directory

        fs = self.settings.filesystem
        if fs.exists(trial.path):
            logger.info("removing %s, left by a trial the last saved state did not hold", trial.path)
            remove_directory(fs, trial.path)
        local = self.local_dir(trial)
        if local != trial.path and os.path.isdir(local):
            shutil.rmtree(local, ignore_errors=True)
