"""Syncer: uploads changed staging files to memory:// and s3:// storage in the background."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import fsspec
import pytest

from tuner.storage import _filesystem as storage
from tuner.storage import _syncer as _syncer
from tuner.storage._syncer import Syncer


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "s3"])
def remote_url(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return str(request.getfixturevalue("memory_storage")) + "/exp"
    return str(request.getfixturevalue("s3_bucket")) + "/exp"


@pytest.fixture
def staging(tmp_path: Path) -> Path:
    root = tmp_path / "staging"
    (root / "trial_0").mkdir(parents=True)
    (root / "trial_1").mkdir()
    (root / "experiment_state.json").write_text('{"v": 1}')
    (root / "trial_0" / "result.json").write_text('{"loss": 1}\n')
    (root / "trial_1" / "result.json").write_text('{"loss": 2}\n')
    return root


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def syncer(staging: Path, remote_url: str, clock: FakeClock) -> Iterator[Syncer]:
    fs, remote = storage.resolve_storage(remote_url)
    with Syncer(str(staging), fs, remote, period_s=10.0, clock=clock) as s:
        yield s


def _remote_tree(syncer: Syncer) -> dict[str, bytes]:
    fs, root = syncer._fs, syncer._remote_root
    fs.invalidate_cache()
    return {p[len(root) + 1 :]: fs.cat_file(p) for p in fs.find(root)}


def test_sync_all_uploads_everything(syncer: Syncer) -> None:
    syncer.sync_all()
    assert syncer.wait(timeout=30)
    assert _remote_tree(syncer) == {
        "experiment_state.json": b'{"v": 1}',
        "trial_0/result.json": b'{"loss": 1}\n',
        "trial_1/result.json": b'{"loss": 2}\n',
    }
    assert syncer.uploads == 3


def test_unchanged_files_are_skipped_and_changed_ones_uploaded(
    syncer: Syncer, staging: Path
) -> None:
    syncer.sync_all()
    syncer.wait()
    syncer.sync_all()
    syncer.wait()
    assert syncer.uploads == 3, "nothing changed: nothing uploaded"

    with open(staging / "trial_0" / "result.json", "a") as file:
        file.write('{"loss": 0.5}\n')
    syncer.sync_all()
    syncer.wait()
    assert syncer.uploads == 4
    assert _remote_tree(syncer)["trial_0/result.json"] == b'{"loss": 1}\n{"loss": 0.5}\n'


def test_sync_trial_uploads_only_that_trial(syncer: Syncer) -> None:
    syncer.sync_trial("trial_1")
    syncer.wait()
    assert set(_remote_tree(syncer)) == {"trial_1/result.json"}


def test_maybe_sync_is_rate_limited(syncer: Syncer, clock: FakeClock, staging: Path) -> None:
    assert syncer.maybe_sync()
    syncer.wait()
    assert syncer.uploads == 3
    (staging / "trial_0" / "new.txt").write_text("x")
    clock.now += 5
    assert not syncer.maybe_sync()
    syncer.wait()
    assert syncer.uploads == 3
    clock.now += 5
    assert syncer.maybe_sync()
    syncer.wait()
    assert syncer.uploads == 4


def test_checkpoints_and_temp_files_are_skipped(syncer: Syncer, staging: Path) -> None:
    (staging / "trial_0" / "checkpoint_000001").mkdir()
    (staging / "trial_0" / "checkpoint_000001" / "model.pt").write_bytes(b"w")
    (staging / "trial_0" / ".params.json.tmp-abc123").write_bytes(b"half")
    syncer.sync_all()
    syncer.wait()
    assert not any("checkpoint" in p or "tmp" in p for p in _remote_tree(syncer))


def test_large_files_are_streamed(
    staging: Path, memory_storage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_syncer, "_SINGLE_PUT_MAX", 10)
    (staging / "big.bin").write_bytes(b"b" * 100)
    fs, remote = storage.resolve_storage(memory_storage)
    with Syncer(str(staging), fs, remote) as syncer:
        syncer.sync_all()
    assert fs.cat_file(remote + "/big.bin") == b"b" * 100


def test_uploads_run_on_a_background_thread(staging: Path, memory_storage: str) -> None:
    """The caller returns while an upload is blocked; wait() returns once it is released."""
    release = threading.Event()
    threads: list[str] = []

    class SlowMemory(fsspec.implementations.memory.MemoryFileSystem):  # type: ignore[misc]
        def pipe_file(self, path: str, value: bytes, **kwargs: object) -> None:
            threads.append(threading.current_thread().name)
            release.wait(timeout=30)
            super().pipe_file(path, value, **kwargs)

    fs = SlowMemory(skip_instance_cache=True)
    _, remote = storage.resolve_storage(memory_storage)
    syncer = Syncer(str(staging), fs, remote)
    syncer.sync_all()
    assert not syncer.wait(timeout=0.05)
    assert not syncer.maybe_sync(), "no new sync is queued while one is running"
    release.set()
    assert syncer.wait(timeout=30)
    syncer.close()
    syncer.close()
    assert threads and all(name.startswith("tuner-syncer") for name in threads)
    with pytest.raises(RuntimeError, match="closed"):
        syncer.sync_all()


def test_failed_upload_is_retried(
    staging: Path, memory_storage: str, caplog: pytest.LogCaptureFixture
) -> None:
    calls = {"n": 0}

    class FlakyMemory(fsspec.implementations.memory.MemoryFileSystem):  # type: ignore[misc]
        def pipe_file(self, path: str, value: bytes, **kwargs: object) -> None:
            calls["n"] += 1
            if calls["n"] == 1:
                raise OSError("connection reset")
            super().pipe_file(path, value, **kwargs)

    fs = FlakyMemory(skip_instance_cache=True)
    _, remote = storage.resolve_storage(memory_storage)
    with Syncer(str(staging), fs, remote) as syncer:
        syncer.sync_all()
        syncer.wait()
        assert syncer.uploads == 2
        assert "retrying on the next sync" in caplog.text
        syncer.sync_all()
    assert syncer.uploads == 3
    assert len(fs.find(remote)) == 3


def test_negative_period_is_rejected(staging: Path) -> None:
    with pytest.raises(ValueError, match="period_s must be >= 0, got -1"):
        Syncer(str(staging), fsspec.filesystem("memory"), "/x", period_s=-1)


def test_missing_staging_dir_is_a_no_op(tmp_path: Path, memory_storage: str) -> None:
    fs, remote = storage.resolve_storage(memory_storage)
    with Syncer(os.fspath(tmp_path / "nothing"), fs, remote) as syncer:
        syncer.sync_all()
    assert syncer.uploads == 0
