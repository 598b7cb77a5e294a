"""The OpenTelemetry Collector's file exporter output: OTLP/JSON, one ``{"resourceSpans": [...]}`` per line
(or per length-prefixed record), and binary OTLP (its ``format: proto``).

OTLP/JSON differs from protobuf's default JSON mapping in ways that matter here: ids are hex strings
(some older writers used base64), 64-bit integers (times, ``intValue``) are strings, enums may be
numbers or names, and attribute values are tagged unions (``{"stringValue": ...}``). The Collector's
JSON marshaler (``pdata/internal/generated_proto_*.go``) omits empty and zero fields (``parentSpanId``
of a root, ``kind`` 0, ``status.code`` 0), always writes ``resource``, ``scope`` and ``status``, and
adds ``schemaUrl``, ``flags`` and ``dropped*Count``, which the report does not need.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from typing import Any

from otel_llm_cost.report._span import MAX_ID_CHARS, MalformedSpan, SpanRecord, checked_times

_STATUS_ERROR = (2, "STATUS_CODE_ERROR", "ERROR")


def otlp_spans(obj: dict[str, Any]) -> Iterator[SpanRecord | MalformedSpan]:
    """Every span of one OTLP/JSON ``TracesData`` object; an unreadable span is yielded as the error.

    Raises:
        MalformedSpan: the envelope itself (resource or scope lists) has the wrong shape.
    """
    resource_spans = obj.get("resourceSpans")
    if not isinstance(resource_spans, list):
        raise MalformedSpan("resourceSpans must be a list")
    for entry in resource_spans:
        if not isinstance(entry, dict):
            raise MalformedSpan("resourceSpans entries must be objects")
        resource = entry.get("resource") or {}
        resource_attrs = key_values(resource.get("attributes")) if isinstance(resource, dict) else {}
        scopes = entry.get("scopeSpans") or entry.get("instrumentationLibrarySpans") or []
        if not isinstance(scopes, list):
            raise MalformedSpan("scopeSpans must be a list")
        for scope in scopes:
            spans = scope.get("spans") if isinstance(scope, dict) else None
            for span in spans if isinstance(spans, list) else ():
                try:
                    yield _span(span, resource_attrs)
                except MalformedSpan as exc:
                    yield exc


def otlp_proto_spans(data: bytes) -> Iterator[SpanRecord | MalformedSpan]:
    """Every span of one binary OTLP ``TracesData`` (or ``ExportTraceServiceRequest``: the same bytes).

    Decoded by ``opentelemetry-proto`` into protobuf's JSON mapping (base64 ids, enum names), which
    :func:`otlp_spans` reads too.

    Raises:
        ModuleNotFoundError: ``opentelemetry-proto`` is not installed.
        MalformedSpan: ``data`` is not binary OTLP.
    """
    from google.protobuf.json_format import MessageToDict
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.trace.v1.trace_pb2 import TracesData

    try:
        message = TracesData.FromString(data)
    except (DecodeError, RecursionError):
        raise MalformedSpan("neither JSON nor binary OTLP") from None
    return otlp_spans({"resourceSpans": [], **MessageToDict(message)})


def _span(span: object, resource: dict[str, Any]) -> SpanRecord:
    if not isinstance(span, dict):
        raise MalformedSpan("a span must be an object")
    try:
        start = int(span["startTimeUnixNano"])
        end = int(span["endTimeUnixNano"])
    except (KeyError, TypeError, ValueError, OverflowError):
        raise MalformedSpan("span without valid start/end times") from None
    start, end = checked_times(start, end)
    trace_id = _id(span.get("traceId"), 16)
    span_id = _id(span.get("spanId"), 8)
    if trace_id is None or span_id is None:
        raise MalformedSpan("span without valid traceId/spanId")
    status = span.get("status")
    code = status.get("code") if isinstance(status, dict) else None
    name = span.get("name")
    return SpanRecord(
        trace_id,
        span_id,
        _id(span.get("parentSpanId"), 8),
        name if isinstance(name, str) else "",
        start,
        end,
        code in _STATUS_ERROR,
        key_values(span.get("attributes")),
        resource,
    )


def _id(value: object, size: int) -> str | None:
    """A hex id from OTLP/JSON's hex, or the base64 of protobuf's default mapping; ``None`` if empty."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ID_CHARS:
        return None
    if len(value) == 2 * size:
        try:
            bytes.fromhex(value)
        except ValueError:
            pass
        else:
            return value.lower()
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) == size else None


def key_values(items: object) -> dict[str, Any]:
    """OTLP ``KeyValue`` list to a plain dict; entries that are not key/value objects are skipped."""
    if not isinstance(items, list):
        return {}
    result: dict[str, Any] = {}
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("key"), str):
            result[item["key"]] = any_value(item.get("value"))
    return result


def any_value(value: object) -> Any:
    """OTLP ``AnyValue`` to a plain value (``intValue`` arrives as a string in OTLP/JSON)."""
    if not isinstance(value, dict) or not value:
        return None
    kind, inner = next(iter(value.items()))
    if kind == "stringValue" or kind == "boolValue":
        return inner
    if kind == "intValue":
        return _int(inner)
    if kind == "doubleValue":
        return _float(inner)
    if kind == "arrayValue":
        values = inner.get("values") if isinstance(inner, dict) else None
        return [any_value(v) for v in values] if isinstance(values, list) else []
    if kind == "kvlistValue":
        return key_values(inner.get("values") if isinstance(inner, dict) else None)
    return inner if kind == "bytesValue" else None


def _int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return None


def _float(value: object) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
