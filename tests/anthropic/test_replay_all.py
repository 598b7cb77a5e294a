"""Every recorded Anthropic messages exchange, replayed through the real SDK over loopback.

Each recording is served alone to one call: ``create`` (sync and async) for all of them, and the
``stream()`` helper (sync and async) for the streaming ones. Each call must give exactly one span whose
token attributes equal the recorded usage under the inclusive-input convention.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from claude_replay import expected_token_attributes, only_span, token_attributes

from otel_llm_cost import attributes as attr
from replay import CASSETTES, Interaction, ReplayServer, load
from sdk_calls import anthropic_client, kwargs_for, request_of

pytestmark = pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")


@dataclass(frozen=True)
class Case:
    file: str
    index: int
    stream: bool
    usage: dict[str, Any]
    model: str | None

    @property
    def has_cache(self) -> bool:
        return bool(
            self.usage.get("cache_read_input_tokens") or self.usage.get("cache_creation_input_tokens")
        )


def _cases() -> list[Case]:
    cases = []
    for recording in json.loads((CASSETTES / "index.json").read_text()):
        for entry in recording["interactions"]:
            if entry["provider"] == "anthropic" and entry["api"] == "messages" and entry["replayable"]:
                cases.append(
                    Case(
                        recording["file"], entry["index"], entry["stream"], entry["usage"], entry.get("model")
                    )
                )
    return cases


CASES = _cases()
STREAMS = [case for case in CASES if case.stream]


def _id(case: Case) -> str:
    return f"{case.file.rsplit('/', 1)[-1]}#{case.index}"


def _interaction(case: Case) -> Interaction:
    return load(case.file)[case.index]


def _create(client: Any, interaction: Interaction, stream: bool) -> None:
    method = client.messages.create
    result = method(**kwargs_for(method, request_of(interaction)))
    if stream:
        assert sum(1 for _ in result) > 0


async def _acreate(client: Any, interaction: Interaction, stream: bool) -> None:
    method = client.messages.create
    result = await method(**kwargs_for(method, request_of(interaction)))
    if stream:
        assert len([event async for event in result]) > 0


def _helper_kwargs(client: Any, interaction: Interaction) -> dict[str, Any]:
    request = {k: v for k, v in request_of(interaction).items() if k != "stream"}
    return kwargs_for(client.messages.stream, request)


def _check(span: Any, case: Case, interaction: Interaction) -> None:
    attributes = span.attributes
    assert token_attributes(span) == expected_token_attributes(case.usage)
    assert attributes[attr.GEN_AI_PROVIDER_NAME] == "anthropic"
    assert attributes[attr.LLM_COST_USAGE_SOURCE] == "provider"
    if case.model:
        assert attributes[attr.GEN_AI_RESPONSE_MODEL] == case.model
    request_id = dict((k.lower(), v) for k, v in interaction.headers).get("request-id")
    if request_id:
        assert attributes[attr.ANTHROPIC_REQUEST_ID] == request_id
    assert attributes[attr.LLM_COST_COST_STATUS] in {attr.COST_PRICED, attr.COST_UNPRICED}
    if attributes[attr.LLM_COST_COST_STATUS] == attr.COST_PRICED:
        assert attributes[attr.GEN_AI_USAGE_COST_AMOUNT] > 0
    if case.stream:
        assert attributes[attr.LLM_COST_STREAM_OUTCOME] == attr.STREAM_COMPLETED
        assert attributes[attr.GEN_AI_REQUEST_STREAM] is True
        if b"content_block_delta" in interaction.body:
            assert attributes[attr.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] >= 0
    assert attr.ERROR_TYPE not in attributes


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_create(case: Case, instrumented: Any, exporter: Any) -> None:
    interaction = _interaction(case)
    with ReplayServer([interaction], prefix="") as server:
        _create(anthropic_client(server), interaction, case.stream)
    _check(only_span(exporter), case, interaction)


@pytest.mark.parametrize("case", CASES, ids=_id)
async def test_async_create(case: Case, instrumented: Any, exporter: Any) -> None:
    interaction = _interaction(case)
    with ReplayServer([interaction], prefix="") as server:
        await _acreate(anthropic_client(server, is_async=True), interaction, case.stream)
    _check(only_span(exporter), case, interaction)


@pytest.mark.parametrize("case", STREAMS, ids=_id)
def test_stream_helper(case: Case, instrumented: Any, exporter: Any) -> None:
    interaction = _interaction(case)
    with ReplayServer([interaction], prefix="") as server:
        client = anthropic_client(server)
        with client.messages.stream(**_helper_kwargs(client, interaction)) as stream:
            message = stream.get_final_message()
    assert message.usage.output_tokens == case.usage["output_tokens"]
    _check(only_span(exporter), case, interaction)


@pytest.mark.parametrize("case", STREAMS, ids=_id)
async def test_async_stream_helper(case: Case, instrumented: Any, exporter: Any) -> None:
    interaction = _interaction(case)
    with ReplayServer([interaction], prefix="") as server:
        client = anthropic_client(server, is_async=True)
        async with client.messages.stream(**_helper_kwargs(client, interaction)) as stream:
            message = await stream.get_final_message()
    assert message.usage.output_tokens == case.usage["output_tokens"]
    _check(only_span(exporter), case, interaction)


def test_every_recording_is_covered() -> None:
    """The index's Anthropic exchanges are all parametrised above, cache-bearing ones included."""
    assert len(CASES) >= 80
    assert len(STREAMS) >= 30
    with_cache = [case for case in CASES if case.has_cache]
    assert len(with_cache) >= 13
    assert any(case.stream for case in with_cache)
