"""What a span file holds, record by record, whatever framing wrote it; told by content, not by name.

- JSON lines: our JSONL, or OTLP/JSON as the SDK's and the Collector's file exporters write it (one
  ``ExportTraceServiceRequest`` per line); plain, gzip, or a zstd stream (one or more frames).
- Length-prefixed records, as the Collector's file exporter writes them with ``format: proto`` or with
  ``compression: zstd``: a 4-byte big-endian length, then the record: binary OTLP, or one whole zstd
  frame of the OTLP/JSON or binary OTLP (contrib ``exporter/fileexporter``: ``file_writer.go``
  ``exportMessageAsBuffer``, ``marshaller.go``). Under that exporter's alpha feature gate
  ``exporter.file.nativeCompression`` (``compression_writer.go``) the file is a zstd stream instead,
  of JSON lines or of length-prefixed binary OTLP records.

Records are read one at a time: memory does not grow with the file. A record longer than the limit
is skipped without being held whole (yielded as ``None``). A file cut short (still being written)
ends with :class:`EOFError`; zstd needs the ``zstandard`` package (the ``report`` extra).
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

from otel_llm_cost.report._span import MalformedSpan

GZIP_MAGIC: Final = b"\x1f\x8b"
ZSTD_MAGIC: Final = b"\x28\xb5\x2f\xfd"
# Binary OTLP starts with field 1 (resource_spans), length-delimited: tag byte 0x0a.
_PROTO_FIRST: Final = 0x0A
_JSON_FIRST: Final = frozenset(b"{[ \t\r\n")
_SKIP_CHUNK: Final = 1 << 20


class UnsupportedInput(ValueError):
    """A span file this installation cannot read (a missing optional package); the message says why."""


def container(head: bytes) -> str:
    """How a file starting with ``head`` (8 bytes or more) is framed: ``gzip``, ``zstd``, ``framed``
    (length-prefixed records) or ``lines``."""
    if head[:2] == GZIP_MAGIC:
        return "gzip"
    if head[:4] == ZSTD_MAGIC:
        return "zstd"
    # A length below 2 GiB never starts with a JSON byte, so JSON lines are never taken for records.
    if len(head) > 4 and head[0] not in _JSON_FIRST and (head[4:8] == ZSTD_MAGIC or head[4] == _PROTO_FIRST):
        return "framed"
    return "lines"


def file_container(path: str | Path) -> str:
    """:func:`container` of the file at ``path``."""
    with open(path, "rb") as probe:
        return container(probe.read(8))


@dataclass
class SpanFile:
    """One open span file.

    Attributes:
        raw: the file itself (its position, in file bytes, is the reading progress).
        records: its records: a JSON line, or a length-prefixed record's payload (``None``: too long;
            :class:`MalformedSpan`: unreadable).
        framed: whether records are length-prefixed (each may be OTLP/JSON or binary OTLP).
    """

    raw: IO[bytes]
    records: Iterator[bytes | MalformedSpan | None]
    framed: bool


@contextmanager
def open_records(path: str | Path, limit: int) -> Iterator[SpanFile]:
    """Open ``path`` and read its records lazily, none longer than ``limit`` bytes.

    Raises:
        OSError: the file cannot be opened.
        UnsupportedInput: the file is zstd-compressed and ``zstandard`` is not installed.
    """
    with open(path, "rb") as raw, ExitStack() as stack:
        kind = container(raw.peek(8)[:8])
        stream: IO[bytes] = raw
        if kind == "gzip":
            stream = stack.enter_context(gzip.GzipFile(fileobj=raw, mode="rb"))  # type: ignore[arg-type]
        elif kind == "zstd":
            stream = stack.enter_context(io.BufferedReader(_ZstdStream(raw, path)))
        if stream is not raw:  # a zstd stream holds JSON lines, or length-prefixed binary OTLP
            try:
                kind = container(stream.peek(8)[:8])  # type: ignore[attr-defined]
            except (EOFError, OSError) as exc:  # damaged from the start: counted by the reader
                yield SpanFile(raw, _raise(exc), framed=False)
                return
        if kind == "framed":
            yield SpanFile(raw, framed_records(stream, limit, path), framed=True)
        else:
            yield SpanFile(raw, bounded_lines(stream, limit), framed=False)


def _raise(error: Exception) -> Iterator[bytes]:
    raise error
    yield b""  # a generator: the error comes with the first record


def bounded_lines(stream: IO[bytes], limit: int) -> Iterator[bytes | None]:
    """The lines of ``stream``; ``None`` in place of each line longer than ``limit`` bytes (never read
    into memory whole)."""
    readline = stream.readline
    while True:
        line = readline(limit)
        if not line:
            return
        if len(line) >= limit and not line.endswith(b"\n"):
            while True:  # the rest of the oversized line, a chunk at a time
                rest = readline(_SKIP_CHUNK)
                if not rest or rest.endswith(b"\n"):
                    break
            yield None
        else:
            yield line


def framed_records(stream: IO[bytes], limit: int, path: str | Path) -> Iterator[bytes | MalformedSpan | None]:
    """The payloads of length-prefixed records, zstd frames decompressed; ``None`` for one too long,
    the error for one that cannot be decompressed.

    Raises:
        EOFError: the file ends inside a record.
    """
    read = stream.read
    while header := read(4):
        if len(header) < 4:
            raise EOFError("the file ends inside a record's length")
        size = int.from_bytes(header, "big")
        if size > limit:
            _skip(stream, size)
            yield None
            continue
        body = read(size)
        if len(body) < size:
            raise EOFError("the file ends inside a record")
        yield _zstd_frame(body, limit, path) if body[:4] == ZSTD_MAGIC else body


def _skip(stream: IO[bytes], size: int) -> None:
    while size > 0:
        skipped = len(stream.read(min(size, _SKIP_CHUNK)))
        if not skipped:
            raise EOFError("the file ends inside a record")
        size -= skipped


def _zstd_frame(frame: bytes, limit: int, path: str | Path) -> bytes | MalformedSpan | None:
    """One zstd frame, decompressed; ``None`` if that is longer than ``limit`` (never held whole), the
    error if it cannot be decompressed."""
    zstd = _zstandard(path)
    chunks: list[bytes] = []
    total = 0
    try:
        with zstd.ZstdDecompressor().stream_reader(frame) as reader:
            while chunk := reader.read(_SKIP_CHUNK):
                total += len(chunk)
                if total > limit:
                    return None
                chunks.append(chunk)
    except zstd.ZstdError as exc:
        return MalformedSpan(f"unreadable zstd frame ({exc})")
    return b"".join(chunks)


def _zstandard(path: str | Path) -> Any:
    try:
        import zstandard
    except ModuleNotFoundError:
        raise UnsupportedInput(
            f"{path} is zstd-compressed (the file exporter's `compression: zstd`): "
            "pip install zstandard (or 'otel-llm-cost[report]')"
        ) from None
    return zstandard


class _ZstdStream(io.RawIOBase):
    """A zstd stream (all its frames) as a raw binary stream; corrupt or cut-short data reads as
    :class:`EOFError`."""

    def __init__(self, raw: IO[bytes], path: str | Path) -> None:
        super().__init__()
        self._zstd = _zstandard(path)
        self._reader = self._zstd.ZstdDecompressor().stream_reader(
            raw, read_across_frames=True, closefd=False
        )

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            return self._reader.readinto(buffer)
        except self._zstd.ZstdError as exc:
            raise EOFError(f"zstd: {exc}") from None

    def close(self) -> None:
        self._reader.close()
        super().close()
