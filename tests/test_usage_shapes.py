"""Usage blocks in each provider's own shape -> ``Usage``; the figures are those of recorded traffic."""

from __future__ import annotations

import pytest

from otel_llm_cost.apis import _anthropic_fields as anthropic_extract
from otel_llm_cost.apis import _openai_fields as openai_extract
from otel_llm_cost.usage import Usage
from otel_llm_cost.usage_shapes import SHAPES, detect_shape, normalise_usage

# Ollama /api/chat stream, last line (openinference-instrumentation-ollama test_async_chat_stream.yaml).
OLLAMA_DONE = {
    "model": "qwen3.6:latest",
    "message": {"role": "assistant", "content": ""},
    "done": True,
    "done_reason": "stop",
    "prompt_eval_count": 21,
    "eval_count": 889,
}
# Gemini generateContent (openinference-instrumentation-google-genai
# test_generate_content_with_config_as_dict.yaml): candidates exclude the 20 thought tokens; total 31.
GEMINI_RESPONSE = {
    "candidates": [{"finishReason": "STOP"}],
    "usageMetadata": {
        "promptTokenCount": 7,
        "candidatesTokenCount": 4,
        "totalTokenCount": 31,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 7}],
        "thoughtsTokenCount": 20,
        "serviceTier": "standard",
    },
    "modelVersion": "gemini-2.5-flash",
}
# Cohere chat v1 and v2 (openllmetry cohere test_cohere_chat_legacy.yaml, test_cohere_v2_chat_legacy.yaml).
COHERE_V1 = {
    "text": "...",
    "meta": {
        "api_version": {"version": "1"},
        "billed_units": {"input_tokens": 58, "output_tokens": 119},
        "tokens": {"input_tokens": 69, "output_tokens": 119},
    },
}
COHERE_V2 = {
    "id": "83e3e297",
    "finish_reason": "COMPLETE",
    "usage": {
        "billed_units": {"input_tokens": 7, "output_tokens": 88},
        "tokens": {"input_tokens": 69, "output_tokens": 89},
    },
}
OPENAI_CHAT = {
    "prompt_tokens": 1200,
    "completion_tokens": 300,
    "prompt_tokens_details": {"cached_tokens": 1024},
    "completion_tokens_details": {"reasoning_tokens": 256},
}
OPENAI_RESPONSES = {
    "input_tokens": 100,
    "input_tokens_details": {"cached_tokens": 50},
    "output_tokens": 20,
    "output_tokens_details": {"reasoning_tokens": 5},
    "total_tokens": 120,
}
ANTHROPIC = {
    "input_tokens": 10,
    "cache_read_input_tokens": 2000,
    "cache_creation_input_tokens": 0,
    "output_tokens": 4,
}


def test_ollama_final_object():
    assert normalise_usage(OLLAMA_DONE) == Usage.of(21, 889)
    assert detect_shape(OLLAMA_DONE) == "ollama"


def test_ollama_without_prompt_count_when_the_prompt_was_cached():
    assert normalise_usage({"done": True, "eval_count": 12}) == Usage.of(0, 12)


def test_gemini_output_includes_thoughts():
    usage = normalise_usage(GEMINI_RESPONSE)
    assert usage == Usage.of(7, 24, reasoning_tokens=20)
    assert usage.total_tokens == GEMINI_RESPONSE["usageMetadata"]["totalTokenCount"]


def test_gemini_cached_content_and_tool_prompts():
    block = {
        "promptTokenCount": 1000,
        "cachedContentTokenCount": 800,
        "candidatesTokenCount": 50,
        "toolUsePromptTokenCount": 10,
    }
    assert normalise_usage(block, "gemini") == Usage.of(1010, 50, cache_read_tokens=800)


@pytest.mark.parametrize(("body", "expected"), [(COHERE_V1, Usage.of(58, 119)), (COHERE_V2, Usage.of(7, 88))])
def test_cohere_counts_billed_units(body, expected):
    assert normalise_usage(body) == expected


def test_cohere_falls_back_to_raw_tokens():
    assert normalise_usage({"tokens": {"input_tokens": 69, "output_tokens": 89}}) == Usage.of(69, 89)


def test_openai_shapes_use_the_instrumentation_extractors():
    assert normalise_usage(OPENAI_CHAT) == openai_extract.get_chat_usage(OPENAI_CHAT)
    assert normalise_usage({"id": "x", "usage": OPENAI_CHAT}) == Usage.of(
        1200, 300, cache_read_tokens=1024, reasoning_tokens=256
    )
    assert normalise_usage(OPENAI_RESPONSES) == Usage.of(100, 20, cache_read_tokens=50, reasoning_tokens=5)
    groq = {"x_groq": {"usage": {"prompt_tokens": 18, "completion_tokens": 73}}}
    assert normalise_usage(groq) == Usage.of(18, 73)


def test_anthropic_blocks_are_told_apart_by_their_keys_or_the_provider():
    assert detect_shape(ANTHROPIC) == "anthropic"
    assert (
        normalise_usage(ANTHROPIC)
        == anthropic_extract.extract_usage(ANTHROPIC)
        == Usage.of(2010, 4, cache_read_tokens=2000)
    )
    plain = {"input_tokens": 10, "output_tokens": 4}
    assert detect_shape(plain) == "openai.responses"
    assert detect_shape(plain, "anthropic") == "anthropic"


def test_a_usage_record_passes_through_and_unknown_blocks_are_none():
    usage = Usage.of(1, 2)
    assert normalise_usage(usage) is usage
    assert normalise_usage({"foo": 1}) is None
    assert normalise_usage({"usage": None, "id": "x"}) is None
    assert set(SHAPES) == {"openai", "openai.responses", "anthropic", "ollama", "cohere", "gemini"}


def test_malformed_counts_are_repaired_not_raised():
    assert normalise_usage({"prompt_eval_count": -3, "eval_count": "many"}) == Usage.of(0, 0)
    assert normalise_usage({"promptTokenCount": None, "candidatesTokenCount": 2.5}) == Usage.of(0, 0)
