"""One finished span as the report sees it, whichever file format it came from."""

from __future__ import annotations

from typing import Any, Final, NamedTuple

# Times are unsigned 64-bit nanoseconds in OTLP; we also keep them inside what a datetime can show.
MAX_TIME_NS: Final = 2**63 - 1
# Ids are 32 / 16 hex digits; anything much longer is not an id (and would be held per open span).
MAX_ID_CHARS: Final = 64


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


def checked_times(start: int, end: int) -> tuple[int, int]:
    """``(start, end)`` if both are plausible nanosecond times.

    Raises:
        MalformedSpan: a time is negative or past 64 bits.
    """
    if not (0 <= start <= MAX_TIME_NS and 0 <= end <= MAX_TIME_NS):
        raise MalformedSpan("start/end times out of range")
    return start, end


def checked_id(value: object, what: str) -> str:
    """A span or trace id from our JSONL: a short string.

    Raises:
        MalformedSpan: not a string, empty or too long.
    """
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ID_CHARS:
        raise MalformedSpan(f"{what} must be a short string")
    return value
