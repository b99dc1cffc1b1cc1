"""Ray Tune's trial naming through the mapped imports: `TuneConfig(trial_name_creator)` takes the
trial and gives its display name, `trial_dirname_creator` its directory; directories on disk."""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path
from typing import Any

import pytest

import tuner as tune
from tuner import ConfigError, InProcessExecutor
from tuner.experiment import Trial


def named(config: dict[str, Any]) -> None:
    context = tune.get_context()
    for step in range(3):
        tune.report({"step": step, "name_inside": context.get_trial_name()})


class Names(tune.Callback):
    """Notes each trial's names as callbacks see them."""

    def __init__(self) -> None:
        self.names: dict[str, tuple[str, str | None, str | None, str]] = {}

    def on_trial_start(self, iteration, trials, trial, **info):
        self.names[trial.trial_id] = (str(trial), trial.custom_trial_name, trial.custom_dirname,
                                      os.path.basename(trial.local_path))


def fit(tmp_path: Path, name: str, callbacks: list[tune.Callback] | None = None,
        **tune_config: Any) -> tune.ResultGrid:
    return tune.Tuner(
        named,
        param_space={"lr": tune.grid_search([0.1, 0.01, 0.001])},
        tune_config=tune.TuneConfig(**tune_config),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name=name, verbose=0,
                                  callbacks=callbacks or []),
        executor=InProcessExecutor(),
    ).fit()


def trial_dirs(tmp_path: Path, name: str) -> list[str]:
    return sorted(p.name for p in (tmp_path / name).iterdir() if p.is_dir())


def lr_name(trial: Trial) -> str:
    return f"{trial.trainable_name}_lr={trial.config['lr']}"


def test_trial_name_creator_takes_the_trial_and_names_it_and_its_directory(
    tmp_path: Path,
) -> None:
    names = Names()
    grid = fit(tmp_path, "byname", [names], trial_name_creator=lr_name)
    assert trial_dirs(tmp_path, "byname") == ["named_lr=0.001", "named_lr=0.01", "named_lr=0.1"]
    for result in grid:
        expected = f"named_lr={result.config['lr']}"
        assert Path(result.path).name == expected
        assert result.metrics["name_inside"] == expected  # get_context().get_trial_name()
        assert names.names[result.trial_id] == (expected, expected, None, expected)


def test_trial_dirname_creator_names_directories_and_the_default_display_name_stays(
    tmp_path: Path,
) -> None:
    names = Names()
    grid = fit(tmp_path, "bydir", [names],
               trial_dirname_creator=lambda trial: f"{trial.experiment_tag}")
    assert trial_dirs(tmp_path, "bydir") == ["0_lr=0.1000", "1_lr=0.0100", "2_lr=0.0010"]
    for result in grid:
        display, custom_name, custom_dir, directory = names.names[result.trial_id]
        assert display == f"named_{result.trial_id}" == result.metrics["name_inside"]
        assert custom_name is None and custom_dir == directory == Path(result.path).name
        assert {"result.json", "progress.csv", "params.json"} <= set(os.listdir(result.path))


def test_both_creators_give_display_and_directory_names(tmp_path: Path) -> None:
    names = Names()
    grid = fit(tmp_path, "both", [names], trial_name_creator=lr_name,
               trial_dirname_creator=lambda trial: f"t{trial.trial_id[-1]}")
    assert trial_dirs(tmp_path, "both") == ["t0", "t1", "t2"]
    for result in grid:
        display, custom_name, custom_dir, directory = names.names[result.trial_id]
        assert display == custom_name == f"named_lr={result.config['lr']}"
        assert result.metrics["name_inside"] == display
        assert custom_dir == directory == Path(result.path).name


def test_names_never_share_a_directory(tmp_path: Path) -> None:
    grid = fit(tmp_path, "same", trial_dirname_creator=lambda trial: "same")
    dirs = trial_dirs(tmp_path, "same")
    assert len(dirs) == 3 and dirs[0] == "same"
    assert sorted(Path(r.path).name for r in grid) == dirs
    assert all(d == "same" or d == f"same_{r.trial_id}" for d, r in zip(
        sorted(Path(r.path).name for r in grid), sorted(grid, key=lambda r: Path(r.path).name),
        strict=True))


@pytest.mark.parametrize(("bad", "fragment"), [
    ("a/b", "must not contain '/' or '\\', got 'a/b'"),
    ("..", "must not be '.' or '..'"),
    (7, "must be a str, got 7"),
])
def test_a_bad_directory_name_is_refused_with_the_rule(
    tmp_path: Path, bad: object, fragment: str
) -> None:
    with pytest.raises(ConfigError, match="trial_dirname_creator's name for trial") as caught:
        fit(tmp_path, "bad", trial_dirname_creator=lambda trial: bad)
    assert fragment in str(caught.value) and "return at most 255 bytes" in str(caught.value)


def test_creators_that_cannot_take_the_trial_are_refused_up_front() -> None:
    with pytest.raises(ConfigError, match=r"trial_dirname_creator\) is called with one argument"):
        tune.TuneConfig(trial_dirname_creator=lambda trial_id, config: "x")
    with pytest.raises(ConfigError, match=r"cannot take one positional argument: define it as "
                                          r"def trial_name\(trial\) -> str"):
        tune.TuneConfig(trial_name_creator=lambda: "x")
    with pytest.raises(ConfigError, match="must be a function f"):
        tune.TuneConfig(trial_dirname_creator="name")  # type: ignore[arg-type]


def test_the_earlier_two_argument_name_creator_still_works_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="tuner.experiment._naming"):
        grid = fit(tmp_path, "old", trial_name_creator=lambda trial_id, config: f"lr{config['lr']}")
    assert trial_dirs(tmp_path, "old") == ["lr0.001", "lr0.01", "lr0.1"]
    assert all(r.metrics["name_inside"] == Path(r.path).name for r in grid)
    assert sum("earlier form" in r.message for r in caplog.records) == 1


class InterruptAfter(tune.Callback):
    """Interrupts the experiment (as the first Ctrl-C would) after `n` results."""

    def __init__(self, n: int) -> None:
        self.n = n

    def on_trial_result(self, iteration, trials, trial, result, **info):
        self.n -= 1
        if self.n == 0:
            os.kill(os.getpid(), signal.SIGINT)


def test_restore_keeps_the_saved_directory_names(tmp_path: Path) -> None:
    def creators(run: str) -> tune.TuneConfig:
        # Not the same names in the second run: the restored trials must keep their own.
        return tune.TuneConfig(
            num_samples=24,
            trial_name_creator=lambda trial: f"{run}-name-{trial.trial_id[-5:]}",
            trial_dirname_creator=lambda trial: f"{run}-dir-{trial.trial_id[-5:]}",
            max_concurrent_trials=1,
        )

    first = tune.Tuner(
        named, param_space={"lr": tune.uniform(0, 1)}, tune_config=creators("a"),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="restore", verbose=0,
                                  callbacks=[InterruptAfter(4)]),
        executor=InProcessExecutor(),
    ).fit()
    before = {r.trial_id: Path(r.path).name for r in first}
    assert before and all(name.startswith("a-dir-") for name in before.values())
    assert len(before) < 24, "the first run made some of the trials only"
    names = Names()
    grid = tune.Tuner.restore(
        str(tmp_path / "restore"), trainable=named, tune_config=creators("b"),
        run_config=tune.RunConfig(verbose=0, callbacks=[names]),
        executor=InProcessExecutor(),
    ).fit()
    assert len(grid) == 24 and {r.status for r in grid} == {"TERMINATED"}
    after = {r.trial_id: Path(r.path).name for r in grid}
    for trial_id, directory in before.items():
        assert after[trial_id] == directory, "a restored trial keeps its directory"
    new = [d for t, d in after.items() if t not in before]
    assert new and all(d.startswith("b-dir-") for d in new), "trials made after the restore"
    assert sorted(trial_dirs(tmp_path, "restore")) == sorted(after.values())
    for trial_id, (display, *_rest) in names.names.items():
        # Display names are made again by the creator passed to restore.
        assert display == f"b-name-{trial_id[-5:]}"
