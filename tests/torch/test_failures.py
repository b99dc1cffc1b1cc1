"""The failed ranks of a group travel to `fit()` as data (a file in the trial directory), not as
text to parse out of the error message."""

from __future__ import annotations

from pathlib import Path

import fsspec

from tuner.analysis._result import Result
from tuner.exceptions import TrialError, WorkerDiedError, WorkerGroupError
from tuner.torch._failures import (
    FILE,
    RankFailure,
    clear_failures,
    read_failures,
    write_failures,
)
from tuner.torch._trainer import _training_failed

LOCAL = fsspec.filesystem("file")


def test_failures_round_trip_and_an_attempt_clears_the_last_one(tmp_path: Path) -> None:
    failures = [RankFailure(1, "ValueError: x", "Traceback ...\nValueError: x"),
                RankFailure(0, "rank 0 of 2 (pid 7) was killed by SIGKILL", died=True)]
    write_failures(LOCAL, str(tmp_path), failures)
    assert read_failures(LOCAL, str(tmp_path)) == failures
    clear_failures(LOCAL, str(tmp_path))
    assert not (tmp_path / FILE).exists()
    assert read_failures(LOCAL, str(tmp_path)) == []
    clear_failures(LOCAL, str(tmp_path))  # nothing to clear: no error


def test_an_unreadable_record_reads_as_none(tmp_path: Path) -> None:
    (tmp_path / FILE).write_text('{"failures": [{"rank": 1, "unknown": 2}]}')
    assert read_failures(LOCAL, str(tmp_path)) == []
    (tmp_path / FILE).write_text("{not json")
    assert read_failures(LOCAL, str(tmp_path)) == []


def test_fit_s_error_names_each_rank_with_its_own_error(tmp_path: Path) -> None:
    write_failures(LOCAL, str(tmp_path), [
        RankFailure(1, "ValueError: bad batch", "Traceback ...\nValueError: bad batch"),
        RankFailure(0, "RuntimeError: peer gone", "Traceback ...\nRuntimeError: peer gone"),
        RankFailure(1, "ValueError: again"),  # a rank is named once: its first failure
    ])
    trial_error = TrialError("trial t failed: rank 1 of 2 failed: ValueError: bad batch",
                             trial_id="t", traceback="the whole traceback")
    result = Result(metrics={}, config={}, path=str(tmp_path), filesystem=LOCAL)
    error = _training_failed(result, trial_error)
    assert isinstance(error, WorkerGroupError)
    assert error.__cause__ is trial_error and error.traceback == "the whole traceback"
    assert list(error.worker_failures) == [1, 0]
    assert error.worker_failures[1] is trial_error
    other = error.worker_failures[0]
    assert isinstance(other, TrialError) and str(other) == "RuntimeError: peer gone"
    assert other.traceback.endswith("RuntimeError: peer gone")


def test_a_died_rank_is_a_worker_died_error(tmp_path: Path) -> None:
    died = RankFailure(0, "rank 0 of 2 (pid 7) was killed by SIGKILL", died=True)
    write_failures(LOCAL, str(tmp_path), [RankFailure(1, "E: x"), died])
    result = Result(metrics={}, config={}, path=str(tmp_path), filesystem=LOCAL)
    error = _training_failed(result, TrialError("trial t failed: E: x"))
    assert isinstance(error, WorkerGroupError)
    assert isinstance(error.worker_failures[0], WorkerDiedError)


def test_without_a_record_fit_raises_a_training_failed_error(tmp_path: Path) -> None:
    result = Result(metrics={}, config={}, path=str(tmp_path), filesystem=LOCAL)
    error = _training_failed(result, TrialError("trial t failed: ConfigError: no GPU"))
    assert type(error).__name__ == "TrainingFailedError"
    assert not isinstance(error, WorkerGroupError)
