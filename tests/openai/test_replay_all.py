"""Every recorded OpenAI-family exchange, replayed through the real SDK, sync and async.

Parametrized over ``tests/cassettes/index.json``: chat completions, Responses and embeddings from OpenAI,
Azure OpenAI and compatible hosts (Groq, DeepSeek, Together, OpenRouter, Mistral, local servers). Each
replay must give exactly one LLM span whose token attributes equal the recorded usage; a stream recorded
without usage is marked estimated and is never zero; a recorded 4xx raises the SDK's own exception and the
span carries ``error.type``. Interactions the index marks unreplayable are skipped with its reason.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import openai
import pytest
import sdk_calls
from oai_helpers import expected_tokens, one_span, token_attributes
from opentelemetry.trace import StatusCode
from replay import CASSETTES, Interaction, ReplayServer, load


@dataclass(frozen=True)
class Case:
    file: str
    index: int
    entry: dict[str, Any]

    @property
    def provider(self) -> str:
        return self.entry["provider"]


def _cases() -> Iterator[Any]:
    for recording in json.loads((CASSETTES / "index.json").read_text()):
        for entry in recording["interactions"]:
            if entry["provider"] == "anthropic":
                continue
            case = Case(recording["file"], entry["index"], entry)
            short = "/".join(recording["file"].split("/")[-2:])
            marks = [] if entry["replayable"] else [pytest.mark.skip(reason=f"not replayable: {entry['reason']}")]
            yield pytest.param(case, id=f"{entry['provider']}:{short}#{entry['index']}", marks=marks)


CASES = list(_cases())


@cache
def _interactions(file: str) -> list[Interaction]:
    return load(file)


@pytest.fixture(scope="module")
def server() -> Iterator[ReplayServer]:
    # One server and one client per kind for the module: building an SDK client costs ~20 ms.
    with ReplayServer([]) as srv:
        yield srv


_clients: dict[tuple[str, str, bool], Any] = {}


def _client(srv: ReplayServer, case: Case, interaction: Interaction, is_async: bool) -> Any:
    key = (srv.url, case.provider if case.provider == "azure-openai" else "openai", is_async)
    version = interaction.query if case.provider == "azure-openai" else ""
    key = (*key[:2], f"{is_async}:{version}")  # type: ignore[assignment]
    if key not in _clients:
        _clients[key] = sdk_calls.openai_client(srv, case.provider, interaction, is_async=is_async)
    return _clients[key]


def _replay(srv: ReplayServer, case: Case, is_async: bool) -> tuple[Interaction, Any]:
    interaction = _interactions(case.file)[case.index]
    srv.pending[:] = [interaction]
    client = _client(srv, case, interaction, is_async)
    if is_async:
        return interaction, asyncio.run(sdk_calls.acall_openai(client, interaction))
    return interaction, sdk_calls.call_openai(client, interaction)


def _check(case: Case, span: Any, interaction: Interaction) -> None:
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
            _replay(server, case, is_async)
        assert info.value.status_code == status
        span = one_span(exporter)
        error = type(info.value)
        assert span.attributes["error.type"] == f"{error.__module__}.{error.__qualname__}"
        assert span.status.status_code is StatusCode.ERROR
        return
    interaction, replayed = _replay(server, case, is_async)
    assert replayed.result is not None
    _check(case, one_span(exporter), interaction)
