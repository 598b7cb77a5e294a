"""Every billed unit in the cost (#17), each case worked out by hand from genai-prices' published prices.

Each call goes through the real SDK (or, where no SDK is instrumented, a real HTTP call wrapped in
``llm_call``) against a loopback server serving a recorded body, or a realistic one where no recording
has the unit. Rates are written out below as per-million (or per-thousand) USD figures; ``PRICES`` checks
each against genai-prices' data, so a data change fails here first, not as a wrong total.
"""

from __future__ import annotations

import io
import json
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from genai_prices.data_snapshot import get_snapshot
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_llm_cost import attributes as attr
from otel_llm_cost import llm_call
from otel_llm_cost.instrumentation.anthropic import AnthropicInstrumentor
from otel_llm_cost.instrumentation.openai import OpenAIInstrumentor
from replay import ReplayServer, json_response, load

M = Decimal(1_000_000)
K = Decimal(1_000)

# (provider, model) -> {genai-prices price key: USD per million tokens / per thousand requests}
PRICES: dict[tuple[str, str], dict[str, Decimal]] = {
    ("anthropic", "claude-sonnet-4-6"): {
        "input_mtok": Decimal(3),
        "output_mtok": Decimal(15),
        "cache_read_mtok": Decimal("0.3"),
        "cache_write_mtok": Decimal("3.75"),
        "cache_write_1h_mtok": Decimal(6),
        "web_searches_kcount": Decimal(10),
    },
    ("anthropic", "claude-opus-4-8"): {"input_mtok": Decimal(5), "output_mtok": Decimal(25)},
    ("openai", "gpt-4.1"): {
        "input_mtok": Decimal(2),
        "output_mtok": Decimal(8),
        "web_searches_kcount": Decimal(10),
    },
    ("openai", "gpt-audio"): {
        "input_mtok": Decimal("2.5"),
        "output_mtok": Decimal(10),
        "input_audio_mtok": Decimal(32),
        "output_audio_mtok": Decimal(64),
    },
    ("openai", "gpt-image-1"): {
        "input_mtok": Decimal(5),
        "output_mtok": Decimal(40),
        "input_image_mtok": Decimal(10),
    },
    ("google", "gemini-2.5-flash"): {
        "input_mtok": Decimal("0.3"),
        "output_mtok": Decimal("2.5"),
        "input_audio_mtok": Decimal(1),
    },
}


@pytest.mark.parametrize("key", list(PRICES), ids=lambda key: key[1])
def test_the_rates_used_below_are_genai_prices_published_rates(key: tuple[str, str]) -> None:
    provider, model = key
    prices = get_snapshot().find_provider_model(model, None, provider, None)[1].get_prices(datetime.now(UTC))
    for price_key, expected in PRICES[key].items():
        value = getattr(prices, price_key)
        assert getattr(value, "base", value) == expected, price_key


def rate(model: str, price_key: str) -> Decimal:
    provider = next(p for p, m in PRICES if m == model)
    per = K if price_key.endswith("_kcount") else M
    return PRICES[(provider, model)][price_key] / per


@pytest.fixture
def instrumented(tracer_provider: TracerProvider) -> Iterator[None]:
    openai_instrumentor, anthropic_instrumentor = OpenAIInstrumentor(), AnthropicInstrumentor()
    openai_instrumentor.instrument(tracer_provider=tracer_provider)
    anthropic_instrumentor.instrument(tracer_provider=tracer_provider)
    yield
    openai_instrumentor.uninstrument()
    anthropic_instrumentor.uninstrument()


def only_llm_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    spans = [
        s for s in exporter.get_finished_spans() if s.attributes and attr.LLM_COST_COST_STATUS in s.attributes
    ]
    assert len(spans) == 1
    return spans[0]


def cost_of(span: ReadableSpan) -> Decimal:
    return Decimal(str(span.attributes[attr.GEN_AI_USAGE_COST_AMOUNT]))


def assert_cost(span: ReadableSpan, expected: Decimal, status: str = "priced") -> None:
    assert span.attributes[attr.LLM_COST_COST_STATUS] == status
    assert cost_of(span) == pytest.approx(expected, abs=Decimal("1e-12"))


# --- Anthropic ---------------------------------------------------------------------------------------


def _message(usage: dict[str, Any], content: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-6",
        "content": content or [{"type": "text", "text": "Use a binary search over the sorted offsets."}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
            "service_tier": "standard",
            **usage,
        },
    }


def _anthropic_call(body: dict[str, Any]) -> None:
    with ReplayServer([json_response(body)], prefix="") as server:
        client = anthropic.Anthropic(base_url=server.base_url, api_key="test", max_retries=0)
        client.messages.create(
            model="claude-sonnet-4-6", max_tokens=1024, messages=[{"role": "user", "content": "Plan it."}]
        )


ADVISOR_ITERATIONS = [
    {"type": "message", "input_tokens": 1128, "output_tokens": 110},
    {"type": "advisor_message", "model": "claude-opus-4-8", "input_tokens": 2518, "output_tokens": 22},
    {"type": "message", "input_tokens": 1262, "output_tokens": 11},
]


def test_advisor_call_prices_each_iteration_at_its_own_model(
    instrumented: None, exporter: InMemorySpanExporter
):
    _anthropic_call(_message({"input_tokens": 2390, "output_tokens": 121, "iterations": ADVISOR_ITERATIONS}))
    span = only_llm_span(exporter)
    # Top level = the two executor messages (1128 + 1262 = 2390 in, 110 + 11 = 121 out), at Sonnet 4.6:
    executor = 2390 * rate("claude-sonnet-4-6", "input_mtok") + 121 * rate("claude-sonnet-4-6", "output_mtok")
    assert executor == Decimal("0.00717") + Decimal("0.001815")
    # The advisor iteration, at Opus 4.8: 2518 x $5/M + 22 x $25/M.
    advisor = 2518 * rate("claude-opus-4-8", "input_mtok") + 22 * rate("claude-opus-4-8", "output_mtok")
    assert advisor == Decimal("0.01259") + Decimal("0.00055")
    assert_cost(span, Decimal("0.022125"))
    assert executor + advisor == Decimal("0.022125")
    assert span.attributes["llm_cost.cost.advisor_message"] == pytest.approx(0.01314)
    assert span.attributes[attr.GEN_AI_USAGE_INPUT_TOKENS] == 2390
    assert span.attributes[attr.LLM_COST_USAGE_ITERATIONS_MODELS] == ("claude-opus-4-8",)
    assert span.attributes[attr.LLM_COST_USAGE_ITERATIONS_INPUT] == 2518


def test_advisor_at_a_model_without_prices_makes_the_call_partial(instrumented: None, exporter):
    steps = [dict(step) for step in ADVISOR_ITERATIONS]
    steps[1]["model"] = "claude-unreleased-9"
    _anthropic_call(_message({"input_tokens": 2390, "output_tokens": 121, "iterations": steps}))
    span = only_llm_span(exporter)
    assert_cost(span, Decimal("0.008985"), status="partial")  # the executor's part only
    assert span.attributes[attr.LLM_COST_COST_UNPRICED_UNITS] == ("advisor_message:claude-unreleased-9",)


def test_compaction_iteration_cache_counts_are_billed(instrumented: None, exporter: InMemorySpanExporter):
    compaction = {
        "type": "compaction",
        "input_tokens": 180,
        "cache_read_input_tokens": 41_200,
        "cache_creation_input_tokens": 2_100,
        "cache_creation": {"ephemeral_5m_input_tokens": 2_100, "ephemeral_1h_input_tokens": 0},
        "output_tokens": 1_850,
    }
    message = {"type": "message", "input_tokens": 3_012, "output_tokens": 402}
    _anthropic_call(
        _message({"input_tokens": 3_012, "output_tokens": 402, "iterations": [compaction, message]})
    )
    span = only_llm_span(exporter)
    sonnet = "claude-sonnet-4-6"
    top = 3_012 * rate(sonnet, "input_mtok") + 402 * rate(sonnet, "output_mtok")
    assert top == Decimal("0.009036") + Decimal("0.00603")
    compacted = (
        180 * rate(sonnet, "input_mtok")  # 0.00054
        + 41_200 * rate(sonnet, "cache_read_mtok")  # 0.01236
        + 2_100 * rate(sonnet, "cache_write_mtok")  # 0.007875 (5-minute writes)
        + 1_850 * rate(sonnet, "output_mtok")  # 0.02775
    )
    assert compacted == Decimal("0.048525")
    assert_cost(span, Decimal("0.063591"))
    assert span.attributes["llm_cost.cost.compaction"] == pytest.approx(0.048525)
    assert span.attributes[attr.LLM_COST_USAGE_ITERATIONS_CACHE_READ] == 41_200


def test_anthropic_web_search_requests_are_billed(instrumented: None, exporter: InMemorySpanExporter):
    content = [
        {"type": "text", "text": "Let me look that up."},
        {
            "type": "server_tool_use",
            "id": "srvtoolu_01WYG3ziw53XMcoyKL4XcZmE",
            "name": "web_search",
            "input": {"query": "otel genai semantic conventions"},
        },
        {
            "type": "web_search_tool_result",
            "tool_use_id": "srvtoolu_01WYG3ziw53XMcoyKL4XcZmE",
            "content": [
                {
                    "type": "web_search_result",
                    "url": "https://opentelemetry.io/docs/specs/semconv/gen-ai/",
                    "title": "Semantic conventions for generative AI systems",
                    "encrypted_content": "EqgfCioIARgBIiQ3YTAwMjY1Mi1mZjM5LTQ1NGUtODgxNC1kNjNjNTk1ZWI3Y2MSDP",
                    "page_age": None,
                }
            ],
        },
        {"type": "text", "text": "The conventions live in their own repository now."},
    ]
    usage = {
        "input_tokens": 10_682,
        "output_tokens": 510,
        "server_tool_use": {"web_search_requests": 3, "web_fetch_requests": 1},
    }
    _anthropic_call(_message(usage, content))
    span = only_llm_span(exporter)
    sonnet = "claude-sonnet-4-6"
    tokens = 10_682 * rate(sonnet, "input_mtok") + 510 * rate(sonnet, "output_mtok")  # 0.032046 + 0.00765
    searches = 3 * rate(sonnet, "web_searches_kcount")  # 3 x $10 / 1000; web fetches are not billed
    assert (tokens, searches) == (Decimal("0.039696"), Decimal("0.03"))
    assert_cost(span, Decimal("0.069696"))
    assert span.attributes["llm_cost.cost.web_searches"] == pytest.approx(0.03)
    assert span.attributes["llm_cost.usage.web_searches"] == 3
    assert span.attributes["llm_cost.usage.web_fetches"] == 1


# --- OpenAI --------------------------------------------------------------------------------------------

WEB_SEARCH = (
    "Arize-ai+openinference/python/instrumentation/openinference-instrumentation-litellm/tests/cassettes/"
    "test_responses/test_responses_websearch_input.yaml"
)


def test_openai_responses_web_search_call_is_billed(instrumented: None, exporter: InMemorySpanExporter):
    recorded = load(WEB_SEARCH)
    with ReplayServer(recorded) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0)
        client.responses.create(**recorded[0].request_json())
    span = only_llm_span(exporter)
    # Recorded: gpt-4.1-2025-04-14, 310 input and 290 output tokens, one web_search_call output item.
    tokens = 310 * rate("gpt-4.1", "input_mtok") + 290 * rate("gpt-4.1", "output_mtok")  # 0.00062 + 0.00232
    search = 1 * rate("gpt-4.1", "web_searches_kcount")  # $10 / 1000
    assert tokens + search == Decimal("0.01294")
    assert_cost(span, Decimal("0.01294"))
    assert span.attributes["llm_cost.usage.web_searches"] == 1


def _audio_completion(model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-BFn2hrvZB6Py7ZK5n1kGmI7yS8AWG",
        "object": "chat.completion",
        "created": 1743014843,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None,
                    "refusal": None,
                    "audio": {
                        "id": "audio_67e4a7bb0a6c8190a0c3e5c9f4c5e4a1",
                        "data": "UklGRiQAAABXQVZFZm10IBAAAAABAAEAESsAACJWAAACABAAZGF0YQAAAAA=",
                        "expires_at": 1743018443,
                        "transcript": "The recording says the meeting moved to Thursday at ten.",
                    },
                    "annotations": [],
                },
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 213,
            "completion_tokens": 412,
            "total_tokens": 625,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 195},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 334,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "service_tier": "default",
        "system_fingerprint": "fp_b2e0b0d3a4",
    }


def _audio_call(model: str) -> None:
    with ReplayServer([json_response(_audio_completion(model))]) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0)
        client.chat.completions.create(
            model=model,
            modalities=["text", "audio"],
            audio={"voice": "alloy", "format": "wav"},
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What does this say?"},
                        {"type": "input_audio", "input_audio": {"data": "UklGRiQAAABXQVZF", "format": "wav"}},
                    ],
                }
            ],
        )


def test_audio_in_and_out_at_audio_rates(instrumented: None, exporter: InMemorySpanExporter):
    _audio_call("gpt-audio")
    span = only_llm_span(exporter)
    # 213 prompt tokens = 195 audio + 18 text; 412 completion tokens = 334 audio + 78 text.
    text_in = 18 * rate("gpt-audio", "input_mtok")  # 0.000045
    audio_in = 195 * rate("gpt-audio", "input_audio_mtok")  # 0.00624
    text_out = 78 * rate("gpt-audio", "output_mtok")  # 0.00078
    audio_out = 334 * rate("gpt-audio", "output_audio_mtok")  # 0.021376
    assert text_in + audio_in + text_out + audio_out == Decimal("0.028441")
    assert_cost(span, Decimal("0.028441"))
    assert span.attributes["llm_cost.cost.input_audio"] == pytest.approx(0.00624)
    assert span.attributes["llm_cost.cost.output_audio"] == pytest.approx(0.021376)
    assert span.attributes["llm_cost.usage.input_audio_tokens"] == 195
    assert span.attributes["llm_cost.usage.output_audio_tokens"] == 334


def test_audio_on_a_model_the_data_prices_only_for_text_is_partial(instrumented: None, exporter):
    from otel_llm_cost.instrumentation._invocation import add_invocation_listener, remove_invocation_listener
    from otel_llm_cost.live_stats import LiveStats

    live = LiveStats()
    add_invocation_listener(live.record)
    try:
        _audio_call("gpt-4o-audio-preview")  # genai-prices lists $2.50 / $10 per MTok and no audio rate
    finally:
        remove_invocation_listener(live.record)
    assert live.snapshot().process.partial_calls == 1
    span = only_llm_span(exporter)
    # The audio tokens stay at the text rates (genai-prices' fallback), and the span says so.
    assert_cost(span, 213 * Decimal("2.5") / M + 412 * Decimal(10) / M, status="partial")
    assert span.attributes[attr.LLM_COST_COST_UNPRICED_UNITS] == ("input_audio_tokens", "output_audio_tokens")


def _image_response(usage: dict[str, Any]) -> dict[str, Any]:
    return {
        "created": 1745443208,
        "background": "opaque",
        "data": [{"b64_json": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJ"}],
        "output_format": "png",
        "quality": "medium",
        "size": "1024x1024",
        "usage": usage,
    }


def test_gpt_image_1_edit_prices_image_input_and_output(tracer_provider: TracerProvider, exporter):
    # images.* is not instrumented: the real SDK call is wrapped in llm_call, as a user would.
    usage = {
        "input_tokens": 1_323,
        "input_tokens_details": {"image_tokens": 1_290, "text_tokens": 33},
        "output_tokens": 4_160,
        "total_tokens": 5_483,
    }
    with ReplayServer([json_response(_image_response(usage))]) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0)
        with llm_call("openai", "gpt-image-1", "generate_content", tracer_provider=tracer_provider) as call:
            result = client.images.edit(
                model="gpt-image-1",
                image=("cat.png", io.BytesIO(b"\x89PNG\r\n"), "image/png"),
                prompt="Add a hat",
            )
            call.set_usage(result.usage, shape="openai.responses")
    span = only_llm_span(exporter)
    text_in = 33 * rate("gpt-image-1", "input_mtok")  # 0.000165
    image_in = 1_290 * rate("gpt-image-1", "input_image_mtok")  # 0.0129
    image_out = 4_160 * rate(
        "gpt-image-1", "output_mtok"
    )  # 0.1664: gpt-image-1's output rate is its image rate
    assert text_in + image_in + image_out == Decimal("0.179465")
    assert_cost(span, Decimal("0.179465"))
    assert span.attributes["llm_cost.cost.input_image"] == pytest.approx(0.0129)


# --- Gemini --------------------------------------------------------------------------------------------

# A real Gemini response (openinference's recording; see tests/recordings/NOTICE.md).
GEMINI_IMAGE = Path(__file__).parent / "recordings" / "gemini_describe_image.yaml"


def test_gemini_image_input(tracer_provider: TracerProvider, exporter: InMemorySpanExporter):
    recorded = load(GEMINI_IMAGE)
    with (
        ReplayServer(recorded, prefix="") as server,
        llm_call("gcp.gemini", "gemini-2.5-flash", tracer_provider=tracer_provider) as call,
    ):
        request = urllib.request.Request(
            f"{server.url}{recorded[0].path}",
            data=json.dumps(recorded[0].request_json()).encode(),
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            call.set_usage(json.loads(response.read())["usageMetadata"], shape="gemini")
    span = only_llm_span(exporter)
    # Recorded: 277 prompt tokens (19 text + 258 image), 125 candidate tokens, 678 thinking tokens.
    # Google bills image input at the text rate; genai-prices lists an audio rate only, so 258 image tokens
    # are at the $0.30 input rate, and priced (the data names the input modalities that cost more).
    inputs = 277 * rate("gemini-2.5-flash", "input_mtok")  # 0.0000831
    outputs = (125 + 678) * rate("gemini-2.5-flash", "output_mtok")  # 0.0020075
    assert inputs + outputs == Decimal("0.0020906")
    assert_cost(span, Decimal("0.0020906"))
    assert span.attributes["llm_cost.usage.input_image_tokens"] == 258


# --- Another producer's span ---------------------------------------------------------------------------


def _foreign_anthropic_span(extra: dict[str, Any]) -> dict[str, Any]:
    """A span as OpenLLMetry / the genai-anthropic instrumentation write it, priced by our processor."""
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from otel_llm_cost.pricing import Pricer
    from otel_llm_cost.processor import LLMCostSpanProcessor

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(LLMCostSpanProcessor(Pricer()))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("openllmetry").start_as_current_span("anthropic.chat") as span:
        span.set_attributes(
            {
                "gen_ai.provider.name": "anthropic",
                "gen_ai.response.model": "claude-sonnet-4-6",
                "gen_ai.usage.input_tokens": 10_000,
                "gen_ai.usage.output_tokens": 100,
                "gen_ai.usage.cache_creation.input_tokens": 8_000,
                **extra,
            }
        )
    return dict(exporter.get_finished_spans()[0].attributes)


def test_cache_writes_without_ttl_split_from_another_producer_are_partial():
    attributes = _foreign_anthropic_span({})
    assert attributes[attr.LLM_COST_COST_STATUS] == "partial"
    assert list(attributes[attr.LLM_COST_COST_UNPRICED_UNITS]) == ["cache_write_ttl"]
    sonnet = "claude-sonnet-4-6"
    # The lower bound: 2,000 uncached x $3/M + 8,000 written at the 5-minute $3.75/M + 100 x $15/M.
    lower = (
        2_000 * rate(sonnet, "input_mtok")
        + 8_000 * rate(sonnet, "cache_write_mtok")
        + 100 * rate(sonnet, "output_mtok")
    )
    assert attributes[attr.GEN_AI_USAGE_COST_AMOUNT] == pytest.approx(float(lower))


def test_cache_writes_with_the_split_from_another_producer_are_priced():
    split = {
        "anthropic.usage.cache_creation.ephemeral_5m_input_tokens": 0,
        "anthropic.usage.cache_creation.ephemeral_1h_input_tokens": 8_000,
    }
    attributes = _foreign_anthropic_span(split)
    assert attributes[attr.LLM_COST_COST_STATUS] == "priced"
    sonnet = "claude-sonnet-4-6"
    exact = (
        2_000 * rate(sonnet, "input_mtok")
        + 8_000 * rate(sonnet, "cache_write_1h_mtok")
        + 100 * rate(sonnet, "output_mtok")
    )
    assert exact == Decimal("0.0555")
    assert attributes[attr.GEN_AI_USAGE_COST_AMOUNT] == pytest.approx(0.0555)


# --- Everything downstream carries the full cost -------------------------------------------------------


def test_roll_up_metrics_live_stats_budget_and_report_carry_the_full_cost(tmp_path: Path):
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from otel_llm_cost import BudgetGuard
    from otel_llm_cost.export.jsonl import JsonlSpanExporter
    from otel_llm_cost.instrumentation._invocation import add_invocation_listener, remove_invocation_listener
    from otel_llm_cost.live_stats import LiveStats
    from otel_llm_cost.metrics import LLMMetrics
    from otel_llm_cost.pricing import Pricer
    from otel_llm_cost.processor import LLMCostSpanProcessor
    from otel_llm_cost.report import build_report
    from otel_llm_cost.report.render import render_table

    reader = InMemoryMetricReader()
    metrics, live = LLMMetrics(MeterProvider(metric_readers=[reader])), LiveStats()
    exporter, path = InMemorySpanExporter(), tmp_path / "spans.jsonl"
    provider = TracerProvider()
    provider.add_span_processor(LLMCostSpanProcessor(Pricer()))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    provider.add_span_processor(SimpleSpanProcessor(JsonlSpanExporter(path)))
    guard = BudgetGuard("global:usd=1/1h")
    block = {"input_tokens": 2390, "output_tokens": 121, "iterations": ADVISOR_ITERATIONS}
    for listener in (metrics.record_call, live.record):
        add_invocation_listener(listener)
    try:
        with (
            provider.get_tracer("app").start_as_current_span("plan step"),
            llm_call(
                "anthropic",
                "claude-sonnet-4-6",
                # An output cap: without one the guard must reserve the model's whole window (#16).
                request={"max_tokens": 256, "messages": [{"role": "user", "content": "plan"}]},
                tracer_provider=provider,
                budget_guard=guard,
            ) as call,
        ):
            call.set_usage(block, shape="anthropic")
    finally:
        for listener in (metrics.record_call, live.record):
            remove_invocation_listener(listener)
    provider.shutdown()
    full = Decimal("0.022125")  # 0.008985 (Sonnet 4.6 executor) + 0.01314 (Opus 4.8 advisor), as above

    step = next(s for s in exporter.get_finished_spans() if s.name == "plan step")
    assert step.attributes[attr.LLM_COST_TOTAL_COST] == pytest.approx(float(full))
    assert step.attributes["llm_cost.total.cost_by_part.advisor_message"] == pytest.approx(0.01314)
    assert live.snapshot().process.cost == full
    assert live.snapshot().process.partial_calls == 0
    assert guard.usage(guard.limits[0])[0] == full
    points = [
        point.value
        for metric in reader.get_metrics_data().resource_metrics[0].scope_metrics[0].metrics
        if metric.name == "llm_cost.client.cost"
        for point in metric.data.data_points
    ]
    assert points == [pytest.approx(float(full))]
    report = build_report([path])
    assert report.totals.cost == pytest.approx(full, abs=Decimal("1e-9"))
    assert report.parts.costs["advisor_message"] == pytest.approx(Decimal("0.01314"))
    assert "Beyond text advisor_message 0.013140 USD" in render_table(report)
