"""The driver's book of `DaskExecutor`'s slots: which trial each runs, and what its connections say.

A slot is a Dask task holding a worker process (`tuner.executors.dask._slot.run_slot`). The
table keeps, for each slot, the two connections it opens back to the driver, the trial it runs,
and the deadlines by which it must connect or stop; it turns what arrives on those connections
into the executor's events, and ends slots: at once (`fail`: its worker process is killed) or
cleanly (`retire`). Where a new slot goes, and the cluster it goes to, is `DaskExecutor`'s.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from tuner._clock import Clock
from tuner.executors._processes import (
    Drained,
    MessageReader,
    PackedSpec,
    describe_exit,
    drain,
    worker_died,
)
from tuner.executors._protocol import Control, EndEvent, EndReason, ErrorEvent, Event, Shutdown
from tuner.executors.dask._cluster import WorkerInfo
from tuner.executors.dask._slot import ChildExited, ChildStarted, Role, SlotHello

if TYPE_CHECKING:
    from distributed import Future

logger = logging.getLogger(__name__)

_EXIT_CODE_WAIT_S = 2.0  # how long to wait for a dead worker process's exit code
_LOST_FOR_S = 60.0  # how long a worker that lost a slot gets no new slots


@dataclass
class Slot:
    """One slot: its Dask task, its connections once it called back, and its trial, if any."""

    token: str
    worker: WorkerInfo
    demand: dict[str, float]
    gpu_indices: tuple[int, ...]
    future: Future
    started_at: float
    ctl: Connection | None = None
    data: Connection | None = None
    reader: MessageReader | None = None
    """Reads `data` (made when it connects)."""
    hostname: str = ""
    gpu_ids: tuple[str, ...] = ()
    pid: int | None = None
    exit_code: int | None = None
    outbox: list[Any] = field(default_factory=list)
    registered: set[str] = field(default_factory=set)
    trial_id: str | None = None
    stopping: Control | None = None
    stop_deadline: float = 0.0

    @property
    def connected(self) -> bool:
        return self.ctl is not None and self.data is not None


class SlotTable:
    """The slots of one `DaskExecutor`, and the connections that slots opened back to it.

    `DaskExecutor.setup` sets `clock` and `reuse` (whether a slot runs another trial after one
    that ended well) for each experiment; the slots outlive it, for the next one.

    Args:
        clock: Times the deadlines.
        stop_grace_s: How long a trial may take to stop or pause before its slot is failed.
        start_timeout_s: How long a slot may take to connect back before its trial fails.
    """

    def __init__(self, clock: Clock, *, stop_grace_s: float, start_timeout_s: float) -> None:
        self.clock = clock
        self.reuse = True
        self._stop_grace_s = stop_grace_s
        self._start_timeout_s = start_timeout_s
        self.slots: list[Slot] = []
        self.by_trial: dict[str, Slot] = {}
        self._by_token: dict[str, Slot] = {}
        self.unidentified: list[Connection] = []
        """Connections accepted from slots that have not yet said which slot they are."""
        self._lost: dict[str, float] = {}

    # ------------------------------------------------------------------ bookkeeping
    def add(self, slot: Slot) -> None:
        self.slots.append(slot)
        self._by_token[slot.token] = slot

    def idle(self, demand: Mapping[str, float]) -> Slot | None:
        """A slot without a trial for `demand`, one already connected back if there is one."""
        idle = [s for s in self.slots if s.trial_id is None and s.demand == demand]
        return next((s for s in idle if s.connected), idle[0] if idle else None)

    def assign(self, slot: Slot, trial_id: str) -> None:
        slot.trial_id, slot.stopping = trial_id, None
        slot.started_at = self.clock.monotonic()
        self.by_trial[trial_id] = slot

    def recently_lost(self, now: float) -> set[str]:
        """The Dask workers that lost a slot within `_LOST_FOR_S`: they get no new slots."""
        self._lost = {a: t for a, t in self._lost.items() if now - t < _LOST_FOR_S}
        return set(self._lost)

    def send(self, slot: Slot, message: Any) -> None:
        """Send `message` to `slot`'s worker process, or keep it until the slot connects."""
        if not slot.connected:
            slot.outbox.append(message)
            return
        assert slot.data is not None
        if isinstance(message, PackedSpec):
            message = message.with_gpu_ids(slot.gpu_ids)
        with contextlib.suppress(OSError):  # the slot died: wait() hears of it
            slot.data.send(message)

    def control(self, trial_id: str, control: Control) -> list[Event]:
        """Pass `control` to the trial; the events of a trial that this ends at once."""
        slot = self.by_trial.get(trial_id)
        if slot is None or slot.stopping is not None:
            return []
        if not slot.connected and control.ends_trial:
            # Not started yet: nothing to save, so it ends here (its slot stays for the next).
            slot.outbox.clear()
            slot.registered.clear()
            self.release(slot)
            reason = EndReason.PAUSED if control is Control.PAUSE else EndReason.STOPPED
            return [EndEvent(trial_id, reason)]
        self.send(slot, control)
        if control.ends_trial:
            slot.stopping = control
            slot.stop_deadline = self.clock.monotonic() + self._stop_grace_s
        return []

    # ------------------------------------------------------------------ connections
    def next_deadline(self) -> float | None:
        """The earliest time by which a trial must stop or its slot connect back; None if none."""
        deadlines = [s.stop_deadline for s in self.slots if s.stopping is not None]
        deadlines += [s.started_at + self._start_timeout_s
                      for s in self.slots if s.trial_id is not None and not s.connected]
        return min(deadlines) if deadlines else None

    def connections(self) -> list[Connection]:
        """What `wait()` waits on: the unidentified connections, then those of every slot."""
        slots = [c for s in self.slots for c in (s.ctl, s.data) if c is not None]
        return [*self.unidentified, *slots]

    def read(self, ready: set[Any]) -> list[Event]:
        """Read the connections among `ready`: identify new ones, drain data, follow controls."""
        events: list[Event] = []
        hellos = [c for c in self.unidentified if c in ready]
        for conn in hellos:
            self._identify(conn)
        # A connection that was ready with its hello has been read: it is now a slot's own,
        # and reading it again here would block until the trial's first message.
        ready = ready.difference(hellos)
        for slot in [s for s in self.slots if s.data is not None and s.data in ready]:
            events += self._drain(slot)
        for slot in [s for s in self.slots if s.ctl is not None and s.ctl in ready]:
            events += self._read_control(slot)
        return events

    def check_futures(self) -> list[Event]:
        """Fail trials whose slot task ended (or never ran) before connecting back."""
        events: list[Event] = []
        for slot in [s for s in self.slots if not s.connected and s.future.done()]:
            try:
                exc = slot.future.exception(timeout=0)
                why = f"{type(exc).__name__}: {exc}" if exc is not None else "it returned early"
            except BaseException as cancelled:  # noqa: BLE001 - CancelledError and the like
                why = f"{type(cancelled).__name__}: {cancelled}"
            events += self.fail(slot, f"Dask worker {slot.worker.address} could not start its "
                                      f"trial slot ({why}); is tuner installed there?")
        return events

    def _identify(self, conn: Connection) -> None:
        self.unidentified.remove(conn)
        try:
            hello = conn.recv()
        except (EOFError, OSError):
            conn.close()
            return
        slot = self._by_token.get(hello.token) if isinstance(hello, SlotHello) else None
        if slot is None or (slot.ctl if hello.role is Role.CONTROL else slot.data) is not None:
            conn.close()  # a slot this executor gave up on (e.g. one Dask re-ran elsewhere)
            return
        if hello.role is Role.CONTROL:
            slot.ctl, slot.hostname, slot.gpu_ids = conn, hello.hostname, hello.gpu_ids
        else:
            slot.data, slot.reader = conn, MessageReader(conn)
        if slot.connected:
            outbox, slot.outbox = slot.outbox, []
            for message in outbox:
                self.send(slot, message)

    def _drain(self, slot: Slot) -> list[Event]:
        assert slot.reader is not None
        try:
            drained = drain(slot.reader, slot.trial_id)
        except OSError:
            drained = Drained([], ended=False, closed=True)
        events = drained.events
        if drained.ended:
            self.release(slot)
            # As in LocalExecutor: a failed trial may have damaged its process, and
            # without reuse no process runs a second trial.
            if not drained.closed and (isinstance(events[-1], ErrorEvent) or not self.reuse):
                self.retire(slot)
        if drained.closed:
            # What the trial sent before the connection closed counts; then the slot ends
            # (and fails its trial, if it still had one).
            self._await_exit_code(slot)
            if slot.exit_code is not None:
                why = (f"its worker process (pid {slot.pid}) on Dask worker "
                       f"{slot.worker.address} {describe_exit(slot.exit_code)}")
            else:
                why = self._lost_message(slot)
            return events + self.fail(slot, why)
        return events

    def _await_exit_code(self, slot: Slot) -> None:
        ctl = slot.ctl
        deadline = self.clock.monotonic() + _EXIT_CODE_WAIT_S
        while ctl is not None and slot.exit_code is None:
            left = deadline - self.clock.monotonic()
            if left <= 0 or not ctl.poll(left):
                return
            if not self._read_control_message(slot, ctl):
                return

    def _read_control_message(self, slot: Slot, ctl: Connection) -> bool:
        """Read one control message; False when the connection ended."""
        try:
            message = ctl.recv()
        except (EOFError, OSError):
            return False
        if isinstance(message, ChildStarted):
            slot.pid = message.pid
        elif isinstance(message, ChildExited):
            slot.exit_code = message.code
        return True

    def _read_control(self, slot: Slot) -> list[Event]:
        assert slot.ctl is not None
        while self._read_control_message(slot, slot.ctl):
            if not slot.ctl.poll():
                return []
        # The slot task ended: its worker process exited (the data connection tells how) or
        # the Dask worker is gone. Keep what the trial sent before, then end the slot.
        events: list[Event] = []
        while slot in self.slots and slot.data is not None and slot.data.poll():
            events += self._drain(slot)
        if slot in self.slots:
            events += self.fail(slot, self._lost_message(slot))
        return events

    def _lost_message(self, slot: Slot) -> str:
        self._lost[slot.worker.address] = self.clock.monotonic()
        host = f" (host {slot.hostname})" if slot.hostname else ""
        return f"its Dask worker {slot.worker.address}{host} died or lost its connection"

    # ------------------------------------------------------------------ ending slots
    def enforce_deadlines(self, listen_address: tuple[str, int] | None) -> list[Event]:
        """Fail the slots of trials that did not stop, or did not connect back, in time.

        Args:
            listen_address: Where slots connect back to, for the message of one that did not.
        """
        now = self.clock.monotonic()
        events: list[Event] = []
        for slot in list(self.slots):
            if slot.stopping is not None and now >= slot.stop_deadline:
                logger.warning(
                    "trial %s did not stop within %.0f s of being asked; killing its worker "
                    "process on %s", slot.trial_id, self._stop_grace_s, slot.worker.address,
                )
                events += self.fail(slot, "")
            elif (slot.trial_id is not None and not slot.connected
                  and now >= slot.started_at + self._start_timeout_s):
                assert listen_address is not None
                host, port = listen_address
                events += self.fail(slot, (
                    f"Dask worker {slot.worker.address} did not start its trial slot within "
                    f"{self._start_timeout_s:g} s: check that tuner is installed on the workers "
                    f"and that they can connect to {host}:{port} (DaskExecutor(listen_host=...)), "
                    "or raise DaskExecutor(start_timeout_s=...)"
                ))
        return events

    def fail(self, slot: Slot, why: str) -> list[Event]:
        """End `slot` at once (killing its worker process); the event that ends its trial."""
        trial_id, stopping = slot.trial_id, slot.stopping
        self.release(slot)
        self.discard(slot, cancel=True)
        if trial_id is None:
            return []
        if stopping is not None:
            reason = EndReason.PAUSED if stopping is Control.PAUSE else EndReason.STOPPED
            return [EndEvent(trial_id, reason)]
        return [worker_died(trial_id, why)]

    def release(self, slot: Slot) -> None:
        """Free `slot` of its trial; the slot stays, for the next one."""
        if slot.trial_id is not None:
            self.by_trial.pop(slot.trial_id, None)
        slot.trial_id, slot.stopping = None, None

    def discard(self, slot: Slot, *, cancel: bool) -> None:
        """Forget `slot`; closing its control connection makes its task kill the process."""
        if slot in self.slots:
            self.slots.remove(slot)
        self._by_token.pop(slot.token, None)
        for conn in (slot.ctl, slot.data):
            if conn is not None:
                conn.close()
        if cancel and not slot.future.done():
            slot.future.cancel()

    def retire(self, slot: Slot) -> None:
        """End an idle slot cleanly: its worker process exits, its task returns."""
        for conn in (slot.data, slot.ctl):
            if conn is not None:
                with contextlib.suppress(OSError):
                    conn.send(Shutdown())
        self.discard(slot, cancel=not slot.connected)

    def close(self) -> None:
        """Close the connections that never said which slot they are."""
        for conn in self.unidentified:
            conn.close()
        self.unidentified = []


__all__ = ["Slot", "SlotTable"]
