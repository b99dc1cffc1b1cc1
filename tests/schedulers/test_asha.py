"""ASHA: rung arithmetic, hand-computed stop tables and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from schedulers import ASHAScheduler, AsyncHyperBandScheduler, Decision, TrialStatus, TrialView
from schedulers._asha import rung_milestones

CONTINUE, STOP = Decision.CONTINUE, Decision.STOP


def view(trial_id: str) -> TrialView:
    return TrialView(trial_id, {}, TrialStatus.RUNNING)


def make(**kwargs: object) -> ASHAScheduler:
    kwargs = {"metric": "acc", "mode": "max", **kwargs}
    return ASHAScheduler(**kwargs)  # type: ignore[arg-type]


def test_alias() -> None:
    assert ASHAScheduler is AsyncHyperBandScheduler


def test_rungs_for_grace_1_rf_2_max_t_8() -> None:
    assert make(max_t=8, grace_period=1, reduction_factor=2).milestones == [[1, 2, 4]]
    assert make(max_t=8, grace_period=1, reduction_factor=2, brackets=2).milestones == [
        [1, 2, 4],
        [2, 4],
    ]


def test_hand_computed_stop_table() -> None:
    """grace 1, rf 2, max_t 8 -> rungs 1, 2, 4; cut-off = median of scores recorded before.

    rung 1: A 0.1 (first, kept) | B 0.4 >= median[0.1]=0.1 kept | C 0.2 < median[.1,.4]=0.25 STOP
            | D 0.3 >= median[.1,.4,.2]=0.2 kept
    rung 2: A 0.2 (first) | B 0.5 >= 0.2 kept | D 0.3 < median[.2,.5]=0.35 STOP
    rung 4: A 0.35 (first) | B 0.7 >= 0.35 kept; both STOP at max_t 8.
    """
    asha = make(max_t=8, grace_period=1, reduction_factor=2)
    trials = {t: view(t) for t in "ABCD"}
    for trial in trials.values():
        asha.on_trial_add(trial)

    def report(trial_id: str, it: int, acc: float) -> Decision:
        return asha.on_trial_result(trials[trial_id], {"training_iteration": it, "acc": acc})

    assert [report("A", 1, 0.1), report("B", 1, 0.4), report("C", 1, 0.2), report("D", 1, 0.3)] == [
        CONTINUE,
        CONTINUE,
        STOP,
        CONTINUE,
    ]
    assert [report("A", 2, 0.2), report("B", 2, 0.5), report("D", 2, 0.3)] == [
        CONTINUE,
        CONTINUE,
        STOP,
    ]
    assert [report("A", 3, 0.3), report("B", 3, 0.6)] == [CONTINUE, CONTINUE]
    assert [report("A", 4, 0.35), report("B", 4, 0.7)] == [CONTINUE, CONTINUE]
    assert report("A", 7, 0.4) is CONTINUE
    assert [report("A", 8, 0.4), report("B", 8, 0.8)] == [STOP, STOP]


def test_min_mode_flips_the_comparison() -> None:
    asha = ASHAScheduler(metric="loss", mode="min", max_t=8, grace_period=1, reduction_factor=2)
    a, b = view("a"), view("b")
    assert asha.on_trial_result(a, {"training_iteration": 1, "loss": 1.0}) is CONTINUE
    assert asha.on_trial_result(b, {"training_iteration": 1, "loss": 2.0}) is STOP


def test_a_trial_jumping_rungs_is_recorded_at_the_highest_only() -> None:
    asha = make(max_t=100, grace_period=1, reduction_factor=2)
    asha.on_trial_result(view("a"), {"training_iteration": 5, "acc": 1.0})
    assert asha.state_dict()["recorded"][0] == [{}, {}, {"a": 1.0}, {}, {}, {}, {}]


def test_brackets_are_assigned_by_softmax_share_deterministically() -> None:
    asha = make(max_t=81, grace_period=1, reduction_factor=3, brackets=3)
    for i in range(100):
        asha.on_trial_add(view(str(i)))
    counts = asha.state_dict()["bracket_counts"]
    sizes = np.array([4, 3, 2])
    expected = 100 * np.exp(sizes - 4) / np.exp(sizes - 4).sum()
    assert np.allclose(counts, expected, atol=1)


def test_complete_records_final_result() -> None:
    asha = make(max_t=8, grace_period=1, reduction_factor=2)
    asha.on_trial_add(view("a"))
    asha.on_trial_complete(view("a"), {"training_iteration": 2, "acc": 0.9})
    assert asha.state_dict()["recorded"][0][1] == {"a": 0.9}
    assert asha.on_trial_result(view("b"), {"training_iteration": 2, "acc": 0.1}) is STOP


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"reduction_factor": 1}, "reduction_factor` must be > 1"),
        ({"max_t": 0}, "`max_t` must be > 0"),
        ({"grace_period": 10, "max_t": 5}, "grace_period=10, max_t=5"),
        ({"grace_period": 0}, "`grace_period` must be > 0"),
        ({"brackets": 0}, "`brackets` must be an int >= 1"),
        ({"mode": "maximize"}, "`mode` must be 'min' or 'max'"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make(**kwargs)


def test_missing_keys_are_named() -> None:
    asha = make()
    with pytest.raises(ValueError, match=r"'acc'.*\['training_iteration'\]"):
        asha.on_trial_result(view("a"), {"training_iteration": 1})
    with pytest.raises(ValueError, match="'training_iteration'"):
        asha.on_trial_result(view("a"), {"acc": 1.0})


def test_mode_is_required() -> None:
    asha = ASHAScheduler(metric="acc")
    with pytest.raises(ValueError, match="needs a mode"):
        asha.on_trial_result(view("a"), {"training_iteration": 1, "acc": 1.0})


@given(
    grace=st.integers(1, 20),
    rf=st.integers(2, 6),
    max_t=st.integers(1, 10_000),
    s=st.integers(0, 3),
)
def test_milestones_are_exactly_grace_times_powers_below_max_t(
    grace: int, rf: int, max_t: int, s: int
) -> None:
    milestones = rung_milestones(grace, max_t, rf, s)
    expected = [grace * rf**k for k in range(s, 64) if grace * rf**k < max_t]
    assert milestones == expected


def _first_rung_decisions(scores: list[float], rf: int) -> list[Decision]:
    asha = make(max_t=1000, grace_period=1, reduction_factor=rf)
    return [
        asha.on_trial_result(view(str(i)), {"training_iteration": 1, "acc": score})
        for i, score in enumerate(scores)
    ]


@given(n=st.integers(1, 60), rf=st.integers(2, 5))
def test_worsening_arrivals_keep_only_the_first(n: int, rf: int) -> None:
    decisions = _first_rung_decisions([float(n - i) for i in range(n)], rf)
    kept = decisions.count(CONTINUE)
    assert kept == 1 <= math.ceil(n / rf)


@given(n=st.integers(1, 60), rf=st.integers(2, 5))
def test_improving_arrivals_are_all_kept(n: int, rf: int) -> None:
    # ASHA's price for asynchrony: a trial is judged only against those that came before it.
    assert _first_rung_decisions([float(i) for i in range(n)], rf) == [CONTINUE] * n


@given(scores=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=40), rf=st.integers(2, 5))
def test_each_decision_matches_the_quantile_of_earlier_scores(scores: list[float], rf: int) -> None:
    decisions = _first_rung_decisions(scores, rf)
    for i, (score, decision) in enumerate(zip(scores, decisions, strict=True)):
        cutoff = np.percentile(scores[:i], (1 - 1 / rf) * 100) if i else -math.inf
        assert decision is (STOP if score < cutoff else CONTINUE)
