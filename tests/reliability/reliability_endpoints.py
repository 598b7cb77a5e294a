"""Dead OTLP collectors on loopback: a port that refuses connections, and one that accepts and reads but
never answers (a black hole).

    with BlackHole() as hole:
        OTLPSpanExporter(endpoint=f"http://127.0.0.1:{hole.port}/v1/traces")
    port = refused_port()
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading


def refused_port() -> int:
    """A loopback port nothing listens on (bound, then closed): connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BlackHole:
    """Accepts every connection and reads whatever arrives, never writes a byte. A context manager.

    Attributes:
        accepted: connections accepted so far.
        received: bytes read so far.
    """

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.setblocking(False)
        self._wake_r, self._wake_w = socket.socketpair()
        self._conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._loop, name="otlp-black-hole", daemon=True)
        self.accepted = 0
        self.received = 0

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    def __enter__(self) -> BlackHole:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop, and cut every connection (a client stuck on one sees it fail at once). Idempotent."""
        if not self._thread.is_alive():
            return
        self._wake_w.send(b"x")
        self._thread.join(timeout=10)
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        for sock in (self._listener, self._wake_r, self._wake_w):
            sock.close()

    def _loop(self) -> None:
        with selectors.DefaultSelector() as sel:
            sel.register(self._listener, selectors.EVENT_READ)
            sel.register(self._wake_r, selectors.EVENT_READ)
            while True:
                for key, _ in sel.select():
                    if key.fileobj is self._wake_r:
                        return
                    if key.fileobj is self._listener:
                        self._accept(sel)
                    else:
                        self._read(sel, key.fileobj)  # type: ignore[arg-type]

    def _accept(self, sel: selectors.BaseSelector) -> None:
        with contextlib.suppress(BlockingIOError):
            conn, _ = self._listener.accept()
            conn.setblocking(False)
            self._conns.append(conn)
            self.accepted += 1
            sel.register(conn, selectors.EVENT_READ)

    def _read(self, sel: selectors.BaseSelector, conn: socket.socket) -> None:
        try:
            data = conn.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            self.received += len(data)
        else:
            sel.unregister(conn)  # the client gave up; keep the socket until close()
