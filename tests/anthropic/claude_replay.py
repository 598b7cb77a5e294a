"""Helpers shared by the Anthropic tests: recordings by name, span lookups, expected attributes."""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_llm_cost import attributes as attr
from replay import Interaction, load

# anthropic 1.x and later trace their own calls; 0.x do not.
SDK_HAS_TRACING = importlib.util.find_spec("anthropic._tracing") is not None

_TRACELOOP = "traceloop+openllmetry/packages/opentelemetry-instrumentation-anthropic/tests/cassettes/"
_OPENINFERENCE = (
    "Arize-ai+openinference/python/instrumentation/openinference-instrumentation-anthropic/tests/"
    "openinference/anthropic/cassettes/test_instrumentor/"
)
# Two exchanges each: the first writes the prompt cache, the second reads it.
CACHED = _TRACELOOP + "test_prompt_caching/test_anthropic_prompt_caching_legacy.yaml"
CACHED_STREAM = _TRACELOOP + "test_prompt_caching/test_anthropic_prompt_caching_stream_legacy.yaml"
THINKING_STREAM = _TRACELOOP + "test_thinking/test_anthropic_thinking_streaming_legacy.yaml"
TOOLS_STREAM = _TRACELOOP + "test_messages/test_anthropic_tools_streaming_legacy.yaml"
BETA = _OPENINFERENCE + "test_anthropic_instrumentation_beta_messages_create.yaml"
_LOGFIRE = "pydantic+logfire/tests/otel_integrations/cassettes/test_anthropic/"
BETA_STREAM = _LOGFIRE + "test_sync_messages_beta_stream.yaml"
PARSE = _OPENINFERENCE + "test_anthropic_instrumentation_messages_parse.yaml"


def recorded(path: str, index: int = 0) -> Interaction:
    return load(path)[index]


def request(interaction: Interaction, **changes: Any) -> dict[str, Any]:
    """The recorded request body, changed; ``stream=None`` removes the key."""
    body = dict(interaction.request_json())
    for key, value in changes.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return body


def llm_spans(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if attr.GEN_AI_OPERATION_NAME in (s.attributes or {})]


def only_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    """The one span the provider received (and it is an LLM span)."""
    spans = exporter.get_finished_spans()
    assert len(spans) == 1, [s.name for s in spans]
    assert attr.GEN_AI_OPERATION_NAME in (spans[0].attributes or {})
    return spans[0]


def expected_token_attributes(usage: Mapping[str, Any]) -> dict[str, int]:
    """What a recorded Anthropic usage block must become on the span (inclusive input convention)."""
    read = usage.get("cache_read_input_tokens") or 0
    write = usage.get("cache_creation_input_tokens") or 0
    expected = {
        attr.GEN_AI_USAGE_INPUT_TOKENS: usage["input_tokens"] + read + write,
        attr.GEN_AI_USAGE_OUTPUT_TOKENS: usage["output_tokens"],
    }
    if read:
        expected[attr.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = read
    if write:
        expected[attr.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS] = write
    split = usage.get("cache_creation")
    if isinstance(split, Mapping):
        expected[attr.LLM_COST_USAGE_CACHE_WRITE_5M] = split.get("ephemeral_5m_input_tokens", 0)
        expected[attr.LLM_COST_USAGE_CACHE_WRITE_1H] = split.get("ephemeral_1h_input_tokens", 0)
    elif write:  # a block from before 1-hour caching: every write was a 5-minute one (#17)
        expected[attr.LLM_COST_USAGE_CACHE_WRITE_5M] = write
    thinking = (usage.get("output_tokens_details") or {}).get("thinking_tokens")
    if thinking:
        expected[attr.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = thinking
    return expected


def token_attributes(span: ReadableSpan) -> dict[str, Any]:
    names = (
        attr.GEN_AI_USAGE_INPUT_TOKENS,
        attr.GEN_AI_USAGE_OUTPUT_TOKENS,
        attr.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
        attr.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS,
        attr.LLM_COST_USAGE_CACHE_WRITE_5M,
        attr.LLM_COST_USAGE_CACHE_WRITE_1H,
        attr.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
    )
    attributes = span.attributes or {}
    return {name: attributes[name] for name in names if name in attributes}
