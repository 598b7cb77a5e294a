"""Streaming readers: files (plain or gzip) to :class:`SpanRecord` s, one line at a time.

The one gate every input line passes, for ``report`` and ``tail`` alike. Nothing is kept between
lines, so memory does not grow with the file; a line longer than :data:`MAX_LINE_BYTES` is skipped
without being held in memory. A line that is not JSON (or nested too deep to decode), or holds no
span we can read, is skipped and counted in :class:`ReadStats` (with the first few reasons), never
raised: a half-written last line is normal for a file still being written.

Lines are decoded with ``orjson`` when it is installed (the ``report`` extra), else with the standard
library; a line ``orjson`` refuses (a lone surrogate, an integer past 64 bits) is tried again with the
standard library, so both read the same spans.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

from otel_llm_cost.report._jsonl import jsonl_span
from otel_llm_cost.report._otlp import otlp_spans
from otel_llm_cost.report._span import MalformedSpan, SpanRecord

try:
    from orjson import loads as _fast_loads
except ImportError:  # pragma: no cover - the report extra is not installed
    _fast_loads = json.loads

_GZIP_MAGIC: Final = b"\x1f\x8b"
# Longer lines are skipped: far above a Collector batch, far below what would strain memory.
MAX_LINE_BYTES: Final = 64 * 1024 * 1024
_SKIP_CHUNK: Final = 1 << 20
_MAX_EXAMPLES: Final = 5
# How many lines pass between two progress callbacks: keeps the callback off the per-line cost.
PROGRESS_EVERY: Final = 8192


@dataclass
class ReadStats:
    """What reading found, beyond the spans themselves."""

    files: list[str] = field(default_factory=list)
    lines: int = 0
    spans: int = 0
    malformed: int = 0
    oversized: int = 0
    split_traces: int = 0
    examples: list[str] = field(default_factory=list)
    max_line_bytes: int = MAX_LINE_BYTES

    def skip(self, where: str, reason: str) -> None:
        """Count one unreadable line or span, keeping the first few reasons."""
        self.malformed += 1
        if len(self.examples) < _MAX_EXAMPLES:
            self.examples.append(f"{where}: {reason}")


def open_binary(path: str | Path) -> IO[bytes]:
    """Open ``path`` for reading, decompressing when it starts with the gzip magic bytes."""
    raw = open(path, "rb")  # noqa: SIM115 - returned to the caller, who closes it
    if raw.peek(2)[:2] == _GZIP_MAGIC:
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    return raw


def parse_line(line: bytes | str, where: str, stats: ReadStats) -> Iterator[SpanRecord]:
    """The spans one line holds (ours: one; OTLP/JSON: any number); problems go to ``stats``."""
    obj = _decode(line)
    if isinstance(obj, str):
        stats.skip(where, obj)
        return
    if not isinstance(obj, dict):
        stats.skip(where, "not a JSON object")
        return
    try:
        if "resourceSpans" in obj:
            for item in otlp_spans(obj):
                if isinstance(item, MalformedSpan):
                    stats.skip(where, str(item))
                else:
                    stats.spans += 1
                    yield item
            return
        span = jsonl_span(obj)
    except MalformedSpan as exc:
        stats.skip(where, str(exc))
        return
    except RecursionError:
        stats.skip(where, "nested too deep")
        return
    stats.spans += 1
    yield span


def _decode(line: bytes | str) -> Any:
    """The JSON value of ``line``, or a ``str`` saying why it has none."""
    try:
        return _fast_loads(line)
    except (ValueError, RecursionError):
        pass
    try:
        return json.loads(line)
    except ValueError as exc:
        return f"not JSON ({exc.__class__.__name__})"
    except RecursionError:
        return "not JSON (nested too deep)"


def bounded_lines(stream: IO[bytes], limit: int = MAX_LINE_BYTES) -> Iterator[bytes | None]:
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


def read_spans(
    paths: Iterable[str | Path],
    stats: ReadStats,
    progress: Callable[[int], None] | None = None,
) -> Iterator[SpanRecord]:
    """Every span in ``paths``, in file order.

    Args:
        paths: files to read, plain or gzip.
        stats: filled with counts of lines, spans and malformed lines.
        progress: called now and then with the number of (compressed) bytes read so far, all files.

    Raises:
        OSError: a file cannot be opened (before any of its spans is yielded).
    """
    done = 0
    for path in paths:
        stats.files.append(str(path))
        with open_binary(path) as stream:
            raw = stream.fileobj if isinstance(stream, gzip.GzipFile) else stream  # type: ignore[attr-defined]
            yield from _read_stream(stream, str(path), stats, _Ticker(progress, done, raw))
            done += raw.tell()
        if progress is not None:
            progress(done)


class _Ticker:
    """Reports bytes read so far: those of earlier files plus the position in the current one."""

    def __init__(self, progress: Callable[[int], None] | None, offset: int, raw: IO[bytes]) -> None:
        self._progress = progress
        self._offset = offset
        self._raw = raw

    def __call__(self) -> None:
        if self._progress is not None:
            self._progress(self._offset + self._raw.tell())


def _read_stream(stream: IO[bytes], path: str, stats: ReadStats, tick: _Ticker) -> Iterator[SpanRecord]:
    number = 0
    try:
        for number, line in enumerate(bounded_lines(stream, stats.max_line_bytes), 1):
            stats.lines += 1
            if line is None:
                stats.oversized += 1
                stats.skip(f"{path}:{number}", f"line longer than {stats.max_line_bytes:,} bytes")
                continue
            if not line.strip():
                continue
            yield from parse_line(line, f"{path}:{number}", stats)
            if number % PROGRESS_EVERY == 0:
                tick()
    except (EOFError, OSError, zlib.error) as exc:
        # A gzip file cut short (still being written, or copied half-way) ends the file, not the report.
        stats.skip(f"{path}:{number + 1}", f"unreadable compressed data ({exc})")
