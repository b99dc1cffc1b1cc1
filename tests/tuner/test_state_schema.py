"""Experiment states that are valid JSON but the wrong shape: refused on load with the slot and
the path of what is wrong, or passed over for the other, valid slot; extra and optional keys are
fine."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fsspec
import pytest

from tuner import (
    Checkpoint,
    InProcessExecutor,
    RestoreError,
    ResultGrid,
    RunConfig,
    TuneConfig,
    Tuner,
    grid_search,
    report,
)
from tuner.state._experiment import SLOTS, load_state
from tuner.state._schema import state_problem

ROOT = Path(__file__).resolve().parents[2]


def train(config: dict[str, Any]) -> None:
    import tempfile

    for step in range(3):
        with tempfile.TemporaryDirectory() as d:
            Path(d, "step").write_text(str(step))
            report({"loss": config["x"] / (step + 1)}, checkpoint=Checkpoint.from_directory(d))


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished experiment: two trials with three checkpoints each, in both slots.

    The older slot is made a copy of the newest, one sequence number lower: what the save
    before the last one held depends on when saves happened, and each test needs both slots
    to hold every trial.
    """
    storage = tmp_path_factory.mktemp("pristine")
    Tuner(train, param_space={"x": grid_search([1.0, 2.0])},
          tune_config=TuneConfig(metric="loss", mode="min"),
          run_config=RunConfig(storage_path=str(storage), name="exp", verbose=0),
          executor=InProcessExecutor()).fit()
    exp = storage / "exp"
    newest = newest_slot(exp)
    state = json.loads((exp / newest).read_text())
    state["sequence"] -= 1
    (exp / next(s for s in SLOTS if s != newest)).write_text(json.dumps(state))
    return exp


@pytest.fixture
def experiment(pristine: Path, tmp_path: Path) -> Path:
    path = tmp_path / "exp"
    shutil.copytree(pristine, path)
    return path


def craft(exp: Path, edit: Callable[[dict[str, Any]], None], slots: tuple[str, ...] = SLOTS) -> None:
    for slot in slots:
        state = json.loads((exp / slot).read_text())
        edit(state)
        (exp / slot).write_text(json.dumps(state))


def newest_slot(exp: Path) -> str:
    return max(SLOTS, key=lambda s: json.loads((exp / s).read_text())["sequence"])


def load(exp: Path) -> dict[str, Any]:
    return load_state(fsspec.filesystem("file"), str(exp))


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """An edit that sets (or, for `...`, deletes) the value at `a.b[0].c` in a state."""
    keys: list[Any] = [int(k) if k.isdigit() else k
                       for k in path.replace("[", ".").replace("]", "").split(".")]

    def edit(state: dict[str, Any]) -> None:
        parent = state
        for key in keys[:-1]:
            parent = parent[key]
        if value is ...:
            del parent[keys[-1]]
        else:
            parent[keys[-1]] = value

    return edit


# (where, value or ... to delete it, what the message says about it)
MALFORMED = [
    ("sequence", "7", 'sequence must be an int, got "7"'),
    ("sequence", ..., "sequence is missing"),
    ("format_version", "1", 'format_version must be an int, got "1"'),
    ("experiment", ..., "experiment is missing"),
    ("experiment", [], "experiment must be an object, got a list"),
    ("experiment.experiment_id", ..., "experiment.experiment_id is missing"),
    ("experiment.trainable_name", 3, "experiment.trainable_name must be a str, got 3"),
    ("experiment.elapsed_s", "long", 'experiment.elapsed_s must be a number, got "long"'),
    ("experiment.searcher_finished", 1, "experiment.searcher_finished must be true or false, got 1"),
    ("experiment.counts.TERMINATED", -2, "experiment.counts.TERMINATED must be >= 0, got -2"),
    ("experiment.name", "../elsewhere", "experiment.name is a directory name and must not contain"),
    ("settings", None, "settings must be an object, got null"),
    ("settings.mode", "up", 'settings.mode must be one of "min", "max", got "up"'),
    ("settings.num_samples", 2.5, "settings.num_samples must be an int, got 2.5"),
    ("settings.checkpoint_config", ..., "settings.checkpoint_config is missing"),
    ("settings.experiment_checkpoint_period_s", "soon",
     'settings.experiment_checkpoint_period_s must be a number, got "soon"'),
    ("searcher", ..., "searcher is missing"),
    ("searcher.class", None, "searcher.class must be a str, got null"),
    ("scheduler.state", "{}", 'scheduler.state must be an object, got "{}"'),
    ("stopper", "none", 'stopper must be an object, got "none"'),
    ("param_space", [1], "param_space must be an object, got a list"),
    ("trials", None, "trials must be a list, got null"),
    ("trials", {"0": {}}, "trials must be a list, got an object"),
    ("trials[1]", "trial", 'trials[1] must be an object, got "trial"'),
    ("trials[1].trial_id", ..., "trials[1].trial_id is missing"),
    ("trials[1].trial_id", "", 'trials[1].trial_id must not be empty, got ""'),
    ("trials[1].name", 7, "trials[1].name is a directory name and must be a str, got 7"),
    ("trials[1].config", ["x"], "trials[1].config must be an object, got a list"),
    ("trials[1].config", {"__not_json__": "x"},
     "trials[1].config must be an object of values, got the marker of one value"),
    ("trials[1].path", ..., "trials[1].path is missing"),
    ("trials[1].resources.cpu", "1", 'trials[1].resources.cpu must be a number, got "1"'),
    ("trials[1].status", "EXPLODED",
     'trials[1].status must be one of "PENDING", "RUNNING", "PAUSED", "TERMINATED", "ERROR", '
     'got "EXPLODED"'),
    ("trials[1].status", ..., "trials[1].status is missing"),
    ("trials[1].history", "PENDING", 'trials[1].history must be a list, got "PENDING"'),
    ("trials[1].history[0]", ["PENDING"], "trials[1].history[0] must be a [status, unix_time] pair"),
    ("trials[1].history[0][0]", "LOST", 'trials[1].history[0][0] must be one of "PENDING"'),
    ("trials[1].history[0][1]", "noon", 'trials[1].history[0][1] must be a number, got "noon"'),
    ("trials[1].last_result", None, "trials[1].last_result must be an object, got null"),
    ("trials[1].num_failures", "0", 'trials[1].num_failures must be an int, got "0"'),
    ("trials[1].num_failures", True, "trials[1].num_failures must be an int, got true"),
    ("trials[1].error", 1, "trials[1].error must be a str, got 1"),
    ("trials[1].checkpoints", ..., "trials[1].checkpoints is missing"),
    ("trials[1].checkpoints", None, "trials[1].checkpoints must be a list, got null"),
    ("trials[0].checkpoints[0]", 0, "trials[0].checkpoints[0] must be an object, got 0"),
    ("trials[0].checkpoints[0].index", -1, "trials[0].checkpoints[0].index must be >= 0, got -1"),
    ("trials[0].checkpoints[0].index", ..., "trials[0].checkpoints[0].index is missing"),
    ("trials[0].checkpoints[0].path", None, "trials[0].checkpoints[0].path must be a str, got null"),
    ("trials[0].checkpoints[0].metrics", ..., "trials[0].checkpoints[0].metrics is missing"),
    ("trials[0].checkpoints[0].metrics", {"__pickled__": "gAWVBQ==", "repr": "1"},
     "trials[0].checkpoints[0].metrics must be an object of values, got the marker of one value"),
    ("trials[0].checkpoints[0].num_results", "3",
     'trials[0].checkpoints[0].num_results must be an int, got "3"'),
    ("trials[1].next_checkpoint_index", ..., "trials[1].next_checkpoint_index is missing"),
    ("trials[0].next_checkpoint_index", 2,
     "trials[0].next_checkpoint_index must be above every checkpoint index (checkpoints[2] has "
     "2), got 2"),
    ("trials[1].restore_from", "2", 'trials[1].restore_from must be an int, got "2"'),
    ("trials[1].num_results", -1, "trials[1].num_results must be >= 0, got -1"),
    ("trials[1].name", "@first", "trials[1].name must be unique, but trials[0] has it too"),
    ("trials[1].trial_id", "@first", "trials[1].trial_id must be unique, but trials[0] has it too"),
]
IDS = [f"{where}={'deleted' if value is ... else json.dumps(value)}" for where, value, _ in MALFORMED]


def malform(where: str, value: Any) -> Callable[[dict[str, Any]], None]:
    if value == "@first":  # the first trial's value, to make a duplicate
        key = where.rsplit(".", 1)[1]
        return lambda state: _set(where, state["trials"][0][key])(state)
    return _set(where, value)


@pytest.mark.parametrize(("where", "value", "says"), MALFORMED, ids=IDS)
def test_a_malformed_state_names_the_slot_and_the_path(
    experiment: Path, where: str, value: Any, says: str
) -> None:
    craft(experiment, malform(where, value))
    with pytest.raises(RestoreError) as caught:
        load(experiment)
    message = str(caught.value)
    assert message.startswith(f"the experiment state at {experiment} is malformed")
    for slot in SLOTS:
        assert f"{slot}: {says}" in message, message
    assert "restore the experiment folder from a copy" in message  # the fix


@pytest.mark.parametrize(("where", "value", "says"), MALFORMED, ids=IDS)
def test_a_malformed_newest_slot_falls_back_to_the_other(
    experiment: Path, where: str, value: Any, says: str, caplog: pytest.LogCaptureFixture
) -> None:
    newest = newest_slot(experiment)
    other = next(s for s in SLOTS if s != newest)
    expected = json.loads((experiment / other).read_text())
    craft(experiment, malform(where, value), slots=(newest,))
    with caplog.at_level(logging.WARNING, logger="tuner.state._experiment"):
        assert load(experiment) == expected
    if where == "sequence":
        return  # a slot without a valid sequence is the older one: never looked at, no warning
    assert f"{newest}: {says}" in caplog.text
    assert f"using {other} (sequence {expected['sequence']}), saved before it" in caplog.text


def test_the_real_state_is_valid_and_extra_or_optional_keys_are_fine(experiment: Path) -> None:
    def extend(state: dict[str, Any]) -> None:
        state["written_by_a_newer_tuner"] = {"anything": [1, 2]}
        state["experiment"]["host"] = "node-1"
        for trial in state["trials"]:
            trial["revision"] = 12
            trial["num_results"] = 3
            for record in trial["checkpoints"]:
                record["num_results"] = record["index"] + 1
                record["size_bytes"] = 10
            for optional in ("error", "restore_from"):
                del trial[optional]
        for optional in ("stopper", "param_space_note"):
            del state[optional]

    assert state_problem(load(experiment)) is None
    craft(experiment, extend)
    state = load(experiment)
    assert state["written_by_a_newer_tuner"] == {"anything": [1, 2]}
    grid = ResultGrid.from_path(experiment)
    assert {r.status for r in grid} == {"TERMINATED"} and len(grid) == 2
    grid = Tuner.restore(str(experiment), trainable=train, executor=InProcessExecutor()).fit()
    assert {r.status for r in grid} == {"TERMINATED"}


def test_restore_and_result_grid_refuse_it_too(experiment: Path) -> None:
    craft(experiment, _set("trials[0].checkpoints", None))
    with pytest.raises(RestoreError, match=r"experiment_state-a\.json: trials\[0\]\.checkpoints "
                                           r"must be a list, got null"):
        Tuner.restore(str(experiment), trainable=train)
    with pytest.raises(RestoreError, match=r"trials\[0\]\.checkpoints must be a list, got null"):
        ResultGrid.from_path(experiment)


def test_a_state_unreadable_in_one_slot_and_malformed_in_the_other(experiment: Path) -> None:
    newest = newest_slot(experiment)
    other = next(s for s in SLOTS if s != newest)
    (experiment / newest).write_text('{"format": "tuner-experiment-state", "trials": [')
    craft(experiment, _set("trials", None), slots=(other,))
    with pytest.raises(RestoreError,
                       match=rf"{other}: trials must be a list, got null; {newest}: unreadable"):
        load(experiment)


def test_searcher_state_that_does_not_load_is_a_restore_error(experiment: Path) -> None:
    def unfinished(state: dict[str, Any]) -> None:
        state["searcher"]["state"] = {"unexpected": True}
        state["trials"][0]["status"] = "RUNNING"

    craft(experiment, unfinished)
    with pytest.raises(RestoreError, match=r"saved state of the searcher .*BasicVariantGenerator "
                                           r"does not load into it \(KeyError"):
        Tuner.restore(str(experiment), trainable=train, executor=InProcessExecutor()).fit()


@pytest.mark.parametrize(("where", "value", "says"), [
    ("settings.num_samples", 0, "num_samples must be >= 1"),
    ("settings.checkpoint_config", {"keep": 1}, "unexpected keyword argument 'keep'"),
])
def test_settings_the_configs_refuse_are_a_restore_error(
    experiment: Path, where: str, value: Any, says: str
) -> None:
    craft(experiment, _set(where, value))
    with pytest.raises(RestoreError, match="the settings saved in the experiment state") as caught:
        Tuner.restore(str(experiment), trainable=train)
    assert says in str(caught.value)


def test_a_malformed_saved_search_space_is_a_restore_error(experiment: Path) -> None:
    craft(experiment, _set("param_space.x", {"__domain__": {"type": "float", "low": 1}}))
    with pytest.raises(RestoreError, match=r"search space saved .* is malformed \(KeyError"):
        Tuner.restore(str(experiment), trainable=train)


@pytest.mark.parametrize("command", ["ls", "show", "best"])
def test_the_cli_prints_one_line_and_exits_1(experiment: Path, command: str) -> None:
    craft(experiment, _set("trials[1].checkpoints", None))
    target = str(experiment.parent if command == "ls" else experiment)
    done = subprocess.run([sys.executable, "-m", "tuner.analysis._cli", command, target],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith("tuner: error: the experiment state at ")
    assert "experiment_state-b.json: trials[1].checkpoints must be a list, got null" in done.stderr
