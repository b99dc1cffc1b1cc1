"""MedianStoppingRule: hand-computed decisions, yielding and soft stops."""

from __future__ import annotations

import pytest

from schedulers import (
    Decision,
    MedianStoppingRule,
    TrialStatus,
    TrialSuggestion,
    TrialView,
    WaitingList,
)

CONTINUE, PAUSE, STOP = Decision.CONTINUE, Decision.PAUSE, Decision.STOP


def view(trial_id: str, status: TrialStatus = TrialStatus.RUNNING) -> TrialView:
    return TrialView(trial_id, {}, status)


def make(**kwargs: object) -> MedianStoppingRule:
    base: dict[str, object] = {
        "metric": "acc",
        "mode": "max",
        "time_attr": "training_iteration",
        "grace_period": 2,
        "min_samples_required": 2,
    }
    return MedianStoppingRule(**{**base, **kwargs})  # type: ignore[arg-type]


def feed(rule: MedianStoppingRule, trial_id: str, series: dict[int, float]) -> list[Decision]:
    return [
        rule.on_trial_result(view(trial_id), {"training_iteration": t, "acc": v})
        for t, v in series.items()
    ]


def test_hand_computed_decisions() -> None:
    """grace 2, 2 samples needed; running means use results with 2 <= t <= now.

    a: 1,2,3,4 at t=1..4; b: 2 at every t.
    c at t=2 reports 0.5: means a=2, b=2 -> median 2 > best 0.5 -> STOP.
    d: t=2 2.5 (median of a=2, b=2, c=0.5 is 2: go on); t=3 1.0 (a=mean(2,3)=2.5, b=2 ->
       2.25 <= best 2.5); t=4 0.0 (a=3, b=2 -> 2.5, a tie with best 2.5: go on).
    e joins at t=3 with 2.2: a=2.5, b=2, d=mean(2.5,1)=1.75 -> median 2 <= 2.2.
    """
    rule = make()
    assert feed(rule, "a", {1: 1, 2: 2, 3: 3, 4: 4}) == [CONTINUE] * 4
    assert feed(rule, "b", {1: 2, 2: 2, 3: 2, 4: 2}) == [CONTINUE] * 4
    assert feed(rule, "c", {1: 0, 2: 0.5}) == [CONTINUE, STOP]
    assert feed(rule, "d", {2: 2.5, 3: 1.0, 4: 0.0}) == [CONTINUE] * 3
    assert feed(rule, "e", {3: 2.2}) == [CONTINUE]


def test_min_mode() -> None:
    rule = make(metric="loss", mode="min", min_samples_required=1)
    assert rule.on_trial_result(view("a"), {"training_iteration": 2, "loss": 1.0}) is CONTINUE
    assert rule.on_trial_result(view("b"), {"training_iteration": 2, "loss": 3.0}) is STOP
    assert rule.on_trial_result(view("c"), {"training_iteration": 2, "loss": 0.5}) is CONTINUE


def test_soft_stop_pauses_and_then_lets_the_trial_run() -> None:
    rule = make(min_samples_required=1, hard_stop=False)
    feed(rule, "a", {2: 5.0})
    assert feed(rule, "b", {2: 1.0}) == [PAUSE]
    assert feed(rule, "b", {3: 0.0}) == [CONTINUE]  # resumed: not judged again


def test_yields_to_waiting_trials_while_samples_are_few() -> None:
    rule = make(min_samples_required=3, min_time_slice=2)
    rule.on_trial_add(view("waiting", TrialStatus.PENDING))
    rule.on_trial_add(view("a", TrialStatus.PENDING))
    assert feed(rule, "a", {1: 1.0, 2: 1.0}) == [CONTINUE, PAUSE]  # past grace, nobody to compare
    assert feed(rule, "a", {3: 1.0, 4: 1.0, 5: 1.0}) == [CONTINUE, CONTINUE, PAUSE]  # slice 2


def test_no_yield_when_nobody_waits() -> None:
    rule = make(min_samples_required=3)
    assert feed(rule, "a", {1: 1.0, 2: 1.0, 3: 1.0}) == [CONTINUE] * 3


def test_choose_prefers_pending_then_yielded_then_soft_stopped() -> None:
    rule = make(min_samples_required=1, hard_stop=False)
    feed(rule, "a", {2: 5.0})
    feed(rule, "s", {2: 1.0})  # soft-stopped
    trials = [
        view("s", TrialStatus.PAUSED),
        view("y", TrialStatus.PAUSED),
        view("p", TrialStatus.PENDING),
        view("done", TrialStatus.TERMINATED),
    ]
    assert rule.suggest(WaitingList(trials)) == TrialSuggestion.run("p")
    assert rule.suggest(WaitingList(trials[:2])) == TrialSuggestion.run("y")
    assert rule.suggest(WaitingList(trials[:1])) == TrialSuggestion.run("s")
    assert rule.suggest(WaitingList(trials[3:])) is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"grace_period": -1}, "`grace_period` must be >= 0"),
        ({"min_samples_required": 0}, "`min_samples_required` must be an int >= 1"),
        ({"min_time_slice": -1}, "`min_time_slice` must be >= 0"),
        ({"mode": "up"}, "`mode` must be 'min' or 'max'"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make(**kwargs)


def test_missing_time_attr_is_named() -> None:
    with pytest.raises(ValueError, match="'training_iteration'"):
        make().on_trial_result(view("a"), {"acc": 1.0})
