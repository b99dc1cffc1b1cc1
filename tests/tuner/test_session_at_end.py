"""`Session.at_end`: what a trial opened is closed in its thread before the loop hears it ended."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import pytest

from tuner import Callback, InProcessExecutor, RunConfig, Trainable, Tuner, grid_search, report
from tuner.integrations._trial_end import at_trial_end

EVENTS: list[tuple[str, Any]] = []
LOCK = threading.Lock()


def note(*event: Any) -> None:
    with LOCK:
        EVENTS.append(event)


class Ends(Callback):
    def on_trial_complete(self, iteration: int, trials: Any, trial: Any, **info: Any) -> None:
        note("complete", trial.config["x"])

    def on_trial_error(self, iteration: int, trials: Any, trial: Any, **info: Any) -> None:
        note("error", trial.config["x"])


def opens_and_leaves_open(config: dict[str, Any]) -> None:
    x = config["x"]
    assert at_trial_end(lambda: note("closed", x, threading.current_thread().name))
    report({"loss": float(x)})
    if x == 2:
        raise RuntimeError("trial 2 fails after its report")


class OpensInSetup(Trainable):
    def setup(self, config: dict[str, Any]) -> None:
        assert at_trial_end(lambda: note("closed", config["x"], threading.current_thread().name))

    def step(self) -> dict[str, Any]:
        note("step", self.config["x"], threading.current_thread().name)
        return {"loss": 1.0, "done": self.iteration >= 1}


@pytest.mark.parametrize("trainable", [opens_and_leaves_open, OpensInSetup])
def test_a_trial_s_end_callbacks_run_in_its_thread_before_the_loop_hears_it_ended(
    trainable: Any, tmp_path: Path
) -> None:
    EVENTS.clear()
    Tuner(
        trainable,
        param_space={"x": grid_search([1, 2, 3])},
        run_config=RunConfig(storage_path=str(tmp_path), name="ends", verbose=0,
                             callbacks=[Ends()]),
        executor=InProcessExecutor(max_concurrent=3),
    ).fit()
    for x in (1, 2, 3):
        mine = [e for e in EVENTS if e[1] == x and e[0] != "step"]
        ended = "error" if (x == 2 and trainable is opens_and_leaves_open) else "complete"
        assert [e[0] for e in mine] == ["closed", ended], EVENTS  # once each, closed first
    if trainable is OpensInSetup:  # closed on the thread that ran the trial's steps
        steps = {e[1]: e[2] for e in EVENTS if e[0] == "step"}
        assert {e[1]: e[2] for e in EVENTS if e[0] == "closed"} == steps


def test_a_failing_end_callback_is_logged_and_the_trial_still_ends(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def train(config: dict[str, Any]) -> None:
        def broken() -> None:
            raise ValueError("cannot close")

        at_trial_end(broken)
        report({"loss": 0.5})

    grid = Tuner(train, run_config=RunConfig(storage_path=str(tmp_path), name="broken",
                                              verbose=0),
                 executor=InProcessExecutor()).fit()
    assert [r.metrics["loss"] for r in grid] == [0.5] and not grid.errors
    failed = [r for r in caplog.records if "a callback at its end failed" in r.getMessage()]
    assert len(failed) == 1 and failed[0].levelno == logging.WARNING
    assert "cannot close" in caplog.text


def test_outside_a_trial_there_is_no_end_to_wait_for() -> None:
    assert at_trial_end(lambda: None) is False
