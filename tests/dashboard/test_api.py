"""Every JSON endpoint of the dashboard, over real HTTP, on experiments real `fit()` runs wrote.

Answers are checked against what the analysis API (`ResultGrid.from_path`, `Result`) and the
files themselves say, not against numbers written down here.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest

from tuner import ResultGrid
from tuner.analysis._result import flatten
from tuner.dashboard import Dashboard, _server, serve

if TYPE_CHECKING:
    from tests.dashboard.conftest import Http

STATUS_KEYS = ["PENDING", "RUNNING", "PAUSED", "TERMINATED", "ERROR"]


def grid_of(storage: str, name: str) -> ResultGrid:
    return ResultGrid.from_path(os.path.join(storage, name))


def rows_of(http: Http, board: Dashboard, exp: str, query: str = "") -> list[dict[str, Any]]:
    return list(http.get(board, f"/api/experiments/{exp}/trials?limit=1000{query}")["rows"])


# ---------------------------------------------------------------------------- experiments list
def test_the_list_summarises_every_experiment(board: Dashboard, http: Http, storage: str) -> None:
    answer = http.get(board, "/api/experiments")
    assert answer["root"] == storage
    by_id = {e["id"]: e for e in answer["experiments"]}
    assert sorted(by_id) == ["classes", "funcs", "multi", "pbt", "restored"]
    for exp_id, summary in by_id.items():
        grid = grid_of(storage, exp_id)
        assert summary["name"] == exp_id
        assert summary["status"] == "finished"
        assert list(summary["counts"]) == STATUS_KEYS
        assert summary["trials"] == len(grid) == sum(summary["counts"].values())
        assert summary["counts"]["ERROR"] == grid.num_errors
        assert isinstance(summary["started"], float) and summary["duration_s"] > 0
    funcs = by_id["funcs"]
    assert (funcs["metric"], funcs["mode"]) == ("loss", "min")
    assert funcs["counts"]["ERROR"] > 0  # the x > 0.8 trials
    assert funcs["best"] == grid_of(storage, "funcs").get_best_result().metrics["loss"]
    assert by_id["multi"]["metric"] == ["loss", "acc"] and by_id["multi"]["best"] is None


def test_a_crashed_run_reads_running_but_not_live(crashed: str, http: Http,
                                                 storage: str) -> None:
    with serve(crashed, port=0) as board:
        (summary,) = http.get(board, "/api/experiments")["experiments"]
        # The state a SIGKILLed run leaves says "running"; its lock's process is gone.
        assert summary["status"] == "running" and summary["live"] is False
    with serve(storage, port=0) as board:
        listed = http.get(board, "/api/experiments")["experiments"]
        assert {e["live"] for e in listed} == {None}  # finished: nothing to tell


def test_an_unreadable_experiment_is_listed_with_its_problem(storage: str, tmp_path: Path,
                                                            http: Http) -> None:
    shutil.copytree(Path(storage, "classes"), tmp_path / "classes")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "experiment_state-a.json").write_text('{"format": "tuner-experiment-st')
    with serve(str(tmp_path), port=0) as board:
        by_id = {e["id"]: e for e in http.get(board, "/api/experiments")["experiments"]}
        assert by_id["classes"]["status"] == "finished" and by_id["classes"]["problem"] is None
        assert by_id["broken"]["status"] == "unreadable"
        assert "unreadable" in by_id["broken"]["problem"]
        assert http.get(board, "/api/experiments/broken/trials")["rows"] == []


def test_one_experiment_names_its_metrics_keys_and_scheduler(board: Dashboard, http: Http) -> None:
    funcs = http.get(board, "/api/experiments/funcs")
    assert funcs["metrics"][0] == "loss"
    assert {"acc", "training_iteration"} <= set(funcs["metrics"])
    assert "nan_metric" not in funcs["metrics"]  # never a number
    assert funcs["config_keys"] == ["x", "model/layers"]
    assert funcs["scheduler"] == "FIFOScheduler"
    assert funcs["multi_objective"] is False and funcs["has_lineage"] is False
    assert funcs["checkpoint_score_attribute"] == "acc"
    pbt = http.get(board, "/api/experiments/pbt")
    assert pbt["scheduler"] == "PopulationBasedTraining" and pbt["has_lineage"] is True
    assert http.get(board, "/api/experiments/multi")["multi_objective"] is True
    assert isinstance(funcs["version"], str)


def test_an_unknown_experiment_is_a_404_json_error(board: Dashboard, http: Http) -> None:
    answer = http.get(board, "/api/experiments/nope", status=404)
    assert "no experiment 'nope'" in answer["error"] and "funcs" in answer["error"]
    assert "error" in http.get(board, "/api/nothing", status=404)


def test_a_root_that_is_one_experiment_is_listed_by_its_name(http: Http, storage: str) -> None:
    with serve(os.path.join(storage, "classes"), port=0) as board:
        (summary,) = http.get(board, "/api/experiments")["experiments"]
        # Not ".": browsers drop "." segments from URL paths before sending them.
        assert summary["id"] == "classes" and summary["name"] == "classes"
        assert len(rows_of(http, board, "classes")) == 2
        # "." still names it, for clients that send the path as it is.
        assert http.get(board, "/api/experiments/.")["id"] == "classes"


# ---------------------------------------------------------------------------- trial table
def test_trials_rows_match_the_saved_results(board: Dashboard, http: Http, storage: str) -> None:
    grid = grid_of(storage, "funcs")
    rows = {r["trial_id"]: r for r in rows_of(http, board, "funcs")}
    assert sorted(rows) == sorted(r.trial_id for r in grid)
    for result in grid:
        row = rows[result.trial_id]
        assert row["status"] == result.status
        assert row["config"] == flatten(result.config)
        history = result.metrics_dataframe
        assert row["iterations"] == len(history) == result.metrics["training_iteration"]
        assert row["last"]["loss"] == result.metrics["loss"]
        assert row["best"] == {"loss": min(history["loss"])}
        if result.error is not None:
            assert row["error"] == str(result.error.traceback).strip().splitlines()[-1]
            assert row["error"].startswith("RuntimeError: diverged")
        else:
            assert row["error"] is None


@pytest.mark.parametrize("column", ["last/loss", "config/x", "best/loss", "iterations",
                                    "trial_id", "status"])
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_trials_sort_by_any_column(board: Dashboard, http: Http, column: str, order: str) -> None:
    rows = rows_of(http, board, "funcs", f"&sort={quote(column)}&order={order}")
    kind, _, key = column.partition("/")
    values = [r[kind][key] if key else r[kind] for r in rows]
    assert values == sorted(values, reverse=order == "desc")


def test_trials_filter_and_page(board: Dashboard, http: Http, storage: str) -> None:
    grid = grid_of(storage, "funcs")
    errored = http.get(board, "/api/experiments/funcs/trials?status=ERROR")
    assert errored["total"] == grid.num_errors
    assert {r["status"] for r in errored["rows"]} == {"ERROR"}
    everything = [r["trial_id"] for r in rows_of(http, board, "funcs", "&sort=config/x")]
    pages = []
    for offset in range(0, len(everything), 5):
        page = http.get(board,
                        f"/api/experiments/funcs/trials?sort=config/x&offset={offset}&limit=5")
        assert page["total"] == len(everything) and page["offset"] == offset
        pages += [r["trial_id"] for r in page["rows"]]
    assert pages == everything
    some = grid[4]
    text = repr(some.config["x"])[2:8]  # part of a config value
    found = http.get(board, f"/api/experiments/funcs/trials?q={quote(text)}")
    assert some.trial_id in [r["trial_id"] for r in found["rows"]]
    assert all(text in repr(r["config"]["x"]) for r in found["rows"])
    by_id = http.get(board, f"/api/experiments/funcs/trials?q={some.trial_id.upper()}")
    assert [r["trial_id"] for r in by_id["rows"]] == [some.trial_id]


@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "offset=-1", "limit=x",
                                   "sort=loss", "sort=config/", "order=up", "status=DONE"])
def test_bad_trial_parameters_are_400_with_the_rule(board: Dashboard, http: Http,
                                                    query: str) -> None:
    answer = http.get(board, f"/api/experiments/funcs/trials?{query}", status=400)
    name = query.split("=")[0]
    assert name in answer["error"] and "got" in answer["error"]


# ---------------------------------------------------------------------------- curves, points
def test_curves_are_each_trials_history(board: Dashboard, http: Http, storage: str) -> None:
    grid = grid_of(storage, "funcs")
    ids = [r.trial_id for r in grid][:3]
    answer = http.get(board, f"/api/experiments/funcs/curves?trials={','.join(ids)}&metric=acc")
    assert answer["metric"] == "acc" and answer["x"] == "training_iteration"
    assert list(answer["curves"]) == ids
    for result in list(grid)[:3]:
        frame = result.metrics_dataframe
        assert answer["curves"][result.trial_id] == {
            "x": frame["training_iteration"].tolist(), "y": frame["acc"].tolist()}
    by_time = http.get(board, f"/api/experiments/funcs/curves?trials={ids[0]}&x=time_total_s")
    assert by_time["curves"][ids[0]]["x"] == grid[0].metrics_dataframe["time_total_s"].tolist()


def test_curves_default_to_the_best_trials_and_refuse_too_many(board: Dashboard, http: Http,
                                                               storage: str) -> None:
    answer = http.get(board, "/api/experiments/funcs/curves")
    grid = grid_of(storage, "funcs")
    best_first = sorted(grid, key=lambda r: r.metrics["loss"])
    assert list(answer["curves"]) == [r.trial_id for r in best_first]
    many = ",".join(f"t{i}" for i in range(51))
    assert "at most 50" in http.get(board, f"/api/experiments/funcs/curves?trials={many}",
                               status=400)["error"]
    assert "no trial 'zzz'" in http.get(board, "/api/experiments/funcs/curves?trials=zzz",
                                   status=404)["error"]
    unknown = http.get(board, "/api/experiments/funcs/curves?metric=nope", status=400)
    assert "'nope'" in unknown["error"]


def test_points_give_every_trials_config_and_value(board: Dashboard, http: Http,
                                                   storage: str) -> None:
    grid = grid_of(storage, "funcs")
    last = http.get(board, "/api/experiments/funcs/points?metric=loss&which=last")
    best = http.get(board, "/api/experiments/funcs/points?metric=loss&which=best")
    assert last["config_keys"] == ["x", "model/layers"]
    for answer in (last, best):
        assert [p["trial_id"] for p in answer["points"]] == [r.trial_id for r in grid]
    for result, p_last, p_best in zip(grid, last["points"], best["points"], strict=True):
        assert p_last["config"] == flatten(result.config) and p_last["status"] == result.status
        assert p_last["value"] == result.metrics["loss"]
        assert p_best["value"] == min(result.metric_history("loss"))
    http.get(board, "/api/experiments/funcs/points?which=worst", status=400)


# ---------------------------------------------------------------------------- importance
def test_importance_ranks_the_parameter_the_metric_depends_on(board: Dashboard, http: Http) -> None:
    answer = http.get(board, "/api/experiments/funcs/importance?metric=acc")
    assert "permutation importance" in answer["method"] and "random forest" in answer["method"]
    names = [row["param"] for row in answer["importances"]]
    assert names[0] == "x"  # acc = 1 - x/step: layers plays no part
    values = [row["importance"] for row in answer["importances"]]
    assert values == sorted(values, reverse=True)
    assert sum(values) == pytest.approx(1.0)


def test_importance_with_too_few_trials_says_so(board: Dashboard, http: Http) -> None:
    answer = http.get(board, "/api/experiments/classes/importance")
    assert answer["importances"] == [] and "at least" in answer["note"]


# ---------------------------------------------------------------------------- errors, lineage
def test_errors_carry_message_and_traceback(board: Dashboard, http: Http, storage: str) -> None:
    grid = grid_of(storage, "funcs")
    answer = http.get(board, "/api/experiments/funcs/errors")
    failed = {r.trial_id: r for r in grid if r.error is not None}
    assert sorted(e["trial_id"] for e in answer["errors"]) == sorted(failed)
    for error in answer["errors"]:
        traceback = failed[error["trial_id"]].error.traceback  # type: ignore[union-attr]
        assert error["traceback"] == traceback
        assert "Traceback (most recent call last)" in error["traceback"]
        assert error["message"].startswith("RuntimeError: diverged at x=")
    assert http.get(board, "/api/experiments/classes/errors")["errors"] == []


def test_lineage_is_the_pbt_policy_log(board: Dashboard, http: Http, storage: str) -> None:
    lines = Path(storage, "pbt", "pbt_policy.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert records, "the PBT run exploited nothing"
    events = http.get(board, "/api/experiments/pbt/lineage")["events"]
    assert [(e["trial_id"], e["donor_trial_id"], e["iteration"], e["donor_iteration"])
            for e in events] == [
        (r["target_trial_id"], r["donor_trial_id"], r["target_iteration"], r["donor_iteration"])
        for r in records]
    assert [(e["old_config"], e["new_config"], e["target_config"]) for e in events] == [
        (flatten(r["old_config"]), flatten(r["new_config"]), flatten(r["target_config"]))
        for r in records]
    assert http.get(board, "/api/experiments/funcs/lineage")["events"] == []


# ---------------------------------------------------------------------------- pareto
def test_pareto_front_is_the_analysis_front(board: Dashboard, http: Http, storage: str) -> None:
    grid = grid_of(storage, "multi")
    answer = http.get(board, "/api/experiments/multi/pareto")
    assert answer["metrics"] == ["loss", "acc"] and answer["modes"] == ["min", "max"]
    assert [p["trial_id"] for p in answer["points"]] == [r.trial_id for r in grid]
    front = {r.trial_id for r in grid.get_pareto_front()}
    assert {p["trial_id"] for p in answer["points"] if p["front"]} == front
    assert 0 < len(front) < len(grid)
    for point, result in zip(answer["points"], grid, strict=True):
        assert point["values"] == [result.metrics["loss"], result.metrics["acc"]]


def test_pareto_of_a_single_objective_experiment_is_404(board: Dashboard, http: Http) -> None:
    answer = http.get(board, "/api/experiments/funcs/pareto", status=404)
    assert "not multi-objective" in answer["error"]


# ---------------------------------------------------------------------------- one trial
def test_one_trial_has_config_history_and_scored_checkpoints(board: Dashboard, http: Http,
                                                             storage: str) -> None:
    grid = grid_of(storage, "funcs")
    result = next(r for r in grid if r.error is None)
    answer = http.get(board, f"/api/experiments/funcs/trials/{result.trial_id}")
    assert answer["config"] == result.config  # nested, as given
    assert answer["history"] == [
        {k: (None if k == "nan_metric" else v) for k, v in row.items()}
        for row in result.metrics_dataframe.to_dict("records")]
    assert answer["logdir"] == result.path and answer["error"] is None
    saved = {c.path: m for c, m in result.best_checkpoints}
    assert len(answer["checkpoints"]) == len(saved) == 2  # num_to_keep=2
    for checkpoint in answer["checkpoints"]:
        assert checkpoint["path"] in saved
        assert checkpoint["score"] == saved[checkpoint["path"]]["acc"]
        on_disk = sum(f.stat().st_size for f in Path(checkpoint["path"]).rglob("*") if f.is_file())
        assert checkpoint["size_bytes"] == on_disk
        assert checkpoint["metrics"]["acc"] == checkpoint["score"]
        assert Path(checkpoint["path"], "weights.bin").is_file()


def test_a_failed_trial_has_its_error(board: Dashboard, http: Http, storage: str) -> None:
    failed = next(r for r in grid_of(storage, "funcs") if r.error is not None)
    answer = http.get(board, f"/api/experiments/funcs/trials/{failed.trial_id}")
    assert answer["status"] == "ERROR"
    assert answer["error"]["traceback"] == failed.error.traceback  # type: ignore[union-attr]
    assert answer["error"]["message"].startswith("RuntimeError: diverged")


def test_class_trainable_and_restored_experiment_trials(board: Dashboard, http: Http,
                                                        storage: str) -> None:
    for name in ("classes", "restored"):
        for result in grid_of(storage, name):
            answer = http.get(board, f"/api/experiments/{name}/trials/{result.trial_id}")
            iterations = [row["training_iteration"] for row in answer["history"]]
            # A restored trial's rewound result.json holds each result once, in order.
            assert iterations == list(range(1, result.metrics["training_iteration"] + 1))
    restored = http.get(board, "/api/experiments/restored/curves?metric=loss")
    assert all(len(curve["x"]) == 8 for curve in restored["curves"].values())


def test_an_unknown_trial_is_404(board: Dashboard, http: Http) -> None:
    answer = http.get(board, "/api/experiments/funcs/trials/zzz_00000", status=404)
    assert "no trial" in answer["error"]


def test_nan_is_sent_as_null_so_browsers_parse_it(board: Dashboard, http: Http,
                                                  storage: str) -> None:
    trial_id = grid_of(storage, "funcs")[0].trial_id
    body = http.raw(board.url, f"/api/experiments/funcs/trials/{trial_id}").body
    assert b"NaN" not in body and b'"nan_metric":null' in body


# ---------------------------------------------------------------------------- page, static files
def test_the_page_and_plotly_are_served_from_the_package(board: Dashboard, http: Http) -> None:
    import plotly

    page = http.raw(board.url, "/")
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
    assert page.body == Path(_server.STATIC_DIR, "index.html").read_bytes()
    script = http.raw(board.url, "/static/plotly.min.js")
    shipped = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    assert script.status == 200 and script.body == shipped.read_bytes()
    assert script.headers["Content-Type"].startswith("text/javascript")
    # Plotly.js may be kept by the browser (it changes with the package); the page may not.
    assert script.headers["Cache-Control"] == "private, max-age=86400"
    assert page.headers["Cache-Control"] == "no-store"
    assert http.raw(board.url, "/static/no-such.js").status == 404


def test_a_browser_that_drops_its_connection_prints_no_traceback(
    board: Dashboard, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    server = board._server  # the ThreadingHTTPServer
    for closed in (ConnectionResetError(104, "Connection reset by peer"), BrokenPipeError()):
        try:
            raise closed
        except OSError:
            server.handle_error(None, ("127.0.0.1", 50000))
    assert capsys.readouterr().err == ""
    assert not [r for r in caplog.records if r.levelno >= 30]
    try:
        raise RuntimeError("a bug in a handler")
    except RuntimeError:
        server.handle_error(None, ("127.0.0.1", 50001))
    assert "a bug in a handler" in caplog.text  # other errors are still told


def test_without_plotly_the_page_says_what_to_install(board: Dashboard, http: Http,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_server, "plotly_js", lambda: None)  # as if plotly were not installed
    page = http.raw(board.url, "/")
    assert page.status == 503 and b"pip install 'tuner[dashboard]'" in page.body
    script = http.raw(board.url, "/static/plotly.min.js")
    assert script.status == 503 and b"pip install 'tuner[dashboard]'" in script.body
    assert http.get(board, "/api/experiments")["experiments"]  # the API does not need plotly


def test_importance_codes_categorical_parameters() -> None:
    from tuner.dashboard._importance import parameter_importance

    names = ["sgd", "adam", "rmsprop"]
    scores = {"sgd": 1.0, "adam": 0.2, "rmsprop": 0.5}
    configs = [{"opt": names[i % 3], "seed": i, "lr": 0.1} for i in range(30)]
    values: list[float | None] = [scores[names[i % 3]] for i in range(30)]
    found = parameter_importance(configs, values, ["opt", "seed", "lr"])
    assert [row["param"] for row in found["importances"]] == ["opt", "seed"]  # lr is constant
    assert found["importances"][0]["importance"] > 0.8
    flat = parameter_importance(configs, [1.0 for _ in range(30)], ["opt", "seed"])
    assert flat["importances"] == [] and "same value" in flat["note"]
