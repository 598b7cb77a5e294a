"""The pure extractors: usage blocks and event lists (recorded wire JSON) -> Usage and attributes."""

from __future__ import annotations

import json

import anthropic
import pytest

from otel_llm_cost import attributes as attr
from otel_llm_cost._estimate import estimate_tokens
from otel_llm_cost.apis import _anthropic_fields as _extract
from otel_llm_cost.usage import Usage
from replay import CASSETTES, load


def _recorded_streams() -> list[tuple[str, int, dict]]:
    found = []
    for recording in json.loads((CASSETTES / "index.json").read_text()):
        for entry in recording["interactions"]:
            if entry["provider"] == "anthropic" and entry["stream"]:
                found.append((recording["file"], entry["index"], entry["usage"]))
    return found


RECORDED_STREAMS = _recorded_streams()
THINKING_STREAM = next(
    (f, i, u) for f, i, u in RECORDED_STREAMS if (u.get("output_tokens_details") or {}).get("thinking_tokens")
)


def _events(file: str, index: int) -> list[dict]:
    return load(file)[index].sse_data()


# --- usage blocks ------------------------------------------------------------------------------------------


def test_cache_tokens_are_folded_into_inclusive_input() -> None:
    usage = _extract.extract_usage(
        {
            "input_tokens": 21,
            "output_tokens": 561,
            "cache_read_input_tokens": 100,
            "cache_creation_input_tokens": 1733,
            "cache_creation": {"ephemeral_5m_input_tokens": 1700, "ephemeral_1h_input_tokens": 33},
        }
    )
    assert usage == Usage(
        input_tokens=21 + 100 + 1733,
        output_tokens=561,
        cache_read_tokens=100,
        cache_write_tokens=1733,
        cache_write_5m_tokens=1700,
        cache_write_1h_tokens=33,
    )
    assert usage.uncached_input_tokens == 21


def test_thinking_tokens_are_reasoning_within_output() -> None:
    usage = _extract.extract_usage(
        {"input_tokens": 596, "output_tokens": 99, "output_tokens_details": {"thinking_tokens": 28}}
    )
    assert (usage.output_tokens, usage.reasoning_tokens) == (99, 28)


def test_absent_usage_is_none() -> None:
    assert _extract.extract_usage(None) is None


@pytest.mark.parametrize(
    "block",
    [
        {"input_tokens": "12", "output_tokens": None},
        {"input_tokens": -5, "output_tokens": float("nan"), "cache_read_input_tokens": "x"},
        {"cache_creation": "not a dict", "output_tokens_details": 7},
        {},
    ],
)
def test_malformed_usage_never_raises(block: dict) -> None:
    usage = _extract.extract_usage(block)
    assert usage is not None
    assert usage.cache_read_tokens + usage.cache_write_tokens <= usage.input_tokens
    assert usage.output_tokens >= 0


def test_split_larger_than_reported_writes_raises_the_total() -> None:
    usage = _extract.extract_usage(
        {
            "input_tokens": 1,
            "output_tokens": 1,
            "cache_creation_input_tokens": 10,
            "cache_creation": {"ephemeral_5m_input_tokens": 10, "ephemeral_1h_input_tokens": 5},
        }
    )
    assert usage.cache_write_tokens == 15
    assert usage.input_tokens == 16


# --- streams -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("file", "index", "recorded"), RECORDED_STREAMS, ids=lambda v: str(v)[-60:])
def test_recorded_stream_summary_matches_recorded_usage(file: str, index: int, recorded: dict) -> None:
    summary = _extract.summarise_stream(_events(file, index))
    assert summary.stopped
    assert summary.usage == _extract.extract_usage(recorded)
    assert summary.response_id and summary.response_id.startswith("msg_")


def test_message_delta_totals_override_message_start() -> None:
    start = {
        "type": "message_start",
        "message": {
            "id": "msg_1",
            "model": "claude-x",
            "usage": {
                "input_tokens": 10,
                "output_tokens": 1,
                "cache_read_input_tokens": 5,
                "cache_creation_input_tokens": 0,
                "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
            },
        },
    }
    delta = {
        "type": "message_delta",
        "delta": {"stop_reason": "max_tokens"},
        "usage": {"output_tokens": 40, "input_tokens": 12, "cache_read_input_tokens": None},
    }
    summary = _extract.summarise_stream([start, delta, {"type": "message_stop"}])
    expected = Usage.of(17, 40, cache_read_tokens=5, cache_write_5m_tokens=0, cache_write_1h_tokens=0)
    assert summary.usage == expected
    assert (summary.finish_reason, summary.response_model) == ("max_tokens", "claude-x")
    assert summary.stopped


def test_stream_cut_before_message_delta_estimates_output() -> None:
    file, index, recorded = THINKING_STREAM
    events = _events(file, index)
    cut = next(i for i, e in enumerate(events) if e["type"] == "message_delta")
    summary = _extract.summarise_stream(events[:cut])
    assert summary.usage is not None
    assert summary.usage.source == "estimated"
    seen = _extract.streamed_text(events[:cut])
    assert seen
    assert summary.usage.output_tokens == estimate_tokens(seen)
    assert summary.usage.reasoning_tokens == 0
    cached = (recorded["cache_read_input_tokens"] or 0) + (recorded["cache_creation_input_tokens"] or 0)
    assert summary.usage.input_tokens == recorded["input_tokens"] + cached
    assert not summary.stopped
    assert summary.finish_reason is None


def test_stream_without_message_start_has_no_usage() -> None:
    assert _extract.summarise_stream([{"type": "ping"}]).usage is None


# --- requests ----------------------------------------------------------------------------------------------


def test_request_attributes_take_extra_body_over_arguments() -> None:
    params = _extract.request_params(
        {"model": "m", "max_tokens": 64, "temperature": 0.5, "extra_body": {"temperature": 0.2, "top_k": 5}}
    )
    attributes = _extract.request_attributes(params, stream=False, server=("api.anthropic.com", 443))
    assert attributes == {
        attr.GEN_AI_REQUEST_MAX_TOKENS: 64,
        attr.GEN_AI_REQUEST_TEMPERATURE: 0.2,
        attr.GEN_AI_REQUEST_TOP_K: 5,
        attr.GEN_AI_REQUEST_STREAM: False,
        attr.SERVER_ADDRESS: "api.anthropic.com",
        attr.SERVER_PORT: 443,
    }


def test_request_attributes_drop_sentinels_and_bad_types() -> None:
    params = {"max_tokens": anthropic.NOT_GIVEN, "top_p": "0.9", "stop_sequences": ["\n\nHuman:", "END"]}
    attributes = _extract.request_attributes(params, stream=True, server=(None, None))
    assert attributes == {
        attr.GEN_AI_REQUEST_STOP_SEQUENCES: ["\n\nHuman:", "END"],
        attr.GEN_AI_REQUEST_STREAM: True,
    }


@pytest.mark.parametrize(
    ("client", "provider", "host"),
    [
        (lambda: anthropic.Anthropic(api_key="k"), "anthropic", "api.anthropic.com"),
        (
            lambda: anthropic.AnthropicBedrock(
                aws_access_key="a", aws_secret_key="s", aws_region="us-east-1"
            ),
            "aws.bedrock",
            "bedrock-runtime.us-east-1.amazonaws.com",
        ),
        (
            lambda: anthropic.AsyncAnthropicVertex(access_token="t", region="us-east5", project_id="p"),
            "gcp.vertex_ai",
            "us-east5-aiplatform.googleapis.com",
        ),
    ],
    ids=["anthropic", "bedrock", "vertex"],
)
def test_provider_and_server_from_the_client(client, provider: str, host: str) -> None:
    instance = client()
    assert _extract.get_provider(instance) == provider
    assert _extract.get_server(instance) == (host, 443)
