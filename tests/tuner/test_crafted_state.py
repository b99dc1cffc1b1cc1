"""Crafted experiment folders: reading or restoring one never runs code from it, nor writes or
deletes files outside it; values JSON cannot carry are kept as their repr and restored from the
`param_space` passed again; names that become directories are checked everywhere."""

from __future__ import annotations

import base64
import json
import logging
import pickle
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tuner import (
    Checkpoint,
    ConfigError,
    InProcessExecutor,
    RestoreError,
    ResultGrid,
    RunConfig,
    TuneConfig,
    Tuner,
    choice,
    grid_search,
    report,
    sample_from,
)
from tuner.state._experiment import SLOTS, decode_value, encode_value

ROOT = Path(__file__).resolve().parents[2]


def train(config: dict[str, Any]) -> None:
    for step in range(3):
        with tempfile.TemporaryDirectory() as d:
            Path(d, "step").write_text(str(step))
            report({"loss": config["x"] / (step + 1)}, checkpoint=Checkpoint.from_directory(d))


def fit(storage: Path, name: str = "exp", **space: Any) -> Path:
    Tuner(
        train,
        param_space={"x": grid_search([1.0, 2.0]), **space},
        tune_config=TuneConfig(metric="loss", mode="min"),
        run_config=RunConfig(storage_path=str(storage), name=name, verbose=0),
        executor=InProcessExecutor(),
    ).fit()
    return storage / name


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished experiment (two trials, three checkpoints each), copied by `experiment`.

    The older slot is made a copy of the newest, one sequence number lower (what the save
    before the last one held depends on when saves happened).
    """
    exp = fit(tmp_path_factory.mktemp("pristine"))
    newest = newest_slot(exp)
    state = json.loads((exp / newest).read_text())
    state["sequence"] -= 1
    (exp / next(s for s in SLOTS if s != newest)).write_text(json.dumps(state))
    return exp


@pytest.fixture
def experiment(pristine: Path, tmp_path: Path) -> Path:
    """A copy of the finished experiment at `<tmp_path>/storage/exp`, to craft."""
    path = tmp_path / "storage" / "exp"
    shutil.copytree(pristine, path)
    return path


def newest_slot(exp: Path) -> str:
    return max(SLOTS, key=lambda s: json.loads((exp / s).read_text())["sequence"])


def craft(exp: Path, edit: Callable[[dict[str, Any]], None], slots: tuple[str, ...] = SLOTS) -> None:
    """Apply `edit` to the state in `slots` (both by default), as an attacker would."""
    for slot in slots:
        state = json.loads((exp / slot).read_text())
        edit(state)
        (exp / slot).write_text(json.dumps(state))


def resume_first_trial(state: dict[str, Any]) -> None:
    """Make the first trial unfinished, so that a restore runs it again."""
    state["trials"][0]["status"] = "RUNNING"
    state["experiment"]["status"] = "running"


def tuner_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tuner.analysis._cli", *args], capture_output=True,
                          text=True, timeout=60, cwd=ROOT)


def assert_one_line_error(done: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith("tuner: error: ")
    for fragment in fragments:
        assert fragment in done.stderr, done.stderr


# ---------------------------------------------------------------------------- pickles
class _Touch:
    """Unpickling this creates the file `path`: what a crafted state could make a reader run."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.path,))


def pickled_marker(sentinel: Path) -> dict[str, str]:
    """The marker older states stored non-JSON values as, holding a payload that touches a file."""
    payload = base64.b64encode(pickle.dumps(_Touch(sentinel))).decode("ascii")
    return {"__pickled__": payload, "repr": "'harmless'"}


def test_the_payload_is_live(tmp_path: Path) -> None:
    # The attack the other tests fend off works when the payload is loaded.
    proof = tmp_path / "proof"
    pickle.loads(base64.b64decode(pickled_marker(proof)["__pickled__"]))
    assert proof.exists()


def plant_payload(sentinel: Path) -> Callable[[dict[str, Any]], None]:
    def edit(state: dict[str, Any]) -> None:
        trial = state["trials"][0]
        trial["config"]["evil"] = pickled_marker(sentinel)
        trial["last_result"]["evil"] = pickled_marker(sentinel)
        trial["checkpoints"][-1]["metrics"]["evil"] = pickled_marker(sentinel)
        resume_first_trial(state)

    return edit


def test_the_cli_never_unpickles(experiment: Path, tmp_path: Path) -> None:
    sentinel = tmp_path / "pwned"
    craft(experiment, plant_payload(sentinel))
    for args in (("ls", str(experiment.parent)), ("show", str(experiment)),
                 ("best", str(experiment)), ("best", str(experiment), "--json")):
        done = tuner_cli(*args)
        assert done.returncode == 0, done.stderr
        assert not sentinel.exists(), args
    shown = tuner_cli("show", str(experiment)).stdout
    assert "'harmless'" in shown  # the old marker's repr, for display
    best = json.loads(tuner_cli("best", str(experiment), "--json").stdout)
    assert best["config"]["evil"] == "'harmless'"


def test_result_grid_from_path_never_unpickles(experiment: Path, tmp_path: Path) -> None:
    sentinel = tmp_path / "pwned"
    craft(experiment, plant_payload(sentinel))
    grid = ResultGrid.from_path(experiment)
    first = next(r for r in grid if "evil" in r.config)
    assert first.config["evil"] == "'harmless'"
    assert first.metrics["evil"] == "'harmless'"
    assert first.best_checkpoints[0][1]["evil"] == "'harmless'"
    assert not sentinel.exists()


def test_restore_never_unpickles(experiment: Path, tmp_path: Path) -> None:
    sentinel = tmp_path / "pwned"
    craft(experiment, plant_payload(sentinel))
    with pytest.raises(RestoreError, match=r"config key 'evil' holds 'harmless'.*no param_space"):
        Tuner.restore(str(experiment), trainable=train)
    # With the value given again, the trial runs on, and still nothing is unpickled.
    space = {"x": grid_search([1.0, 2.0]), "evil": "given again"}
    grid = Tuner.restore(str(experiment), trainable=train, param_space=space,
                         executor=InProcessExecutor()).fit()
    assert not sentinel.exists()
    assert {r.status for r in grid} == {"TERMINATED"}
    rerun = next(r for r in grid if "evil" in r.config)
    assert rerun.config["evil"] == "given again"
    assert rerun.metrics["training_iteration"] == 6  # resumed from its checkpoint, ran 3 more


# ---------------------------------------------------------------------------- names
def snapshot(root: Path, skip: Path) -> dict[str, bytes | None]:
    """Every file (with its bytes) and directory under `root`, except under `skip`."""
    return {
        str(p.relative_to(root)): p.read_bytes() if p.is_file() else None
        for p in sorted(root.rglob("*"))
        if skip not in p.parents and p != skip
    }


@pytest.fixture
def victim(experiment: Path) -> Path:
    """A directory beside the experiment that looks like a trial directory to delete from."""
    path = experiment.parent / "victim"
    (path / "checkpoint_000000").mkdir(parents=True)
    (path / "checkpoint_000000" / "weights").write_text("precious")
    (path / "result.json").write_text('{"precious": true}\n')
    return path


def _trial_name(value: Callable[[Path], str]) -> Callable[[dict[str, Any], Path], None]:
    def edit(state: dict[str, Any], victim: Path) -> None:
        trial = state["trials"][0]
        trial["name"] = value(victim)
        # With no checkpoint of its own, a restore would delete every checkpoint_* it finds in
        # the trial directory and write the trial's output files there.
        trial["checkpoints"] = []
        trial["next_checkpoint_index"] = 0
        trial["restore_from"] = None

    return edit


def _checkpoint_path(path: Callable[[Path], str]) -> Callable[[dict[str, Any], Path], None]:
    def edit(state: dict[str, Any], victim: Path) -> None:
        state["trials"][0]["checkpoints"][-1]["path"] = path(victim)

    return edit


SLASH = "is a directory name and must not contain '/' or '\\'"
CRAFTED = {
    "parent": (_trial_name(lambda v: "../victim"), f'name {SLASH}, got "../victim"'),
    "parent twice": (_trial_name(lambda v: "../../storage/victim"), f"name {SLASH}"),
    "absolute": (_trial_name(lambda v: str(v)), f"name {SLASH}"),
    "nested": (_trial_name(lambda v: "a/b"), f'name {SLASH}, got "a/b"'),
    "backslash": (_trial_name(lambda v: "..\\victim"), f"name {SLASH}"),
    "dot dot": (_trial_name(lambda v: ".."), "name is a directory name and must not be '.' or '..'"),
    "nul": (_trial_name(lambda v: "tr\x00ial"), 'must not contain a NUL byte, got "tr\\u0000ial"'),
    "too long": (_trial_name(lambda v: "t" * 300), "must be at most 255 bytes in UTF-8 (it has 300)"),
    "checkpoint outside": (_checkpoint_path(lambda v: str(v)),
                           "checkpoints[2].path must end in a directory named checkpoint_<6 digits>"),
    "checkpoint dot dot": (_checkpoint_path(lambda v: f"{v}/checkpoint_000002/.."),
                           "checkpoints[2].path must end in a directory named checkpoint_<6 digits>"),
    "checkpoint index": (_checkpoint_path(lambda v: f"{v}/checkpoint_000000"),
                         "checkpoints[2].path names checkpoint 0, but its index is 2"),
}


def crafted_and_unfinished(
    edit: Callable[[dict[str, Any], Path], None], victim: Path
) -> Callable[[dict[str, Any]], None]:
    def apply(state: dict[str, Any]) -> None:
        edit(state, victim)
        resume_first_trial(state)

    return apply


@pytest.mark.parametrize("case", CRAFTED, ids=list(CRAFTED))
def test_a_crafted_name_is_refused_and_nothing_outside_changes(
    case: str, experiment: Path, victim: Path
) -> None:
    edit, fragment = CRAFTED[case]
    around = experiment.parents[1]  # the storage path and what is beside it
    before = snapshot(around, skip=experiment)
    craft(experiment, crafted_and_unfinished(edit, victim))
    with pytest.raises(RestoreError) as caught:
        Tuner.restore(str(experiment), trainable=train, executor=InProcessExecutor()).fit()
    message = str(caught.value)
    assert f"{SLOTS[0]}: trials[0]." in message and f"{SLOTS[1]}: trials[0]." in message
    assert fragment in message
    with pytest.raises(RestoreError, match="trials\\[0\\]"):
        ResultGrid.from_path(experiment)
    assert_one_line_error(tuner_cli("show", str(experiment)), "trials[0].", fragment)
    assert_one_line_error(tuner_cli("ls", str(experiment.parent)), "trials[0].", fragment)
    assert snapshot(around, skip=experiment) == before


def test_a_crafted_newest_slot_falls_back_to_the_other(
    experiment: Path, victim: Path, caplog: pytest.LogCaptureFixture
) -> None:
    around = experiment.parents[1]
    before = snapshot(around, skip=experiment)
    newest = newest_slot(experiment)
    other = next(s for s in SLOTS if s != newest)
    craft(experiment, resume_first_trial, slots=(other,))  # the older slot: valid, unfinished
    craft(experiment, crafted_and_unfinished(CRAFTED["parent"][0], victim), slots=(newest,))
    with caplog.at_level(logging.WARNING, logger="tuner.state._experiment"):
        grid = Tuner.restore(str(experiment), trainable=train, executor=InProcessExecutor()).fit()
    assert f"{newest}: trials[0].name" in caplog.text and f"using {other}" in caplog.text
    assert {r.status for r in grid} == {"TERMINATED"}
    assert max(r.metrics["training_iteration"] for r in grid) == 6  # the older slot's trial ran
    assert snapshot(around, skip=experiment) == before


# ---------------------------------------------------------------------------- names from the API
def test_trial_name_creator_names_are_checked(tmp_path: Path) -> None:
    for name, fragment in (("tr\x00ial", "must not contain a NUL byte, got 'tr\\x00ial'"),
                           ("t" * 300, "at most 255 bytes in UTF-8 (it has 300), got 'tttt"),
                           ("é" * 200, "(it has 400)"),
                           ("a\\b", "must not contain '/' or '\\'")):
        with pytest.raises(ConfigError, match="trial_name_creator's name for trial") as caught:
            Tuner(train, param_space={"x": 1.0},
                  tune_config=TuneConfig(trial_name_creator=lambda trial_id, config, n=name: n),
                  run_config=RunConfig(storage_path=str(tmp_path), name="e", verbose=0),
                  executor=InProcessExecutor()).fit()
        assert fragment in str(caught.value)
        assert "return at most 255 bytes" in str(caught.value)  # the fix


def test_a_taken_trial_name_made_unique_is_checked_too(tmp_path: Path) -> None:
    long_name = "t" * 250  # fine once; with "_<trial_id>" appended for the second trial, too long
    with pytest.raises(ConfigError, match=r"taken so made unique.*at most 255 bytes"):
        Tuner(train, param_space={"x": grid_search([1.0, 2.0])},
              tune_config=TuneConfig(trial_name_creator=lambda trial_id, config: long_name),
              run_config=RunConfig(storage_path=str(tmp_path), name="e", verbose=0),
              executor=InProcessExecutor()).fit()


@pytest.mark.parametrize(("name", "fragment"), [
    ("ex\x00p", "must not contain a NUL byte, got 'ex\\x00p'"),
    ("e" * 256, "at most 255 bytes in UTF-8 (it has 256)"),
    ("a/b", "must not contain '/' or '\\', got 'a/b'"),
    ("..", "must not be '.' or '..', got '..'"),
    ("", "must not be empty, got ''"),
])
def test_run_config_names_are_checked(name: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=r"^RunConfig\(name\) is a directory name") as caught:
        RunConfig(name=name)
    assert fragment in str(caught.value)


# ---------------------------------------------------------------------------- values JSON cannot carry
class Act:
    """A config value JSON cannot carry, with a repr that tells its values apart."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Act({self.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Act) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)


def test_values_json_cannot_carry_are_stored_as_their_repr() -> None:
    value = {"act": Act("relu"), "shape": (3, 4), "keys": {1: "a"}, "ok": [1, "b", None],
             "n": np.int64(3), "f": np.float32(0.5), "b": np.bool_(True), "arr": np.arange(2),
             "looks_like_a_marker": {"__not_json__": "x"}}
    data = encode_value(value)
    json.dumps(data, allow_nan=False)  # plain JSON
    assert data == {
        "act": {"__not_json__": "Act('relu')"},
        "shape": {"__tuple__": [3, 4]},  # plain data: it comes back as a tuple
        "keys": {"__not_json__": "{1: 'a'}"},
        "ok": [1, "b", None],
        "n": 3, "f": 0.5, "b": True,  # numpy numbers as numbers, as result.json has them
        "arr": {"__not_json__": "array([0, 1])"},
        "looks_like_a_marker": {"__not_json__": "{'__not_json__': 'x'}"},
    }
    assert decode_value(data)["act"] == "Act('relu')" and decode_value(data)["n"] == 3
    assert decode_value(data)["shape"] == (3, 4)


def test_a_non_json_config_is_restored_from_the_param_space(tmp_path: Path) -> None:
    space = {"act": choice([Act("relu"), Act("tanh")]), "shape": (3, 4), "x": 1.0,
             "nested": {"grid": grid_search([Act("a"), Act("b")])}}
    grid = Tuner(train, param_space=space,
                 tune_config=TuneConfig(metric="loss", mode="min", num_samples=2, seed=3),
                 run_config=RunConfig(storage_path=str(tmp_path), name="e", verbose=0),
                 executor=InProcessExecutor()).fit()
    configs = sorted((r.trial_id, r.config) for r in grid)
    exp = tmp_path / "e"
    state = (exp / newest_slot(exp)).read_text()
    assert "__pickled__" not in state and '{"__tuple__":[3,4]}' in state
    craft(exp, resume_first_trial, slots=(newest_slot(exp),))
    restored = Tuner.restore(str(exp), trainable=train, param_space=space,
                             executor=InProcessExecutor()).fit()
    assert sorted((r.trial_id, r.config) for r in restored) == configs  # real objects again
    assert all(isinstance(r.config["shape"], tuple) for r in restored)


@pytest.mark.parametrize(("given", "why"), [
    (None, "no param_space was passed"),
    ({"x": 1.0}, "the param_space passed has no value there"),
    ({"x": 1.0, "act": choice([Act("sigmoid")])},
     r"none of the values of the choice or grid there is that \(Act\('sigmoid'\)\)"),
    ({"x": 1.0, "act": sample_from(lambda spec: Act("relu"))},
     "the param_space passed has a Function there"),
])
def test_a_non_json_config_without_its_value_names_trial_key_and_repr(
    tmp_path: Path, given: dict[str, Any] | None, why: str
) -> None:
    Tuner(train, param_space={"x": 1.0, "act": Act("relu")},
          run_config=RunConfig(storage_path=str(tmp_path), name="e", verbose=0),
          executor=InProcessExecutor()).fit()
    with pytest.raises(RestoreError) as caught:
        Tuner.restore(str(tmp_path / "e"), trainable=train, param_space=given)
    message = str(caught.value)
    assert message.startswith("trial ") and "_00000: config key 'act' holds Act('relu')" in message
    assert "pass param_space=... with that value to Tuner.restore" in message
    assert re.search(why, message), message


def test_a_default_repr_with_an_address_gets_a_hint(tmp_path: Path) -> None:
    class Opaque:
        pass

    Tuner(train, param_space={"x": 1.0, "o": choice([Opaque()])},
          run_config=RunConfig(storage_path=str(tmp_path), name="e", verbose=0),
          executor=InProcessExecutor()).fit()
    with pytest.raises(RestoreError, match="holds a memory address"):
        Tuner.restore(str(tmp_path / "e"), trainable=train,
                      param_space={"x": 1.0, "o": choice([Opaque()])})
