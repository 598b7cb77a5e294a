"""The pure extractors: provider usage blocks, request kwargs and chunks to attributes and ``Usage``."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from hypothesis import given
from hypothesis import strategies as st

from otel_llm_cost._estimate import estimate_tokens
from otel_llm_cost.apis import _openai_chunks as _chunks
from otel_llm_cost.apis import _openai_fields as _extract
from otel_llm_cost.instrumentation.openai import _content
from otel_llm_cost.usage import Usage

SERVER = _extract.Server("openai", "api.openai.com", 443)


# --- usage --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        pytest.param(
            {
                "prompt_tokens": 1200,
                "completion_tokens": 300,
                "prompt_tokens_details": {"cached_tokens": 1024, "cache_write_tokens": 100},
                "completion_tokens_details": {"reasoning_tokens": 256},
            },
            Usage(1200, 300, cache_read_tokens=1024, cache_write_tokens=100, reasoning_tokens=256),
            id="openai",
        ),
        pytest.param(
            {
                "prompt_tokens": 50,
                "completion_tokens": 9,
                "prompt_cache_hit_tokens": 32,
                "prompt_cache_miss_tokens": 18,
            },
            Usage(50, 9, cache_read_tokens=32),
            id="deepseek",
        ),
        pytest.param(
            {"prompt_tokens": 40, "completion_tokens": 2, "cached_tokens": 16},
            Usage(40, 2, 16),
            id="together",
        ),
        pytest.param(
            {"prompt_tokens": 40, "completion_tokens": 2, "prompt_token_details": {"cached_tokens": 8}},
            Usage(40, 2, 8),
            id="misspelt-details",
        ),
        pytest.param(
            {"prompt_tokens": 7, "completion_tokens": 0, "total_tokens": 7}, Usage(7, 0), id="minimal"
        ),
    ],
)
def test_chat_usage(block: dict[str, Any], expected: Usage) -> None:
    assert _extract.get_chat_usage(block) == expected


@pytest.mark.parametrize("block", [None, {}, {"total_tokens": 3}])
def test_chat_usage_absent(block: Any) -> None:
    assert _extract.get_chat_usage(block) is None


def test_responses_usage() -> None:
    block = {
        "input_tokens": 900,
        "output_tokens": 120,
        "input_tokens_details": {"cached_tokens": 512, "cache_write_tokens": 64},
        "output_tokens_details": {"reasoning_tokens": 100},
    }
    assert _extract.get_responses_usage(block) == Usage(900, 120, 512, 64, 100)


def test_embeddings_usage_falls_back_to_total() -> None:
    assert _extract.get_embeddings_usage({"total_tokens": 5}) == Usage(5, 0)
    assert _extract.get_embeddings_usage({"prompt_tokens": 4, "total_tokens": 4}) == Usage(4, 0)


def test_provider_cost_only_when_numeric() -> None:
    assert _extract.get_provider_cost({"cost": 0.5}) == 0.5
    assert _extract.get_provider_cost({"cost": "0.5"}) is None
    assert _extract.get_provider_cost(None) is None


@given(
    st.dictionaries(
        st.sampled_from(["prompt_tokens", "completion_tokens", "cached_tokens", "prompt_tokens_details"]),
        st.one_of(
            st.none(),
            st.integers(-5, 10**7),
            st.floats(),
            st.text(max_size=3),
            st.dictionaries(st.text(), st.integers()),
        ),
    )
)
def test_malformed_usage_never_raises(block: dict[str, Any]) -> None:
    usage = _extract.get_chat_usage(block)
    assert usage is None or usage.input_tokens >= usage.cache_read_tokens >= 0


# --- requests -----------------------------------------------------------------------------------------


def test_chat_request_attributes_skip_sentinels_and_wrong_types() -> None:
    kwargs = {
        "model": "gpt-4o",
        "max_tokens": 10,
        "max_completion_tokens": openai.omit,
        "temperature": True,  # not a number, whatever bool says
        "top_p": openai.NOT_GIVEN,
        "stop": "END",
        "n": 1,
        "response_format": {"type": "json_schema", "json_schema": {}},
        "stream": True,
    }
    assert _extract.chat_request_attributes(kwargs, SERVER) == {
        "server.address": "api.openai.com",
        "server.port": 443,
        "gen_ai.request.max_tokens": 10,
        "gen_ai.request.stop_sequences": ["END"],
        "gen_ai.request.stream": True,
        "gen_ai.output.type": "json",
    }


def test_responses_request_attributes() -> None:
    kwargs = {
        "max_output_tokens": 99,
        "text": {"format": {"type": "text"}},
        "conversation": {"id": "conv_1"},
        "service_tier": "priority",
    }
    attributes = _extract.responses_request_attributes(kwargs, SERVER)
    assert attributes["gen_ai.request.max_tokens"] == 99
    assert attributes["gen_ai.output.type"] == "text"
    assert attributes["gen_ai.conversation.id"] == "conv_1"
    assert attributes["openai.request.service_tier"] == "priority"
    assert attributes["gen_ai.request.stream"] is False


@pytest.mark.parametrize(
    ("kwargs", "sent_options"),
    [
        ({"stream": True}, {"include_usage": True}),
        ({"stream": True, "stream_options": openai.omit}, {"include_usage": True}),
        ({"stream": True, "stream_options": None}, {"include_usage": True}),
        (
            {"stream": True, "stream_options": {"include_obfuscation": False}},
            {"include_obfuscation": False, "include_usage": True},
        ),
        ({"stream": True, "stream_options": {"include_usage": False}}, None),
        ({"stream": True, "stream_options": {"include_usage": True}}, None),
        ({"stream": False}, None),
        ({}, None),
    ],
)
def test_with_usage_requested(kwargs: dict[str, Any], sent_options: Any) -> None:
    changed = _extract.with_usage_requested(kwargs)
    if sent_options is None:
        assert changed is None
    else:
        assert changed is not None and changed["stream_options"] == sent_options
        assert (
            "stream_options" not in kwargs or kwargs["stream_options"] != sent_options
        )  # caller's dict untouched


def test_server_of_clients() -> None:
    plain = openai.OpenAI(base_url="https://api.groq.com/openai/v1", api_key="k")
    local = openai.OpenAI(base_url="http://localhost:11434/v1", api_key="k")
    azure = openai.AzureOpenAI(
        azure_endpoint="https://example.invalid", api_version="2024-10-21", api_key="k"
    )
    assert _extract.get_server(plain) == _extract.Server("groq", "api.groq.com", 443)
    assert _extract.get_server(local) == _extract.Server("ollama", "localhost", 11434)
    assert _extract.get_server(azure).provider == "azure.ai.openai"


# --- streams ------------------------------------------------------------------------------------------


def _chunk(
    index: int = 0, content: str | None = None, finish: str | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "id": "c",
        "model": "m",
        "choices": [{"index": index, "delta": {"content": content}, "finish_reason": finish}],
        **extra,
    }


def test_chat_stream_fields_read_groq_usage_and_every_choice() -> None:
    chunks = [
        _chunk(0, "a"),
        _chunk(1, "b"),
        _chunk(1, finish="length"),
        _chunk(0, finish="stop", x_groq={"usage": {"prompt_tokens": 12, "completion_tokens": 26}}),
    ]
    fields = _chunks.chat_stream_fields(chunks, {"n": 2})
    assert fields.usage == Usage(12, 26)
    assert fields.attributes["gen_ai.response.finish_reasons"] == ["stop", "length"]
    assert fields.model == "m"


def test_chat_stream_without_usage_is_estimated() -> None:
    messages = [{"role": "user", "content": [{"type": "text", "text": "What is the weather like?"}]}]
    chunks = [_chunk(content="It is sunny"), _chunk(content=" today."), _chunk(finish="stop")]
    usage = _chunks.chat_stream_fields(chunks, {"messages": messages}).usage
    assert usage is not None and usage.is_estimated
    assert usage.output_tokens == estimate_tokens("It is sunny today.")
    assert usage.input_tokens == 3 + 3 + estimate_tokens("What is the weather like?")


def test_content_detection() -> None:
    assert not _chunks.chat_chunk_has_content({"choices": [{"delta": {"role": "assistant", "content": ""}}]})
    assert _chunks.chat_chunk_has_content({"choices": [{"delta": {"reasoning_content": "hmm"}}]})
    assert _chunks.responses_event_has_content({"type": "response.output_text.delta"})
    assert not _chunks.responses_event_has_content({"type": "response.created"})


def test_responses_stream_without_final_event_is_estimated() -> None:
    events = [
        {"type": "response.output_text.delta", "delta": "Once upon"},
        {"type": "response.output_text.delta", "delta": " a time"},
    ]
    fields = _chunks.responses_stream_fields(events, {"input": "Tell a story", "instructions": "Be brief"})
    assert fields.usage == Usage(
        estimate_tokens("Be brief") + 3 + estimate_tokens("Tell a story"),
        estimate_tokens("Once upon a time"),
        source="estimated",
    )


def test_field_reads_pydantic_extras() -> None:
    chunk = openai.types.chat.ChatCompletionChunk.model_validate(
        {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "m",
            "choices": [],
            "x_groq": {"usage": {}},
        }
    )
    assert _extract.field(chunk, "x_groq") == {"usage": {}}
    assert _extract.field(chunk, "not_there") is None


# --- content ------------------------------------------------------------------------------------------


def test_chat_input_messages_follow_the_semconv_shape() -> None:
    messages = [
        {"role": "system", "content": "Be kind"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "t1", "function": {"name": "f", "arguments": "{}"}}],
        },
        {"role": "tool", "tool_call_id": "t1", "content": "42"},
    ]
    (value,) = _content.chat_input_attributes(messages).values()
    assert json.loads(value) == [
        {"role": "system", "parts": [{"type": "text", "content": "Be kind"}]},
        {"role": "assistant", "parts": [{"type": "tool_call", "id": "t1", "name": "f", "arguments": "{}"}]},
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": "t1", "response": "42"}]},
    ]


def test_chat_stream_output_rebuilds_tool_calls() -> None:
    chunks = [
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {"index": 0, "id": "t", "function": {"name": "f", "arguments": '{"a"'}}
                        ]
                    },
                }
            ]
        },
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {"tool_calls": [{"index": 0, "function": {"arguments": ": 1}"}}]},
                    "finish_reason": "tool_calls",
                }
            ]
        },
    ]
    (value,) = _content.chat_stream_output_attributes(chunks).values()
    assert json.loads(value) == [
        {
            "role": "assistant",
            "parts": [{"type": "tool_call", "id": "t", "name": "f", "arguments": '{"a": 1}'}],
            "finish_reason": "tool_calls",
        }
    ]
