"""Every recorded Mistral and Groq call, made again through the ``mistralai`` and ``groq`` SDKs (sync and
async) against a loopback server and seen by the wire capture: one span, the recorded tokens, and
genai-prices' price for them. (Together and DeepSeek are called through the OpenAI SDK, whose own
wrapper covers them: ``tests/openai/test_replay_all.py``.)
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from families_recorded import reference_price
from oai_helpers import expected_tokens
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_llm_cost.instrumentation.wire import WireInstrumentor
from otel_llm_cost.usage import Usage
from replay import CASSETTES, ReplayServer, load

SDKS = {"mistral": ("mistralai", "mistral_ai"), "groq": ("groq", "groq")}
MESSAGES = [{"role": "user", "content": "Tell me a joke"}]
COST_TOLERANCE = 1e-12


def _cases() -> list[Any]:
    found = []
    for record in json.loads((CASSETTES / "index.json").read_text()):
        for entry in record["interactions"]:
            if entry["provider"] in SDKS and entry["status"] == 200:
                name = record["file"].rsplit("/", 1)[-1].removesuffix(".yaml")
                sdk = SDKS[entry["provider"]][0]
                found.append(pytest.param(record["file"], entry, id=f"{sdk}:{name}-{entry['index']}"))
    return found


CASES = _cases()


@pytest.fixture(scope="module")
def server() -> Iterator[ReplayServer]:
    with ReplayServer([]) as srv:
        yield srv


@pytest.fixture
def capture(server: ReplayServer, tracer_provider: TracerProvider, request: Any) -> Iterator[None]:
    entry = request.node.callspec.params["entry"]
    port = server.url.rsplit(":", 1)[1]
    instrumentor = WireInstrumentor()
    instrumentor.instrument(
        tracer_provider=tracer_provider, hosts=f"127.0.0.1:{port}={SDKS[entry['provider']][1]}"
    )
    yield
    instrumentor.uninstrument()


def call_mistral(srv: ReplayServer, entry: dict[str, Any]) -> None:
    from mistralai.client import Mistral

    client = Mistral(api_key="test", server_url=srv.url)
    if entry["api"] == "embeddings":
        client.embeddings.create(model=entry["model"], inputs=["hello"])
    elif entry["stream"]:
        for _ in client.chat.stream(model=entry["model"], messages=MESSAGES):  # type: ignore[arg-type]
            pass
    else:
        client.chat.complete(model=entry["model"], messages=MESSAGES)  # type: ignore[arg-type]


async def acall_mistral(srv: ReplayServer, entry: dict[str, Any]) -> None:
    from mistralai.client import Mistral

    client = Mistral(api_key="test", server_url=srv.url)
    if entry["api"] == "embeddings":
        await client.embeddings.create_async(model=entry["model"], inputs=["hello"])
    elif entry["stream"]:
        async for _ in await client.chat.stream_async(model=entry["model"], messages=MESSAGES):  # type: ignore[arg-type]
            pass
    else:
        await client.chat.complete_async(model=entry["model"], messages=MESSAGES)  # type: ignore[arg-type]


def call_groq(srv: ReplayServer, entry: dict[str, Any]) -> None:
    from groq import Groq

    result = Groq(api_key="test", base_url=srv.url, max_retries=0).chat.completions.create(
        model=entry["model"],
        messages=MESSAGES,
        stream=entry["stream"],  # type: ignore[arg-type]
    )
    if entry["stream"]:
        for _ in result:  # type: ignore[union-attr]
            pass


async def acall_groq(srv: ReplayServer, entry: dict[str, Any]) -> None:
    from groq import AsyncGroq

    result = await AsyncGroq(api_key="test", base_url=srv.url, max_retries=0).chat.completions.create(
        model=entry["model"],
        messages=MESSAGES,
        stream=entry["stream"],  # type: ignore[arg-type]
    )
    if entry["stream"]:
        async for _ in result:  # type: ignore[union-attr]
            pass


CALLERS = {"mistral": (call_mistral, acall_mistral), "groq": (call_groq, acall_groq)}


def _nonzero(tokens: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in tokens.items() if k.startswith("gen_ai.usage.") and "cost" not in k and v}


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize(("file", "entry"), CASES)
def test_sdk_call_gives_one_priced_span(
    file: str,
    entry: dict[str, Any],
    mode: str,
    server: ReplayServer,
    capture: None,
    exporter: InMemorySpanExporter,
):
    server.pending[:] = [load(file)[entry["index"]]]
    call, acall = CALLERS[entry["provider"]]
    if mode == "sync":
        call(server, entry)
    else:
        asyncio.run(acall(server, entry))
    assert not server.unmatched
    spans = [s for s in exporter.get_finished_spans() if "gen_ai.operation.name" in (s.attributes or {})]
    assert len(spans) == 1
    attributes = dict(spans[0].attributes or {})
    if not entry["usage"]:
        assert attributes["llm_cost.usage.source"] == "estimated"
        return
    tokens = _nonzero(expected_tokens(entry["api"], entry["usage"]))
    assert _nonzero(attributes) == tokens
    usage = Usage.of(
        tokens.get("gen_ai.usage.input_tokens", 0),
        tokens.get("gen_ai.usage.output_tokens", 0),
        cache_read_tokens=tokens.get("gen_ai.usage.cache_read.input_tokens", 0),
        reasoning_tokens=tokens.get("gen_ai.usage.reasoning.output_tokens", 0),
    )
    model = attributes.get("gen_ai.response.model") or entry["model"]
    expected = reference_price(usage, model, SDKS[entry["provider"]][1], at=None)
    if expected is None:
        assert attributes["llm_cost.cost.status"] == "unpriced"
    else:
        assert abs(attributes["gen_ai.usage.cost.amount"] - float(expected)) <= COST_TOLERANCE
