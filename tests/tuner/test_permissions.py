"""Files and directories an experiment writes follow the umask, like any other program's.

A teammate who may read the storage (umask 0o022) reads all of it, state and checkpoints too;
a private umask (0o077) keeps all of it private. The real-run tests start a driver process with
the umask set (its worker processes inherit it), so this test process's umask is not changed.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tuner.state._experiment import SLOTS
from tuner.storage import _filesystem as storage

DRIVER = str(Path(__file__).with_name("lock_driver.py"))
NUM_SAMPLES, STEPS = 4, 3  # lock_driver's


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def modes_under(root: Path) -> dict[Path, int]:
    return {p: mode(p) for p in [root, *root.rglob("*")]}


@pytest.mark.slow
@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002], ids=["0o022", "0o077", "0o002"])
def test_a_real_fit_with_checkpoints_follows_the_umask(tmp_path: Path, umask: int) -> None:
    gate = tmp_path / "gate"
    gate.touch()  # the trials need not wait
    root = tmp_path / "storage"
    done = subprocess.run(
        [sys.executable, DRIVER, "fit", str(root), "exp", str(gate)],
        capture_output=True, text=True, timeout=180, umask=umask,
        env={**os.environ, "TUNE_GLOBAL_CHECKPOINT_S": "0.05"},
    )
    assert done.returncode == 0, done.stderr
    file_mode, dir_mode, exec_mode = 0o666 & ~umask, 0o777 & ~umask, 0o777 & ~umask

    exp = root / "exp"
    states = [exp / slot for slot in SLOTS if (exp / slot).exists()]
    assert states
    assert {oct(mode(p)) for p in states} == {oct(file_mode)}
    checkpoints = sorted(exp.glob("*/checkpoint_*"))
    assert len(checkpoints) == NUM_SAMPLES * STEPS
    for checkpoint in checkpoints:
        assert oct(mode(checkpoint)) == oct(dir_mode), checkpoint
        assert oct(mode(checkpoint / "nested" / "deeper")) == oct(dir_mode)
        assert oct(mode(checkpoint / "nested" / "deeper" / "weights.bin")) == oct(file_mode)
        assert oct(mode(checkpoint / storage.COMPLETE_MARKER)) == oct(file_mode)
        assert oct(mode(checkpoint / "run.sh")) == oct(exec_mode)  # execute bits are kept

    # And everything else the run wrote: trial files, TensorBoard events, the directories.
    wrong = {
        str(p.relative_to(root)): oct(m)
        for p, m in modes_under(root).items()
        if m != (dir_mode if p.is_dir() else exec_mode if p.name == "run.sh" else file_mode)
    }
    assert wrong == {}


# ---------------------------------------------------------------------------- the helpers
@pytest.fixture(params=[0o022, 0o077], ids=["0o022", "0o077"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """This process runs under the umask for the test, then gets its own back."""
    value: int = request.param
    old = os.umask(value)
    try:
        yield value
    finally:
        os.umask(old)


def test_current_umask_reads_it_without_changing_it(umask: int) -> None:
    assert storage.current_umask() == umask
    assert storage._umask_by_setting.__wrapped__() == umask  # the portable fallback
    assert storage.current_umask() == umask


def test_an_atomic_write_gets_the_mode_of_a_new_file(tmp_path: Path, umask: int) -> None:
    fs, _ = storage.resolve_storage(str(tmp_path))
    target = tmp_path / "experiment_state-a.json"
    storage.atomic_write_bytes(fs, str(target), b"{}")
    assert oct(mode(target)) == oct(0o666 & ~umask)
    target.chmod(0o600)  # written by an older version
    storage.atomic_write_bytes(fs, str(target), b"{}")
    assert oct(mode(target)) == oct(0o666 & ~umask)


def _checkpoint_in_a_temporary_directory(parent: Path) -> Path:
    source = Path(tempfile.mkdtemp(dir=parent))  # 0o700, as TemporaryDirectory() makes
    (source / "sub").mkdir(mode=0o700)
    (source / "sub" / "model.pt").write_bytes(b"weights")
    (source / "sub" / "model.pt").chmod(0o600)
    (source / "tool.sh").write_text("#!/bin/sh\n")
    (source / "tool.sh").chmod(0o700)
    return source


def _check_tree(dest: Path, umask: int) -> None:
    assert oct(mode(dest)) == oct(0o777 & ~umask)
    assert oct(mode(dest / "sub")) == oct(0o777 & ~umask)
    assert oct(mode(dest / "sub" / "model.pt")) == oct(0o666 & ~umask)
    assert oct(mode(dest / "tool.sh")) == oct(0o777 & ~umask)
    assert oct(mode(dest / storage.COMPLETE_MARKER)) == oct(0o666 & ~umask)


def test_a_persisted_checkpoint_follows_the_umask_not_its_source(tmp_path: Path, umask: int) -> None:
    source = _checkpoint_in_a_temporary_directory(tmp_path)
    fs, root = storage.resolve_storage(str(tmp_path / "trial"))
    dest = storage.join(root, "checkpoint_000000")
    storage.persist_directory(str(source), fs, dest)
    _check_tree(Path(dest), umask)
    assert oct(mode(source)) == oct(0o700)  # the source is left as it was
    storage.persist_directory(str(source), fs, dest)  # replacing one, too
    _check_tree(Path(dest), umask)


def test_a_copied_checkpoint_follows_the_umask(tmp_path: Path, umask: int) -> None:
    # PBT copies a donor's checkpoint into the recipient's directory.
    source = _checkpoint_in_a_temporary_directory(tmp_path)
    fs, _ = storage.resolve_storage(str(tmp_path))
    storage.copy_checkpoint(fs, str(source), str(tmp_path / "recipient" / "checkpoint_000003"))
    _check_tree(tmp_path / "recipient" / "checkpoint_000003", umask)
