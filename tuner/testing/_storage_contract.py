"""The storage contract: checkpoints of a small experiment on any storage URL, kept and restored."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from schedulers import TrialStatus
from searchers import uniform
from tuner._config import CheckpointConfig, RunConfig, TuneConfig
from tuner.analysis._result_grid import ResultGrid
from tuner.storage._filesystem import COMPLETE_MARKER, join, resolve_storage
from tuner.testing._checks import expect_none
from tuner.testing._results import ResultLog, sequence_problems
from tuner.testing._runs import (
    InterruptAfter,
    Interrupted,
    file_results,
    fit,
    iterations_by_trial,
    restore,
    saved_trials,
)
from tuner.testing._trainable import STATE_FILE, contract_trainable

_CHECKPOINT = re.compile(r"^checkpoint_(\d{6})$")


@dataclass
class StorageRun:
    """One contract experiment on storage."""

    url: str
    """The experiment's URL, ``<storage_url>/<name>``."""
    grid: ResultGrid | None
    log: ResultLog


class StorageContract:
    """Checks that checkpoints land where they belong on a storage backend, that retention holds
    there and that a restore resumes from them; subclass it in a test module and provide a
    pytest fixture named ``storage_url``: a fresh storage root for each test (a local
    directory, ``memory://...``, ``s3://bucket/prefix``, ...).

    Each test runs a small experiment (4 trials of 6 steps on 2 simulated workers, in virtual
    time, `SimulatedExecutor`, which shares the driver's memory, so ``memory://`` works too):
    the trainable (`contract_trainable`) reports a checkpoint at every step. The tests check
    that:

    - each checkpoint is a complete directory ``<storage>/<name>/<trial>/checkpoint_<index>/``
      (indices from 0, one per step) holding what the trainable wrote, and each result's
      ``checkpoint`` is its trial's latest (`test_checkpoints_land_in_trial_directories`);
    - ``CheckpointConfig(num_to_keep=2)`` leaves each trial its two newest checkpoints, no
      more (`test_retention_keeps_num_to_keep`);
    - an experiment stopped mid-run and restored resumes every unfinished trial from its
      latest checkpoint on the storage, with each result once in its ``result.json``, and
      keeps the retention (`test_a_restore_resumes_from_the_checkpoints`).

    Example:
        >>> import pytest
        >>> from tuner.testing import StorageContract
        >>> class TestMemoryStorage(StorageContract):
        ...     @pytest.fixture
        ...     def storage_url(self, tmp_path):
        ...         return f"memory://{tmp_path.name}"
    """

    num_samples: int = 4
    iterations: int = 6
    n_workers: int = 2
    num_to_keep: int = 2
    interrupt_after: int = 8
    save_period_s: float = 3.0

    def _configs(
        self, log: ResultLog, stop: InterruptAfter | None, num_to_keep: int | None
    ) -> tuple[TuneConfig, RunConfig]:
        tune_config = TuneConfig(metric="loss", mode="min", num_samples=self.num_samples,
                                 seed=0)
        run_config = RunConfig(
            verbose=0,
            callbacks=[log] if stop is None else [log, stop],
            checkpoint_config=CheckpointConfig(num_to_keep=num_to_keep),
            experiment_checkpoint_period_s=self.save_period_s,
        )
        return tune_config, run_config

    def _space(self) -> dict[str, Any]:
        return {"x": uniform(0.0, 1.0), "iterations": self.iterations}

    def run_experiment(
        self,
        storage_url: str,
        name: str = "contract",
        *,
        num_to_keep: int | None = None,
        stop: InterruptAfter | None = None,
    ) -> StorageRun:
        """Run the contract experiment at `<storage_url>/<name>`."""
        log = ResultLog()
        tune_config, run_config = self._configs(log, stop, num_to_keep)
        grid = None
        try:
            grid = fit(contract_trainable, storage_path=storage_url, name=name,
                       param_space=self._space(), tune_config=tune_config,
                       run_config=run_config, n_workers=self.n_workers)
        except Interrupted:
            if stop is None:
                raise
        else:
            if stop is not None:
                raise AssertionError("the experiment ended before the test stopped it: lower "
                                     "interrupt_after")
        return StorageRun(_join_url(storage_url, name), grid, log)

    # ----------------------------------------------------------------- what is on storage
    def trial_dirs(self, run: StorageRun) -> dict[str, str]:
        """Each trial's directory on the storage (``<storage>/<name>/<trial>``), by trial id."""
        _, exp_path = resolve_storage(run.url)
        return {t["trial_id"]: join(exp_path, t["name"]) for t in saved_trials(run.url)}

    def checkpoints_of(self, run: StorageRun, trial_dir: str) -> dict[int, int]:
        """The complete checkpoint directories of a trial: index -> the step they hold."""
        fs, _ = resolve_storage(run.url)
        found: dict[int, int] = {}
        for entry in fs.ls(trial_dir, detail=True):
            name = str(entry["name"]).rstrip("/").rsplit("/", 1)[-1]
            match = _CHECKPOINT.match(name)
            if match is None or entry["type"] != "directory":
                continue
            path = join(trial_dir, name)
            if not fs.exists(join(path, COMPLETE_MARKER)):
                raise AssertionError(f"{path} lacks its completion marker {COMPLETE_MARKER}")
            state = json.loads(fs.cat_file(join(path, STATE_FILE)).decode("utf-8"))
            found[int(match.group(1))] = int(state["step"])
        return found

    def check_finished(self, run: StorageRun) -> None:
        trials = saved_trials(run.url)
        expect_none([f"trial {t['trial_id']} ended {t['status']}" for t in trials
                     if t["status"] != TrialStatus.TERMINATED.value], "unfinished trials")
        if run.grid is None:
            raise AssertionError("the run was stopped: it has no results to read")
        rows = file_results(run.grid)
        expect_none(sequence_problems(rows, donors=iterations_by_trial(rows)),
                    "result.json files")
        done = {t: its[-1] for t, its in iterations_by_trial(rows).items()}
        expect_none([f"trial {t} ended at iteration {i}" for t, i in done.items()
                     if i != self.iterations], "trials that stopped short")

    # ----------------------------------------------------------------- the tests
    def test_checkpoints_land_in_trial_directories(self, storage_url: str) -> None:
        run = self.run_experiment(storage_url)
        self.check_finished(run)
        grid = run.grid
        if grid is None:
            raise AssertionError("the run was stopped: it has no results to read")
        dirs = self.trial_dirs(run)
        if len(dirs) != self.num_samples:
            raise AssertionError(f"{len(dirs)} trials, not {self.num_samples}: {dirs}")
        problems = []
        for result in grid:
            trial_dir = dirs[result.trial_id]
            if _bare(result.path) != _bare(trial_dir):
                problems.append(f"trial {result.trial_id}: its result's path is {result.path}, "
                                f"not {trial_dir}")
            found = self.checkpoints_of(run, trial_dir)
            wanted = {index: index + 1 for index in range(self.iterations)}
            if found != wanted:
                problems.append(f"trial {result.trial_id}: checkpoints (index: step) {found}, "
                                f"wanted {wanted}")
            latest = join(trial_dir, f"checkpoint_{self.iterations - 1:06d}")
            if result.checkpoint is None or _bare(result.checkpoint.path) != _bare(latest):
                problems.append(f"trial {result.trial_id}: its result's checkpoint is "
                                f"{result.checkpoint}, not {latest}")
        expect_none(problems, f"checkpoints under {run.url}")

    def test_retention_keeps_num_to_keep(self, storage_url: str) -> None:
        run = self.run_experiment(storage_url, num_to_keep=self.num_to_keep)
        self.check_finished(run)
        newest = range(self.iterations - self.num_to_keep, self.iterations)
        wanted = {index: index + 1 for index in newest}
        problems = [
            f"trial {trial_id}: checkpoints (index: step) {found}, wanted {wanted}"
            for trial_id, trial_dir in self.trial_dirs(run).items()
            if (found := self.checkpoints_of(run, trial_dir)) != wanted
        ]
        expect_none(problems, f"num_to_keep={self.num_to_keep} under {run.url}")

    def test_a_restore_resumes_from_the_checkpoints(self, storage_url: str) -> None:
        stop = InterruptAfter(self.interrupt_after)
        first = self.run_experiment(storage_url, num_to_keep=self.num_to_keep, stop=stop)
        saved = saved_trials(first.url)
        resumable = {t["trial_id"]: int(t["checkpoints"][-1]["metrics"]["training_iteration"])
                     for t in saved if t["status"] != "TERMINATED" and t["checkpoints"]}
        if not any(step < self.iterations for step in resumable.values()):
            raise AssertionError("no trial had a checkpoint to resume from part-way when the "
                                 "test stopped the experiment: change interrupt_after")
        log = ResultLog()
        tune_config, run_config = self._configs(log, None, self.num_to_keep)
        grid = restore(first.url, contract_trainable, tune_config=tune_config,
                       run_config=run_config, n_workers=self.n_workers)
        second = StorageRun(first.url, grid, log)
        self.check_finished(second)
        problems = []
        for trial_id, step in resumable.items():
            results = log.of(trial_id)
            if step >= self.iterations and not results:
                continue  # its last step was saved: it resumes only to end
            start = results[0] if results else {}
            if (start.get("owner"), start.get("resumed_step")) != (trial_id, step):
                problems.append(
                    f"trial {trial_id} had its checkpoint of step {step} saved, but resumed "
                    f"with owner={start.get('owner')!r}, resumed_step={start.get('resumed_step')}"
                )
        # Indices go on where the first run left off; the steps kept are the newest.
        steps = list(range(self.iterations - self.num_to_keep + 1, self.iterations + 1))
        for trial_id, trial_dir in self.trial_dirs(second).items():
            found = self.checkpoints_of(second, trial_dir)
            if [found[index] for index in sorted(found)] != steps:
                problems.append(f"trial {trial_id}: after the restore it holds the checkpoints "
                                f"(index: step) {found}, wanted those of steps {steps}")
        expect_none(problems, f"the restore from {first.url}")


def _join_url(url: str, name: str) -> str:
    return f"{url.rstrip('/')}/{name}"


def _bare(path: str) -> str:
    """A path without its protocol or trailing slash, to compare paths across filesystems."""
    return re.sub(r"^[a-z0-9]+://", "", path).rstrip("/").lstrip("/")
