"""The report barrier's rules, without processes: rounds, ranks out of step, the deadline."""

from __future__ import annotations

import pytest

from tuner.exceptions import TrialError
from tuner.torch._barrier import ReportBarrier, ordinal
from tuner.torch._messages import RankDone, RankReport


def rep(rank: int, index: int, ckpt: str | None = None) -> RankReport:
    return RankReport(rank, index, {"rank": rank}, ckpt)


def test_a_round_completes_when_every_rank_reported_in_rank_order() -> None:
    barrier = ReportBarrier(3, timeout_s=10.0)
    assert barrier.add_report(rep(2, 1), now=0.0) is None
    assert barrier.add_report(rep(0, 1), now=1.0) is None
    assert barrier.time_left(2.0) == 8.0  # counted from the first rank of the round
    reports = barrier.add_report(rep(1, 1), now=3.0)
    assert reports is not None and [r.rank for r in reports] == [0, 1, 2]
    assert barrier.round == 2 and barrier.time_left(3.0) is None
    for rank in range(3):
        barrier.add_done(RankDone(rank, 1))
    assert barrier.all_done


def test_a_rank_that_returns_while_others_wait_fails_the_round() -> None:
    barrier = ReportBarrier(2, timeout_s=None)
    barrier.add_report(rep(0, 1), now=0.0)
    barrier.add_report(rep(1, 1), now=0.0)
    barrier.add_report(rep(0, 2), now=0.0)
    with pytest.raises(TrialError, match=r"rank 1 returned from the train loop after 1 "
                       r"report\(s\), while rank 0 wait\(s\) for it in the 2nd report\(\): "
                       r"every rank must call report\(\) the same number of times"):
        barrier.add_done(RankDone(1, 1))


def test_a_rank_that_reports_after_another_returned_fails() -> None:
    barrier = ReportBarrier(2, timeout_s=None)
    barrier.add_done(RankDone(1, 0))
    with pytest.raises(TrialError, match=r"rank 0 called report\(\) a 1st time, but rank 1 "
                       r"returned from the train loop after 0 report"):
        barrier.add_report(rep(0, 1), now=0.0)


def test_the_deadline_names_the_ranks_that_did_not_report() -> None:
    barrier = ReportBarrier(4, timeout_s=5.0)
    barrier.check_deadline(100.0)  # no round waiting: no deadline
    barrier.add_report(rep(0, 1), now=10.0)
    barrier.add_report(rep(2, 1), now=11.0)
    barrier.check_deadline(14.9)
    with pytest.raises(TrialError, match=r"ranks 1, 3 did not call report\(\) a 1st time "
                       r"within 5 s of ranks 0, 2.*TorchConfig\(report_timeout_s=...\)"):
        barrier.check_deadline(15.0)


def test_a_report_out_of_sequence_is_a_protocol_error() -> None:
    barrier = ReportBarrier(2, timeout_s=None)
    with pytest.raises(TrialError, match="out of step"):
        barrier.add_report(rep(0, 2), now=0.0)


def test_ordinals() -> None:
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 102, 111)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "102nd", "111th"
    ]
