"""Request-side fields of a manual LLM call (:func:`~otel_llm_cost.llm_call`): span attributes known
before the call is sent, and what the budget guard estimates the call's worst case from. Pure functions.

OpenAI-compatible and Anthropic request bodies go through the instrumentation's own extractors, and
Ollama's native API through its wire-API room (:mod:`otel_llm_cost.apis.ollama`), so the span starts with
the same attributes as an instrumented or wire-captured call's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from otel_llm_cost import attributes as attr
from otel_llm_cost._values import drop_none
from otel_llm_cost.apis import ollama
from otel_llm_cost.instrumentation.anthropic import _extract as anthropic
from otel_llm_cost.instrumentation.openai import _extract as openai
from otel_llm_cost.usage_shapes import ANTHROPIC, OLLAMA, OPENAI, OPENAI_RESPONSES

__all__ = ["budget_request", "request_attributes", "request_shape"]

_ANTHROPIC_PROVIDERS: Final = frozenset({"anthropic", "aws.bedrock", "gcp.vertex_ai"})
_REQUEST_SHAPES: Final = frozenset({OPENAI, OPENAI_RESPONSES, ANTHROPIC, OLLAMA})


def request_shape(request: Mapping[str, Any], shape: str | None, provider: str) -> str:
    """Which API a request body is written for: ``shape`` when it names one, else from its keys."""
    if shape in _REQUEST_SHAPES:
        return shape  # type: ignore[return-value]
    if isinstance(request.get("options"), Mapping) or "keep_alive" in request:
        return OLLAMA
    if provider in _ANTHROPIC_PROVIDERS:
        return ANTHROPIC
    if "input" in request and "messages" not in request:
        return OPENAI_RESPONSES
    return OPENAI


def request_attributes(
    request: Mapping[str, Any] | None,
    *,
    shape: str,
    operation: str,
    provider: str,
    address: str | None,
    port: int | None,
) -> dict[str, Any]:
    """The span's request attributes (server address and port included)."""
    if request is None:
        return drop_none(((attr.SERVER_ADDRESS, address), (attr.SERVER_PORT, port if address else None)))
    if shape == ANTHROPIC:
        params = anthropic.request_params(request)
        return anthropic.request_attributes(
            params, stream=anthropic.is_streaming(params), server=(address, port)
        )
    if shape == OLLAMA:
        return _ollama_attributes(request, address, port)
    server = openai.Server(provider, address, port if address else None)
    if operation == openai.EMBEDDINGS:
        return openai.embeddings_request_attributes(request, server)
    if shape == OPENAI_RESPONSES:
        return openai.responses_request_attributes(request, server)
    return openai.chat_request_attributes(request, server)


def _ollama_attributes(request: Mapping[str, Any], address: str | None, port: int | None) -> dict[str, Any]:
    attributes = drop_none(((attr.SERVER_ADDRESS, address), (attr.SERVER_PORT, port if address else None)))
    attributes.update(ollama.request_attributes(request, ollama.is_streaming(request)))
    return attributes


def budget_request(request: Mapping[str, Any] | None, model: str | None, shape: str) -> dict[str, Any]:
    """The keyword arguments the budget guard reads: the body, with its model and output cap."""
    sent: dict[str, Any] = dict(request) if request is not None else {}
    if model is not None:
        sent["model"] = model
    if shape == OLLAMA:
        options = sent.get("options")
        cap = options.get("num_predict") if isinstance(options, Mapping) else None
        if _int(cap) is not None and cap >= 0 and "max_tokens" not in sent:
            sent["max_tokens"] = cap
    return sent


def _int(value: object) -> int | None:
    return value if type(value) is int else None
