"""google-genai's async client sends over aiohttp when it is installed: its SDK-level instrumentor records
those calls, and only those (an httpx transport leaves the call to the wire capture): one span either way."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from families_recorded import cases
from google import genai
from google.genai import models, types
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_llm_cost.instrumentation.google_genai import GoogleGenAIInstrumentor
from otel_llm_cost.instrumentation.wire import WireInstrumentor
from replay import ReplayServer

RECORDING = next(c for c in cases("gemini.generate_content") if c.id.endswith("test_generate_content-0"))
STREAM = next(c for c in cases("gemini.generate_content") if c.id.endswith("test_streaming_text_content-0"))


@pytest.fixture
def server(tracer_provider: TracerProvider) -> Iterator[ReplayServer]:
    with ReplayServer([]) as srv:
        wire, sdk = WireInstrumentor(), GoogleGenAIInstrumentor()
        wire.instrument(
            tracer_provider=tracer_provider, hosts=f"127.0.0.1:{srv.url.rsplit(':', 1)[1]}=gcp.gemini"
        )
        sdk.instrument(tracer_provider=tracer_provider)
        yield srv
        sdk.uninstrument()
        wire.uninstrument()


def _client(srv: ReplayServer, **async_args: Any) -> genai.Client:
    options = types.HttpOptions(base_url=srv.url, api_version="v1beta", async_client_args=async_args or None)
    return genai.Client(api_key="test", http_options=options)


def _spans(exporter: InMemorySpanExporter) -> list[Any]:
    return [s for s in exporter.get_finished_spans() if "gen_ai.operation.name" in (s.attributes or {})]


def test_async_call_over_aiohttp_gives_one_span(server: ReplayServer, exporter: InMemorySpanExporter):
    client = _client(server)
    assert client._api_client._use_aiohttp()
    server.pending[:] = [RECORDING.interaction]
    asyncio.run(client.aio.models.generate_content(model="gemini-2.0-flash", contents="hi"))
    (span,) = _spans(exporter)
    attributes = span.attributes or {}
    assert span.name == "generate_content gemini-2.0-flash"
    assert attributes["gen_ai.provider.name"] == "gcp.gemini"
    usage = RECORDING.entry["usage"]
    assert attributes["gen_ai.usage.input_tokens"] == usage["promptTokenCount"]
    assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert attributes["llm_cost.cost.status"] == "priced"


def test_async_stream_over_aiohttp_gives_one_completed_span(
    server: ReplayServer, exporter: InMemorySpanExporter
):
    server.pending[:] = [STREAM.interaction]

    async def consume() -> None:
        async for _ in await _client(server).aio.models.generate_content_stream(
            model="gemini-2.0-flash", contents="hi"
        ):
            pass

    asyncio.run(consume())
    (span,) = _spans(exporter)
    attributes = span.attributes or {}
    assert attributes["llm_cost.stream.outcome"] == "completed"
    assert attributes["gen_ai.usage.output_tokens"] == STREAM.entry["usage"]["candidatesTokenCount"]
    assert "gen_ai.response.time_to_first_chunk" in attributes


def test_async_call_over_an_httpx_transport_is_left_to_the_wire(
    server: ReplayServer, exporter: InMemorySpanExporter
):
    client = _client(server, transport=httpx2.AsyncHTTPTransport())
    assert not client._api_client._use_aiohttp()
    server.pending[:] = [RECORDING.interaction]
    asyncio.run(client.aio.models.generate_content(model="gemini-2.0-flash", contents="hi"))
    (span,) = _spans(exporter)
    assert span.instrumentation_scope.name == "otel_llm_cost.instrumentation.wire"


def test_uninstrument_restores_the_sdk(tracer_provider: TracerProvider):
    original = models.AsyncModels.__dict__["_generate_content"]
    instrumentor = GoogleGenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    assert models.AsyncModels.__dict__["_generate_content"] is not original
    instrumentor.uninstrument()
    assert models.AsyncModels.__dict__["_generate_content"] is original


def test_budget_refuses_an_async_call_before_it_is_sent(tracer_provider: TracerProvider):
    from otel_llm_cost.budget import BudgetGuard
    from otel_llm_cost.errors import BudgetExceeded

    with ReplayServer([]) as srv:
        sdk = GoogleGenAIInstrumentor()
        sdk.instrument(tracer_provider=tracer_provider, budget_guard=BudgetGuard("global:calls=1/1h"))
        try:
            client = _client(srv)
            srv.pending[:] = [RECORDING.interaction, RECORDING.interaction]
            asyncio.run(client.aio.models.generate_content(model="gemini-2.0-flash", contents="hi"))
            with pytest.raises(BudgetExceeded):
                asyncio.run(client.aio.models.generate_content(model="gemini-2.0-flash", contents="hi"))
        finally:
            sdk.uninstrument()
        assert len(srv.requests) == 1
