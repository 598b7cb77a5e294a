"""Every recorded Gemini / Vertex AI, Cohere and Ollama call, sent again through raw ``httpx`` and ``httpx2``
(sync and async) to its recorded host, with the loopback server as the HTTP proxy: the wire capture alone
gives one span, the recorded tokens, and genai-prices' price for them."""

from __future__ import annotations

import asyncio
import ssl
import urllib.parse
from collections.abc import Iterator
from typing import Any

import httpx
import httpx2
import pytest
from families_recorded import FAMILY_ROOMS, Case, cases, expected_usage, reference_price
from families_sdks import WIRE_PROVIDER
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_llm_cost.instrumentation._invocation import usage_attributes
from otel_llm_cost.instrumentation.wire import WireInstrumentor
from replay import ReplayServer

CASES = cases(*FAMILY_ROOMS)
CLIENTS = {"httpx": httpx, "httpx2": httpx2}
HEADERS = {"content-type": "application/json", "authorization": "Bearer test-key"}
SSL = ssl.create_default_context()  # built once: a client building its own costs ~100 ms


@pytest.fixture(scope="module")
def server() -> Iterator[ReplayServer]:
    with ReplayServer([]) as srv:
        yield srv


@pytest.fixture
def capture(tracer_provider: TracerProvider) -> Iterator[None]:
    instrumentor = WireInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, hosts="")
    yield
    instrumentor.uninstrument()


def _url(case: Case) -> str:
    entry = case.entry
    query = f"?{entry['query']}" if entry["query"] else ""
    return f"http://{entry['host']}{entry['path']}{query}"


def _proxy(server: ReplayServer) -> str:
    return urllib.parse.urlsplit(server.url)._replace(path="").geturl()


def _send(module: Any, server: ReplayServer, case: Case) -> None:
    with module.Client(proxy=_proxy(server), verify=SSL) as client:
        body = case.interaction.request_body
        if case.entry["stream"]:
            with client.stream("POST", _url(case), content=body, headers=HEADERS) as response:
                for _ in response.iter_bytes():
                    pass
        else:
            client.post(_url(case), content=body, headers=HEADERS).read()


async def _send_async(module: Any, server: ReplayServer, case: Case) -> None:
    async with module.AsyncClient(proxy=_proxy(server), verify=SSL) as client:
        body = case.interaction.request_body
        if case.entry["stream"]:
            async with client.stream("POST", _url(case), content=body, headers=HEADERS) as response:
                async for _ in response.aiter_bytes():
                    pass
        else:
            await client.post(_url(case), content=body, headers=HEADERS)


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("client", sorted(CLIENTS))
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_raw_call_gives_one_priced_span(
    case: Case,
    client: str,
    mode: str,
    server: ReplayServer,
    capture: None,
    exporter: InMemorySpanExporter,
):
    server.pending[:] = [case.interaction]
    if mode == "sync":
        _send(CLIENTS[client], server, case)
    else:
        asyncio.run(_send_async(CLIENTS[client], server, case))
    spans = [s for s in exporter.get_finished_spans() if "gen_ai.operation.name" in (s.attributes or {})]
    assert len(spans) == 1
    attributes = dict(spans[0].attributes or {})
    assert attributes["gen_ai.provider.name"] == WIRE_PROVIDER[case.entry["provider"]]
    block = case.entry["usage"]
    if block is None:
        assert attributes["llm_cost.usage.source"] == "estimated"
        assert attributes["gen_ai.usage.input_tokens"] > 0
        assert attributes["llm_cost.cost.status"] in ("estimated", "unpriced")
        return
    usage = expected_usage(case.entry["room"], block)
    tokens = {k: v for k, v in attributes.items() if k.startswith("gen_ai.usage.") and "cost" not in k}
    assert tokens == {k: v for k, v in usage_attributes(usage).items() if k.startswith("gen_ai.usage.")}
    assert attributes["llm_cost.usage.source"] == "provider"
    model = attributes.get("gen_ai.response.model") or attributes.get("gen_ai.request.model")
    expected = reference_price(usage, model, attributes["gen_ai.provider.name"], at=None)
    if expected is None:
        assert attributes["llm_cost.cost.status"] == "unpriced"
    else:
        assert abs(attributes["gen_ai.usage.cost.amount"] - float(expected)) <= 1e-12
