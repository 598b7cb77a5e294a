"""``embeddings.create``, sync and async: usage, request attributes, errors."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from oai_helpers import client, expected_tokens, find_recording, one_span, token_attributes
from openai.types import CreateEmbeddingResponse
from opentelemetry.trace import StatusCode

import sdk_calls
from replay import ReplayServer, json_response


@pytest.mark.parametrize("is_async", [False, True])
async def test_create_records_input_tokens(is_async: bool, instrument: Any, exporter: Any) -> None:
    interaction, entry = find_recording(lambda e: e["api"] == "embeddings" and e["provider"] == "openai")
    with ReplayServer([interaction]) as srv:
        embeddings = client(srv, is_async=is_async).embeddings
        result = embeddings.create(model="text-embedding-3-small", input="hello", encoding_format="float")
        response = await result if is_async else result
    assert isinstance(response, CreateEmbeddingResponse)
    span = one_span(exporter)
    assert span.name == "embeddings text-embedding-3-small"
    assert span.attributes["gen_ai.operation.name"] == "embeddings"
    assert span.attributes["gen_ai.request.encoding_formats"] == ("float",)
    assert span.attributes["gen_ai.response.model"] == response.model
    assert token_attributes(span) == expected_tokens("embeddings", entry["usage"])
    assert "gen_ai.request.stream" not in span.attributes


def test_server_without_usage_is_estimated(instrument: Any, exporter: Any) -> None:
    body = {
        "object": "list",
        "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}],
        "model": "m",
    }
    with ReplayServer([json_response(body)]) as srv:
        client(srv).embeddings.create(model="nomic-embed-text", input=["one two three four", "five"])
    span = one_span(exporter)
    assert span.attributes["llm_cost.usage.source"] == "estimated"
    assert span.attributes["gen_ai.usage.input_tokens"] == 6
    assert span.attributes["gen_ai.usage.output_tokens"] == 0


def test_with_raw_response(instrument: Any, exporter: Any) -> None:
    interaction, entry = find_recording(lambda e: e["api"] == "embeddings" and e["provider"] == "openai")
    with ReplayServer([interaction]) as srv:
        raw = client(srv).embeddings.with_raw_response.create(model="text-embedding-3-small", input="hello")
    assert raw.parse().usage.prompt_tokens == entry["usage"]["prompt_tokens"]
    assert token_attributes(one_span(exporter)) == expected_tokens("embeddings", entry["usage"])


def test_recorded_azure_401_raises_the_sdk_error(instrument: Any, exporter: Any) -> None:
    interaction, entry = find_recording(lambda e: e["api"] == "embeddings" and e["status"] == 401)
    with ReplayServer([interaction]) as srv, pytest.raises(openai.AuthenticationError):
        sdk_calls.call_openai(sdk_calls.openai_client(srv, entry["provider"], interaction), interaction)
    span = one_span(exporter)
    assert span.attributes["error.type"] == "openai.AuthenticationError"
    assert span.status.status_code is StatusCode.ERROR
