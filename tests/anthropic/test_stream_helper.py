"""The ``messages.stream(...)`` helper: every way of reading it gives one span with the recorded usage."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest
from claude_replay import (
    BETA_STREAM,
    CACHED_STREAM,
    TOOLS_STREAM,
    expected_token_attributes,
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


def _kwargs(messages: Any, interaction: Any) -> dict[str, Any]:
    return kwargs_for(messages.stream, request(interaction, stream=None))


def _assert_completed(exporter: Any, message: Any, request_id: str | None = None) -> None:
    span = only_span(exporter)
    attributes = span.attributes
    assert token_attributes(span) == expected_token_attributes(message.usage.to_dict())
    assert attributes[attr.LLM_COST_STREAM_OUTCOME] == attr.STREAM_COMPLETED
    assert attributes[attr.GEN_AI_REQUEST_STREAM] is True
    assert attributes[attr.GEN_AI_RESPONSE_ID] == message.id
    assert attributes[attr.GEN_AI_RESPONSE_FINISH_REASONS] == (message.stop_reason,)
    assert attributes[attr.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] > 0
    if request_id:
        assert attributes[attr.ANTHROPIC_REQUEST_ID] == request_id


def test_text_stream_then_final_message(instrumented: Any, exporter: Any) -> None:
    interaction = recorded(CACHED_STREAM, 0)
    with ReplayServer([interaction], prefix="") as server:
        client = anthropic_client(server)
        with client.messages.stream(**_kwargs(client.messages, interaction)) as stream:
            text = "".join(stream.text_stream)
            message = stream.get_final_message()
    assert text == message.content[0].text
    _assert_completed(exporter, message, "req_01JSeMFFxkhLG8Rhohx2omtN")
    assert only_span(exporter).attributes[attr.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS] == 1165


def test_iterating_events(instrumented: Any, exporter: Any) -> None:
    interaction = recorded(TOOLS_STREAM)
    with ReplayServer([interaction], prefix="") as server:
        client = anthropic_client(server)
        with client.messages.stream(**_kwargs(client.messages, interaction)) as stream:
            kinds = {event.type for event in stream}
            message = stream.current_message_snapshot
    assert {"message_start", "content_block_delta", "message_stop"} <= kinds
    assert message.stop_reason == "tool_use"
    _assert_completed(exporter, message)


def test_get_final_message_alone(instrumented: Any, exporter: Any) -> None:
    interaction = recorded(CACHED_STREAM, 1)
    with ReplayServer([interaction], prefix="") as server:
        client = anthropic_client(server)
        with client.messages.stream(**_kwargs(client.messages, interaction)) as stream:
            message = stream.get_final_message()
    _assert_completed(exporter, message)
    assert only_span(exporter).attributes[attr.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 1165


async def test_async_text_stream(instrumented: Any, exporter: Any) -> None:
    interaction = recorded(CACHED_STREAM, 0)
    with ReplayServer([interaction], prefix="") as server:
        client = anthropic_client(server, is_async=True)
        async with client.messages.stream(**_kwargs(client.messages, interaction)) as stream:
            chunks = [text async for text in stream.text_stream]
            message = await stream.get_final_message()
    assert "".join(chunks) == message.content[0].text
    _assert_completed(exporter, message, "req_01JSeMFFxkhLG8Rhohx2omtN")


def test_beta_stream_helper(instrumented: Any, exporter: Any) -> None:
    interaction = recorded(BETA_STREAM)
    with ReplayServer([interaction], prefix="") as server:
        client = anthropic_client(server)
        with client.beta.messages.stream(**_kwargs(client.beta.messages, interaction)) as stream:
            message = stream.get_final_message()
    _assert_completed(exporter, message, "req_011CYwShQdcef2bQtkaLi4z7")


async def test_async_beta_stream_helper(instrumented: Any, exporter: Any) -> None:
    interaction = recorded(BETA_STREAM)
    with ReplayServer([interaction], prefix="") as server:
        client = anthropic_client(server, is_async=True)
        async with client.beta.messages.stream(**_kwargs(client.beta.messages, interaction)) as stream:
            message = await stream.get_final_message()
    _assert_completed(exporter, message)


def test_no_span_until_the_helper_is_entered(instrumented: Any, exporter: Any) -> None:
    client = anthropic.Anthropic(api_key="k", base_url="http://127.0.0.1:9", max_retries=0)
    manager = client.messages.stream(model="m", max_tokens=8, messages=[{"role": "user", "content": "Hi"}])
    assert manager is not None
    del manager
    assert exporter.get_finished_spans() == ()


def test_error_on_entering_the_helper(instrumented: Any, exporter: Any) -> None:
    body = {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}
    with ReplayServer([json_response(body, status=401)], prefix="") as server:
        client = anthropic_client(server)
        manager = client.messages.stream(
            model="m", max_tokens=8, messages=[{"role": "user", "content": "Hi"}]
        )
        with pytest.raises(anthropic.AuthenticationError), manager:
            pytest.fail("the helper must not be entered")
    span = only_span(exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[attr.ERROR_TYPE].endswith("AuthenticationError")
