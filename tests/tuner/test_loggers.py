"""Trial output files: result.json lines, progress.csv columns, TensorBoard events."""

from __future__ import annotations

import csv
import glob
import json
import logging
import os
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tuner._callback import TrialInfo
from tuner.output._loggers import (
    CSVLoggerCallback,
    JsonLoggerCallback,
    TBXLoggerCallback,
    default_logger_callbacks,
    flatten,
)


@pytest.fixture
def trial(tmp_path: Path) -> TrialInfo:
    return TrialInfo(
        trial_id="t0",
        name="trial_t0",
        config={"lr": 0.01, "layers": [64, 32], "opt": {"name": "adam", "beta": 0.9}},
        local_path=str(tmp_path / "trial_t0"),
        status="RUNNING",
    )


def _result(i: int, **extra: Any) -> dict[str, Any]:
    return {"loss": 1.0 / i, "training_iteration": i, "nested": {"acc": 0.1 * i}, **extra}


def _read_events(directory: str) -> list[Any]:
    """Parse TFRecord event files: [len u64][crc u32][data][crc u32] per record."""
    from tensorboardX.proto.event_pb2 import Event

    events = []
    for path in sorted(glob.glob(os.path.join(directory, "events.out.tfevents.*"))):
        data = Path(path).read_bytes()
        offset = 0
        while offset < len(data):
            (length,) = struct.unpack_from("<Q", data, offset)
            offset += 12
            events.append(Event.FromString(data[offset : offset + length]))
            offset += length + 4
    return events


def _scalars(events: list[Any]) -> dict[str, list[tuple[int, float]]]:
    out: dict[str, list[tuple[int, float]]] = {}
    for event in events:
        for value in event.summary.value:
            if value.HasField("simple_value"):
                out.setdefault(value.tag, []).append((event.step, value.simple_value))
    return out


# --- flatten ----------------------------------------------------------------------------------


def test_flatten_nested_with_slash() -> None:
    assert flatten({"a": {"b": 1, "c": {"d": 2}}, "e": [1], "f": {}}) == {
        "a/b": 1,
        "a/c/d": 2,
        "e": [1],
        "f": {},
    }


# --- JSON -------------------------------------------------------------------------------------


def test_json_writes_params_and_one_line_per_result(trial: TrialInfo) -> None:
    logger = JsonLoggerCallback()
    logger.log_trial_start(trial)
    for i in range(1, 4):
        logger.log_trial_result(0, trial, _result(i))
    result_path = Path(trial.local_path, "result.json")
    # Buffered until flush() (the file itself may still be being made, off the loop's thread).
    assert not result_path.exists() or result_path.read_text() == ""

    logger.flush()
    lines = result_path.read_text().splitlines()
    assert [json.loads(line) for line in lines] == [_result(i) for i in range(1, 4)]
    assert json.loads(Path(trial.local_path, "params.json").read_text()) == trial.config

    logger.log_trial_result(0, trial, _result(4))
    logger.log_trial_end(trial)
    assert len(result_path.read_text().splitlines()) == 4
    assert logger._trials == {}, "nothing is kept about an ended trial"


def test_json_serialises_numpy_and_odd_values(trial: TrialInfo) -> None:
    logger = JsonLoggerCallback()
    result = {
        "f32": np.float32(0.5),
        "i64": np.int64(7),
        "b": np.bool_(True),
        "arr": np.arange(3),
        "none": None,
        "s": "x",
        "nested": {"list": [1, {"deep": np.float64(2.5)}]},
        "tuple_keys": {(1, 2): 3},
        "obj": object,
    }
    logger.log_trial_result(0, trial, result)  # no on_trial_start: opened lazily
    logger.log_trial_end(trial)
    line = json.loads(Path(trial.local_path, "result.json").read_text())
    assert line["f32"] == 0.5
    assert line["i64"] == 7
    assert line["b"] is True
    assert line["arr"] == [0, 1, 2]
    assert line["none"] is None
    assert line["nested"] == {"list": [1, {"deep": 2.5}]}
    assert line["tuple_keys"] == {"(1, 2)": 3}
    assert line["obj"] == "<class 'object'>"


def test_json_params_repr_for_non_json_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    trial = TrialInfo("t1", "trial_t1", {"model": dict, "lr": np.float64(0.1)}, str(tmp_path))
    logger = JsonLoggerCallback()
    with caplog.at_level(logging.WARNING, logger="tuner.output._loggers"):
        logger.log_trial_start(trial)
    logger.log_trial_end(trial)
    params = json.loads(Path(tmp_path, "params.json").read_text())
    assert params == {"model": "<class 'dict'>", "lr": 0.1}
    assert "repr()" in caplog.text


def test_json_pause_and_resume_appends_to_the_same_open_file(trial: TrialInfo) -> None:
    logger = JsonLoggerCallback()
    logger.log_trial_start(trial)
    logger.log_trial_result(0, trial, _result(1))
    file = logger._trials["t0"].file
    logger.on_trial_pause(iteration=0, trials=[trial], trial=trial)
    logger.log_trial_start(trial)
    assert logger._trials["t0"].file is file and file is not None and not file.closed
    logger.log_trial_result(0, trial, _result(2))
    logger.log_trial_end(trial, failed=True)
    assert file.closed and logger._trials == {}
    lines = Path(trial.local_path, "result.json").read_text().splitlines()
    assert [json.loads(x)["training_iteration"] for x in lines] == [1, 2]


def test_json_params_rewritten_when_a_trial_resumes_with_another_config(
    trial: TrialInfo,
) -> None:
    logger = JsonLoggerCallback()
    logger.log_trial_start(trial)
    exploited = TrialInfo("t0", "trial_t0", {"lr": 0.5}, trial.local_path, "RUNNING")
    logger.log_trial_start(exploited)  # resumed after PBT changed its config
    logger.flush()  # files are complete once flushed
    assert json.loads(Path(trial.local_path, "params.json").read_text()) == {"lr": 0.5}
    logger.log_trial_end(exploited)


# --- CSV --------------------------------------------------------------------------------------


def _read_csv(trial: TrialInfo) -> list[dict[str, str]]:
    with open(Path(trial.local_path, "progress.csv"), newline="") as file:
        return list(csv.DictReader(file))


def test_csv_header_from_first_result_nested_flattened(trial: TrialInfo) -> None:
    logger = CSVLoggerCallback()
    logger.log_trial_start(trial)
    logger.log_trial_result(0, trial, _result(1, done=False, note=None))
    logger.log_trial_result(0, trial, _result(2, done=True, note="x"))
    logger.flush()
    header = Path(trial.local_path, "progress.csv").read_text().splitlines()[0]
    assert header == "loss,training_iteration,nested/acc,done,note"
    rows = _read_csv(trial)
    assert [r["training_iteration"] for r in rows] == ["1", "2"]
    assert rows[0]["nested/acc"] == str(0.1)
    assert rows[0]["note"] == ""
    assert rows[1]["done"] == "True"
    logger.log_trial_end(trial)
    assert logger._trials == {}


def test_csv_widens_header_for_new_keys(trial: TrialInfo) -> None:
    logger = CSVLoggerCallback()
    logger.log_trial_result(0, trial, _result(1))
    logger.flush()
    logger.log_trial_result(0, trial, _result(2, extra={"x": 5}))
    logger.log_trial_result(0, trial, {"training_iteration": 3, "loss": 0.3})  # fewer keys is fine
    logger.flush()
    logger.log_trial_result(0, trial, _result(4))
    logger.log_trial_end(trial)

    rows = _read_csv(trial)
    assert list(rows[0]) == ["loss", "training_iteration", "nested/acc", "extra/x"]
    assert [r["training_iteration"] for r in rows] == ["1", "2", "3", "4"]
    assert [r["extra/x"] for r in rows] == ["", "5", "", ""]
    assert [r["nested/acc"] == "" for r in rows] == [False, False, True, False]
    assert not any(name.endswith("tmp-widen") for name in os.listdir(trial.local_path))


def test_csv_resume_keeps_existing_header(trial: TrialInfo) -> None:
    logger = CSVLoggerCallback()
    logger.log_trial_result(0, trial, _result(1))
    logger.on_experiment_end(trials=[trial])
    other = CSVLoggerCallback()  # e.g. after the experiment was restored
    other.log_trial_start(trial)
    other.log_trial_result(0, trial, _result(2))
    other.on_experiment_end(trials=[trial])
    text = Path(trial.local_path, "progress.csv").read_text()
    assert text.count("loss,") == 1
    assert [r["training_iteration"] for r in _read_csv(trial)] == ["1", "2"]


def test_csv_numpy_values(trial: TrialInfo) -> None:
    logger = CSVLoggerCallback()
    logger.log_trial_result(0, trial, {"a": np.float64(0.25), "b": np.int32(3)})
    logger.log_trial_end(trial)
    assert _read_csv(trial) == [{"a": "0.25", "b": "3"}]


# --- TensorBoard ------------------------------------------------------------------------------


def test_tbx_scalars_and_hparams(trial: TrialInfo) -> None:
    logger = TBXLoggerCallback()
    logger.log_trial_start(trial)
    for i in range(1, 4):
        logger.log_trial_result(
            0, trial, _result(i, np_metric=np.float32(i), flag=True, name="skip", timestamp=1.0e9)
        )
    logger.flush()
    logger.log_trial_end(trial)
    assert logger._trials == {}

    events = _read_events(trial.local_path)
    scalars = _scalars(events)
    assert scalars["tune/loss"] == [(1, 1.0), (2, 0.5), (3, pytest.approx(1 / 3))]
    assert scalars["tune/nested/acc"][2] == (3, pytest.approx(0.3))
    assert scalars["tune/np_metric"] == [(1, 1.0), (2, 2.0), (3, 3.0)]
    assert "tune/flag" in scalars
    assert not {"tune/name", "tune/training_iteration", "tune/timestamp"} & set(scalars)

    tags = {v.tag for e in events for v in e.summary.value}
    assert {"_hparams_/experiment", "_hparams_/session_start_info"} <= tags
    start = next(
        v for e in events for v in e.summary.value if v.tag == "_hparams_/session_start_info"
    )
    from tensorboardX.proto.plugin_hparams_pb2 import HParamsPluginData

    info = HParamsPluginData.FromString(start.metadata.plugin_data.content).session_start_info
    assert info.hparams["lr"].number_value == pytest.approx(0.01)
    assert info.hparams["opt/name"].string_value == "adam"
    assert info.hparams["layers"].string_value == "[64, 32]"


def test_tbx_pause_resume_writes_on_in_one_event_file(trial: TrialInfo) -> None:
    logger = TBXLoggerCallback()
    logger.log_trial_start(trial)
    logger.log_trial_result(0, trial, _result(1))
    logger.on_trial_pause(iteration=0, trials=[trial], trial=trial)
    logger.log_trial_start(trial)
    logger.log_trial_result(0, trial, _result(2))
    logger.log_trial_end(trial, failed=True)

    assert len(glob.glob(os.path.join(trial.local_path, "events.out.tfevents.*"))) == 1
    assert [step for step, _ in _scalars(_read_events(trial.local_path))["tune/loss"]] == [1, 2]


def test_a_new_run_of_a_trial_writes_a_second_event_file(trial: TrialInfo) -> None:
    first = TBXLoggerCallback()
    first.log_trial_result(0, trial, _result(1))
    first.on_experiment_end(trials=[trial])
    second = TBXLoggerCallback()  # after a restore
    second.log_trial_result(0, trial, _result(2))
    second.log_trial_end(trial)
    assert len(glob.glob(os.path.join(trial.local_path, "events.out.tfevents.*"))) == 2
    assert [step for step, _ in _scalars(_read_events(trial.local_path))["tune/loss"]] == [1, 2]


def test_tbx_step_falls_back_to_result_count(trial: TrialInfo) -> None:
    logger = TBXLoggerCallback()
    logger.log_trial_result(0, trial, {"m": 1.0})
    logger.log_trial_result(0, trial, {"m": 2.0})
    logger.on_experiment_end(trials=[trial])
    assert _scalars(_read_events(trial.local_path))["tune/m"] == [(1, 1.0), (2, 2.0)]


# --- all together -----------------------------------------------------------------------------


def test_default_loggers_write_all_files_for_many_trials(tmp_path: Path) -> None:
    callbacks: list[Any] = default_logger_callbacks()
    trials = [
        TrialInfo(f"t{i}", f"trial_{i}", {"i": i}, str(tmp_path / f"trial_{i}")) for i in range(3)
    ]
    for callback in callbacks:
        callback.setup()
        for t in trials:
            callback.log_trial_start(t)
        for step in range(1, 51):
            for t in trials:
                callback.log_trial_result(0, t, _result(step))
            if step % 10 == 0:
                callback.flush()
        for t in trials:
            callback.log_trial_end(t)
        callback.on_experiment_end(trials=trials)
    for t in trials:
        names = set(os.listdir(t.local_path))
        assert {"params.json", "result.json", "progress.csv"} <= names
        assert any(n.startswith("events.out.tfevents.") for n in names)
        assert len(Path(t.local_path, "result.json").read_text().splitlines()) == 50
        assert len(_read_csv(t)) == 50
