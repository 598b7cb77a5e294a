"""Every recorded OpenAI-family and Anthropic exchange, replayed through raw httpx and httpx2, sync and async.

Parametrized over ``tests/cassettes/index.json`` (the recordings ``catalogue.jsonl`` lists for chat
completions, Responses, embeddings and messages). No SDK is involved: the wire capture alone must give
exactly one LLM span per call, with the recorded usage as its tokens and genai-prices' ``calc_price`` on
that usage as its cost (``unpriced`` exactly where genai-prices has no price). A stream recorded without
usage is estimated; a recorded 4xx gives an error span with the status as ``error.type``.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import httpx2
import pytest
from claude_replay import token_attributes
from wire_replay import Case, cases, expected_token_attributes_of, proxy_url, reference_cost

from otel_llm_cost import attributes as attr
from replay import ReplayServer

CASES = list(cases())
CLIENTS = {"httpx": httpx, "httpx2": httpx2}
TOLERANCE = Decimal("1e-9")
_SSL = ssl.create_default_context()  # built once: a client building its own costs ~100 ms
_HEADERS = {"content-type": "application/json", "authorization": "Bearer test-key", "x-api-key": "test-key"}


@pytest.fixture(scope="module")
def server() -> Iterator[ReplayServer]:
    with ReplayServer([]) as srv:
        yield srv


def _send(module: Any, srv: ReplayServer, case: Case) -> bytes:
    with module.Client(proxy=proxy_url(srv.url), verify=_SSL) as client:
        if case.streamed:
            with client.stream("POST", case.url, content=case.body, headers=_HEADERS) as response:
                return b"".join(response.iter_bytes())
        return client.post(case.url, content=case.body, headers=_HEADERS).content


async def _send_async(module: Any, srv: ReplayServer, case: Case) -> bytes:
    async with module.AsyncClient(proxy=proxy_url(srv.url), verify=_SSL) as client:
        if case.streamed:
            async with client.stream("POST", case.url, content=case.body, headers=_HEADERS) as response:
                return b"".join([chunk async for chunk in response.aiter_bytes()])
        return (await client.post(case.url, content=case.body, headers=_HEADERS)).content


def _check(case: Case, span: Any) -> None:
    attributes = span.attributes
    entry = case.entry
    assert attributes[attr.GEN_AI_OPERATION_NAME] == (
        "embeddings" if entry["api"] == "embeddings" else "chat"
    )
    if entry["status"] >= 400:
        assert attributes[attr.ERROR_TYPE] == str(entry["status"])
        return
    if case.streamed:
        assert attributes[attr.LLM_COST_STREAM_OUTCOME] == "completed"
    if not entry["usage"]:
        assert attributes[attr.LLM_COST_USAGE_SOURCE] == "estimated"
        assert attributes[attr.GEN_AI_USAGE_INPUT_TOKENS] > 0
        return
    assert token_attributes(span) == expected_token_attributes_of(entry)
    assert attributes[attr.LLM_COST_USAGE_SOURCE] == "provider"
    expected = reference_cost(attributes)
    if expected is None:
        assert attributes[attr.LLM_COST_COST_STATUS] == "unpriced"
        return
    # "partial": a unit the price data has no rate for (named on the span) is left out of the amount,
    # as genai-prices leaves it out of its total (#17).
    status = attributes[attr.LLM_COST_COST_STATUS]
    assert status == "priced" or (status == "partial" and attributes[attr.LLM_COST_COST_UNPRICED_UNITS])
    assert abs(Decimal(str(attributes[attr.GEN_AI_USAGE_COST_AMOUNT])) - expected) <= TOLERANCE


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("client", ["httpx", "httpx2"])
@pytest.mark.parametrize("case", CASES)
def test_replay(
    case: Case, client: str, is_async: bool, server: ReplayServer, wire: Any, exporter: Any
) -> None:
    server.pending[:] = [case.interaction]
    module = CLIENTS[client]
    body = asyncio.run(_send_async(module, server, case)) if is_async else _send(module, server, case)
    assert body == case.interaction.body  # the application reads the bytes it would have read
    spans = exporter.get_finished_spans()
    assert len(spans) == 1, [s.name for s in spans]
    _check(case, spans[0])
