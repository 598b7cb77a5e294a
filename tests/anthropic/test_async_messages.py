"""Asynchronous ``messages.create`` / ``beta.messages.create``, replayed through the real SDK."""

from __future__ import annotations

import asyncio
from typing import Any

import anthropic
import pytest
from claude_replay import (
    BETA,
    CACHED,
    CACHED_STREAM,
    expected_token_attributes,
    llm_spans,
    only_span,
    recorded,
    request,
    token_attributes,
)
from opentelemetry.trace import StatusCode

from otel_llm_cost import attributes as attr
from replay import ReplayServer, json_response
from sdk_calls import anthropic_client, kwargs_for

pytestmark = pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")


async def _create(client: Any, body: dict[str, Any], beta: bool = False) -> Any:
    method = client.beta.messages.create if beta else client.messages.create
    return await method(**kwargs_for(method, body))


async def test_async_create(instrumented: Any, exporter: Any) -> None:
    interaction = recorded(CACHED, 1)
    with ReplayServer([interaction], prefix="") as server:
        message = await _create(anthropic_client(server, is_async=True), request(interaction))
    span = only_span(exporter)
    assert token_attributes(span) == expected_token_attributes(message.usage.to_dict())
    assert span.attributes[attr.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 1163
    assert span.attributes[attr.GEN_AI_RESPONSE_ID] == message.id
    assert span.attributes[attr.LLM_COST_COST_STATUS] == attr.COST_PRICED


async def test_async_create_stream(instrumented: Any, exporter: Any) -> None:
    interaction = recorded(CACHED_STREAM, 1)
    with ReplayServer([interaction], prefix="") as server:
        stream = await _create(anthropic_client(server, is_async=True), request(interaction))
        events = [event async for event in stream]
    attributes = only_span(exporter).attributes
    assert attributes[attr.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 1165
    assert attributes[attr.GEN_AI_USAGE_OUTPUT_TOKENS] == events[-2].usage.output_tokens
    assert attributes[attr.LLM_COST_STREAM_OUTCOME] == attr.STREAM_COMPLETED
    assert attributes[attr.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] > 0


async def test_async_beta_create(instrumented: Any, exporter: Any) -> None:
    interaction = recorded(BETA)
    with ReplayServer([interaction], prefix="") as server:
        message = await _create(anthropic_client(server, is_async=True), request(interaction), beta=True)
    assert token_attributes(only_span(exporter)) == expected_token_attributes(message.usage.to_dict())


async def test_concurrent_calls_keep_their_own_spans(instrumented: Any, exporter: Any) -> None:
    """Two calls in flight at once: each span gets its own usage (the SDK span folding is per task)."""
    interactions = [recorded(CACHED, 0), recorded(CACHED, 1)]
    with ReplayServer(interactions, prefix="") as server:
        client = anthropic_client(server, is_async=True)
        messages = await asyncio.gather(*(_create(client, request(i)) for i in interactions))
    spans = {span.attributes[attr.GEN_AI_RESPONSE_ID]: span for span in llm_spans(exporter)}
    assert len(spans) == 2 == len(exporter.get_finished_spans())
    for message in messages:
        assert token_attributes(spans[message.id]) == expected_token_attributes(message.usage.to_dict())


async def test_async_api_error(instrumented: Any, exporter: Any) -> None:
    body = {"type": "error", "error": {"type": "not_found_error", "message": "model: nope"}}
    with ReplayServer([json_response(body, status=404)], prefix="") as server:
        client = anthropic_client(server, is_async=True)
        with pytest.raises(anthropic.NotFoundError):
            await client.messages.create(
                model="nope", max_tokens=8, messages=[{"role": "user", "content": "Hi"}]
            )
    span = only_span(exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[attr.ERROR_TYPE].endswith("NotFoundError")
    assert span.attributes[attr.GEN_AI_REQUEST_MODEL] == "nope"
