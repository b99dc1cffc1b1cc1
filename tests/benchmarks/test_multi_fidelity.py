"""The multi-fidelity methods of the suite on the real tables: BOHB and DEHB through the Tuner in
virtual time, and the reference `dehb` package driven in the same virtual time."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tuner.benchmarks import load, regret
from tuner.benchmarks._runner import evaluation_seeds
from tuner.benchmarks._schedulers import SCHEDULERS, compare_schedulers, full_training_cost, method

dehb = pytest.importorskip("dehb")  # `pip install --no-deps dehb`: the README's test command


def test_the_reference_dehb_runs_in_virtual_time_on_a_table() -> None:
    from tuner.benchmarks._dehb_reference import configspace_of, run_reference_dehb

    bench = load("naval_propulsion")
    seconds = 8 * full_training_cost(bench) / 4
    rows = run_reference_dehb(bench, seed=0, n_workers=4, time_budget_s=seconds)
    assert len(rows) > 20
    assert rows["time"].is_monotonic_increasing and rows["time"].iloc[-1] <= seconds
    # Every job ran to one of DEHB's fidelities, 100 epochs, a third of it, ... down to 100/81,
    # each rounded up to a whole epoch (as our schedulers' trials stop): 2, 4, 12, 34, 100.
    # (The jobs still running when the time is up, one per worker at most, end short.)
    last = rows.groupby("trial")["epoch"].max()
    assert sum(epochs not in {2, 4, 12, 34, 100} for epochs in last) <= 4
    assert (last == 2).sum() > 10 and last.nunique() >= 3
    # Each epoch is a row, as a trial's results are: epoch k's cost is a k-th of the job's,
    # and its metric the curve's value at k, with the noise seed of the job's start position.
    first = rows[rows["trial"] == 0].sort_values("epoch")
    config = {name: first.iloc[0][f"config/{name}"] for name in bench.space}
    curve = bench.learning_curve(config, next(evaluation_seeds(0)))
    assert first["epoch"].tolist() == list(range(1, len(first) + 1))
    assert first["val_loss"].tolist() == pytest.approx(
        [step["val_loss"] for step in curve[:len(first)]])
    assert first["time_this_iter_s"].tolist() == pytest.approx(
        [step["time_this_iter_s"] for step in curve[:len(first)]])
    assert rows["evaluation"].tolist() == list(range(len(rows)))
    # Same seed, same run: the reference is seeded.
    again = run_reference_dehb(bench, seed=0, n_workers=4, time_budget_s=seconds)
    pd.testing.assert_frame_equal(rows, again)
    curve_frame = regret(bench, rows)
    assert len(curve_frame) == len(rows)
    assert curve_frame["regret"].iloc[-1] < curve_frame["regret"].iloc[0]
    # The space as ConfigSpace: numeric choices become ordinals in ascending order.
    space = configspace_of(bench)
    assert list(space["n_units_1"].sequence) == sorted(bench.space["n_units_1"].categories)


@pytest.mark.slow
def test_bohb_beats_random_hyperband_and_dehb_beats_fifo_on_a_table(tmp_path: Path) -> None:
    """Three seeds, 40 full trainings of virtual time on 4 workers on naval_propulsion. BOHB
    ends with a lower median regret than HyperBand and ASHA with random sampling (about 4x
    when written). DEHB ends far below FIFO (16x), but on this table it trails HyperBand, ASHA
    and the reference (5.0e-05 against 2.2e-05 and 2.1e-05 when written): the gap
    docs/benchmarks.md reports for naval, asserted here only as it stands."""
    bench = load("naval_propulsion")
    curve, _ = compare_schedulers(bench, ["hyperband", "asha", "bohb", "dehb", "dehb-ref"],
                                  seeds=3, workers=4, budget=40)
    final = curve.groupby(["method", "seed"])["regret"].last().groupby("method").median()
    assert set(final.index) == {"fifo", "hyperband", "asha", "bohb", "dehb", "dehb-ref"}
    assert final["bohb"] < min(final["hyperband"], final["asha"]) / 2, final
    assert final["dehb"] < final["fifo"] / 10, final
    assert final["dehb-ref"] < final["fifo"] / 10, final


def test_every_scheduler_method_builds_on_a_table() -> None:
    bench = load("parkinsons_telemonitoring")
    expected = {"fifo": "NoneType", "asha": "AsyncHyperBandScheduler", "hyperband": "HyperBandScheduler",
                "median": "MedianStoppingRule", "pbt": "PopulationBasedTraining",
                "bohb": "HyperBandForBOHB", "bohb-asha": "AsyncHyperBandScheduler", "dehb": "DEHB"}
    assert set(expected) | {"dehb-ref"} == set(SCHEDULERS)  # dehb-ref is not a Tuner method
    for name, scheduler in expected.items():
        how = method(name, bench)
        searcher = "TuneBOHB" if name.startswith("bohb") else "BasicVariantGenerator"
        assert type(how.searcher(0)).__name__ == searcher, name
        assert type(how.scheduler(0)).__name__ == scheduler, name
    with pytest.raises(ValueError, match="unknown scheduler 'nope'"):
        method("nope", bench)
