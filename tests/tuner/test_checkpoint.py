"""Checkpoint: a directory reference that round-trips through storage, pickle and JSON."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import fsspec
import pytest

from tuner.exceptions import CheckpointError
from tuner.storage import _filesystem as storage
from tuner.storage._checkpoint import Checkpoint


def _make_tree(root: Path) -> dict[str, bytes]:
    files = {"model.pt": b"w" * 2048, "meta.json": b'{"step": 7}', "nested/a/b.bin": b"\x00"}
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return files


def _local_tree(root: str) -> dict[str, bytes]:
    out = {}
    for directory, _, names in os.walk(root):
        for name in names:
            full = os.path.join(directory, name)
            out[os.path.relpath(full, root).replace(os.sep, "/")] = Path(full).read_bytes()
    return out


@pytest.fixture
def persisted(storage_url: str, tmp_path: Path) -> tuple[Checkpoint, dict[str, bytes]]:
    """A checkpoint persisted to each backend, with the files it should hold."""
    files = _make_tree(tmp_path / "src")
    fs, root = storage.resolve_storage(storage_url)
    dest = storage.join(root, "exp", "trial_0", storage.checkpoint_dir_name(1))
    storage.persist_directory(str(tmp_path / "src"), fs, dest)
    return Checkpoint(dest, fs), files


def test_as_directory_round_trip(persisted: tuple[Checkpoint, dict[str, bytes]]) -> None:
    checkpoint, files = persisted
    with checkpoint.as_directory() as local:
        assert os.path.isdir(local)
        tree = _local_tree(local)
    tree.pop(storage.COMPLETE_MARKER, None)  # a local checkpoint is yielded in place
    assert tree == files
    if not storage.is_local(checkpoint.filesystem):
        assert not os.path.exists(local), "the download must be removed after the block"


def test_to_directory_round_trip_without_marker(
    persisted: tuple[Checkpoint, dict[str, bytes]], tmp_path: Path
) -> None:
    checkpoint, files = persisted
    target = checkpoint.to_directory(str(tmp_path / "restored"))
    assert target == str(tmp_path / "restored")
    assert _local_tree(target) == files


def test_to_directory_defaults_to_a_new_temp_dir(
    persisted: tuple[Checkpoint, dict[str, bytes]],
) -> None:
    checkpoint, files = persisted
    first, second = checkpoint.to_directory(), checkpoint.to_directory()
    assert first != second
    assert _local_tree(first) == files == _local_tree(second)


def test_pickle_and_json_round_trip(persisted: tuple[Checkpoint, dict[str, bytes]]) -> None:
    checkpoint, files = persisted
    unpickled = pickle.loads(pickle.dumps(checkpoint))
    assert unpickled == checkpoint
    assert _local_tree(unpickled.to_directory()) == files

    data = json.loads(json.dumps(checkpoint.to_dict()))
    assert set(data) == {"path", "protocol"}
    restored = Checkpoint.from_dict(data, filesystem=checkpoint.filesystem)
    assert restored == checkpoint
    assert restored.filesystem is checkpoint.filesystem
    assert _local_tree(Checkpoint.from_dict(data).to_directory()) == files


def test_from_directory_local_as_directory_is_in_place(tmp_path: Path) -> None:
    _make_tree(tmp_path / "ckpt")
    checkpoint = Checkpoint.from_directory(tmp_path / "ckpt")
    with checkpoint.as_directory() as local:
        assert local == str(tmp_path / "ckpt")
    assert storage.is_local(checkpoint.filesystem)
    assert checkpoint.path == str(tmp_path / "ckpt")
    assert checkpoint.uri == f"file://{tmp_path / 'ckpt'}"


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_from_directory_rejects_non_directories(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "x"
    if kind == "file":
        path.write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"got path='.*x': pass the directory you saved"):
        Checkpoint.from_directory(path)


def test_missing_remote_checkpoint_raises(memory_storage: str) -> None:
    checkpoint = Checkpoint(f"{memory_storage}/nothing/here")
    with pytest.raises(CheckpointError, match="nothing is at"):
        checkpoint.to_directory()


def test_deleted_local_checkpoint_raises(tmp_path: Path) -> None:
    (tmp_path / "c").mkdir()
    checkpoint = Checkpoint.from_directory(tmp_path / "c")
    (tmp_path / "c").rmdir()
    with pytest.raises(CheckpointError, match="deleted or moved"), checkpoint.as_directory():
        pass


def test_repr_and_equality(s3_bucket: str) -> None:
    bucket = s3_bucket.removeprefix("s3://")
    checkpoint = Checkpoint(f"{s3_bucket}/runs/x/checkpoint_000001")
    assert repr(checkpoint) == f"Checkpoint(filesystem=s3, path={bucket}/runs/x/checkpoint_000001)"
    assert checkpoint.uri == f"{s3_bucket}/runs/x/checkpoint_000001"
    assert checkpoint == Checkpoint(f"{s3_bucket}/runs/x/checkpoint_000001")
    assert checkpoint != Checkpoint("memory://" + bucket + "/runs/x/checkpoint_000001")
    assert len({checkpoint, Checkpoint(f"{s3_bucket}/runs/x/checkpoint_000001")}) == 1
    assert repr(Checkpoint("/tmp/c")) == "Checkpoint(filesystem=local, path=/tmp/c)"


def test_from_dict_with_other_protocol_filesystem_makes_its_own() -> None:
    checkpoint = Checkpoint.from_dict(
        {"path": "/a/checkpoint_000000", "protocol": "memory"},
        filesystem=fsspec.filesystem("file"),
    )
    assert storage.protocol_of(checkpoint.filesystem) == "memory"


def test_from_dict_rejects_bad_data() -> None:
    with pytest.raises(CheckpointError, match="needs 'path' and 'protocol'"):
        Checkpoint.from_dict({"path": "/x"})


def test_bad_path_type_is_rejected() -> None:
    with pytest.raises(CheckpointError, match=r"must be a str or os\.PathLike, got int"):
        Checkpoint(5)  # type: ignore[arg-type]
