"""Spans as JSON lines: the embedded default's file, and the input of ``otel-llm-cost report``.

One JSON object per line per span, schema ``otel-llm-cost/span/v1`` (see ``docs/jsonl-schema.md``)::

    exporter = JsonlSpanExporter("spans.jsonl")
    provider.add_span_processor(BatchSpanProcessor(exporter))

Under ``opentelemetry-instrument`` the exporter is also reachable by name:
``OTEL_TRACES_EXPORTER=llm_cost_jsonl`` (alone, or beside ``otlp``/``console``).
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from otel_llm_cost._fork import call_after_fork, reinit_locks_after_fork
from otel_llm_cost._log import log_once, logger
from otel_llm_cost._scrub import scrub
from otel_llm_cost.environment_variables import OTEL_LLM_COST_JSONL_PATH
from otel_llm_cost.export._encode import to_json_line

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan

__all__ = ["DEFAULT_JSONL_PATH", "SCHEMA", "JsonlSpanExporter", "encode_span", "jsonl_path_from_env"]

SCHEMA = "otel-llm-cost/span/v1"
"""The ``schema`` field of every line; bumped only for incompatible changes."""

_INHERITED: list[IO[str]] = []  # file objects a forked child inherited: kept, never used or closed

DEFAULT_JSONL_PATH = "otel-llm-cost-spans.jsonl"
"""Where spans go when ``OTEL_LLM_COST_JSONL_PATH`` is not set: relative to the working directory."""


def jsonl_path_from_env() -> Path:
    """The file named by ``OTEL_LLM_COST_JSONL_PATH``, else :data:`DEFAULT_JSONL_PATH`."""
    return Path(os.environ.get(OTEL_LLM_COST_JSONL_PATH, "").strip() or DEFAULT_JSONL_PATH)


def _json_value(value: Any) -> Any:
    # Attribute values are str, bool, int, float or homogeneous sequences of them (tuples once frozen).
    if type(value) is str:
        return scrub(value)
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [_json_value(item) for item in value]
    if isinstance(value, bytes):
        return scrub(value.decode("utf-8", "replace"))
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN or infinity; null keeps the line parseable everywhere
    return value


def _json_attributes(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    return {key: _json_value(value) for key, value in (attributes or {}).items()}


def encode_span(span: ReadableSpan) -> dict[str, Any]:
    """One span as a JSON-ready dict of schema :data:`SCHEMA`."""
    context = span.get_span_context()
    parent = span.parent
    scope = span.instrumentation_scope
    return {
        "schema": SCHEMA,
        "trace_id": format(context.trace_id, "032x") if context else None,
        "span_id": format(context.span_id, "016x") if context else None,
        "parent_span_id": format(parent.span_id, "016x") if parent is not None else None,
        "name": _json_value(span.name),
        "kind": span.kind.name,
        "start_time_unix_nano": span.start_time,
        "end_time_unix_nano": span.end_time,
        "status": {"code": span.status.status_code.name, "description": _json_value(span.status.description)},
        "attributes": _json_attributes(span.attributes),
        "events": [
            {
                "name": _json_value(e.name),
                "time_unix_nano": e.timestamp,
                "attributes": _json_attributes(e.attributes),
            }
            for e in span.events
        ],
        "resource": _json_attributes(span.resource.attributes),
        "scope": {"name": scope.name if scope else "", "version": scope.version if scope else None},
    }


def _encode_lines(spans: Sequence[ReadableSpan]) -> str:
    """Each span on its own line: one span that cannot be read costs that span only, logged once."""
    lines = []
    for span in spans:
        try:
            lines.append(to_json_line(encode_span(span)) + "\n")
        except Exception:
            log_once("jsonl.encode", "otel-llm-cost: could not encode a span as a JSON line", exc_info=True)
    return "".join(lines)


class JsonlSpanExporter(SpanExporter):
    """Appends one JSON line per span to a file (opened on first export) or to a stream you pass.

    Never raises into the application: a failed write is logged once and reported as
    ``SpanExportResult.FAILURE``. Shutting down twice is harmless; after shutdown, exports are dropped.

    Args:
        path: The file to append to; default ``OTEL_LLM_COST_JSONL_PATH``, else
            :data:`DEFAULT_JSONL_PATH`. Parent directories are created.
        stream: Write here instead of a file (``sys.stdout``, say); it is flushed but never closed.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, stream: IO[str] | None = None) -> None:
        self._path = Path(path) if path is not None else jsonl_path_from_env()
        self._stream = stream
        self._owns_stream = stream is None
        self._lock = threading.Lock()
        reinit_locks_after_fork(self, "_lock")
        self._shut_down = False
        self._torn = False  # the last write failed: the file may end in a partial line
        call_after_fork(self, "_after_fork")

    @property
    def path(self) -> Path | None:
        """The file written, or ``None`` when writing to a caller's stream."""
        return self._path if self._owns_stream else None

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = _encode_lines(spans)
        with self._lock:
            if self._shut_down:
                logger.warning("otel-llm-cost: JSONL exporter shut down, dropping %d spans", len(spans))
                return SpanExportResult.FAILURE
            try:
                stream = self._open()
                # After a failed write (disk full) the file may end in half a line: start a fresh one.
                stream.write("\n" + lines if self._torn else lines)
                stream.flush()
                self._torn = False
            except Exception:
                self._torn = True
                log_once("jsonl.write", "otel-llm-cost: could not write to %s", self._path, exc_info=True)
                return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def _after_fork(self) -> None:
        """In a forked child: leave the inherited file object alone (another thread of the parent may
        have held its internal buffer lock) and open the file afresh on the next export. The inherited
        object is kept, never closed: closing it would wait on that lock. A stream you passed is yours."""
        if self._owns_stream and self._stream is not None:
            _INHERITED.append(self._stream)
            self._stream = None

    def _open(self) -> IO[str]:
        if self._stream is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._stream = self._path.open("a", encoding="utf-8")
        return self._stream

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        with self._lock:
            try:
                if self._stream is not None and not self._shut_down:
                    self._stream.flush()
            except Exception:
                log_once("jsonl.flush", "otel-llm-cost: could not flush %s", self._path, exc_info=True)
                return False
        return True

    def shutdown(self) -> None:
        with self._lock:
            if self._shut_down:
                return
            self._shut_down = True
            stream, self._stream = self._stream, None
            try:
                if stream is not None and self._owns_stream:
                    stream.close()
                elif stream is not None:
                    stream.flush()
            except Exception:
                log_once("jsonl.close", "otel-llm-cost: could not close %s", self._path, exc_info=True)
