"""Complete lines appended to a growing file, surviving truncation and rotation.

Polled, not event-driven: portable, and a short interval is cheap. A file replaced under the same
name (log rotation: a new inode) is read to its end first, then the new one from its start; a file
that shrinks (truncated in place) is read again from its start. A last line without its newline is
held back until the writer finishes it.
"""

from __future__ import annotations

import os
from typing import IO, Final

_CHUNK: Final = 1 << 20


class Follower:
    """Reads what was appended to ``path`` since the last :meth:`poll`.

    Args:
        path: the file to follow (it may not exist yet).
        from_start: read what the file already holds; otherwise start at its current end.
    """

    def __init__(self, path: str, from_start: bool = False) -> None:
        self.path = path
        self._skip_existing = not from_start
        self._file: IO[bytes] | None = None
        self._inode: int | None = None
        self._partial = b""

    def poll(self) -> list[bytes]:
        """The complete lines available now (at most about 1 MiB of them per call)."""
        if self._file is None and not self._open():
            return []
        assert self._file is not None
        try:
            stat = os.stat(self.path)
        except OSError:
            stat = None  # rotated away and not yet recreated: finish the old file
        if stat is not None and stat.st_ino != self._inode:
            lines = self._take(self._file.read(_CHUNK))
            if lines:
                return lines  # drain the rotated file before switching
            self.close()
            return self.poll() if self._open() else []
        if stat is not None and stat.st_size < self._file.tell():
            self._file.seek(0)
            self._partial = b""
        return self._take(self._file.read(_CHUNK))

    def flush(self) -> list[bytes]:
        """The held-back last line, if any, as complete (the writer is done)."""
        rest, self._partial = self._partial, b""
        return [rest] if rest.strip() else []

    def close(self) -> None:
        """Close the file being followed."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def _open(self) -> bool:
        try:
            self._file = open(self.path, "rb")  # noqa: SIM115 - kept open across polls
        except OSError:
            self._skip_existing = False  # not there yet: all it will hold is new
            return False
        self._inode = os.fstat(self._file.fileno()).st_ino
        if self._skip_existing:
            self._file.seek(0, os.SEEK_END)
            self._skip_existing = False  # only the first file: a rotated-in file is new
        self._partial = b""
        return True

    def _take(self, data: bytes) -> list[bytes]:
        if not data:
            return []
        data = self._partial + data
        lines = data.split(b"\n")
        self._partial = lines.pop()
        return [line for line in lines if line.strip()]
