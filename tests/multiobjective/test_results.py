"""`ResultGrid` of multi-objective and constrained experiments, on real `fit()` runs: the Pareto
front, best results, dataframe columns and hypervolume, compared with hand-computed values."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tuner import (
    ConfigError,
    InProcessExecutor,
    ResultGrid,
    RunConfig,
    SimulatedExecutor,
    TuneConfig,
    Tuner,
    grid_search,
    report,
)

# Each trial's last result, (val_loss, latency_ms, memory_mb, accuracy), with
# constraints memory_mb <= 512 and accuracy >= 0.9:
POINTS = [
    (0.30, 10.0, 256.0, 0.95),  # 0 feasible, on the front
    (0.20, 20.0, 300.0, 0.95),  # 1 feasible, on the front
    (0.10, 40.0, 400.0, 0.92),  # 2 feasible, on the front
    (0.25, 25.0, 200.0, 0.95),  # 3 feasible, dominated by 1
    (0.05, 5.0, 1024.0, 0.99),  # 4 dominates everything, but memory is over (violation 512)
    (0.15, 30.0, 500.0, 0.85),  # 5 would be on the front, but accuracy is short (violation 0.05)
    (0.10, 40.0, 100.0, 0.93),  # 6 equal to 2 on both objectives: on the front with it
    (0.40, 8.0, 512.0, 0.90),   # 7 feasible (both bounds met with equality), on the front
]
FAILS = len(POINTS)  # a trial that fails before it reports anything
# The front by hand, best first by val_loss (2 and 6 tie: creation order).
FRONT = [2, 6, 1, 0, 7]
CONSTRAINTS = ["memory_mb <= 512", "accuracy >= 0.9"]


def index(trial_id: str) -> int:
    return int(trial_id.rsplit("_", 1)[1])


def indices(results: list) -> list[int]:
    return [index(r.trial_id) for r in results]


def train(config: dict) -> None:
    if config["i"] == FAILS:
        raise RuntimeError("out of memory before the first step")
    loss, latency, memory, accuracy = POINTS[config["i"]]
    # A worse first step: the front is made of each trial's last result.
    report({"val_loss": loss + 1, "latency_ms": latency + 100, "memory_mb": memory,
            "accuracy": accuracy, "time_this_iter_s": 1.0})
    report({"val_loss": loss, "latency_ms": latency, "memory_mb": memory, "accuracy": accuracy,
            "time_this_iter_s": 1.0})


def fit(storage: Path, name: str, tune_config: TuneConfig, *, simulated: bool = False) -> ResultGrid:
    return Tuner(
        train,
        param_space={"i": grid_search(list(range(len(POINTS) + 1)))},
        tune_config=tune_config,
        run_config=RunConfig(storage_path=str(storage), name=name, verbose=0),
        executor=SimulatedExecutor(n_workers=3, start_time=0.0) if simulated
        else InProcessExecutor(),
    ).fit()


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("multiobjective")


@pytest.fixture(scope="module")
def grid(storage: Path) -> ResultGrid:
    return fit(storage, "mo", TuneConfig(metric=["val_loss", "latency_ms"], mode=["min", "min"],
                                         constraints=CONSTRAINTS))


def test_the_front_is_the_hand_computed_one(grid: ResultGrid) -> None:
    assert len(grid) == len(POINTS) + 1 and grid.num_errors == 1
    front = grid.get_pareto_front()
    assert indices(front) == FRONT
    assert [(r.metrics["val_loss"], r.metrics["latency_ms"]) for r in front] == [
        POINTS[i][:2] for i in FRONT
    ]


def test_from_path_gives_the_same_front(grid: ResultGrid, storage: Path) -> None:
    saved = ResultGrid.from_path(storage / "mo")
    assert [r.trial_id for r in saved.get_pareto_front()] == [
        r.trial_id for r in grid.get_pareto_front()
    ]
    assert saved.hypervolume([0.5, 50]) == grid.hypervolume([0.5, 50])


def test_best_result_needs_one_metric(grid: ResultGrid) -> None:
    with pytest.raises(ConfigError, match="ranks by one metric") as info:
        grid.get_best_result()
    message = str(info.value)
    assert "['val_loss', 'latency_ms']" in message
    assert "metric='val_loss', mode='min'" in message and "get_pareto_front()" in message
    with pytest.raises(ConfigError, match="ranks by one metric"):
        grid.get_best_result(metric=["val_loss", "latency_ms"])  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="the mode of 'accuracy' is not known"):
        grid.get_best_result("accuracy")  # not an objective: its mode is not known


def test_feasible_results_rank_first_whatever_the_metric(grid: ResultGrid) -> None:
    # Trial 4 is best on every metric but breaks a constraint.
    assert index(grid.get_best_result("val_loss").trial_id) == 2  # 2 and 6 tie: first created
    assert index(grid.get_best_result("latency_ms").trial_id) == 7
    assert index(grid.get_best_result("accuracy", "max").trial_id) == 0
    assert index(grid.get_best_result("val_loss", "max").trial_id) == 7
    assert index(grid.get_best_result("val_loss", scope="all").trial_id) == 2
    assert not grid.is_feasible(grid[4]) and not grid.is_feasible(grid[5])
    assert not grid.is_feasible(grid[FAILS])  # reported nothing: infeasible, not an error
    assert all(grid.is_feasible(grid[i]) for i in (0, 1, 2, 3, 6, 7))


def test_without_a_feasible_result_the_least_violating_is_best(grid: ResultGrid) -> None:
    # memory_mb <= 50 is broken by everyone; trial 6 (100 MB) by the least.
    strict = ResultGrid(list(grid), metric=["val_loss", "latency_ms"], mode=["min", "min"],
                        constraints=["memory_mb <= 50"])
    assert strict.get_pareto_front() == []
    assert strict.hypervolume([0.5, 50]) == 0.0
    assert index(strict.get_best_result("val_loss").trial_id) == 6
    # No trial reports gpu_mb: all infeasible alike (no error), so the score decides.
    unknown = ResultGrid(list(grid), metric="val_loss", mode="min", constraints=["gpu_mb <= 1"])
    assert unknown.get_pareto_front() == []
    assert index(unknown.get_best_result().trial_id) == 4


def test_one_objective_the_front_is_the_feasible_best_ties_included(grid: ResultGrid) -> None:
    single = ResultGrid(list(grid), metric="val_loss", mode="min", constraints=CONSTRAINTS)
    assert indices(single.get_pareto_front()) == [2, 6]
    assert index(single.get_best_result().trial_id) == 2
    latency = ResultGrid(list(grid), metric="latency_ms", mode="min")
    assert indices(latency.get_pareto_front()) == [4]  # no constraints: trial 4 is best


def test_dataframe_marks_the_front_and_feasibility(grid: ResultGrid) -> None:
    frame = grid.get_dataframe()
    assert frame["pareto"].tolist() == [i in FRONT for i in range(len(POINTS) + 1)]
    assert frame["feasible"].tolist() == [True, True, True, True, False, False, True, True, False]
    assert frame["pareto"].dtype == bool and frame["feasible"].dtype == bool
    # The best row for a metric is another row, but the marks stay those of the last result.
    best_rows = grid.get_dataframe(filter_metric="latency_ms", filter_mode="max")
    assert best_rows["latency_ms"].tolist()[:2] == [110.0, 120.0]
    assert best_rows["pareto"].tolist() == frame["pareto"].tolist()


def test_hypervolume_against_hand_computed_values(grid: ResultGrid) -> None:
    # The front's staircase (0.1, 40), (0.2, 20), (0.3, 10), (0.4, 8) against (0.5, 50):
    # 0.1 * (50 - 40) + 0.1 * (50 - 20) + 0.1 * (50 - 10) + 0.1 * (50 - 8) = 12.2
    assert grid.hypervolume([0.5, 50]) == pytest.approx(12.2)
    assert grid.hypervolume({"latency_ms": 50, "val_loss": 0.5}) == pytest.approx(12.2)
    # Only (0.4, 8) is not better than (0.35, 50) on val_loss: it adds nothing.
    assert grid.hypervolume([0.35, 50]) == pytest.approx(1.0 + 3.0 + 0.05 * 40)
    # A 'max' objective: the reference is in its own direction (the least accuracy counted).
    mixed = ResultGrid(list(grid), metric=["latency_ms", "accuracy"], mode=["min", "max"])
    assert indices(mixed.get_pareto_front()) == [4]
    assert mixed.hypervolume({"latency_ms": 50, "accuracy": 0.8}) == pytest.approx(45 * 0.19)


@pytest.mark.parametrize(
    ("reference", "match"),
    [
        ([0.5], r"one value per objective \['val_loss', 'latency_ms'\] \(2\), got 1"),
        ([0.5, 50, 1], "one value per objective"),
        ({"val_loss": 0.5, "latncy_ms": 50}, r"unknown: \['latncy_ms'\], missing: \['latency_ms'\]"),
        ([0.5, float("nan")], "finite numbers, got latency_ms=nan"),
        ("0.5, 50", "a sequence of numbers in objective order"),
        ([0.05, 5], r"not beyond the Pareto front.*val_loss=0.4, latency_ms=40"),
    ],
)
def test_hypervolume_errors(grid: ResultGrid, reference: object, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        grid.hypervolume(reference)  # type: ignore[arg-type]


def test_plot_pareto_front_for_two_and_three_objectives(grid: ResultGrid, tmp_path: Path) -> None:
    from matplotlib.image import imread

    grid.plot_pareto_front(tmp_path / "front.png")
    assert imread(tmp_path / "front.png").shape == (500, 700, 4)
    three = ResultGrid(list(grid), metric=["val_loss", "latency_ms", "accuracy"],
                       mode=["min", "min", "max"], constraints=["memory_mb <= 512"])
    figure = three.plot_pareto_front(tmp_path / "parallel.png")
    assert imread(tmp_path / "parallel.png").shape == (500, 800, 4)
    assert [t.get_text() for t in figure.axes[0].get_xticklabels()] == [
        "val_loss (min)", "latency_ms (min)", "accuracy (max)"]
    with pytest.raises(ConfigError, match="two or more objectives"):
        ResultGrid(list(grid), metric="val_loss", mode="min").plot_pareto_front()


def test_single_objective_experiment_with_constraints(storage: Path) -> None:
    grid = fit(storage, "constrained", TuneConfig(metric="val_loss", mode="min",
                                                  constraints=CONSTRAINTS), simulated=True)
    assert index(grid.get_best_result().trial_id) == 2
    assert indices(grid.get_pareto_front()) == [2, 6]
    frame = grid.get_dataframe()
    assert frame["pareto"].tolist() == [i in (2, 6) for i in range(len(POINTS) + 1)]
    assert "feasible" in frame
    saved = ResultGrid.from_path(storage / "constrained")
    assert index(saved.get_best_result().trial_id) == 2


def test_plain_experiments_keep_their_frames(storage: Path) -> None:
    grid = fit(storage, "plain", TuneConfig(metric="val_loss", mode="min"), simulated=True)
    frame = grid.get_dataframe()
    assert "pareto" not in frame and "feasible" not in frame
    assert index(grid.get_best_result().trial_id) == 4
    assert indices(grid.get_pareto_front()) == [4]


def test_a_state_saved_before_constraints_existed_still_reads(storage: Path) -> None:
    fit(storage, "old", TuneConfig(metric="val_loss", mode="min"))
    for slot in ("experiment_state-a.json", "experiment_state-b.json"):
        path = storage / "old" / slot
        if path.exists():
            state = json.loads(path.read_text())
            del state["settings"]["constraints"]
            path.write_text(json.dumps(state))
    grid = ResultGrid.from_path(storage / "old")
    assert index(grid.get_best_result().trial_id) == 4
    assert "pareto" not in grid.get_dataframe()
    assert indices(grid.get_pareto_front()) == [4]


def test_a_grid_needs_matching_objectives_and_parseable_constraints() -> None:
    with pytest.raises(ConfigError, match="one mode per metric"):
        ResultGrid([], metric=["a", "b"], mode=["min"])
    with pytest.raises(ConfigError, match=r"ResultGrid\(constraints=...\).*cannot parse"):
        ResultGrid([], metric="a", mode="min", constraints=["512 >= memory_mb ="])
    with pytest.raises(ConfigError, match="run without a metric"):
        ResultGrid([]).get_pareto_front()
