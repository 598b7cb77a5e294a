"""A streamed chat completion with the ``openai`` SDK: tokens, time to first token and cost on its span.

Offline (no key, no network; a local OpenAI-compatible demo server)::

    python examples/streaming_chat.py

Against the real API: set ``OPENAI_API_KEY`` (``OTEL_LLM_COST_DEMO_SERVER=1`` stays offline anyway).

Zero-code, under ``opentelemetry-instrument`` (the SDK is instrumented through our entry points;
with no exporter configured and no ``opentelemetry-distro``, spans go to ``otel-llm-cost-spans.jsonl``
and a summary is printed at exit)::

    OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=openai,anthropic \\
    opentelemetry-instrument python examples/streaming_chat.py

    # or print the spans, or send them to a collector (OTLP over HTTP):
    OTEL_TRACES_EXPORTER=console opentelemetry-instrument python examples/streaming_chat.py
    OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 \\
    opentelemetry-instrument python examples/streaming_chat.py

(``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=openai,anthropic`` switches off other GenAI instrumentations
that may be installed under those names, which would record each call a second time.)
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import openai
from example_tracing import tracer_provider, use_demo_server

from otel_llm_cost.demo.server import DemoServer

MODEL = "gpt-4o-mini"


@contextmanager
def client() -> Iterator[openai.OpenAI]:
    if not use_demo_server("OPENAI_API_KEY"):
        with openai.OpenAI() as real:
            yield real
        return
    with DemoServer() as server, openai.OpenAI(base_url=server.base_url, api_key="demo") as demo:
        yield demo


def main() -> int:
    provider, owned = tracer_provider("streaming-chat-example")
    with client() as sdk:
        stream = sdk.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": "Write a haiku about latency."}],
            stream=True,
        )
        for chunk in stream:
            if chunk.choices:
                sys.stdout.write(chunk.choices[0].delta.content or "")
                sys.stdout.flush()
    print()
    if owned:
        provider.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
