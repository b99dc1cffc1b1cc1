"""Synchronous HyperBand: bracket layout, halving at milestones, no deadlock."""

from __future__ import annotations

from pathlib import Path

import pytest

from schedulers import (
    Decision,
    HyperBandScheduler,
    TrialStatus,
    TrialSuggestion,
    TrialView,
    WaitingList,
)
from schedulers._hyperband import bracket_plan
from tuner import RunConfig, SimulatedExecutor, TuneConfig, Tuner, grid_search
from tuner.testing import RecordingScheduler, contract_trainable
from tuner.testing._runs import saved_statuses
from tuner.testing._trainable import trial_index

CONTINUE, PAUSE, STOP = Decision.CONTINUE, Decision.PAUSE, Decision.STOP


def view(trial_id: str, status: TrialStatus = TrialStatus.RUNNING) -> TrialView:
    return TrialView(trial_id, {}, status)


def make(**kwargs: object) -> HyperBandScheduler:
    base: dict[str, object] = {"metric": "acc", "mode": "max", "max_t": 9, "reduction_factor": 3}
    return HyperBandScheduler(**{**base, **kwargs})  # type: ignore[arg-type]


def test_bracket_plan_for_max_t_9_rf_3() -> None:
    """s_max_1 = round(log 9 / log 3) + 1 = 3 brackets, s = 0, 1, 2 (Ray's fill order).

    n(s) = ceil(3 / (s + 1) * 3**s): 3, ceil(4.5) = 5, 9.  r0(s) = 9 / 3**s: 9, 3, 1.
    Milestones r0 * 3**i for i < s, then max_t: [9], [3, 9], [1, 3, 9].
    Halving keeps ceil(n / 3): s=1: 5 -> 2 at 3; s=2: 9 -> 3 at 1 -> 1 at 3.
    """
    assert bracket_plan(9, 3) == [(3, [9]), (5, [3, 9]), (9, [1, 3, 9])]
    assert make().milestones == [[9], [3, 9], [1, 3, 9]]


def test_bracket_plan_for_max_t_81() -> None:
    assert bracket_plan(81, 3) == [
        (5, [81]),
        (8, [27, 81]),
        (15, [9, 27, 81]),
        (34, [3, 9, 27, 81]),
        (81, [1, 3, 9, 27, 81]),
    ]


def test_halving_of_the_second_bracket() -> None:
    hb = make()
    views = {f"t{i}": view(f"t{i}", TrialStatus.PENDING) for i in range(8)}
    for v in views.values():
        hb.on_trial_add(v)
    # t0..t2 fill bracket s=0 (3 trials, straight to 9); t3..t7 fill s=1 (5 trials, milestone 3).
    scores = {"t3": 0.3, "t4": 0.7, "t5": 0.1, "t6": 0.5, "t7": 0.9}
    for trial_id, acc in scores.items():
        for it in (1, 2):
            assert hb.on_trial_result(view(trial_id), {"training_iteration": it, "acc": acc}) is (
                CONTINUE
            )
    decisions = [
        hb.on_trial_result(view(t), {"training_iteration": 3, "acc": acc})
        for t, acc in scores.items()
    ]
    # The last to arrive triggers the halving: keep ceil(5 / 3) = 2, t7 (0.9) and t4 (0.7).
    assert decisions == [PAUSE, PAUSE, PAUSE, PAUSE, CONTINUE]
    paused = [view(t, TrialStatus.PAUSED) for t in ("t3", "t4", "t5", "t6")]
    pending = [view(f"t{i}", TrialStatus.PENDING) for i in range(3)]
    waiting = WaitingList([*pending, *paused])
    # The losers are stopped first, one suggestion each (best first), then the winner resumes.
    assert [hb.suggest(waiting) for _ in range(3)] == [
        TrialSuggestion.stop("t6"), TrialSuggestion.stop("t3"), TrialSuggestion.stop("t5")
    ]
    assert hb.suggest(waiting) == TrialSuggestion.run("t4")  # winners resume first
    assert hb.suggest(WaitingList([*pending, paused[0]])) == TrialSuggestion.run("t0")
    assert hb.on_trial_result(view("t4"), {"training_iteration": 8, "acc": 1}) is CONTINUE
    assert hb.on_trial_result(view("t4"), {"training_iteration": 9, "acc": 1}) is STOP
    assert hb.on_trial_result(view("t5"), {"training_iteration": 4, "acc": 1}) is STOP


def test_ending_trial_releases_the_waiting_ones() -> None:
    hb = make()
    for i in range(5):
        hb.on_trial_add(view(f"t{i}", TrialStatus.PENDING))
    hb.on_trial_add(view("b", TrialStatus.PENDING))  # t0..t2 in s=0, t3, t4, b in s=1
    assert hb.on_trial_result(view("t3"), {"training_iteration": 3, "acc": 1.0}) is PAUSE
    assert hb.on_trial_result(view("t4"), {"training_iteration": 3, "acc": 0.0}) is PAUSE
    hb.on_trial_error(view("b", TrialStatus.ERROR))
    # Keep 2 of the planned 5: both live trials go on (none is stopped).
    paused = WaitingList([view("t3", TrialStatus.PAUSED), view("t4", TrialStatus.PAUSED)])
    assert hb.suggest(paused) in (TrialSuggestion.run("t3"), TrialSuggestion.run("t4"))


def test_waiting_trials_are_not_resumed() -> None:
    hb = make()
    for i in range(4):
        hb.on_trial_add(view(f"t{i}", TrialStatus.PENDING))
    hb.on_trial_add(view("t4", TrialStatus.PENDING))
    assert hb.on_trial_result(view("t3"), {"training_iteration": 3, "acc": 1.0}) is PAUSE
    assert hb.suggest(WaitingList([view("t3", TrialStatus.PAUSED)])) is None


def run(tmp_path: Path, xs: list[float], *, workers: int, iterations: int = 9) -> dict[int, int]:
    """HyperBand(max_t=9) through the real loop, on trials of `contract_trainable` with these
    `x` (created in this order; a smaller ``|x - 0.3|`` scores higher). Each trial's last
    iteration, by creation index; every trial must have ended, told to the scheduler once."""
    recorder = RecordingScheduler(make(metric="score"))
    grid = Tuner(
        contract_trainable,
        param_space={"x": grid_search(xs), "iterations": iterations},
        tune_config=TuneConfig(metric="score", mode="max", scheduler=recorder),
        run_config=RunConfig(storage_path=str(tmp_path), name="hb", verbose=0),
        executor=SimulatedExecutor(n_workers=workers),
    ).fit()
    assert recorder.problems == []
    statuses = saved_statuses(str(tmp_path / "hb"))
    assert set(statuses.values()) == {TrialStatus.TERMINATED}
    assert recorder.end_problems(statuses) == []
    return {trial_index(r.trial_id): int(r.metrics["training_iteration"]) for r in grid}


@pytest.mark.parametrize("n_trials", [1, 2, 4, 7, 20])
@pytest.mark.parametrize("workers", [1, 3])
def test_experiments_smaller_than_a_bracket_complete(
    n_trials: int, workers: int, tmp_path: Path
) -> None:
    reached = run(tmp_path, [0.05 * i for i in range(n_trials)], workers=workers, iterations=20)
    assert all(iteration <= 9 for iteration in reached.values())


def test_the_best_trial_of_a_full_bracket_reaches_max_t(tmp_path: Path) -> None:
    # x falls towards 0.3: the later a trial, the better it scores, t16 best of all.
    reached = run(tmp_path, [0.3 + 0.01 * (16 - i) for i in range(17)], workers=4)
    # 3 + 5 + 9: all of the first bracket; 2 of the second's 5 (t6, t7) at milestone 3; the
    # third (t8..t16) keeps 3 at 1 and 1 at 3.
    assert sorted(i for i, iteration in reached.items() if iteration == 9) == [0, 1, 2, 6, 7, 16]
    assert [reached[i] for i in range(8, 17)] == [1] * 6 + [3, 3, 9]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"reduction_factor": 0.5}, "reduction_factor` must be > 1"),
        ({"max_t": -1}, "`max_t` must be > 0"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make(**kwargs)
