"""Complete lines appended to a growing file, surviving truncation and rotation.

Polled, not event-driven: portable, and a short interval is cheap. A file replaced under the same
name (log rotation: a new inode) is read to its end first, then the new one from its start; a file
that shrinks (truncated in place) is read again from its start. A last line without its newline is
held back until the writer finishes it; at a rotation the writer may finish it in the old file a
moment later, so the old file is watched for a few more polls before its last line is taken as is.
A line longer than ``max_line_bytes`` is dropped as it streams in (never held whole) and counted.
Only regular files are followed: a FIFO or a device is refused, never opened in a way that blocks.
"""

from __future__ import annotations

import os
import stat
from typing import IO, Final

from otel_llm_cost.report._read import MAX_LINE_BYTES

_CHUNK: Final = 1 << 20
# Polls to wait for the writer to finish a half-written line in a file rotated away.
_ROTATION_POLLS: Final = 8


class Follower:
    """Reads what was appended to ``path`` since the last :meth:`poll`.

    Args:
        path: the file to follow (it may not exist yet).
        from_start: read what the file already holds; otherwise start at its current end.
    """

    def __init__(self, path: str, from_start: bool = False, max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self.path = path
        self.max_line_bytes = max_line_bytes
        self.oversized = 0
        self._skip_existing = not from_start
        self._file: IO[bytes] | None = None
        self._inode: int | None = None
        self._partial = b""
        self._dropping = False  # inside a line too long to keep: drop up to its newline
        self._rotation_polls = 0

    def poll(self) -> list[bytes]:
        """The complete lines available now (at most about 1 MiB of them per call)."""
        if self._file is None and not self._open():
            return []
        assert self._file is not None
        try:
            found: os.stat_result | None = os.stat(self.path)
        except OSError:
            found = None  # rotated away and not yet recreated: finish the old file
        if found is not None and found.st_ino != self._inode:
            lines = self._take(self._file.read(_CHUNK))
            if lines:
                return lines  # drain the rotated file before switching
            if self._partial and self._rotation_polls < _ROTATION_POLLS:
                self._rotation_polls += 1
                return []  # the writer may still finish its line in the old file
            last = self.flush()
            self.close()
            return last + (self.poll() if self._open() else [])
        if found is not None and found.st_size < self._file.tell():
            self._file.seek(0)
            self._partial = b""
            self._dropping = False
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
            # Non-blocking: opening a FIFO must not wait for a writer; it is then refused below.
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        except OSError:
            self._skip_existing = False  # not there yet: all it will hold is new
            return False
        found = os.fstat(fd)
        if not stat.S_ISREG(found.st_mode):
            os.close(fd)
            raise ValueError(f"not a regular file: {self.path}")
        self._file = os.fdopen(fd, "rb")
        self._inode = found.st_ino
        if self._skip_existing:
            self._file.seek(0, os.SEEK_END)
            self._skip_existing = False  # only the first file: a rotated-in file is new
        self._partial = b""
        self._dropping = False
        self._rotation_polls = 0
        return True

    def _take(self, data: bytes) -> list[bytes]:
        if not data:
            return []
        lines = data.split(b"\n")
        tail = lines.pop()
        if self._dropping:
            if not lines:
                return []  # still inside the oversized line
            lines.pop(0)  # its end
            self._dropping = False
        elif lines:
            lines[0] = self._partial + lines[0]
        else:
            tail = self._partial + tail
        self._partial = tail
        if len(tail) > self.max_line_bytes:
            self._partial, self._dropping = b"", True
            self.oversized += 1
        kept = []
        for line in lines:
            if len(line) > self.max_line_bytes:
                self.oversized += 1
            elif line.strip():
                kept.append(line)
        return kept
