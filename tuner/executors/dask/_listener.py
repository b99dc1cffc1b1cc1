"""The driver's end of `DaskExecutor`: a listener that slots on Dask workers connect back to.

Connections are accepted (and authenticated with a random key) on a background thread and handed
to the event loop's thread through a queue; a socket pair wakes the loop's `wait()`, which blocks
in `multiprocessing.connection.wait` on the wake socket and every slot connection together.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import queue
import secrets
import socket
import threading
from multiprocessing.connection import Connection, Listener

from tuner.executors.dask._slot import no_delay

logger = logging.getLogger(__name__)


class SlotListener:
    """Accepts authenticated connections from slots on a background thread.

    Args:
        host: The address to listen on; Dask workers must be able to reach it.
    """

    def __init__(self, host: str) -> None:
        self.authkey = secrets.token_bytes(32)
        self._listener = Listener((host, 0), authkey=self.authkey)
        self.address: tuple[str, int] = self._listener.address
        self._accepted: queue.SimpleQueue[Connection] = queue.SimpleQueue()
        self.wake_r, self._wake_w = socket.socketpair()
        self.wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._closing = False
        self._thread = threading.Thread(target=self._accept_loop, name="tuner-dask-listener")
        self._thread.daemon = True
        self._thread.start()

    def _accept_loop(self) -> None:
        while not self._closing:
            try:
                conn = self._listener.accept()
            except multiprocessing.AuthenticationError:
                logger.warning("rejected a connection to %s:%d with a wrong key", *self.address)
                continue
            except (EOFError, ConnectionError):
                continue  # the peer went away during the handshake
            except OSError:
                return  # the listener was closed
            if self._closing:
                conn.close()
                return
            no_delay(conn)
            self._accepted.put(conn)
            self.wake()

    def wake(self) -> None:
        """Make a `wait()` on `wake_r` return (from any thread)."""
        # OSError: closed, or already full of wake-ups; either way `wait()` returns.
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")

    def take(self) -> list[Connection]:
        """Clear the wake-ups and return the connections accepted since the last call."""
        try:
            while self.wake_r.recv(4096):
                pass
        except OSError:
            pass  # nothing left to read
        conns = []
        while True:
            try:
                conns.append(self._accepted.get_nowait())
            except queue.Empty:
                return conns

    def close(self) -> None:
        self._closing = True
        # accept() is not woken by closing its socket on every platform: connect to it (a bare
        # connection: the handshake fails and the thread sees `_closing`).
        with contextlib.suppress(OSError):
            socket.create_connection(self.address, timeout=1.0).close()
        self._thread.join(timeout=5.0)
        self._listener.close()
        for conn in self.take():
            conn.close()
        self.wake_r.close()
        self._wake_w.close()

