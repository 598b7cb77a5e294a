"""One finished span as the report sees it, whichever file format it came from."""

from __future__ import annotations

from typing import Any, NamedTuple


class SpanRecord(NamedTuple):
    """A finished span, normalised (a tuple: one is built per span of a possibly huge file).

    Attributes:
        trace_id: 32 lower-case hex digits.
        span_id: 16 lower-case hex digits.
        parent_id: The parent's span id, or ``None`` for a root.
        name: The span name.
        start_ns: Start, wall clock, nanoseconds since the Unix epoch.
        end_ns: End, same clock.
        error: Whether the span's status is ``ERROR``.
        attributes: Span attributes, plain JSON values.
        resource: Resource attributes (``service.name``...).
    """

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    start_ns: int
    end_ns: int
    error: bool
    attributes: dict[str, Any]
    resource: dict[str, Any]


class MalformedSpan(ValueError):
    """A line or span that cannot be read; the reader counts it and moves on."""
