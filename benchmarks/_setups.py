"""The configurations a worker can run: how telemetry is set up before the first call.

Every configuration that makes spans uses the same provider set-up (:func:`provider`): an SDK
``TracerProvider`` whose only processor is a ``SimpleSpanProcessor`` (or, in the ``batch`` pipeline, a
``BatchSpanProcessor`` with its defaults) over :class:`CheckingExporter`, which keeps counters and the
last usage seen, never the spans. Only the instrumentation differs. Meter and logger providers are left
to the (no-op) globals for every configuration, and no configuration sets the global tracer provider
(the anthropic SDK's own tracing, on by default since 1.x, therefore records nothing anywhere).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider

# Where each instrumentation puts input / output token counts (current and older conventions).
_INPUT_KEYS = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.usage.prompt_tokens")
_OUTPUT_KEYS = ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", "llm.usage.completion_tokens")


def _first(attributes: Any, keys: Sequence[str]) -> Any:
    for key in keys:
        value = attributes.get(key)
        if value is not None:
            return value
    return None


class CheckingExporter:
    """A span exporter that drops spans but counts them and remembers the last usage it saw."""

    def __init__(self) -> None:
        self.flush: Callable[[], object] = lambda: None  # the provider's force_flush, once there is one
        self.spans = 0
        self.usage_spans = 0
        self.last_usage: tuple[Any, Any] | None = None
        self.last_name = ""

    def export(self, spans: Sequence[ReadableSpan]) -> Any:
        from opentelemetry.sdk.trace.export import SpanExportResult

        for span in spans:
            self.spans += 1
            attributes = span.attributes or {}
            found = (_first(attributes, _INPUT_KEYS), _first(attributes, _OUTPUT_KEYS))
            if found[0] is not None and found[1] is not None:
                self.usage_spans += 1
                self.last_usage = found
                self.last_name = span.name
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


# An OTLP collector that is down, for the memory runs: nothing listens on the port ("refused"), or a
# socket accepts connections (the kernel's backlog) and never reads or answers ("blackhole").
COLLECTORS = ("refused", "blackhole")
_held_sockets: list[socket.socket] = []


def down_collector(kind: str) -> str:
    """The OTLP/HTTP traces endpoint of a collector that is down in the way ``kind`` says."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    if kind == "refused":
        sock.close()
    elif kind == "blackhole":
        sock.listen(1024)
        _held_sockets.append(sock)  # for the life of the process
    else:
        raise ValueError(f"unknown collector failure {kind!r}")
    return f"http://127.0.0.1:{port}/v1/traces"


PIPELINES = ("simple", "batch")


def provider(
    collector: str | None = None, pipeline: str = "simple"
) -> tuple[TracerProvider, CheckingExporter]:
    """The tracer provider every configuration shares; ``pipeline``: the SDK's ``SimpleSpanProcessor``
    (spans exported in the ending thread) or ``BatchSpanProcessor`` (defaults: queued, exported by its
    thread); ``collector``: also export by OTLP, through a ``BatchSpanProcessor``, to a collector that is
    down."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    exporter = CheckingExporter()
    tracer_provider = TracerProvider()
    exporting = BatchSpanProcessor if pipeline == "batch" else SimpleSpanProcessor
    tracer_provider.add_span_processor(exporting(exporter))  # type: ignore[arg-type]
    exporter.flush = tracer_provider.force_flush
    if collector is not None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        otlp = OTLPSpanExporter(endpoint=down_collector(collector))
        tracer_provider.add_span_processor(BatchSpanProcessor(otlp))
    return tracer_provider, exporter


def _ours(tracer_provider: TracerProvider) -> None:
    import otel_llm_cost

    installed = otel_llm_cost.configure(tracer_provider=tracer_provider)
    modules = {type(instrumentor).__module__.rsplit(".", 1)[-1] for instrumentor in installed}
    if not {"openai", "anthropic"} <= modules:
        raise RuntimeError(f"otel-llm-cost instrumented {sorted(modules)}, expected openai and anthropic")


def _genai(tracer_provider: TracerProvider) -> None:
    from opentelemetry.instrumentation.genai.anthropic import AnthropicInstrumentor
    from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor

    OpenAIInstrumentor().instrument(tracer_provider=tracer_provider)
    AnthropicInstrumentor().instrument(tracer_provider=tracer_provider)


def _openllmetry(tracer_provider: TracerProvider) -> None:
    from opentelemetry.instrumentation.anthropic import AnthropicInstrumentor
    from opentelemetry.instrumentation.openai import OpenAIInstrumentor

    OpenAIInstrumentor().instrument(tracer_provider=tracer_provider)
    AnthropicInstrumentor().instrument(tracer_provider=tracer_provider)


def _openai_v2(tracer_provider: TracerProvider) -> None:
    """The official OpenAI instrumentation (contrib); it has no Anthropic twin. Content capture is off
    by default (``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` unset)."""
    from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

    OpenAIInstrumentor().instrument(tracer_provider=tracer_provider)


# OpenLIT prices calls from a JSON file it downloads at init unless given one; the models served (per 1,000
# tokens, the list prices), so that its cost code runs as it does for a user, with no network.
_OPENLIT_PRICES = {
    "chat": {
        model: {"promptPrice": prompt, "completionPrice": completion}
        for model, prompt, completion in (
            ("gpt-4o-mini", 0.00015, 0.0006),
            ("gpt-4o-mini-2024-07-18", 0.00015, 0.0006),
            ("claude-3-opus-20240229", 0.015, 0.075),
            ("claude-3-haiku-20240307", 0.00025, 0.00125),
        )
    }
}


def _openlit(tracer_provider: TracerProvider, capture_content: bool) -> None:
    """OpenLIT on our provider, its metrics and events off (every configuration's meter is the no-op one),
    and only the two SDKs instrumented (its default also instruments every HTTP client and web framework
    it finds, which no other configuration does). OpenLIT takes no provider: it uses the global one (and
    sets up its own when there is none), so this configuration alone sets the global tracer provider."""
    import json
    import tempfile

    import openlit
    from openlit._instrumentors import MODULE_NAME_MAP
    from opentelemetry import trace

    trace.set_tracer_provider(tracer_provider)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as prices:
        json.dump(_OPENLIT_PRICES, prices)
    openlit.init(
        capture_message_content=capture_content,
        disable_metrics=True,
        disable_events=True,
        pricing_json=prices.name,
        disabled_instrumentors=[name for name in MODULE_NAME_MAP if name not in ("openai", "anthropic")],
    )


# Configurations that install an instrumentation; "bare" and "floor" install none.
INSTRUMENTATIONS: dict[str, Callable[[TracerProvider], None]] = {
    "ours": _ours,
    "ours_before": _ours,  # otel-llm-cost from another source tree (run.py --before PATH)
    "genai": _genai,
    "openai_v2": _openai_v2,
    "openllmetry": _openllmetry,
    "openlit": lambda tracer_provider: _openlit(tracer_provider, capture_content=False),
    "openlit_content": lambda tracer_provider: _openlit(tracer_provider, capture_content=True),
}
CONFIGS = ("bare", "floor", *INSTRUMENTATIONS)
# What each environment (run.py's generations) can run: OpenLIT only where its pins are.
GENERATION_CONFIGS = {
    "latest": ("bare", "floor", "ours", "ours_before", "genai", "openllmetry"),
    "openai_v2": ("bare", "floor", "ours", "ours_before", "openai_v2"),
    "legacy": ("bare", "floor", "ours", "ours_before", "genai", "openllmetry"),
    "openlit": ("bare", "floor", "ours", "ours_before", "openlit", "openlit_content"),
}

# Distributions each configuration's versions are reported from.
DISTRIBUTIONS = {
    "bare": (),
    "floor": ("opentelemetry-sdk",),
    "ours": ("otel-llm-cost", "opentelemetry-sdk"),
    "ours_before": ("otel-llm-cost", "opentelemetry-sdk"),
    "genai": (
        "opentelemetry-instrumentation-genai-openai",
        "opentelemetry-instrumentation-genai-anthropic",
        "opentelemetry-util-genai",
        "opentelemetry-sdk",
    ),
    "openai_v2": ("opentelemetry-instrumentation-openai-v2", "opentelemetry-util-genai", "opentelemetry-sdk"),
    "openllmetry": (
        "opentelemetry-instrumentation-openai",
        "opentelemetry-instrumentation-anthropic",
        "opentelemetry-sdk",
    ),
    "openlit": ("openlit", "opentelemetry-sdk"),
    "openlit_content": ("openlit", "opentelemetry-sdk"),
}
