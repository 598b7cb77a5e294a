"""Every recorded OpenAI-family exchange, replayed through the real SDK, sync and async.

Parametrized over ``tests/cassettes/index.json``: chat completions, Responses and embeddings from OpenAI,
Azure OpenAI and compatible hosts (Groq, DeepSeek, Together, OpenRouter, Mistral, local servers). Each
replay must give exactly one LLM span whose token attributes equal the recorded usage; a stream recorded
without usage is marked estimated and is never zero; a recorded 4xx raises the SDK's own exception and the
span carries ``error.type``. Interactions the index marks unreplayable are skipped with its reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest
from oai_helpers import expected_tokens, one_span, token_attributes
from oai_replay import Case, openai_family_cases, replay
from opentelemetry.trace import StatusCode

from replay import Interaction, ReplayServer

CASES = list(openai_family_cases())


@pytest.fixture(scope="module")
def server() -> Iterator[ReplayServer]:
    with ReplayServer([]) as srv:
        yield srv


def _check(case: Case, span: Any) -> None:
    interaction = case.interaction
    entry = case.entry
    attributes = span.attributes
    assert attributes["gen_ai.operation.name"] == ("embeddings" if entry["api"] == "embeddings" else "chat")
    if case.provider == "azure-openai":
        assert attributes["gen_ai.provider.name"] == "azure.ai.openai"
    if entry["usage"]:
        assert token_attributes(span) == expected_tokens(entry["api"], entry["usage"])
        assert attributes["llm_cost.usage.source"] == "provider"
    else:
        assert attributes["llm_cost.usage.source"] == "estimated"
        assert attributes["gen_ai.usage.input_tokens"] > 0
        assert attributes["gen_ai.usage.output_tokens"] > 0 or not _has_output(interaction)
    if entry["stream"]:
        assert attributes["llm_cost.stream.outcome"] == "completed"
        assert attributes["gen_ai.request.stream"] is True


def _has_output(interaction: Interaction) -> bool:
    body = interaction.body_json()
    payloads = interaction.sse_data() if interaction.is_sse else [body] if isinstance(body, dict) else []
    return any(
        part.get("content") or part.get("tool_calls")
        for payload in payloads
        if isinstance(payload, dict)
        for choice in payload.get("choices") or ()
        for part in (choice.get("delta") or {}, choice.get("message") or {})
    )


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("case", CASES)
def test_replay(case: Case, is_async: bool, server: ReplayServer, instrument: Any, exporter: Any) -> None:
    status = case.entry["status"]
    if status >= 400:
        with pytest.raises(openai.APIStatusError) as info:
            replay(server, case, is_async=is_async)
        assert info.value.status_code == status
        span = one_span(exporter)
        error = type(info.value)
        assert span.attributes["error.type"] == f"{error.__module__}.{error.__qualname__}"
        assert span.status.status_code is StatusCode.ERROR
        return
    replayed = replay(server, case, is_async=is_async)
    assert replayed.result is not None
    _check(case, one_span(exporter))
