"""A runnable demo with no API key and no network: a local model server and a cost table.

- :class:`~otel_llm_cost.demo.server.DemoServer`: OpenAI- and Anthropic-compatible HTTP server on loopback.
- :func:`~otel_llm_cost.demo.table.format_llm_calls`: a readable table of finished LLM spans.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DemoServer", "format_llm_calls"]


def __getattr__(name: str) -> Any:
    # Lazy, so that ``python -m otel_llm_cost.demo.server`` does not find its module already imported.
    if name == "DemoServer":
        from otel_llm_cost.demo.server import DemoServer

        return DemoServer
    if name == "format_llm_calls":
        from otel_llm_cost.demo.table import format_llm_calls

        return format_llm_calls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
