"""Following experiments as they change: appended results, cut-back and replaced files, S3.

`LineTail` keeps a byte offset per file and reads only what was appended; its `bytes_read`
counter proves it. The HTTP tests append to copies of real experiments' result.json files and
watch /trials, /curves and the event stream follow within a few seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

import fsspec
import pytest

from tuner import ResultGrid
from tuner.dashboard import serve
from tuner.dashboard._tail import LineTail
from tuner.output._rewind import KeepPoint, rewind_trial_outputs

if TYPE_CHECKING:
    from tests.dashboard.conftest import Http
    from tuner.dashboard import Dashboard

ANCHOR = 64  # bytes before the offset a poll reads again to tell the file is the same one


def line(row: dict[str, Any]) -> bytes:
    return (json.dumps(row) + "\n").encode()


# ---------------------------------------------------------------------------- LineTail
def test_a_poll_reads_only_the_appended_bytes(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    first = b"".join(line({"step": i, "pad": "x" * 50}) for i in range(20))
    path.write_bytes(first)
    tail = LineTail(None, str(path))
    assert [r["step"] for r in tail.poll().rows] == list(range(20))
    assert tail.bytes_read == len(first)
    assert tail.poll().changed is False and tail.bytes_read == len(first)  # nothing new
    more = line({"step": 20}) + line({"step": 21})
    with path.open("ab") as file:
        file.write(more)
    found = tail.poll()
    assert [r["step"] for r in found.rows] == [20, 21] and not found.reset
    assert tail.bytes_read == len(first) + ANCHOR + len(more)


def test_a_partial_last_line_waits_for_its_end(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_bytes(line({"step": 1}))
    tail = LineTail(None, str(path))
    assert len(tail.poll().rows) == 1
    whole = line({"step": 2, "loss": 0.5})
    with path.open("ab") as file:
        file.write(whole[:9])
    assert tail.poll().rows == []  # the writer has not finished the line
    with path.open("ab") as file:
        file.write(whole[9:])
    assert tail.poll().rows == [{"step": 2, "loss": 0.5}]


def test_a_torn_line_is_skipped_and_nested_keys_flattened(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_bytes(b'{"step": 1, "m": {"a": 2}}\n{"step": 2, "lo\n{"step": 3, "x": NaN}\n')
    rows = LineTail(None, str(path)).poll().rows
    assert rows == [{"step": 1, "m/a": 2}, {"step": 3, "x": None}]


def test_a_file_cut_back_by_a_restore_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_bytes(b"".join(line({"training_iteration": i}) for i in range(1, 7)))
    tail = LineTail(None, str(path))
    assert len(tail.poll().rows) == 6
    rewind_trial_outputs(str(tmp_path), KeepPoint(results=2, iteration=2))  # the engine's own
    found = tail.poll()
    assert found.reset and [r["training_iteration"] for r in found.rows] == [1, 2]
    assert tail.resets == 1


def test_a_replaced_file_is_read_again_even_when_longer(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_bytes(line({"v": 1}))
    tail = LineTail(None, str(path))
    tail.poll()
    other = tmp_path / "other.json"
    other.write_bytes(line({"v": 10}) + line({"v": 11}) + line({"v": 12}))
    os.replace(other, path)  # a new inode
    found = tail.poll()
    assert found.reset and [r["v"] for r in found.rows] == [10, 11, 12]


def test_on_fsspec_a_changed_prefix_is_a_new_file(memory_storage: str) -> None:
    fs, root = fsspec.core.url_to_fs(memory_storage)
    path = f"{root}/result.json"
    fs.pipe_file(path, line({"v": 1}) + line({"v": 2}))
    tail = LineTail(fs, path)
    assert len(tail.poll().rows) == 2
    fs.pipe_file(path, line({"v": 1}) + line({"v": 2}) + line({"v": 3}))  # rewritten, same start
    found = tail.poll()
    assert not found.reset and found.rows == [{"v": 3}]
    fs.pipe_file(path, line({"v": 7}) * 5)  # another file, longer than the offset
    found = tail.poll()
    assert found.reset and [r["v"] for r in found.rows] == [7] * 5
    fs.rm(path)
    found = tail.poll()
    assert found.reset and found.rows == []


# ---------------------------------------------------------------------------- over HTTP
@pytest.fixture
def copy(storage: str, tmp_path: Path) -> str:
    root = tmp_path / "live"
    shutil.copytree(Path(storage, "funcs"), root / "funcs")
    return str(root)


def first_trial(root: str) -> tuple[str, Path]:
    result = ResultGrid.from_path(os.path.join(root, "funcs"))[0]
    return result.trial_id, Path(result.path)


def iterations(http: Http, board: Dashboard, trial_id: str) -> int:
    rows = http.get(board, "/api/experiments/funcs/trials?limit=1000")["rows"]
    return int(next(r for r in rows if r["trial_id"] == trial_id)["iterations"])


def test_appended_results_show_in_trials_and_curves(copy: str, http: Http) -> None:
    trial_id, trial_dir = first_trial(copy)
    with serve(copy, port=0) as board:
        assert iterations(http, board, trial_id) == 4
        version = http.get(board, "/api/experiments/funcs")["version"]
        tail = board.catalog.experiments["funcs"].trials[trial_id].tail
        assert tail is not None
        before = tail.bytes_read
        added = line({"loss": 0.001, "acc": 0.999, "training_iteration": 5}) + line(
            {"loss": 0.0005, "acc": 0.9995, "training_iteration": 6})
        with (trial_dir / "result.json").open("ab") as file:
            file.write(added)
        http.wait_for(lambda: iterations(http, board, trial_id) == 6)
        assert tail.bytes_read - before == ANCHOR + len(added)  # only the new bytes (and anchor)
        curve = http.get(board, f"/api/experiments/funcs/curves?trials={trial_id}&metric=loss")
        assert curve["curves"][trial_id]["x"] == [1, 2, 3, 4, 5, 6]
        assert curve["curves"][trial_id]["y"][-2:] == [0.001, 0.0005]
        row = next(r for r in http.get(board, "/api/experiments/funcs/trials?limit=1000")["rows"]
                   if r["trial_id"] == trial_id)
        assert row["last"]["loss"] == 0.0005 and row["best"]["loss"] == 0.0005
        assert http.get(board, "/api/experiments/funcs")["version"] != version


def test_a_rewound_result_file_is_read_again(copy: str, http: Http) -> None:
    trial_id, trial_dir = first_trial(copy)
    with serve(copy, port=0) as board:
        assert iterations(http, board, trial_id) == 4
        rewind_trial_outputs(str(trial_dir), KeepPoint(results=2, iteration=2))
        http.wait_for(lambda: iterations(http, board, trial_id) == 2)
        curve = http.get(board, f"/api/experiments/funcs/curves?trials={trial_id}")
        assert curve["curves"][trial_id]["x"] == [1, 2]
        tail = board.catalog.experiments["funcs"].trials[trial_id].tail
        assert tail is not None and tail.resets == 1


def read_events(url: str, found: list[dict[str, Any]], stop: threading.Event) -> None:
    with urllib.request.urlopen(url, timeout=30) as stream:
        for raw in stream:
            text = raw.decode().strip()
            if text.startswith("data: "):
                found.append(json.loads(text[len("data: "):]))
            if stop.is_set():
                return


def test_the_event_stream_names_the_changed_trial(copy: str, http: Http) -> None:
    trial_id, trial_dir = first_trial(copy)
    with serve(copy, port=0) as board:
        http.get(board, "/api/experiments/funcs")
        found: list[dict[str, Any]] = []
        stop = threading.Event()
        listener = threading.Thread(
            target=read_events, args=(board.url + "api/events?exp=funcs", found, stop),
            daemon=True)
        listener.start()
        listing: list[dict[str, Any]] = []
        whole = threading.Thread(target=read_events,
                                 args=(board.url + "api/events", listing, stop), daemon=True)
        whole.start()
        http.wait_for(lambda: board.catalog.experiments["funcs"].generation > 0)
        with (trial_dir / "result.json").open("ab") as file:
            file.write(line({"loss": 0.1, "training_iteration": 5}))
        update = http.wait_for(lambda: next((e for e in found if trial_id in
                                             e["changed_trials"]), None))
        assert update["exp"] == "funcs" and update["all"] is False
        assert update["version"] == http.get(board, "/api/experiments/funcs")["version"]
        listed = http.wait_for(lambda: next((e for e in listing if "funcs" in
                                             e["changed_experiments"]), None))
        assert listed["exp"] is None
        stop.set()
    # Closing the server ends the streams.
    listener.join(timeout=10)
    whole.join(timeout=10)
    assert not listener.is_alive() and not whole.is_alive()


def test_an_experiment_started_later_shows_up(tmp_path: Path, storage: str, http: Http) -> None:
    root = tmp_path / "later"
    root.mkdir()
    with serve(str(root), port=0) as board:
        assert http.get(board, "/api/experiments")["experiments"] == []
        shutil.copytree(Path(storage, "classes"), root / "classes")
        http.wait_for(lambda: [e["id"] for e in http.get(board, "/api/experiments")
                               ["experiments"]] == ["classes"])


# ---------------------------------------------------------------------------- S3
@pytest.mark.slow  # finished trials on object stores are polled every 5 s
def test_an_s3_experiment_is_served_and_followed(s3_bucket: str, s3_experiment: str,
                                                 http: Http) -> None:
    fs, _ = fsspec.core.url_to_fs(s3_bucket)
    grid = ResultGrid.from_path(s3_experiment)
    with serve(s3_bucket, port=0) as board:
        (summary,) = http.get(board, "/api/experiments")["experiments"]
        assert summary["id"] == "on-s3" and summary["trials"] == 3
        result = next(r for r in grid if r.error is None)
        answer = http.get(board, f"/api/experiments/on-s3/trials/{result.trial_id}")
        assert [row["loss"] for row in answer["history"]] == result.metric_history("loss")
        assert answer["logdir"].startswith(f"{s3_bucket}/on-s3/")
        for checkpoint in answer["checkpoints"]:
            assert checkpoint["path"].startswith("s3://")
            assert checkpoint["size_bytes"] == fs.du(checkpoint["path"], total=True) > 0
        # S3 cannot append: a writer uploads the whole file again; only its end is read.
        path = f"{result.path}/result.json"
        tail = board.catalog.experiments["on-s3"].trials[result.trial_id].tail
        assert tail is not None
        before = tail.bytes_read
        added = line({"loss": 0.0001, "training_iteration": 5})
        fs.pipe_file(path, fs.cat_file(path) + added)
        http.wait_for(lambda: len(http.get(
            board, f"/api/experiments/on-s3/curves?trials={result.trial_id}")
            ["curves"][result.trial_id]["x"]) == 5, timeout=30)
        assert tail.bytes_read - before == ANCHOR + len(added)


def test_a_finished_trial_a_page_shows_is_polled_on_every_refresh(
    copy: str, http: Http, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tuner.dashboard import _experiment

    trial_id, trial_dir = first_trial(copy)
    with serve(copy, port=0) as board:
        board._server.poll_s = 3600.0  # after its next tick the server waits: refreshed by hand
        assert iterations(http, board, trial_id) == 4
        exp = board.catalog.experiments["funcs"]
        # As at 10,000 trials: finished trials are polled a slice at a time.
        monkeypatch.setattr(_experiment, "_POLL_ALL_BELOW", 0)
        monkeypatch.setattr(_experiment, "_SWEEP", 10**6)
        exp._refreshes = 1  # past the first refresh (which polls all); trial 0's turn is gone

        def append(step: int) -> None:
            with (trial_dir / "result.json").open("ab") as file:
                file.write(line({"loss": 0.001, "training_iteration": step}))

        assert list(exp.trials).index(trial_id) == 0
        append(5)
        exp.refresh()
        assert len(exp.trials[trial_id].history) == 4  # finished, shown nowhere: not yet
        http.get(board, f"/api/experiments/funcs/curves?trials={trial_id}&metric=loss")
        exp.refresh()
        assert len(exp.trials[trial_id].history) == 5  # its curve is shown: polled now
        append(6)
        exp.refresh()
        assert len(exp.trials[trial_id].history) == 6  # and on every refresh after
        monkeypatch.setattr(_experiment, "WATCH_S", 0.0)  # the page has not asked for a while
        append(7)
        exp.refresh()
        assert len(exp.trials[trial_id].history) == 6


def test_between_refreshes_only_the_shown_trials_files_are_polled(
    copy: str, http: Http, monkeypatch: pytest.MonkeyPatch
) -> None:
    trial_id, trial_dir = first_trial(copy)
    other_id, other_dir = (lambda r: (r.trial_id, Path(r.path)))(
        ResultGrid.from_path(os.path.join(copy, "funcs"))[1])
    with serve(copy, port=0) as board:
        board._server.poll_s = 3600.0  # no more scans: only what the test and the watch poll
        assert iterations(http, board, trial_id) == 4
        exp = board.catalog.experiments["funcs"]
        # Stop the server's own watch thread, so that the test polls by hand.
        monkeypatch.setattr(board.catalog, "poll_watched", lambda: None)
        other_rows = len(exp.trials[other_id].history)
        for directory in (trial_dir, other_dir):
            with (directory / "result.json").open("ab") as file:
                file.write(line({"loss": 0.001, "training_iteration": 5}))
        assert exp.poll_watched() is False  # no page shows a trial yet
        http.get(board, f"/api/experiments/funcs/curves?trials={trial_id}&metric=loss")
        generation = exp.generation
        assert exp.poll_watched() is True
        assert len(exp.trials[trial_id].history) == 5  # the shown trial: polled
        assert len(exp.trials[other_id].history) == other_rows  # left to the next refresh
        assert exp.generation == generation + 1 and exp.changed_since(generation) == [trial_id]
        assert exp.poll_watched() is False  # nothing new since
