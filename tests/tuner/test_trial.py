"""The trial state machine: one transition table, illegal moves raise."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schedulers import TrialStatus
from tuner._trial import TRANSITIONS, Trial, TrialTable
from tuner.exceptions import IllegalTransitionError


def make_trial(trial_id: str = "t0") -> Trial:
    return Trial(trial_id=trial_id, name=f"fn_{trial_id}", config={"x": 1}, path="/tmp/x")


def test_legal_life_cycle_records_history() -> None:
    trial = make_trial()
    for i, status in enumerate(
        [TrialStatus.RUNNING, TrialStatus.PAUSED, TrialStatus.RUNNING, TrialStatus.TERMINATED]
    ):
        trial.transition(status, float(i))
    assert [c.status for c in trial.history] == [
        TrialStatus.RUNNING,
        TrialStatus.PAUSED,
        TrialStatus.RUNNING,
        TrialStatus.TERMINATED,
    ]
    assert [c.time for c in trial.history] == [0.0, 1.0, 2.0, 3.0]


def test_terminated_is_final() -> None:
    trial = make_trial()
    trial.transition(TrialStatus.RUNNING, 0.0)
    trial.transition(TrialStatus.TERMINATED, 1.0)
    with pytest.raises(IllegalTransitionError, match="TERMINATED to RUNNING"):
        trial.transition(TrialStatus.RUNNING, 2.0)


def test_pending_cannot_pause() -> None:
    with pytest.raises(IllegalTransitionError, match="PENDING to PAUSED"):
        make_trial().transition(TrialStatus.PAUSED, 0.0)


@given(st.lists(st.sampled_from(list(TrialStatus)), max_size=30))
def test_any_sequence_obeys_the_table_and_keeps_the_index(moves: list[TrialStatus]) -> None:
    table = TrialTable()
    trial = make_trial()
    table.add(trial)
    for move in moves:
        before = trial.status
        if move in TRANSITIONS[before]:
            trial.transition(move, 0.0)
            assert trial.status is move
        else:
            with pytest.raises(IllegalTransitionError):
                trial.transition(move, 0.0)
            assert trial.status is before
        assert table.count(trial.status) == 1
        assert sum(table.count(s) for s in TrialStatus) == 1
        assert table.with_status(trial.status) == [trial]


def test_table_rejects_duplicate_ids() -> None:
    table = TrialTable()
    table.add(make_trial("a"))
    with pytest.raises(ValueError, match="duplicate"):
        table.add(make_trial("a"))


def test_candidates_are_read_once_in_order_and_walks_may_nest() -> None:
    from tuner._candidates import Candidates
    from tuner._trial import PAUSED, RUNNING

    table = TrialTable()
    for i in range(5):
        table.add(Trial(trial_id=f"t{i}", name=f"t{i}", config={}, path=f"/x/t{i}"))
    table["t1"].transition(RUNNING, 0.0)
    table["t1"].transition(PAUSED, 1.0)
    checked: list[str] = []

    def can_start(trial: Trial) -> bool:
        checked.append(trial.trial_id)
        return trial.trial_id != "t3"

    candidates = Candidates(table, can_start)
    assert bool(candidates)
    pairs = [(a.trial_id, b.trial_id) for a in candidates for b in candidates if a is not b]
    assert [a.trial_id for a in candidates] == ["t0", "t2", "t4", "t1"]  # PENDING, then PAUSED
    assert len(pairs) == 12 and len(candidates) == 4 and candidates[3].trial_id == "t1"
    assert checked == ["t0", "t2", "t3", "t4", "t1"]  # each trial checked once
