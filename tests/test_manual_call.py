"""``llm_call``: raw HTTP calls (httpx) recorded as the same span an instrumented SDK call produces.

The comparisons make the same call twice against one loopback server: once through the real openai SDK under
our instrumentation, once by hand with ``httpx`` inside ``llm_call``. The span attributes must be equal except
for :data:`TIMING` (clock readings of two different calls) and, where the two APIs differ,
:data:`OLLAMA_NATIVE_LACKS`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from openai import OpenAI
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from otel_llm_cost import BudgetExceeded, BudgetGuard, Usage, llm_call
from otel_llm_cost import attributes as attr
from otel_llm_cost._calls import add_invocation_listener, remove_invocation_listener
from otel_llm_cost.instrumentation.openai import OpenAIInstrumentor
from otel_llm_cost.live_stats import LiveStats
from otel_llm_cost.metrics import install_metrics, uninstall_metrics
from otel_llm_cost.pricing import Pricer, get_pricer, load_overrides, set_pricer
from replay import ReplayServer, json_response, sse_response

try:  # the newest SDKs ship httpx2; the httpx-era environment has httpx
    import httpx2 as httpx
except ImportError:  # pragma: no cover - depends on the environment
    import httpx  # type: ignore[no-redef]

# Clock readings: they differ between any two calls.
TIMING = frozenset(
    {
        attr.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK,
        attr.LLM_COST_PHASE_GENERATION,
        attr.LLM_COST_OUTPUT_TOKENS_PER_SECOND,
    }
)
# Ollama's native /api/chat sends no response id (its OpenAI-compatible endpoint makes one up).
OLLAMA_NATIVE_LACKS = frozenset({attr.GEN_AI_RESPONSE_ID})
MESSAGES = [{"role": "user", "content": "Say hello"}]


class Recorded:
    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())


@pytest.fixture
def rec() -> Recorded:
    return Recorded()


@pytest.fixture
def instrumented(rec: Recorded) -> Iterator[None]:
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=rec.provider)
    try:
        yield
    finally:
        instrumentor.uninstrument()


def comparable(span: ReadableSpan, excluded: frozenset[str] = frozenset()) -> dict[str, Any]:
    return {k: v for k, v in (span.attributes or {}).items() if k not in TIMING | excluded}


# --- scripted servers ---------------------------------------------------------------------------


def openai_chunks(model: str, texts: list[str], usage: dict[str, Any], response_id: str) -> list[Any]:
    base = {"id": response_id, "object": "chat.completion.chunk", "created": 1, "model": model}
    events: list[Any] = [
        {**base, "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}
        for text in texts
    ]
    events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    events.append({**base, "choices": [], "usage": usage})
    return [*events, "data: [DONE]\n\n"]


def ollama_lines(model: str, texts: list[str], prompt_eval: int, evals: int) -> list[bytes]:
    """Ollama's native stream: one JSON object per line, the counts on the last (``done: true``)."""
    stamp = "2026-08-07T06:08:31.877593Z"
    lines = [
        {"model": model, "created_at": stamp, "message": {"role": "assistant", "content": t}, "done": False}
        for t in texts
    ]
    lines.append(
        {
            "model": model,
            "created_at": stamp,
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": "stop",
            "total_duration": 8633813833,
            "prompt_eval_count": prompt_eval,
            "eval_count": evals,
        }
    )
    return [json.dumps(line).encode() + b"\n" for line in lines]


def ndjson_response(lines: list[bytes]) -> Any:
    return sse_response(lines, headers={"content-type": "application/x-ndjson"})


# --- the manual side: raw httpx, as a user would write it ---------------------------------------


def manual_openai_stream(url: str, body: dict[str, Any], provider: TracerProvider) -> None:
    with (
        llm_call(url=url, request=body, tracer_provider=provider) as call,
        httpx.stream("POST", url, json=call.request) as response,
    ):
        for line in response.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[len("data: ") :])
            call.chunk()
            choices = chunk["choices"]
            if choices and choices[0]["delta"].get("content"):
                call.first_token()
            call.set_response_id(chunk["id"])
            call.set_response_model(chunk["model"])
            reasons = [c["finish_reason"] for c in choices if c.get("finish_reason")]
            if reasons:
                call.set_finish_reasons(*reasons)
            if chunk.get("usage"):
                call.set_usage(chunk["usage"])


def manual_ollama_stream(url: str, body: dict[str, Any], provider: TracerProvider) -> None:
    with (
        llm_call(url=url, request=body, tracer_provider=provider) as call,
        httpx.stream("POST", url, json=call.request) as response,
    ):
        for line in response.iter_lines():
            if not line:
                continue
            chunk = json.loads(line)
            call.chunk()
            if chunk["message"]["content"]:
                call.first_token()
            if chunk["done"]:
                call.set_usage(chunk)
                call.set_response_model(chunk["model"])
                call.set_finish_reasons(chunk.get("done_reason"))


# --- equality with the instrumentation ----------------------------------------------------------


def test_openai_format_by_hand_equals_the_instrumented_sdk_call(rec, instrumented):
    usage = {
        "prompt_tokens": 1200,
        "completion_tokens": 30,
        "total_tokens": 1230,
        "prompt_tokens_details": {"cached_tokens": 1024},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }
    script = [
        openai_chunks("gpt-4o-mini-2024-07-18", ["Hel", "lo", "!"], usage, f"chatcmpl-{i}") for i in "ab"
    ]
    with ReplayServer([sse_response(script[0]), sse_response(script[1])]) as srv:
        client = OpenAI(base_url=srv.base_url, api_key="k", max_retries=0)
        stream = client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True, max_tokens=50, temperature=0.2
        )
        assert "".join(c.choices[0].delta.content or "" for c in stream) == "Hello!"
        body = {
            "model": "gpt-4o-mini",
            "messages": MESSAGES,
            "stream": True,
            "max_tokens": 50,
            "temperature": 0.2,
            "stream_options": {"include_usage": True},
        }
        manual_openai_stream(srv.base_url + "/chat/completions", body, rec.provider)
    sdk, manual = rec.spans()
    assert manual.instrumentation_scope.name == "otel_llm_cost.manual"
    assert manual.name == sdk.name == "chat gpt-4o-mini"
    assert manual.kind == sdk.kind
    expected = comparable(sdk)
    expected[attr.GEN_AI_RESPONSE_ID] = "chatcmpl-b"
    assert comparable(manual) == expected
    assert manual.attributes[attr.LLM_COST_COST_STATUS] == "priced"
    assert manual.attributes[attr.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 1024
    assert manual.attributes[attr.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] > 0


@pytest.fixture
def local_prices(tmp_path) -> Iterator[None]:
    prices = tmp_path / "prices.toml"
    prices.write_text('[models."llama3.1:8b"]\ninput = "0.10"\noutput = "0.40"\n')
    before = get_pricer()
    set_pricer(Pricer(load_overrides(prices)))
    try:
        yield
    finally:
        set_pricer(before)


def test_ollama_native_stream_by_hand_equals_the_instrumented_openai_compatible_call(
    rec, instrumented, local_prices
):
    model = "llama3.1:8b"
    usage = {"prompt_tokens": 21, "completion_tokens": 889, "total_tokens": 910}
    compat = openai_chunks(model, ["1", "\n2", "\n3"], usage, "chatcmpl-123")
    native = ollama_lines(model, ["1", "\n2", "\n3", "\n4"], prompt_eval=21, evals=889)
    with ReplayServer([sse_response(compat), ndjson_response(native)], prefix="") as srv:
        client = OpenAI(base_url=srv.url + "/v1", api_key="ollama", max_retries=0)
        for _ in client.chat.completions.create(
            model=model, messages=MESSAGES, stream=True, max_tokens=64, temperature=0.2
        ):
            pass
        body = {
            "model": model,
            "messages": MESSAGES,
            "stream": True,
            "options": {"num_predict": 64, "temperature": 0.2},
        }
        manual_ollama_stream(srv.url + "/api/chat", body, rec.provider)
        assert srv.requests[1].path == "/api/chat"
    sdk, manual = rec.spans()
    # A loopback server on a port no known server uses is self-hosted, whichever API it speaks (#14, #18).
    assert (manual.attributes[attr.GEN_AI_PROVIDER_NAME], sdk.attributes[attr.GEN_AI_PROVIDER_NAME]) == (
        "self_hosted",
        "self_hosted",
    )
    lacks = OLLAMA_NATIVE_LACKS | {attr.GEN_AI_PROVIDER_NAME}
    assert comparable(manual, lacks) == comparable(sdk, lacks)
    # Priced from the price file: 21 x $0.10 + 889 x $0.40 per million tokens.
    assert manual.attributes[attr.GEN_AI_USAGE_COST_AMOUNT] == pytest.approx(float(Decimal("0.0003577")))
    assert manual.attributes[attr.GEN_AI_USAGE_OUTPUT_TOKENS] == 889


def test_anthropic_usage_by_hand_folds_cache_tokens_like_the_instrumentation(rec):
    block = {
        "input_tokens": 10,
        "cache_read_input_tokens": 2000,
        "cache_creation_input_tokens": 500,
        "cache_creation": {"ephemeral_5m_input_tokens": 500, "ephemeral_1h_input_tokens": 0},
        "output_tokens": 42,
        "service_tier": "standard",
    }
    with llm_call("anthropic", "claude-sonnet-4-5", tracer_provider=rec.provider) as call:
        usage = call.set_usage({"id": "msg_1", "type": "message", "usage": block})
    assert usage == Usage.of(
        2510, 42, cache_read_tokens=2000, cache_write_tokens=500, cache_write_5m_tokens=500,
        cache_write_1h_tokens=0,
    )  # fmt: skip
    (span,) = rec.spans()
    assert span.attributes[attr.GEN_AI_USAGE_INPUT_TOKENS] == 2510
    assert span.attributes[attr.LLM_COST_COST_STATUS] == "priced"
    assert attr.LLM_COST_STREAM_OUTCOME not in span.attributes  # not streamed


# --- errors, cancellation, async ----------------------------------------------------------------


class GatewayDown(Exception):
    pass


def test_an_error_in_the_block_fails_the_span_and_is_reraised_unchanged(rec):
    error = GatewayDown("502 from the gateway")
    with (
        pytest.raises(GatewayDown) as raised,
        llm_call("openai", "gpt-4o-mini", tracer_provider=rec.provider) as call,
    ):
        call.set_usage(Usage.of(100, 0))
        raise error
    assert raised.value is error
    (span,) = rec.spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[attr.ERROR_TYPE].endswith("GatewayDown")
    assert span.attributes[attr.GEN_AI_USAGE_INPUT_TOKENS] == 100  # what was billed is kept


def test_a_real_http_error_through_httpx_fails_the_span(rec):
    with (
        ReplayServer([json_response({"error": "overloaded"}, 503)]) as srv,
        pytest.raises(httpx.HTTPStatusError),
        llm_call(url=srv.base_url, tracer_provider=rec.provider),
    ):
        httpx.post(srv.base_url + "/chat/completions", json={"model": "m"}).raise_for_status()
    (span,) = rec.spans()
    assert span.attributes[attr.ERROR_TYPE].endswith("HTTPStatusError")
    assert span.attributes[attr.SERVER_ADDRESS] == "127.0.0.1"


def test_an_async_streamed_call_cancelled_mid_way_ends_cancelled(rec):
    async def consume(started: asyncio.Event) -> None:
        async with llm_call("ollama", "llama3.1:8b", stream=True, tracer_provider=rec.provider) as call:
            call.first_token()
            call.set_usage({"prompt_eval_count": 5})
            started.set()
            await asyncio.Event().wait()  # the stream hangs until cancelled

    async def main() -> None:
        started = asyncio.Event()
        task = asyncio.create_task(consume(started))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    (span,) = rec.spans()
    assert span.attributes[attr.LLM_COST_STREAM_OUTCOME] == "cancelled"
    assert span.attributes[attr.GEN_AI_USAGE_INPUT_TOKENS] == 5
    assert span.status.status_code is StatusCode.UNSET  # as the instrumented streams do


def test_async_with_records_like_with(rec):
    async def main() -> None:
        async with llm_call("openai", "gpt-4o-mini", tracer_provider=rec.provider) as call:
            call.set_usage({"prompt_tokens": 7, "completion_tokens": 3})
            call.set_response_id("chatcmpl-x")

    asyncio.run(main())
    (span,) = rec.spans()
    assert span.attributes[attr.GEN_AI_USAGE_OUTPUT_TOKENS] == 3
    assert span.attributes[attr.GEN_AI_RESPONSE_ID] == "chatcmpl-x"
    assert span.parent is None


def test_the_call_span_is_current_inside_the_block(rec):
    with llm_call("openai", "gpt-4o-mini", tracer_provider=rec.provider) as call:
        inner = rec.provider.get_tracer("t").start_span("http")
        inner.end()
    http, llm = rec.spans()
    assert http.parent is not None and http.parent.span_id == llm.context.span_id
    assert call.span.get_span_context().span_id == llm.context.span_id


# --- budgets, metrics, stats --------------------------------------------------------------------


def test_budget_refusal_happens_before_the_request_is_sent(rec):
    guard = BudgetGuard("global:calls=1/1h")
    with ReplayServer([json_response({"ok": True})]) as srv:
        url = srv.base_url + "/chat/completions"
        with llm_call(url=url, model="gpt-4o-mini", tracer_provider=rec.provider, budget_guard=guard):
            httpx.post(url, json={"model": "gpt-4o-mini"})
        refused = llm_call(url=url, model="gpt-4o-mini", tracer_provider=rec.provider, budget_guard=guard)
        with pytest.raises(BudgetExceeded), refused:
            httpx.post(url, json={"model": "gpt-4o-mini"})  # never reached
        assert len(srv.requests) == 1
    assert len(rec.spans()) == 1


def test_budget_downgrade_changes_the_model_to_send(rec):
    guard = BudgetGuard("model=gpt-4o:calls=0/1h", on_exceeded=lambda breach: "gpt-4o-mini")
    body = {"model": "gpt-4o", "messages": MESSAGES, "max_tokens": 10}
    with llm_call("openai", request=body, tracer_provider=rec.provider, budget_guard=guard) as call:
        assert call.model == "gpt-4o-mini"
        assert call.request == {**body, "model": "gpt-4o-mini"}
        call.set_usage({"prompt_tokens": 10, "completion_tokens": 2})
    (span,) = rec.spans()
    assert span.attributes[attr.GEN_AI_REQUEST_MODEL] == "gpt-4o-mini"
    assert [event.name for event in span.events] == [attr.EVENT_BUDGET_WARNING]


def test_metrics_and_live_stats_come_from_the_invocation_listener(rec):
    reader = InMemoryMetricReader()
    installed = install_metrics(MeterProvider(metric_readers=[reader]))
    live = LiveStats()
    add_invocation_listener(live.record)
    try:
        with llm_call("openai", "gpt-4o-mini", tracer_provider=rec.provider) as call:
            call.set_usage({"prompt_tokens": 1000, "completion_tokens": 100})
    finally:
        remove_invocation_listener(live.record)
        uninstall_metrics(installed)
    names = {
        metric.name
        for resource in reader.get_metrics_data().resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
    }
    assert {"gen_ai.client.operation.duration", "gen_ai.client.token.usage", "llm_cost.client.cost"} <= names
    process = live.snapshot().process
    assert (process.calls, process.input_tokens, process.output_tokens) == (1, 1000, 100)
    assert process.cost == Decimal(str(rec.spans()[0].attributes[attr.GEN_AI_USAGE_COST_AMOUNT]))


def test_a_usage_block_it_cannot_read_leaves_the_usage_unset(rec):
    with llm_call("openai", "gpt-4o-mini", tracer_provider=rec.provider) as call:
        assert call.set_usage({"something": "else"}) is None
        assert call.set_usage(["not", "a", "dict"]) is None
        with pytest.raises(ValueError, match="unknown usage shape"):
            call.set_usage({"prompt_tokens": 1}, shape="nope")
    (span,) = rec.spans()
    assert attr.GEN_AI_USAGE_INPUT_TOKENS not in span.attributes
    assert span.status.status_code is StatusCode.UNSET


def test_provider_comes_from_the_url_as_the_instrumentation_names_it(rec):
    with llm_call(url="http://localhost:11434/api/chat", model="llama3.1:8b", tracer_provider=rec.provider):
        pass
    (span,) = rec.spans()
    assert span.attributes[attr.GEN_AI_PROVIDER_NAME] == "ollama"
    assert (span.attributes[attr.SERVER_ADDRESS], span.attributes[attr.SERVER_PORT]) == ("localhost", 11434)


def test_chunks_reported_by_hand_give_one_time_per_chunk_observation_each(rec):
    from otel_llm_cost.metrics import TIME_PER_OUTPUT_CHUNK, install_metrics, uninstall_metrics

    reader = InMemoryMetricReader()
    installed = install_metrics(MeterProvider(metric_readers=[reader]))
    try:
        with llm_call("openai", "gpt-4o-mini", stream=True, tracer_provider=rec.provider) as call:
            call.chunk()  # the first content chunk: its arrival is the first token's
            call.first_token()
            for _ in range(3):
                call.chunk()
    finally:
        uninstall_metrics(installed)
    data = reader.get_metrics_data()
    points = [
        point
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == TIME_PER_OUTPUT_CHUNK
        for point in metric.data.data_points
    ]
    assert sum(p.count for p in points) == 3  # one per chunk after the first
