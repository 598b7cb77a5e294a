"""The Responses API: ``create`` (streamed or not), ``.stream()`` and ``.parse()``, sync and async."""

from __future__ import annotations

from typing import Any

import pytest
from oai_helpers import client, details, expected_tokens, find_recording, one_span, token_attributes
from openai.types.responses import Response

import sdk_calls
from replay import Interaction, ReplayServer


def _recorded_stream() -> tuple[Interaction, dict[str, Any]]:
    return find_recording(lambda e: e["api"] == "responses" and e["stream"] and e["usage"] is not None)


def _recorded_reasoning() -> tuple[Interaction, dict[str, Any]]:
    return find_recording(
        lambda e: (
            e["api"] == "responses"
            and not e["stream"]
            and details(e["usage"], "output_tokens_details", "reasoning_tokens") > 0
        )
    )


async def _maybe_await(value: Any, is_async: bool) -> Any:
    return await value if is_async else value


@pytest.mark.parametrize("is_async", [False, True])
async def test_create_records_reasoning_usage(is_async: bool, instrument: Any, exporter: Any) -> None:
    interaction, entry = _recorded_reasoning()
    request = interaction.request_json()
    with ReplayServer([interaction]) as srv:
        sdk_client = sdk_calls.openai_client(srv, is_async=is_async)
        method = sdk_client.responses.create
        response = await _maybe_await(method(**sdk_calls.kwargs_for(method, request)), is_async)
    assert isinstance(response, Response)
    span = one_span(exporter)
    assert span.name == f"chat {request['model']}"
    assert span.attributes["gen_ai.operation.name"] == "chat"
    assert span.attributes["gen_ai.response.id"] == response.id
    assert span.attributes["gen_ai.response.model"] == response.model
    assert token_attributes(span) == expected_tokens("responses", entry["usage"])
    assert span.attributes["gen_ai.usage.reasoning.output_tokens"] > 0


@pytest.mark.parametrize("is_async", [False, True])
async def test_create_stream_takes_usage_from_the_completed_event(
    is_async: bool, instrument: Any, exporter: Any
) -> None:
    interaction, entry = _recorded_stream()
    with ReplayServer([interaction]) as srv:
        sdk_client = sdk_calls.openai_client(srv, is_async=is_async)
        stream = await _maybe_await(
            sdk_client.responses.create(model="gpt-4o-mini", input="Hi", stream=True), is_async
        )
        events = [e async for e in stream] if is_async else list(stream)
    assert events[-1].type in ("response.completed", "response.incomplete")
    assert "stream_options" not in srv.requests[0].json()  # Responses streams always end with usage
    span = one_span(exporter)
    assert token_attributes(span) == expected_tokens("responses", entry["usage"])
    assert span.attributes["llm_cost.stream.outcome"] == "completed"
    assert span.attributes["gen_ai.request.stream"] is True
    assert span.attributes["gen_ai.response.time_to_first_chunk"] > 0


@pytest.mark.parametrize("is_async", [False, True])
async def test_stream_helper_gives_one_span(is_async: bool, instrument: Any, exporter: Any) -> None:
    interaction, entry = _recorded_stream()
    with ReplayServer([interaction]) as srv:
        responses = sdk_calls.openai_client(srv, is_async=is_async).responses
        if is_async:
            async with responses.stream(model="gpt-4o-mini", input="Hi", max_output_tokens=99) as stream:
                final = await stream.get_final_response()
        else:
            with responses.stream(model="gpt-4o-mini", input="Hi", max_output_tokens=99) as stream:
                final = stream.get_final_response()
    assert final.usage is not None
    span = one_span(exporter)
    assert span.attributes["gen_ai.request.max_tokens"] == 99
    assert token_attributes(span) == expected_tokens("responses", entry["usage"])
    assert span.attributes["llm_cost.stream.outcome"] == "completed"


@pytest.mark.parametrize("is_async", [False, True])
async def test_parse_gives_one_span(is_async: bool, instrument: Any, exporter: Any) -> None:
    interaction, entry = _recorded_reasoning()
    with ReplayServer([interaction]) as srv:
        responses = client(srv, is_async=is_async).responses
        parsed = await _maybe_await(responses.parse(model="o4-mini", input="Hi", temperature=0.5), is_async)
    assert parsed.output_parsed is None
    span = one_span(exporter)
    assert span.attributes["gen_ai.request.temperature"] == 0.5
    assert token_attributes(span) == expected_tokens("responses", entry["usage"])


def test_stream_left_early_is_estimated(instrument: Any, exporter: Any) -> None:
    interaction, _ = _recorded_stream()
    with ReplayServer([interaction]) as srv:
        stream = client(srv).responses.create(model="gpt-4o-mini", input="Say something long", stream=True)
        for event in stream:
            if event.type == "response.output_text.delta":
                break
        stream.close()
    span = one_span(exporter)
    assert span.attributes["llm_cost.stream.outcome"] == "abandoned"
    assert span.attributes["llm_cost.usage.source"] == "estimated"
    assert span.attributes["gen_ai.usage.input_tokens"] > 0
    assert span.attributes["gen_ai.usage.output_tokens"] > 0
