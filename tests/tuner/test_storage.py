"""Storage: URL resolution, atomic writes and complete-or-nothing checkpoint directories.

The contract tests run against every backend through the ``storage_url`` fixture.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import fsspec
import pytest
from fsspec.implementations.local import LocalFileSystem

from tuner.exceptions import CheckpointError, StorageError
from tuner.storage import _filesystem as storage
from tuner.storage._local_disk import real_filesystem


def _make_tree(root: Path) -> dict[str, bytes]:
    files = {"model.pt": b"w" * 1000, "meta.json": b'{"epoch": 3}', "sub/dir/opt.bin": b"\x00\x01"}
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return files


def _read_tree(fs: fsspec.AbstractFileSystem, path: str) -> dict[str, bytes]:
    fs.invalidate_cache(path)
    prefix = path.rstrip("/") + "/"
    return {p[len(prefix) :]: fs.cat_file(p) for p in fs.find(path)}


# --- resolve_storage -------------------------------------------------------------------------


def test_resolve_none_is_home_results(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    fs, path = storage.resolve_storage(None)
    assert storage.is_local(fs)
    assert path == str(tmp_path / "tuner_results")


def test_resolve_relative_local_path_is_made_absolute(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    fs, path = storage.resolve_storage("runs")
    assert storage.is_local(fs)
    assert isinstance(real_filesystem(fs), LocalFileSystem)
    assert path == str(tmp_path / "runs")


@pytest.mark.parametrize("url", ["runs", "/abs/runs", "C://windows-drive"])
def test_a_local_path_resolves_to_the_local_disk_without_fsspec(url: str) -> None:
    """fsspec (about 70 ms) is imported only for URLs and for calls the engine does not make
    itself on a local disk; the local disk answers as fsspec's LocalFileSystem does."""
    probe = (
        "import sys\n"
        "from tuner.storage._filesystem import resolve_storage, is_local, protocol_of\n"
        f"fs, path = resolve_storage({url!r})\n"
        "assert is_local(fs) and protocol_of(fs) == 'file', fs\n"
        "assert 'fsspec' not in sys.modules\n"
        "import fsspec\n"
        "assert fs.unstrip_protocol('/x') == fsspec.filesystem('file').unstrip_protocol('/x')\n"
        "assert fs.exists(path) is False and fs.ls('/') == fsspec.filesystem('file').ls('/')\n"
    )
    subprocess.run([sys.executable, "-c", probe], check=True)
    fs_url, _ = storage.resolve_storage("file:///tmp/x")
    assert storage.is_local(fs_url)


def test_resolve_pathlike_and_file_url(tmp_path: Path) -> None:
    assert storage.resolve_storage(tmp_path)[1] == str(tmp_path)
    fs, path = storage.resolve_storage(f"file://{tmp_path}")
    assert storage.is_local(fs)
    assert path == str(tmp_path)


def test_resolve_memory_url() -> None:
    fs, path = storage.resolve_storage("memory://bucket/runs")
    assert storage.protocol_of(fs) == "memory"
    assert path == "/bucket/runs"
    assert not storage.is_local(fs)


def test_resolve_s3_url(s3_bucket: str) -> None:
    fs, path = storage.resolve_storage(f"{s3_bucket}/runs")
    assert storage.protocol_of(fs) == "s3"
    assert path == f"{s3_bucket.removeprefix('s3://')}/runs"


def test_resolve_with_explicit_filesystem_strips_protocol() -> None:
    memory = fsspec.filesystem("memory")
    fs, path = storage.resolve_storage("memory://a/b", memory)
    assert fs is memory
    assert path == "/a/b"


def test_missing_backend_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    # Simulate gcsfs not being installed, whether or not it is.
    monkeypatch.setitem(sys.modules, "gcsfs", None)
    monkeypatch.delitem(sys.modules["fsspec.registry"]._registry, "gs", raising=False)
    with pytest.raises(StorageError, match=r"install gcsfs to use gs:// storage paths"):
        storage.resolve_storage("gs://bucket/runs")


def test_missing_s3fs_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "s3fs", None)
    monkeypatch.delitem(sys.modules["fsspec.registry"]._registry, "s3", raising=False)
    with pytest.raises(StorageError, match=r"pip install 'tuner\[s3\]'"):
        storage.resolve_storage("s3://bucket/runs")


def test_unknown_protocol_is_a_storage_error() -> None:
    with pytest.raises(StorageError, match=r"'nosuchproto://' is not known"):
        storage.resolve_storage("nosuchproto://x/y")


def test_non_path_is_rejected() -> None:
    with pytest.raises(StorageError, match=r"must be a str or os\.PathLike, got int"):
        storage.resolve_storage(3)  # type: ignore[arg-type]


def test_join_and_dir_names() -> None:
    assert storage.join("bucket/runs", "exp", "t") == "bucket/runs/exp/t"
    assert storage.checkpoint_dir_name(3) == "checkpoint_000003"
    with pytest.raises(ValueError, match="must be >= 0"):
        storage.checkpoint_dir_name(-1)


def test_s3_endpoint_reaches_subprocesses(s3_bucket: str) -> None:
    fs, root = storage.resolve_storage(s3_bucket)
    fs.pipe_file(storage.join(root, "hello.txt"), b"from parent")
    code = (
        "import fsspec.core;"
        f"fs, p = fsspec.core.url_to_fs('{s3_bucket}/hello.txt');"
        "print(fs.cat_file(p).decode())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "from parent"


# --- contract: every backend ------------------------------------------------------------------


def test_atomic_write_and_read(storage_url: str) -> None:
    fs, root = storage.resolve_storage(storage_url)
    path = storage.join(root, "exp", "state.json")
    storage.atomic_write_bytes(fs, path, b"one")
    storage.atomic_write_bytes(fs, path, b"two")
    assert storage.read_bytes(fs, path) == b"two"
    fs.invalidate_cache(storage.join(root, "exp"))
    assert [os.path.basename(p) for p in fs.ls(storage.join(root, "exp"), detail=False)] == [
        "state.json"
    ]


def test_read_missing_raises_file_not_found(storage_url: str) -> None:
    fs, root = storage.resolve_storage(storage_url)
    with pytest.raises(FileNotFoundError):
        storage.read_bytes(fs, storage.join(root, "missing.json"))


def test_persist_directory_round_trip(storage_url: str, tmp_path: Path) -> None:
    files = _make_tree(tmp_path / "src")
    fs, root = storage.resolve_storage(storage_url)
    dest = storage.join(root, "trial_0", storage.checkpoint_dir_name(1))

    storage.persist_directory(str(tmp_path / "src"), fs, dest)

    assert storage.is_complete(fs, dest)
    assert _read_tree(fs, dest) == {**files, storage.COMPLETE_MARKER: b""}
    assert storage.list_checkpoints(fs, storage.join(root, "trial_0")) == [(1, dest, True)]


def test_persist_directory_replaces_existing(storage_url: str, tmp_path: Path) -> None:
    fs, root = storage.resolve_storage(storage_url)
    dest = storage.join(root, "checkpoint_000000")
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "stale.bin").write_bytes(b"old")
    storage.persist_directory(str(tmp_path / "old"), fs, dest)
    files = _make_tree(tmp_path / "new")

    storage.persist_directory(str(tmp_path / "new"), fs, dest)

    assert _read_tree(fs, dest) == {**files, storage.COMPLETE_MARKER: b""}


def test_persist_empty_directory(storage_url: str, tmp_path: Path) -> None:
    fs, root = storage.resolve_storage(storage_url)
    (tmp_path / "empty").mkdir()
    dest = storage.join(root, "checkpoint_000004")
    storage.persist_directory(str(tmp_path / "empty"), fs, dest)
    assert storage.list_checkpoints(fs, root) == [(4, dest, True)]


def test_interrupted_persist_is_incomplete_and_removed(
    storage_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fs, root = storage.resolve_storage(storage_url)
    _make_tree(tmp_path / "src")
    good = storage.join(root, "checkpoint_000001")
    storage.persist_directory(str(tmp_path / "src"), fs, good)
    # A crash mid-upload: files but no marker.
    half = storage.join(root, "checkpoint_000002")
    fs.makedirs(half, exist_ok=True)
    fs.pipe_file(storage.join(half, "model.pt"), b"half")

    assert storage.list_checkpoints(fs, root) == [(1, good, True), (2, half, False)]
    with caplog.at_level(logging.WARNING, logger="tuner.storage._filesystem"):
        removed = storage.remove_incomplete(fs, root)

    assert removed == [half]
    assert half in caplog.text
    assert storage.list_checkpoints(fs, root) == [(1, good, True)]
    assert storage.remove_incomplete(fs, root) == []


def test_list_checkpoints_of_missing_trial_is_empty(storage_url: str) -> None:
    fs, root = storage.resolve_storage(storage_url)
    assert storage.list_checkpoints(fs, storage.join(root, "nope")) == []


def test_remove_directory_ignores_missing(storage_url: str, tmp_path: Path) -> None:
    fs, root = storage.resolve_storage(storage_url)
    storage.remove_directory(fs, storage.join(root, "missing"))
    _make_tree(tmp_path / "src")
    dest = storage.join(root, "checkpoint_000000")
    storage.persist_directory(str(tmp_path / "src"), fs, dest)
    storage.remove_directory(fs, dest)
    assert not fs.exists(dest)


# --- local specifics --------------------------------------------------------------------------


def test_local_temp_siblings_and_temp_files_are_removed(tmp_path: Path) -> None:
    fs = LocalFileSystem()
    trial = tmp_path / "trial"
    (trial / "checkpoint_000003.tmp-ab12cd34").mkdir(parents=True)
    (trial / "checkpoint_000003.tmp-ab12cd34" / "x").write_bytes(b"x")
    (trial / ".result.json.tmp-k2j_x9").write_bytes(b"partial")
    (trial / "result.json").write_bytes(b"{}\n")
    (trial / "checkpoint_notanindex").mkdir()

    removed = storage.remove_incomplete(fs, str(trial))

    assert sorted(os.path.basename(p) for p in removed) == [
        ".result.json.tmp-k2j_x9",
        "checkpoint_000003.tmp-ab12cd34",
    ]
    assert sorted(os.listdir(trial)) == ["checkpoint_notanindex", "result.json"]


def test_local_persist_of_dest_itself_only_marks_it(tmp_path: Path) -> None:
    files = _make_tree(tmp_path / "checkpoint_000000")
    fs = LocalFileSystem()
    dest = str(tmp_path / "checkpoint_000000")
    storage.persist_directory(dest, fs, dest)
    assert _read_tree(fs, dest) == {**files, storage.COMPLETE_MARKER: b""}


def test_local_atomic_write_leaves_no_temp_file_on_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        storage.atomic_write_bytes(LocalFileSystem(), str(tmp_path / "a.json"), b"x")
    assert os.listdir(tmp_path) == []


def test_persist_non_directory_raises(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"x")
    with pytest.raises(CheckpointError, match="pass the directory you saved your files in"):
        storage.persist_directory(str(tmp_path / "file"), LocalFileSystem(), str(tmp_path / "d"))
