"""A total deadline for each budget-store operation, enforced at the socket.

A socket timeout bounds each read, not an operation: a Redis that answers one byte every 0.2 s never
trips a 0.25 s read timeout, and a reply of 30 bytes then takes 6 s, inside the application's LLM
call. :class:`DeadlineConnection` (a ``redis.Connection`` for ``redis://`` URLs) gives its socket a
per-thread deadline: within :func:`deadline`, every send and receive waits at most the time left, and
fails with ``socket.timeout`` once it is spent, which redis-py reports as a ``TimeoutError`` (a store
error for the guard).
"""

from __future__ import annotations

import contextlib
import functools
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["DeadlineSocket", "deadline", "deadline_connection_class"]

_local = threading.local()


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Every socket operation of a :class:`DeadlineSocket` in this thread ends within ``seconds``."""
    previous = getattr(_local, "until", None)
    _local.until = time.monotonic() + seconds
    try:
        yield
    finally:
        _local.until = previous


class DeadlineSocket(socket.socket):
    """A TCP socket whose blocking calls respect the thread's :func:`deadline` (none: as usual)."""

    def _bounded(self, call: Callable[..., Any], *args: Any) -> Any:
        until = getattr(_local, "until", None)
        if until is None:
            return call(*args)
        left = until - time.monotonic()
        if left <= 0:
            raise TimeoutError("budget store operation deadline passed")
        current = self.gettimeout()
        if current is not None and current <= left:
            return call(*args)
        self.settimeout(left)
        try:
            return call(*args)
        finally:
            self.settimeout(current)

    def recv(self, *args: Any) -> bytes:  # type: ignore[override]
        return self._bounded(super().recv, *args)  # type: ignore[no-any-return]

    def recv_into(self, *args: Any) -> int:  # type: ignore[override]
        return self._bounded(super().recv_into, *args)  # type: ignore[no-any-return]

    def sendall(self, *args: Any) -> None:  # type: ignore[override]
        # sendall's timeout is per chunk too; a slow reader on the other side is bounded the same way.
        return self._bounded(super().sendall, *args)  # type: ignore[no-any-return]


@functools.cache
def deadline_connection_class() -> type:
    """``redis.Connection`` whose sockets are :class:`DeadlineSocket` (built lazily: redis is optional)."""
    import redis

    class DeadlineConnection(redis.Connection):  # type: ignore[misc]
        def _connect(self) -> socket.socket:
            plain = super()._connect()
            timeout = plain.gettimeout()
            sock = DeadlineSocket(plain.family, plain.type, plain.proto, fileno=plain.detach())
            sock.settimeout(timeout)
            return sock

    return DeadlineConnection
