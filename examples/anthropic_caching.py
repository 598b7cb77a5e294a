"""Anthropic prompt caching: the first call writes the cached prefix, the second reads it, cheaper.

Both spans carry ``gen_ai.usage.cache_write.input_tokens`` / ``gen_ai.usage.cache_read.input_tokens``
(inside ``gen_ai.usage.input_tokens``, which counts all input) and a cost that charges cache writes
and reads at their own prices.

Offline (no key, no network; a local Anthropic-compatible demo server)::

    python examples/anthropic_caching.py

Against the real API: set ``ANTHROPIC_API_KEY`` (the shared prefix is long enough to be cached:
Anthropic caches prompts of 1,024 tokens and more).

Zero-code, under ``opentelemetry-instrument``::

    OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=openai,anthropic \\
    opentelemetry-instrument python examples/anthropic_caching.py

    OTEL_TRACES_EXPORTER=console opentelemetry-instrument python examples/anthropic_caching.py
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import anthropic
from example_tracing import tracer_provider, use_demo_server

from otel_llm_cost.demo.server import DemoServer

MODEL = "claude-haiku-4-5"

# A long, stable prefix (a style guide, a document, tool definitions...) is what caching pays for.
GUIDE = "\n".join(
    f"Rule {i}: answer travel questions briefly, name the city, give temperatures in Celsius, "
    f"and mention one indoor plan for rainy days; never invent opening hours."
    for i in range(1, 61)
)
QUESTIONS = ("Is Paris rainy in April?", "Is Lisbon windy in May?")


@contextmanager
def client() -> Iterator[anthropic.Anthropic]:
    if not use_demo_server("ANTHROPIC_API_KEY"):
        with anthropic.Anthropic() as real:
            yield real
        return
    with (
        DemoServer() as server,
        anthropic.Anthropic(base_url=server.anthropic_base_url, api_key="demo") as demo,
    ):
        yield demo


def ask(sdk: anthropic.Anthropic, question: str) -> None:
    reply = sdk.messages.create(
        model=MODEL,
        max_tokens=200,
        system=[{"type": "text", "text": GUIDE, "cache_control": {"type": "ephemeral"}}],
        messages=[{"role": "user", "content": question}],
    )
    usage = reply.usage
    print(
        f"{question!r}: input {usage.input_tokens}, cache write {usage.cache_creation_input_tokens}, "
        f"cache read {usage.cache_read_input_tokens}, output {usage.output_tokens}"
    )


def main() -> int:
    provider, owned = tracer_provider("anthropic-caching-example")
    with client() as sdk:
        for question in QUESTIONS:
            ask(sdk, question)
    if owned:
        provider.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
