"""One experiment as the dashboard keeps it: its newest state, its trials, and a version.

`refresh` is called about once a second by the server's watcher thread. It reloads the state
only when one of its two slots changed (size or modification time), and, once the experiment
was opened (someone looked at its trials), polls every trial's ``result.json`` and the PBT
policy log for appended lines. Any visible change bumps `version` and records which trials
changed, which is what the event stream sends.

Reading goes through the analysis code (`SavedExperiment`, as `ResultGrid.from_path` reads):
JSON data only, nothing from the folder is run.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from typing import TYPE_CHECKING, Any

from tuner.analysis._read import SavedExperiment, user_url
from tuner.dashboard._access import inside
from tuner.dashboard._history import is_number
from tuner.dashboard._tail import LineTail, Poll
from tuner.dashboard._trial import RESULT_FILE, TrialView
from tuner.exceptions import RestoreError
from tuner.output._experiment_files import POLICY_FILE
from tuner.state._experiment import SLOTS, load_state
from tuner.storage._filesystem import is_local, join

if TYPE_CHECKING:
    import fsspec

logger = logging.getLogger(__name__)

STATUSES = ("PENDING", "RUNNING", "PAUSED", "TERMINATED", "ERROR")
_HOT = frozenset({"PENDING", "RUNNING", "PAUSED"})
_SWEEP = 5
"""Finished trials' files are polled every this many refreshes; running ones every time. On a
local disk, a slice of them each time (10,000 stats cost ~100 ms of the GIL), all of them every
time below `_POLL_ALL_BELOW` trials. On object stores, where each poll is a request, all of
them from one listing of the experiment."""
_POLL_ALL_BELOW = 2000
WATCH_S = 60.0
"""A trial whose curve or page was asked for within this many seconds is polled on every
refresh, whatever its status: what a page shows is what must look live."""
_CHANGES_KEPT = 512


class LiveExperiment:
    """An experiment directory under the dashboard's root.

    Args:
        exp_id: Its path relative to the root ("." for the root itself).
        fs: Its filesystem.
        path: The directory on `fs`.
        root_real: The root's real path on a local disk (links resolved), None elsewhere: trial
            directories that lead outside it are not read.
        epoch: Prefix of every version this process hands out, so a restarted server's
            versions differ from the old one's.
    """

    def __init__(self, exp_id: str, fs: fsspec.AbstractFileSystem, path: str, *,
                 root_real: str | None, epoch: str) -> None:
        self.id = exp_id
        self.fs = fs
        self.path = path
        self.url = user_url(fs, path)
        self.local = is_local(fs)
        self._root_real = root_real
        self._epoch = epoch
        self.lock = threading.RLock()
        self._refreshing = threading.Lock()
        self._opening = threading.Lock()
        self._unreadable_news = False
        self.saved: SavedExperiment | None = None
        self.trials: dict[str, TrialView] = {}
        self.problem: str | None = None
        self.live: bool | None = None
        self.opened = False
        self.generation = 0
        self._changes: collections.deque[tuple[int, frozenset[str]]] = collections.deque(
            maxlen=_CHANGES_KEPT)
        self._signature: tuple[Any, ...] | None = None
        self._raw_trials: dict[str, Any] = {}
        self._refreshes = 0
        self._watched: dict[str, float] = {}
        """Trial id -> when (monotonic) a page last asked for its curve or its page."""
        self.policy = LineTail(None if self.local else fs, join(path, POLICY_FILE))
        self.policy_rows: list[dict[str, Any]] = []
        self._cache: dict[Any, Any] = {}

    # ------------------------------------------------------------------ versions
    @property
    def version(self) -> str:
        return f"{self._epoch}.{self.generation}"

    def changed_since(self, generation: int) -> list[str] | None:
        """Trial ids changed after `generation`, sorted; None when that is too long ago to tell."""
        if generation >= self.generation:
            return []
        ids: set[str] = set()
        oldest = self._changes[0][0] if self._changes else self.generation + 1
        if generation + 1 < oldest:
            return None
        for number, changed in self._changes:
            if number > generation:
                ids |= changed
        return sorted(ids)

    def cached(self, key: Any, build: Any) -> Any:
        """`build()`, computed once per version (importance, sorted orders, metric names)."""
        entry = self._cache.get(key)
        if entry is not None and entry[0] == self.generation:
            return entry[1]
        value = build()
        self._cache[key] = (self.generation, value)
        return value

    def _bump(self, changed: set[str]) -> None:
        self.generation += 1
        self._changes.append((self.generation, frozenset(changed)))
        self._cache.clear()

    # ------------------------------------------------------------------ refresh
    def refresh(self) -> bool:
        """Reload what changed on storage (see the module docstring); whether anything did.

        Reading happens outside `lock` (requests keep answering from what is there); what
        was read is then taken in under it. Refreshes themselves run one at a time.
        """
        with self._refreshing:
            changed: set[str] = set()
            state = self._read_state()
            live = self._liveness(state)
            with self.lock:
                visible = state is not None and self._take_state(state, changed)
                if live != self.live:
                    self.live = live
                    visible = True
                visible = visible or (state is None and self._unreadable_news)
                self._unreadable_news = False
                following = self.opened and self.saved is not None
                views = list(self.trials.values()) if following else []
            polls = []
            policy = None
            if following:
                polls = self._poll_trials(views)
                policy = self.policy.poll()
            with self.lock:
                for view, found in polls:
                    if view.apply(found):
                        changed.add(view.trial_id)
                if policy is not None and policy.changed:
                    if policy.reset:
                        self.policy_rows = []
                    self.policy_rows.extend(policy.rows)
                    visible = True
                if visible or changed:
                    self._bump(changed)
                    return True
                return False

    def watch(self, trial_ids: list[str]) -> None:
        """A page shows these trials' curves or pages: poll them on every refresh for a while
        (`WATCH_S`)."""
        now = time.monotonic()
        with self.lock:
            for trial_id in trial_ids:
                self._watched[trial_id] = now

    def poll_watched(self) -> bool:
        """Poll only the files of trials a page shows (`watch`), between refreshes, so that
        what a page shows looks live within a fraction of a second; whether any changed. On a
        local disk only (elsewhere each poll is a request), and not while a refresh runs."""
        if not (self.local and self.opened):
            return False
        watched = self._due_anyway()
        if not watched or not self._refreshing.acquire(blocking=False):
            return False
        try:
            with self.lock:
                views = [self.trials[t] for t in watched if t in self.trials]
            polls = [(view, view.tail.poll()) for view in views if view.tail is not None]
            with self.lock:
                changed = {view.trial_id for view, found in polls if view.apply(found)}
                if changed:
                    self._bump(changed)
            return bool(changed)
        finally:
            self._refreshing.release()

    def _due_anyway(self) -> set[str]:
        """Trials polled on every refresh whatever their status: those a page watches."""
        cutoff = time.monotonic() - WATCH_S
        with self.lock:
            for trial_id in [t for t, at in self._watched.items() if at < cutoff]:
                del self._watched[trial_id]
            return set(self._watched)

    def _poll_trials(self, views: list[TrialView]) -> list[tuple[TrialView, Poll]]:
        """Poll the trials' result.json files that are due (see `_SWEEP`, `watch`)."""
        first = self._refreshes == 0
        turn = self._refreshes % _SWEEP
        self._refreshes += 1
        watched = self._due_anyway()
        tailed: list[tuple[TrialView, LineTail]] = [
            (v, v.tail) for v in views if v.tail is not None]
        if self.local:
            every = first or len(tailed) < _POLL_ALL_BELOW
            return [(v, tail.poll()) for i, (v, tail) in enumerate(tailed)
                    if every or i % _SWEEP == turn or v.status in _HOT
                    or v.trial_id in watched]
        if first or turn == 0:
            # One listing of the experiment tells every file's size (a request per thousand
            # files) instead of one request per trial.
            sizes = self._listed_sizes()
            if sizes is not None:
                return [(v, tail.poll(sizes.get(tail.path, -1))) for v, tail in tailed]
            return [(v, tail.poll()) for v, tail in tailed]
        return [(v, tail.poll()) for v, tail in tailed
                if v.status in _HOT or v.trial_id in watched]

    def _listed_sizes(self) -> dict[str, int] | None:
        """Path -> size of every result.json under the experiment; None if listing failed."""
        suffix = "/" + RESULT_FILE
        try:
            self.fs.invalidate_cache(self.path)
            found = self.fs.find(self.path, detail=True)
        except OSError as exc:
            logger.warning("dashboard: cannot list %s: %s", self.url, exc)
            return None
        strip = self.fs._strip_protocol
        return {strip(str(path)): int(info.get("size") or 0) for path, info in found.items()
                if str(path).endswith(suffix)}

    def open(self) -> None:
        """Start following the trials' files (the first call reads them whole)."""
        with self._opening:  # a second request waits until the first read is done
            if self.opened:
                return
            with self._refreshing:
                self.opened = True
                self._refreshes = 0
            self.refresh()

    def _slot_signature(self) -> tuple[Any, ...]:
        parts: list[Any] = []
        for slot in SLOTS:
            path = join(self.path, slot)
            try:
                if self.local:
                    st = os.stat(path)
                    parts.append((st.st_size, st.st_mtime_ns, st.st_ino))
                else:
                    info = self.fs.info(path)
                    parts.append((info.get("size"), str(info.get("LastModified") or
                                                        info.get("mtime") or info.get("ETag"))))
            except FileNotFoundError:
                parts.append(None)
        return tuple(parts)

    def _liveness(self, new_state: dict[str, Any] | None) -> bool | None:
        """For a state that says "running": whether the run holding the experiment's lock is
        still alive (`tuner.state._lock_holder`: its process on this host, its heartbeat from
        another); None for other states. A crashed run leaves "running" and a dead lock."""
        state = new_state if new_state is not None else (
            self.saved.state if self.saved is not None else None)
        if state is None or state["experiment"].get("status") != "running":
            return None
        from tuner.state._lock import LOCK_FILE, STALE_AFTER_S
        from tuner.state._lock_holder import LockHolder, this_machine

        try:
            if self.local:
                with open(os.path.join(self.path, LOCK_FILE), "rb") as file:
                    data = file.read()
            else:
                data = self.fs.cat_file(join(self.path, LOCK_FILE))
            holder = LockHolder.from_bytes(data)
        except (OSError, ValueError):
            return False  # no lock (or none readable): nobody runs it
        reason = holder.stale_reason(now=time.time(), stale_after_s=STALE_AFTER_S,
                                     here=this_machine())
        return reason is None

    def _read_state(self) -> dict[str, Any] | None:
        """The newest state if a slot changed since the last read, else None."""
        if not self.local:
            self.fs.invalidate_cache(self.path)
        signature = self._slot_signature()
        if signature == self._signature:
            return None
        self._signature = signature
        try:
            state = load_state(self.fs, self.path)
        except (RestoreError, OSError) as exc:
            logger.warning("dashboard: cannot read %s: %s", self.url, exc)
            with self.lock:
                self._unreadable_news = self.problem != str(exc)
                self.problem = str(exc)
            return None
        return state

    def _take_state(self, state: dict[str, Any], changed: set[str]) -> bool:
        """Use `state` from now on; trials whose saved entry changed go into `changed`."""
        self.problem = None
        self.saved = SavedExperiment(self.url, self.fs, self.path, state)
        modes = self.objective_modes()
        fs = None if self.local else self.fs
        raw = {str(t["trial_id"]): t for t in state["trials"]}
        views: dict[str, TrialView] = {}
        for trial in self.saved.trials():
            old = self.trials.get(trial.trial_id)
            if old is not None and self._raw_trials.get(trial.trial_id) == raw[trial.trial_id]:
                views[trial.trial_id] = old
                continue
            changed.add(trial.trial_id)
            if old is not None:
                old.set_trial(trial)
                views[trial.trial_id] = old
            else:
                readable = self._root_real is None or inside(self._root_real, trial.path)
                views[trial.trial_id] = TrialView(trial, fs, readable=readable, modes=modes)
        changed.update(set(self.trials) - set(views))
        self.trials = views
        self._raw_trials = raw
        return True

    # ------------------------------------------------------------------ what the state says
    @property
    def state(self) -> dict[str, Any]:
        return dict(self.saved.state) if self.saved is not None else {}

    def objectives(self) -> list[str]:
        metric = self.saved.metric if self.saved is not None else None
        if metric is None:
            return []
        return [metric] if isinstance(metric, str) else [str(m) for m in metric]

    def objective_modes(self) -> dict[str, str]:
        """Each objective with its mode, for the objectives whose mode is known."""
        names = self.objectives()
        mode = self.saved.mode if self.saved is not None else None
        if mode is None:
            return {}
        modes = [mode] * len(names) if isinstance(mode, str) else list(mode)
        return {n: str(m) for n, m in zip(names, modes, strict=False) if m in ("min", "max")}

    def summary(self) -> dict[str, Any]:
        """The experiments list's entry (see docs/dashboard.md)."""
        with self.lock:
            saved = self.saved
            if saved is None:
                return {"id": self.id, "name": os.path.basename(self.path.rstrip("/")),
                        "status": "unreadable", "counts": dict.fromkeys(STATUSES, 0),
                        "trials": 0, "metric": None, "mode": None, "best": None,
                        "started": None, "duration_s": None, "problem": self.problem,
                        "live": None, "url": self.url, "version": self.version}
            counts = dict.fromkeys(STATUSES, 0)
            for view in self.trials.values():
                counts[view.status] = counts.get(view.status, 0) + 1
            experiment = saved.state["experiment"]
            return {
                "id": self.id,
                "name": saved.name,
                "status": saved.status,
                "counts": counts,
                "trials": len(self.trials),
                "metric": saved.metric,
                "mode": saved.mode,
                "best": self.best_value(),
                "started": self.started(),
                "duration_s": float(experiment.get("elapsed_s") or 0.0),
                "problem": self.problem,
                "live": self.live,
                "url": self.url,
                "version": self.version,
            }

    def best_value(self) -> float | None:
        """The best last value of the one objective over the trials; None with several."""
        modes = self.objective_modes()
        if len(self.objectives()) != 1 or len(modes) != 1:
            return None
        (metric, mode), = modes.items()
        values = [v.last.get(metric) for v in self.trials.values()]
        numbers = [float(x) for x in values if is_number(x)]
        if not numbers:
            return None
        return min(numbers) if mode == "min" else max(numbers)

    def started(self) -> float | None:
        """When the first trial was created (the first status change in the state)."""
        times = [v.trial.history[0].time for v in self.trials.values() if v.trial.history]
        if times:
            return min(times)
        if self.saved is None:
            return None
        experiment = self.saved.state["experiment"]
        saved_at = self.saved.state.get("saved_at")
        if is_number(saved_at):
            return float(saved_at) - float(experiment.get("elapsed_s") or 0.0)
        return None
