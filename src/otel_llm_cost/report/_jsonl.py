"""Our own JSON-lines span format (``otel-llm-cost/span/v1``): one span object per line."""

from __future__ import annotations

from typing import Any, Final

from otel_llm_cost.report._span import (
    MAX_ID_CHARS,
    MAX_TIME_NS,
    MalformedSpan,
    SpanRecord,
    checked_id,
    checked_times,
)

SCHEMA: Final = "otel-llm-cost/span/v1"


def jsonl_span(obj: dict[str, Any]) -> SpanRecord:
    """The span one line of our JSONL holds.

    Raises:
        MalformedSpan: a required field is missing or of the wrong type.
    """
    try:
        trace_id = obj["trace_id"]
        span_id = obj["span_id"]
        start = obj["start_time_unix_nano"]
        end = obj["end_time_unix_nano"]
        attributes = obj.get("attributes") or {}
        status = obj.get("status") or {}
    except (KeyError, TypeError) as exc:
        raise MalformedSpan(f"missing field {exc}") from None
    # The checks of checked_id and checked_times, inline for the common case (once per span).
    if type(trace_id) is not str or not 0 < len(trace_id) <= MAX_ID_CHARS:
        trace_id = checked_id(trace_id, "trace_id")
    if type(span_id) is not str or not 0 < len(span_id) <= MAX_ID_CHARS:
        span_id = checked_id(span_id, "span_id")
    if type(start) is not int or type(end) is not int:
        raise MalformedSpan("start/end times must be integers")
    if not (0 <= start <= MAX_TIME_NS and 0 <= end <= MAX_TIME_NS):
        start, end = checked_times(start, end)
    if not isinstance(attributes, dict):
        raise MalformedSpan("attributes must be an object")
    parent = obj.get("parent_span_id")
    name = obj.get("name")
    error = isinstance(status, dict) and status.get("code") == "ERROR"
    return SpanRecord(
        trace_id,
        span_id,
        parent if isinstance(parent, str) and 0 < len(parent) <= MAX_ID_CHARS else None,
        name if isinstance(name, str) else "",
        start,
        end,
        error,
        attributes,
        _resource(obj.get("resource")),
    )


def _resource(resource: object) -> dict[str, Any]:
    # Accept both {"service.name": ...} and {"attributes": {...}} shapes.
    if not isinstance(resource, dict):
        return {}
    inner = resource.get("attributes")
    return inner if isinstance(inner, dict) else resource
