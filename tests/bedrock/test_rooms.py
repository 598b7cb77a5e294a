"""The Bedrock rooms on decoded JSON: each family's request attributes, usage and stream events. Pure.

Real recorded bodies where the recordings have them (every family's InvokeModel response, with Bedrock's
header counts as the truth), small hand-written ones for what they lack (Converse cache counts).
"""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bedrock_replay import Case, cases, expected_tokens
from otel_llm_cost import attributes as attr
from otel_llm_cost.apis import find_wire_api
from otel_llm_cost.apis._api import WireRequest
from otel_llm_cost.apis._eventstream import EventStreamDecoder
from otel_llm_cost.apis.bedrock import CONVERSE, CONVERSE_STREAM, converse_usage, model_from_path, path_for
from otel_llm_cost.apis.bedrock_invoke import (
    INVOKE_MODEL,
    INVOKE_MODEL_WITH_RESPONSE_STREAM,
    body_usage,
    decode_chunk,
    header_usage,
    invoke_fields,
    invoke_request_attributes,
    invoke_stream_fields,
    is_content_chunk,
    operation_for,
)
from otel_llm_cost.pricing import Pricer
from otel_llm_cost.usage import Usage

INVOKES = [case for case in cases() if case.operation == "InvokeModel" and case.status == 200]


def _tokens(usage: Usage) -> dict[str, int]:
    return {
        "input": usage.input_tokens,
        "output": usage.output_tokens,
        "cache_read": usage.cache_read_tokens,
        "cache_write": usage.cache_write_tokens,
    }


def _one(family: str, model_part: str = "") -> Case:
    return next(case for case in INVOKES if case.family == family and model_part in case.model)


# --- paths -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model",
    [
        "anthropic.claude-3-5-sonnet-20240620-v1:0",
        "us.anthropic.claude-3-5-sonnet-20240620-v1:0",
        "arn:aws:bedrock:us-east-1:012345678901:inference-profile/us.anthropic.claude-3-5-sonnet-20240620-v1:0",
        "amazon.titan-text-express-v1",
    ],
)
@pytest.mark.parametrize("room", [CONVERSE, CONVERSE_STREAM, INVOKE_MODEL, INVOKE_MODEL_WITH_RESPONSE_STREAM])
def test_model_id_round_trips_through_the_encoded_path(room: Any, model: str):
    path = room.path(model)
    assert "/" not in path.removeprefix("/model/").rsplit("/", 1)[0]  # the ARN's "/" is encoded
    assert find_wire_api("POST", path) is room
    assert (
        room.request_model(WireRequest("POST", "bedrock-runtime.us-east-1.amazonaws.com", 443, path)) == model
    )


def test_paths_of_other_apis_are_not_bedrocks():
    assert find_wire_api("POST", "/v1/chat/completions").name == "openai.chat_completions"
    assert find_wire_api("GET", path_for("m", "/converse")) is None
    assert model_from_path("/v1/messages", "/converse") is None


# --- Converse ----------------------------------------------------------------------------------------------


def test_converse_cache_counts_are_folded_into_the_input():
    usage = converse_usage(
        {
            "inputTokens": 9,
            "outputTokens": 255,
            "totalTokens": 6304,
            "cacheReadInputTokens": 0,
            "cacheWriteInputTokens": 6040,
        }
    )
    assert usage == Usage.of(6049, 255, cache_write_tokens=6040)
    assert usage.total_tokens == 6304  # Converse's own total: its counts are additive


def test_converse_request_attributes():
    body = {
        "messages": [],
        "inferenceConfig": {"maxTokens": 10, "temperature": 0.8, "topP": 1, "stopSequences": ["|"]},
        "additionalModelRequestFields": {"top_k": 40},
    }
    request = WireRequest("POST", None, None, CONVERSE_STREAM.path("m"), body=body)
    assert CONVERSE_STREAM.request_attributes(request) == {
        attr.GEN_AI_REQUEST_MAX_TOKENS: 10,
        attr.GEN_AI_REQUEST_TEMPERATURE: 0.8,
        attr.GEN_AI_REQUEST_TOP_P: 1,
        attr.GEN_AI_REQUEST_TOP_K: 40,
        attr.GEN_AI_REQUEST_STOP_SEQUENCES: ["|"],
        attr.GEN_AI_REQUEST_STREAM: True,
    }


def test_converse_stream_fields_and_its_estimate_when_cut_short():
    events = [
        {"messageStart": {"role": "assistant"}},
        {"contentBlockDelta": {"delta": {"text": "Hello there, how are you today?"}, "contentBlockIndex": 0}},
        {"messageStop": {"stopReason": "end_turn"}},
        {"metadata": {"usage": {"inputTokens": 12, "outputTokens": 8}, "metrics": {"latencyMs": 300}}},
    ]
    request = WireRequest("POST", None, None, CONVERSE_STREAM.path("m"))
    assert CONVERSE_STREAM.is_content_event(events[1]) and not CONVERSE_STREAM.is_content_event(events[0])
    fields = CONVERSE_STREAM.stream_fields(events, 0, request)
    assert fields.usage == Usage.of(12, 8)
    assert fields.attributes[attr.GEN_AI_RESPONSE_FINISH_REASONS] == ["end_turn"]
    cut = CONVERSE_STREAM.stream_fields(events[:2], 0, request)
    assert cut.usage.is_estimated and cut.usage.output_tokens > 0


# --- InvokeModel: every family's real body -----------------------------------------------------------


@pytest.mark.parametrize("family", ["anthropic", "amazon", "meta", "mistral", "cohere"])
def test_each_family_body_reads_as_bedrock_counts_it(family: str):
    case = _one(family)
    recorded = case.recorded()
    fields = invoke_fields(recorded.body_json(), dict(recorded.headers))
    assert _tokens(fields.usage) == expected_tokens(case.usage)
    assert fields.attributes[attr.GEN_AI_RESPONSE_FINISH_REASONS]


@pytest.mark.parametrize(
    ("family", "model_part"),
    [("anthropic", "claude-3"), ("amazon", "nova"), ("amazon", "titan"), ("meta", "")],
)
def test_families_with_usage_in_the_body_agree_with_the_headers(family: str, model_part: str):
    case = _one(family, model_part)
    assert _tokens(body_usage(case.recorded().body_json())) == expected_tokens(case.usage)


@pytest.mark.parametrize("family", ["mistral", "cohere"])
def test_families_without_usage_in_the_body_rely_on_the_headers(family: str):
    case = _one(family)
    assert body_usage(case.recorded().body_json()) is None


def test_header_cache_counts_are_folded_into_the_input():
    headers = {
        "x-amzn-bedrock-input-token-count": "4",
        "x-amzn-bedrock-output-token-count": "50",
        "x-amzn-bedrock-cache-read-input-token-count": "0",
        "x-amzn-bedrock-cache-write-input-token-count": "18131",
    }
    assert header_usage(headers) == Usage.of(18135, 50, cache_write_tokens=18131)
    assert header_usage({"content-type": "application/json"}) is None


@pytest.mark.parametrize(
    ("family", "expected"),
    [
        ("anthropic", {attr.GEN_AI_REQUEST_MAX_TOKENS: 1000, attr.GEN_AI_REQUEST_TEMPERATURE: 0.7}),
        ("meta", {attr.GEN_AI_REQUEST_MAX_TOKENS: 10, attr.GEN_AI_REQUEST_TOP_P: 1}),
        ("mistral", {attr.GEN_AI_REQUEST_MAX_TOKENS: 10, attr.GEN_AI_REQUEST_STOP_SEQUENCES: ["|"]}),
        ("cohere", {attr.GEN_AI_REQUEST_TOP_P: 0.9, attr.GEN_AI_REQUEST_STOP_SEQUENCES: ["|"]}),
    ],
)
def test_each_family_request_attributes(family: str, expected: dict[str, Any]):
    body = _one(family).request_json()
    attributes = invoke_request_attributes(body, stream=False)
    assert expected.items() <= attributes.items()


def test_nova_and_titan_request_attributes_in_their_config_objects():
    nova = {"inferenceConfig": {"maxTokens": 128, "temperature": 0.5, "topK": 20}}
    titan = {"textGenerationConfig": {"maxTokenCount": 8000, "temperature": 0.5, "stopSequences": ["User:"]}}
    assert invoke_request_attributes(nova, stream=True) == {
        attr.GEN_AI_REQUEST_MAX_TOKENS: 128,
        attr.GEN_AI_REQUEST_TEMPERATURE: 0.5,
        attr.GEN_AI_REQUEST_TOP_K: 20,
        attr.GEN_AI_REQUEST_STREAM: True,
    }
    assert invoke_request_attributes(titan, stream=False)[attr.GEN_AI_REQUEST_MAX_TOKENS] == 8000


def test_embedding_models_are_embeddings_calls():
    assert operation_for("amazon.titan-embed-text-v2:0") == "embeddings"
    assert operation_for("cohere.embed-english-v3") == "embeddings"
    assert operation_for("us.anthropic.claude-3-5-haiku-20241022-v1:0") == "chat"


# --- InvokeModelWithResponseStream --------------------------------------------------------------------------


def _chunk(event: dict[str, Any], *, wire: bool = False) -> dict[str, Any]:
    raw = json.dumps(event).encode()
    return {"chunk": {"bytes": base64.b64encode(raw).decode() if wire else raw}}


@pytest.mark.parametrize("wire", [False, True], ids=["botocore", "wire"])
@pytest.mark.parametrize(
    ("event", "content"),
    [
        ({"type": "content_block_delta", "delta": {"type": "text_delta", "text": "Hi"}}, True),
        ({"type": "message_start", "message": {"usage": {"input_tokens": 3}}}, False),
        ({"contentBlockDelta": {"delta": {"text": "Hi"}, "contentBlockIndex": 0}}, True),
        ({"outputText": "Hi", "index": 0}, True),
        ({"generation": "Hi", "prompt_token_count": 5}, True),
        ({"outputs": [{"text": "Hi", "stop_reason": None}]}, True),
        ({"text": "Hi", "is_finished": False}, True),
        ({"messageStart": {"role": "assistant"}}, False),
    ],
)
def test_content_chunks_of_every_family(event: dict[str, Any], content: bool, wire: bool):
    assert decode_chunk(_chunk(event, wire=wire)) == event
    assert is_content_chunk(_chunk(event, wire=wire)) is content


def test_bedrock_metrics_win_over_anthropic_message_delta():
    events = [
        _chunk(
            {
                "type": "message_start",
                "message": {"id": "msg_1", "model": "claude-x", "usage": {"input_tokens": 702}},
            }
        ),
        _chunk({"type": "content_block_delta", "delta": {"type": "text_delta", "text": "Of course"}}),
        _chunk(
            {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 130}}
        ),
        _chunk(
            {
                "type": "message_stop",
                "amazon-bedrock-invocationMetrics": {"inputTokenCount": 702, "outputTokenCount": 98},
            }
        ),
    ]
    fields = invoke_stream_fields(events, 0)
    assert fields.usage == Usage.of(702, 98)  # Bedrock bills 98, whatever Anthropic's event says
    assert fields.attributes[attr.GEN_AI_RESPONSE_ID] == "msg_1"
    assert fields.attributes[attr.GEN_AI_RESPONSE_FINISH_REASONS] == ["tool_use"]
    assert fields.attributes[attr.GEN_AI_RESPONSE_MODEL] == "claude-x"


def test_llama_stream_cut_short_keeps_its_running_counts():
    events = [
        _chunk(
            {"generation": "Once", "prompt_token_count": 5, "generation_token_count": 1, "stop_reason": None}
        ),
        _chunk(
            {
                "generation": " upon",
                "prompt_token_count": None,
                "generation_token_count": 2,
                "stop_reason": None,
            }
        ),
    ]
    usage = invoke_stream_fields(events, 0).usage
    assert usage == Usage.of(5, 2, source="estimated")


def test_stream_of_undecodable_chunks_has_no_usage():
    assert invoke_stream_fields([{"chunk": {"bytes": b"\xff"}}, {"other": 1}], 3).usage is None


STREAMS = [
    case
    for case in cases()
    if case.operation.endswith("Stream") and case.status == 200 and case.usage is not None
]


@pytest.mark.parametrize("piece", [1, 7, 4096])
def test_recorded_stream_bytes_decode_into_the_rooms_events(piece: int):
    """The wire path: raw event-stream bytes, fed in pieces, give the rooms Bedrock's recorded usage."""
    for case in STREAMS:
        body = case.recorded().body
        decoder = EventStreamDecoder()
        events = [event for at in range(0, len(body), piece) for event in decoder.feed(body[at : at + piece])]
        room = find_wire_api("POST", path_for(case.model, "/" + _SUFFIXES[case.operation]))
        request = WireRequest("POST", None, None, room.path(case.model))
        assert not decoder.broken
        assert not any(room.is_final_event(event) for event in events[:-1])
        assert room.is_final_event(events[-1]) or "guardrail" in case.file  # a guardrail's answer: no metrics
        assert any(room.is_content_event(event) for event in events) or case.usage["output"] <= 10
        assert _tokens(room.stream_fields(events, 0, request).usage) == expected_tokens(case.usage), case.id


def test_bytes_that_are_not_frames_stop_the_decoder():
    decoder = EventStreamDecoder()
    assert decoder.feed(b"data: {}\n\n" * 4) == []
    assert decoder.broken
    assert decoder.feed(b"\x00" * 64) == []


_SUFFIXES = {
    "ConverseStream": "converse-stream",
    "InvokeModelWithResponseStream": "invoke-with-response-stream",
}


# --- hostile input: a room never raises ---------------------------------------------------------------------

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
_KEYS = st.sampled_from(
    [
        "usage",
        "inputTokens",
        "metadata",
        "chunk",
        "bytes",
        "contentBlockDelta",
        "delta",
        "type",
        "amazon-bedrock-invocationMetrics",
        "inputTextTokenCount",
        "results",
        "outputs",
        "inferenceConfig",
    ]
)
_BEDROCKISH = st.recursive(
    _JSON,
    lambda inner: st.dictionaries(_KEYS, inner, max_size=4) | st.lists(inner, max_size=3),
    max_leaves=25,
)


@given(body=_BEDROCKISH, events=st.lists(_BEDROCKISH, max_size=6), dropped=st.integers(0, 5))
def test_rooms_never_raise_on_hostile_json(body: Any, events: list[Any], dropped: int):
    for room in (CONVERSE, CONVERSE_STREAM, INVOKE_MODEL, INVOKE_MODEL_WITH_RESPONSE_STREAM):
        request = WireRequest(
            "POST", None, None, room.path("m"), body=body if isinstance(body, dict) else None
        )
        room.request_attributes(request)
        room.response_fields(body, request)
        room.stream_fields(events, dropped, request)
        for event in events:
            room.is_content_event(event)
    header_usage(body if isinstance(body, dict) else {})


# --- prices: inference profiles as their base model ---------------------------------------------------


@pytest.mark.parametrize(
    "profile",
    [
        "us.anthropic.claude-3-5-sonnet-20240620-v1:0",
        "eu.anthropic.claude-3-5-sonnet-20240620-v1:0",
        "apac.anthropic.claude-3-5-sonnet-20240620-v1:0",
        "arn:aws:bedrock:us-east-1:012345678901:inference-profile/us.anthropic.claude-3-5-sonnet-20240620-v1:0",
    ],
)
def test_cross_region_profiles_are_priced_as_their_base_model(profile: str):
    pricer = Pricer()
    usage = Usage.of(1000, 100)
    base = pricer.price(usage, "anthropic.claude-3-5-sonnet-20240620-v1:0", "aws.bedrock")
    assert base.amount == Decimal("0.0045")
    assert pricer.price(usage, profile, "aws.bedrock").amount == base.amount


def test_global_profiles_keep_their_own_price_where_bedrock_has_one():
    pricer = Pricer()
    usage = Usage.of(1_000_000, 0)
    regional = pricer.price(usage, "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "aws.bedrock").amount
    global_ = pricer.price(usage, "global.anthropic.claude-sonnet-4-5-20250929-v1:0", "aws.bedrock").amount
    assert global_ is not None and regional is not None and global_ < regional
