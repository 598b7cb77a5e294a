"""Streaming readers: span files (any framing :mod:`._records` knows) to :class:`SpanRecord` s.

The one gate every input record passes, for ``report`` and ``tail`` alike. Nothing is kept between
records, so memory does not grow with the file; a record longer than :data:`MAX_LINE_BYTES` is
skipped without being held in memory. A record that is not JSON (or nested too deep to decode) or
binary OTLP, or holds no span we can read, is skipped and counted in :class:`ReadStats` (with the
first few reasons), never raised: a half-written last line is normal for a file still being written.

Lines are decoded with ``orjson`` when it is installed (the ``report`` extra), else with the standard
library; a line ``orjson`` refuses (a lone surrogate, an integer past 64 bits) is tried again with the
standard library, so both read the same spans.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

from otel_llm_cost.report._inputs import input_files
from otel_llm_cost.report._jsonl import jsonl_span
from otel_llm_cost.report._otlp import otlp_proto_spans, otlp_spans
from otel_llm_cost.report._records import GZIP_MAGIC, SpanFile, UnsupportedInput, open_records
from otel_llm_cost.report._span import MalformedSpan, SpanRecord

try:
    from orjson import loads as _fast_loads
except ImportError:  # pragma: no cover - the report extra is not installed
    _fast_loads = json.loads

_GZIP_MAGIC: Final = GZIP_MAGIC
# Longer lines are skipped: far above a Collector batch, far below what would strain memory.
MAX_LINE_BYTES: Final = 64 * 1024 * 1024
# One Collector file exporter in every pipeline writes these to the same file: they hold no spans.
_OTHER_SIGNALS: Final = ("resourceMetrics", "resourceLogs", "resourceProfiles")
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


def parse_line(line: bytes | str, where: str, stats: ReadStats) -> Iterator[SpanRecord]:
    """The spans one line holds (ours: one; OTLP/JSON: any number, OTLP metrics or logs: none);
    problems go to ``stats``."""
    found = line_spans(line, where, stats)
    return iter((found,) if isinstance(found, SpanRecord) else found)


def line_spans(
    line: bytes | str, where: str | tuple[str, int], stats: ReadStats
) -> SpanRecord | list[SpanRecord]:
    """:func:`parse_line`, without a generator per line: the one span of our JSONL line as it is, else
    a list. ``where`` may be ``(path, line number)``, formatted only when a problem is counted."""
    obj = _decode(line)
    if isinstance(obj, str):
        stats.skip(_place(where), obj)
        return []
    if not isinstance(obj, dict):
        stats.skip(_place(where), "not a JSON object")
        return []
    try:
        if "resourceSpans" in obj:
            spans: list[SpanRecord] = []
            for item in otlp_spans(obj):
                if isinstance(item, MalformedSpan):
                    stats.skip(_place(where), str(item))
                else:
                    stats.spans += 1
                    spans.append(item)
            return spans
        span = jsonl_span(obj)
    except MalformedSpan as exc:
        if not any(key in obj for key in _OTHER_SIGNALS):
            stats.skip(_place(where), str(exc))
        return []
    except RecursionError:
        stats.skip(_place(where), "nested too deep")
        return []
    stats.spans += 1
    return span


def _place(where: str | tuple[str, int]) -> str:
    return where if isinstance(where, str) else f"{where[0]}:{where[1]}"


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


def read_spans(
    paths: Iterable[str | Path],
    stats: ReadStats,
    progress: Callable[[int], None] | None = None,
) -> Iterator[SpanRecord]:
    """Every span in ``paths``, in file order (a directory's files oldest first, see :mod:`._inputs`).

    Args:
        paths: span files or directories of them: JSON lines (plain, gzip or zstd) or the Collector
            file exporter's length-prefixed records.
        stats: filled with counts of lines, spans and malformed lines.
        progress: called now and then with the number of (compressed) bytes read so far, all files.

    Raises:
        OSError: a file cannot be opened (before any of its spans is yielded).
        UnsupportedInput: a file needs an optional package that is not installed.
    """
    done = 0
    for path in input_files(paths):
        stats.files.append(path)
        with open_records(path, stats.max_line_bytes) as source:
            yield from _read_records(source, path, stats, _Ticker(progress, done, source.raw))
            done += source.raw.tell()
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


def _read_records(source: SpanFile, path: str, stats: ReadStats, tick: _Ticker) -> Iterator[SpanRecord]:
    number = 0
    try:
        for number, record in enumerate(source.records, 1):
            stats.lines += 1
            if record is None:
                stats.oversized += 1
                stats.skip(f"{path}:{number}", f"line longer than {stats.max_line_bytes:,} bytes")
            elif isinstance(record, MalformedSpan):
                stats.skip(f"{path}:{number}", str(record))
            elif source.framed and record[:1] != b"{":  # binary OTLP starts 0x0a, which is whitespace
                yield from _parse_proto(record, path, f"{path}:{number}", stats)
            elif record and not record.isspace():  # as ``record.strip()``, without copying the line
                found = line_spans(record, (path, number), stats)
                if isinstance(found, SpanRecord):
                    yield found
                else:
                    yield from found
            if number % PROGRESS_EVERY == 0:
                tick()
    except (EOFError, OSError, zlib.error) as exc:
        # A file cut short (still being written, or copied half-way) ends the file, not the report.
        stats.skip(f"{path}:{number + 1}", f"unreadable compressed data ({exc})")


def _parse_proto(record: bytes, path: str, where: str, stats: ReadStats) -> Iterator[SpanRecord]:
    """The spans of one binary OTLP record (the file exporter's ``format: proto``)."""
    try:
        items = otlp_proto_spans(record)
    except ModuleNotFoundError:
        raise UnsupportedInput(
            f"{path} is binary OTLP (the file exporter's `format: proto`): "
            "pip install opentelemetry-proto, or set `format: json` in the collector"
        ) from None
    except MalformedSpan as exc:
        stats.skip(where, str(exc))
        return
    for item in items:
        if isinstance(item, MalformedSpan):
            stats.skip(where, str(item))
        else:
            stats.spans += 1
            yield item
