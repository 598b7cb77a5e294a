"""Starting an LLM span: request attributes where samplers can read them, and no dearer than that."""

from __future__ import annotations

from typing import TYPE_CHECKING

from opentelemetry.trace import SpanKind

from otel_llm_cost._sampling import decides_without_attributes
from otel_llm_cost._span_attributes import set_plain_attributes

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer
    from opentelemetry.util.types import AttributeValue


def start_span(tracer: Tracer, name: str, attributes: dict[str, AttributeValue]) -> Span:
    """Start an LLM span with its request attributes.

    The conventions ask for request attributes at start, so that samplers can read them. When the
    tracer's sampler decides without reading attributes (the default ``ParentBased(ALWAYS_ON)``,
    ``TraceIdRatioBased``...), the span starts without them and they are written right after through
    :func:`set_plain_attributes`, skipping the SDK's per-value cleaning at start (~1 µs per attribute, #20).
    The span then holds exactly the same attributes; only span processors' ``on_start`` no longer see
    them (they do with any other sampler).
    """
    if not decides_without_attributes(getattr(tracer, "sampler", None)):
        return tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attributes)
    span = tracer.start_span(name, kind=SpanKind.CLIENT)
    if span.is_recording():
        set_plain_attributes(span, attributes)
    return span
