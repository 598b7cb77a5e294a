"""Every recorded Gemini / Vertex AI, Cohere and Ollama call, made again through the provider's real SDK
(sync and async) against a loopback server, and seen by the wire capture beneath httpx / httpx2.

Each call must give exactly one LLM span whose token attributes equal the recorded usage and whose cost
equals genai-prices' ``calc_price`` on it (``unpriced`` exactly where genai-prices has none, and always for
a self-hosted Ollama). Recordings an SDK cannot make are skipped with the reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from families_recorded import FAMILY_ROOMS, Case, cases, expected_usage, reference_price
from families_sdks import CALLERS, WIRE_PROVIDER, unreplayable
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_llm_cost.instrumentation._invocation import usage_attributes
from otel_llm_cost.instrumentation.google_genai import GoogleGenAIInstrumentor
from otel_llm_cost.instrumentation.wire import WireInstrumentor
from replay import ReplayServer

CASES = cases(*FAMILY_ROOMS)
TOKEN_PREFIX = "gen_ai.usage."
COST_TOLERANCE = 1e-12


@pytest.fixture(scope="module")
def server() -> Iterator[ReplayServer]:
    with ReplayServer([]) as srv:
        yield srv


@pytest.fixture
def capture(server: ReplayServer, tracer_provider: TracerProvider, request: Any) -> Iterator[None]:
    case: Case = request.node.callspec.params["case"]
    instrumentor = WireInstrumentor()
    port = server.url.rsplit(":", 1)[1]
    hosts = f"127.0.0.1:{port}={WIRE_PROVIDER[case.entry['provider']]}"
    instrumentor.instrument(tracer_provider=tracer_provider, hosts=hosts)
    # google-genai's async client sends over aiohttp (installed with the provider SDKs): the SDK layer.
    genai = GoogleGenAIInstrumentor()
    genai.instrument(tracer_provider=tracer_provider)
    yield
    genai.uninstrument()
    instrumentor.uninstrument()


def _tokens(attributes: Any) -> dict[str, int]:
    return {
        k: v
        for k, v in attributes.items()
        if k.startswith(TOKEN_PREFIX) and not k.startswith("gen_ai.usage.cost")
    }


def _check(case: Case, exporter: InMemorySpanExporter) -> None:
    spans = [s for s in exporter.get_finished_spans() if "gen_ai.operation.name" in (s.attributes or {})]
    assert len(spans) == 1, [s.name for s in spans]
    attributes = dict(spans[0].attributes or {})
    assert attributes["gen_ai.provider.name"] == WIRE_PROVIDER[case.entry["provider"]]
    block = case.entry["usage"]
    if block is None:  # Ollama's /api/embeddings reports no counts
        assert attributes["llm_cost.usage.source"] == "estimated"
        assert attributes["gen_ai.usage.input_tokens"] > 0
        assert attributes["llm_cost.cost.status"] in ("estimated", "unpriced")
        return
    usage = expected_usage(case.entry["room"], block)
    assert _tokens(attributes) == _tokens(usage_attributes(usage))
    assert attributes["llm_cost.usage.source"] == "provider"
    model = attributes.get("gen_ai.response.model") or attributes.get("gen_ai.request.model")
    expected = reference_price(usage, model, attributes["gen_ai.provider.name"], at=None)
    if expected is None:
        assert attributes["llm_cost.cost.status"] == "unpriced"
        assert "gen_ai.usage.cost.amount" not in attributes
    else:
        assert attributes["llm_cost.cost.status"] == "priced"
        assert abs(attributes["gen_ai.usage.cost.amount"] - float(expected)) <= COST_TOLERANCE


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{CALLERS[case.entry['provider']][0]}:{case.id}")
def test_sdk_call_gives_one_priced_span(
    case: Case,
    mode: str,
    server: ReplayServer,
    capture: None,
    exporter: InMemorySpanExporter,
):
    sdk, call, acall = CALLERS[case.entry["provider"]]
    reason = unreplayable(sdk, case)
    if reason is not None:
        pytest.skip(reason)
    server.pending[:] = [case.interaction]
    if mode == "sync":
        call(server, case)
    else:
        asyncio.run(acall(server, case))
    assert not server.unmatched, server.unmatched
    _check(case, exporter)
