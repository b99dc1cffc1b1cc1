"""The experiments under the dashboard's root, found as `tuner ls` finds them.

The root is an experiment itself or a storage path whose subdirectories are experiments; an
experiment's id is its directory's name either way. (The id of a root that is an experiment
was "." at first, but browsers drop "." segments from URL paths before they send them, so
`/api/experiments/./trials` arrives as `/api/experiments/trials`; "." is still accepted.)
`scan` looks again, so experiments started after the server show up; on a local disk a
subdirectory that is a link leading outside the root is left out. An experiment is only ever reached through this list: a URL names an id, never a path.
"""

from __future__ import annotations

import math
import os
import secrets
import threading
import time
from typing import TYPE_CHECKING

from tuner.dashboard._access import OutsideRoot, check_segment, inside
from tuner.dashboard._experiment import LiveExperiment
from tuner.state._experiment import SLOTS
from tuner.storage._filesystem import is_local, join, resolve_storage

if TYPE_CHECKING:
    import fsspec


_RESCAN_S = 0.5
"""A request for an unknown id looks again at most this often (ids cannot make it scan more)."""


class UnknownExperiment(LookupError):
    """No experiment with that id under the root."""


class Catalog:
    """The experiments under `root`.

    Args:
        root: A local path or fsspec URL: an experiment, or a directory holding experiments.
        filesystem: The filesystem to use instead of the one `root` implies.
    """

    def __init__(self, root: str | os.PathLike[str],
                 filesystem: fsspec.AbstractFileSystem | None = None) -> None:
        self.fs, self.root = resolve_storage(root, filesystem)
        self.root = self.root.rstrip("/") or "/"
        self.local = is_local(self.fs)
        self.root_real = os.path.realpath(self.root) if self.local else None
        self.epoch = secrets.token_hex(3)
        self.lock = threading.Lock()
        self.experiments: dict[str, LiveExperiment] = {}
        self.generation = 0
        self._last_scan = -math.inf

    @property
    def root_url(self) -> str:
        from tuner.analysis._read import user_url

        return user_url(self.fs, self.root)

    @property
    def version(self) -> str:
        return f"{self.epoch}.{self.generation}"

    def _has_state(self, path: str) -> bool:
        if self.local:
            return any(os.path.isfile(os.path.join(path, slot)) for slot in SLOTS)
        return any(self.fs.exists(join(path, slot)) for slot in SLOTS)

    def _found(self) -> dict[str, str]:
        """id -> path of the experiment directories there now."""
        if not self.local:
            self.fs.invalidate_cache(self.root)
        if self._has_state(self.root):
            return {self.root.rstrip("/").rsplit("/", 1)[-1] or ".": self.root}
        found: dict[str, str] = {}
        if self.local:
            try:
                entries = sorted(os.scandir(self.root), key=lambda e: e.name)
            except (FileNotFoundError, NotADirectoryError):
                return {}
            for entry in entries:
                if not entry.is_dir() or self.root_real is None:
                    continue
                if entry.is_symlink() and not inside(self.root_real, entry.path):
                    continue  # a link out of the root: not ours to show
                if self._has_state(entry.path):
                    found[entry.name] = entry.path
            return found
        try:
            listing = self.fs.ls(self.root, detail=True)
        except FileNotFoundError:
            return {}
        for entry in sorted(listing, key=lambda e: str(e["name"])):
            if entry.get("type") != "directory":
                continue
            path = str(entry["name"]).rstrip("/")
            name = path.rsplit("/", 1)[-1]
            if self._has_state(path):
                found[name] = path
        return found

    def scan(self) -> bool:
        """Look for experiments again and refresh each; whether the list changed."""
        self._last_scan = time.monotonic()
        found = self._found()
        changed = False
        with self.lock:
            for exp_id in list(self.experiments):
                if exp_id not in found:
                    del self.experiments[exp_id]
                    changed = True
            for exp_id, path in found.items():
                if exp_id not in self.experiments:
                    self.experiments[exp_id] = LiveExperiment(
                        exp_id, self.fs, path, root_real=self.root_real, epoch=self.epoch)
                    changed = True
            current = list(self.experiments.values())
        for experiment in current:
            changed |= experiment.refresh()
        if changed:
            self.generation += 1
        return changed

    def poll_watched(self) -> None:
        """Between scans: poll the files of the trials pages show (`LiveExperiment.watch`)."""
        with self.lock:
            current = list(self.experiments.values())
        for experiment in current:
            experiment.poll_watched()

    def get(self, exp_id: str) -> LiveExperiment:
        """The experiment with id `exp_id`, its trials' files followed from now on.

        Raises:
            OutsideRoot: `exp_id` could not name a directory under the root.
            UnknownExperiment: No such experiment there.
        """
        check_segment(exp_id, "experiment id")
        with self.lock:
            experiment = self.experiments.get(exp_id)
            if exp_id == "." and experiment is None:
                experiment = next((e for e in self.experiments.values()
                                   if e.path == self.root), None)
        if experiment is None and time.monotonic() - self._last_scan > _RESCAN_S:
            self.scan()  # started since the last look?
            with self.lock:
                experiment = self.experiments.get(exp_id)
        if experiment is None:
            known = ", ".join(sorted(self.experiments)[:10]) or "none yet"
            raise UnknownExperiment(
                f"no experiment {exp_id!r} under {self.root_url} (experiments there: {known})")
        experiment.open()
        return experiment

    def listing(self) -> list[LiveExperiment]:
        with self.lock:
            return list(self.experiments.values())


__all__ = ["Catalog", "OutsideRoot", "UnknownExperiment"]
