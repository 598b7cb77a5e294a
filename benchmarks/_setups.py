"""The configurations a worker can run: how telemetry is set up before the first call.

Every configuration that makes spans uses the same provider set-up (:func:`provider`): an SDK
``TracerProvider`` whose only processor is a ``SimpleSpanProcessor`` over :class:`CheckingExporter`,
which keeps counters and the last usage seen, never the spans. Only the instrumentation differs.
Meter and logger providers are left to the (no-op) globals for every configuration.
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


def provider(collector: str | None = None) -> tuple[TracerProvider, CheckingExporter]:
    """The tracer provider every configuration shares; ``collector``: also export by OTLP, through the
    SDK's ``BatchSpanProcessor`` with its default queue and timeouts, to a collector that is down."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    exporter = CheckingExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))  # type: ignore[arg-type]
    if collector is not None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        otlp = OTLPSpanExporter(endpoint=down_collector(collector))
        tracer_provider.add_span_processor(BatchSpanProcessor(otlp))
    return tracer_provider, exporter


def _ours(tracer_provider: TracerProvider) -> None:
    import otel_llm_cost

    installed = otel_llm_cost.configure(tracer_provider=tracer_provider)
    if len(installed) != 2:
        raise RuntimeError(f"otel-llm-cost instrumented {installed!r}, expected openai and anthropic")


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


# Configurations that install an instrumentation; "bare" and "floor" install none.
INSTRUMENTATIONS: dict[str, Callable[[TracerProvider], None]] = {
    "ours": _ours,
    "genai": _genai,
    "openllmetry": _openllmetry,
}
CONFIGS = ("bare", "floor", *INSTRUMENTATIONS)

# Distributions each configuration's versions are reported from.
DISTRIBUTIONS = {
    "bare": (),
    "floor": ("opentelemetry-sdk",),
    "ours": ("otel-llm-cost", "opentelemetry-sdk"),
    "genai": (
        "opentelemetry-instrumentation-genai-openai",
        "opentelemetry-instrumentation-genai-anthropic",
        "opentelemetry-util-genai",
        "opentelemetry-sdk",
    ),
    "openllmetry": (
        "opentelemetry-instrumentation-openai",
        "opentelemetry-instrumentation-anthropic",
        "opentelemetry-sdk",
    ),
}
