"""configure(), install_processor() and the opentelemetry-instrument path."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NoOpTracerProvider

import otel_llm_cost
from otel_llm_cost import attributes as attr
from otel_llm_cost.errors import PriceFileError
from otel_llm_cost.launch import CostProcessorInstrumentor, install_processor
from otel_llm_cost.pricing import Pricer, get_pricer, set_pricer


def _processors(provider: TracerProvider) -> list[object]:
    return list(provider._active_span_processor._span_processors)


def test_install_processor_adds_one_processor_per_provider():
    provider = TracerProvider()
    first = install_processor(provider)
    second = install_processor(provider)
    assert first is second
    assert [type(p).__name__ for p in _processors(provider)] == ["LLMCostSpanProcessor"]


def test_install_processor_on_a_non_sdk_provider_returns_none():
    assert install_processor(NoOpTracerProvider()) is None


def test_processor_instrumentor_installs_on_the_given_provider():
    provider = TracerProvider()
    instrumentor = CostProcessorInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        assert [type(p).__name__ for p in _processors(provider)] == ["LLMCostSpanProcessor"]
    finally:
        instrumentor.uninstrument()


def test_configure_prices_span_it_did_not_make_through_the_processor():
    provider = TracerProvider()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentors = otel_llm_cost.configure(tracer_provider=provider)
    try:
        with provider.get_tracer("someone-else").start_as_current_span("chat gpt-4o") as span:
            span.set_attribute(attr.GEN_AI_PROVIDER_NAME, "openai")
            span.set_attribute(attr.GEN_AI_REQUEST_MODEL, "gpt-4o")
            span.set_attribute(attr.GEN_AI_USAGE_INPUT_TOKENS, 1000)
            span.set_attribute(attr.GEN_AI_USAGE_OUTPUT_TOKENS, 100)
    finally:
        for instrumentor in instrumentors:
            instrumentor.uninstrument()
    (finished,) = exporter.get_finished_spans()
    # gpt-4o: $2.50 / MTok input, $10 / MTok output.
    assert finished.attributes[attr.GEN_AI_USAGE_COST_AMOUNT] == pytest.approx(0.0025 + 0.001, abs=1e-12)
    assert finished.attributes[attr.LLM_COST_COST_STATUS] == "priced"


def test_configure_with_a_price_file_uses_its_prices(tmp_path):
    prices = tmp_path / "prices.toml"
    prices.write_text('[models."acme-private-1"]\ninput = 1\noutput = 2\n')
    previous = get_pricer()
    try:
        otel_llm_cost.configure(tracer_provider=TracerProvider(), prices=prices)
        cost = get_pricer().price(otel_llm_cost.Usage.of(1_000_000, 1_000_000), "acme-private-1", "acme")
        assert cost.amount == Decimal(3)
    finally:
        set_pricer(previous)
        _uninstrument_all()


def test_configure_with_a_bad_price_file_raises_at_set_up(tmp_path):
    prices = tmp_path / "prices.toml"
    prices.write_text('[models."acme-private-1"]\ninput = "cheap"\noutput = 2\n')
    previous = get_pricer()
    with pytest.raises(PriceFileError, match=r"prices\.toml:2: .*input"):
        otel_llm_cost.configure(tracer_provider=TracerProvider(), prices=prices)
    assert get_pricer() is previous


def _uninstrument_all() -> None:
    from otel_llm_cost.instrumentation.anthropic import AnthropicInstrumentor
    from otel_llm_cost.instrumentation.openai import OpenAIInstrumentor
    from otel_llm_cost.instrumentation.wire import WireInstrumentor

    for instrumentor in (OpenAIInstrumentor(), AnthropicInstrumentor(), WireInstrumentor()):
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()


_APP = textwrap.dedent(
    """
    import openai
    from otel_llm_cost.demo import DemoServer

    with DemoServer(first_token_delay=0, chunk_delay=0) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="demo", max_retries=0)
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hello"}]
        )
    """
)


@pytest.mark.parametrize("disabled", ["", "llm_cost_openai", "llm_cost_openai,llm_cost_wire"])
def test_opentelemetry_instrument_loads_instrumentor_and_processor(tmp_path, disabled):
    """The zero-code path: entry points give an instrumented, priced span on the console exporter.

    With the OpenAI wrapper disabled by name, the wire capture beneath httpx2 records the call; with
    both disabled, nothing does.
    """
    bin_dir = Path(sys.executable).parent
    launcher = bin_dir / "opentelemetry-instrument"
    assert launcher.exists(), (
        "opentelemetry-instrument comes with opentelemetry-instrumentation, a dependency"
    )
    # opentelemetry-distro (a test requirement) builds the SDK provider our processor attaches to.
    assert importlib.util.find_spec("opentelemetry.distro") is not None
    app = tmp_path / "app.py"
    app.write_text(_APP)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("OTEL_")},
        "OTEL_TRACES_EXPORTER": "console",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        # Other GenAI instrumentations installed beside ours are switched off to isolate ours.
        "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": ",".join(filter(None, ["openai", "anthropic", disabled])),
    }
    result = subprocess.run(
        [str(launcher), sys.executable, str(app)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    spans = _console_spans(result.stdout)
    llm_spans = [s for s in spans if s["attributes"].get(attr.GEN_AI_OPERATION_NAME) == "chat"]
    if "llm_cost_wire" in disabled:
        assert llm_spans == []
        return
    (span,) = llm_spans
    assert span["attributes"][attr.GEN_AI_USAGE_INPUT_TOKENS] > 0
    assert span["attributes"][attr.GEN_AI_USAGE_COST_AMOUNT] > 0


def _console_spans(stdout: str) -> list[dict]:
    """The ConsoleSpanExporter prints one indented JSON object per span."""
    decoder = json.JSONDecoder()
    spans, index = [], 0
    while (start := stdout.find("{", index)) != -1:
        obj, index = decoder.raw_decode(stdout, start)
        if isinstance(obj, dict) and "attributes" in obj:
            spans.append(obj)
    return spans


def test_pricer_is_the_documented_default_type():
    assert isinstance(get_pricer(), Pricer)
