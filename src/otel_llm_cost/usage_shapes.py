"""Usage blocks in each provider's own shape -> :class:`~otel_llm_cost.usage.Usage`, for calls made
without a supported SDK (:func:`~otel_llm_cost.llm_call`). Pure functions.

OpenAI-compatible and Anthropic blocks go through the instrumentation's own extractors, and the other
shapes through their wire-API rooms (:mod:`otel_llm_cost.apis`), so a manual call counts exactly as an
instrumented or wire-captured one. The other shapes, each from recorded traffic:

============ ======================================================= ==================================
shape        fields read                                             convention
============ ======================================================= ==================================
``ollama``   ``prompt_eval_count``, ``eval_count`` (the final        no cache or reasoning split
             ``done: true`` object of ``/api/chat`` or
             ``/api/generate``)
``cohere``   ``billed_units`` (else ``tokens`` with                  what is billed; v1 under ``meta``,
             ``cached_tokens``): ``input_tokens``,                   v2 under ``usage``
             ``output_tokens``
``gemini``   ``usageMetadata``: ``promptTokenCount`` (cached          candidates *exclude* thoughts, so
             content included), ``cachedContentTokenCount``,         output = candidates + thoughts
             ``candidatesTokenCount``, ``thoughtsTokenCount``,
             ``toolUsePromptTokenCount`` (added to input)
============ ======================================================= ==================================

:func:`detect_shape` names a block's shape from its keys; a whole response body is accepted as well
as its usage block.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from otel_llm_cost.apis import cohere, gemini, ollama
from otel_llm_cost.instrumentation.anthropic import _extract as anthropic
from otel_llm_cost.instrumentation.openai import _extract as openai
from otel_llm_cost.usage import Usage

__all__ = [
    "SHAPES",
    "detect_shape",
    "get_cohere_usage",
    "get_gemini_usage",
    "get_ollama_usage",
    "normalise_usage",
]

OPENAI: Final = "openai"
OPENAI_RESPONSES: Final = "openai.responses"
ANTHROPIC: Final = "anthropic"
OLLAMA: Final = "ollama"
COHERE: Final = "cohere"
GEMINI: Final = "gemini"

_ANTHROPIC_KEYS: Final = frozenset(
    {"cache_creation_input_tokens", "cache_read_input_tokens", "cache_creation", "server_tool_use"}
)
# Providers whose API speaks Anthropic's usage convention (additive cache counts).
_ANTHROPIC_PROVIDERS: Final = frozenset({"anthropic", "aws.bedrock", "gcp.vertex_ai"})


# The provider shapes are read by their wire-API rooms, so llm_call, the wire capture and any SDK
# wrapper count a call the same way.
get_ollama_usage: Final = ollama.get_usage
get_cohere_usage: Final = cohere.get_usage
get_gemini_usage: Final = gemini.get_usage


SHAPES: Final[Mapping[str, Callable[[Any], Usage | None]]] = {
    OPENAI: openai.get_chat_usage,
    OPENAI_RESPONSES: openai.get_responses_usage,
    ANTHROPIC: anthropic.extract_usage,
    OLLAMA: get_ollama_usage,
    COHERE: get_cohere_usage,
    GEMINI: get_gemini_usage,
}
"""Every shape :func:`normalise_usage` reads, by name, with its extractor."""


def usage_block(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    """The usage block of ``raw``: ``raw`` itself, or the block a whole response body carries."""
    for key in ("usageMetadata", "usage", "meta"):
        inner = raw.get(key)
        if isinstance(inner, Mapping) and not _has_counts(raw):
            return inner
    groq = raw.get("x_groq")
    if isinstance(groq, Mapping) and isinstance(groq.get("usage"), Mapping):
        return groq["usage"]  # type: ignore[no-any-return]
    return raw


def _has_counts(raw: Mapping[str, Any]) -> bool:
    return "prompt_eval_count" in raw or "eval_count" in raw


def detect_shape(block: Mapping[str, Any], provider: str | None = None) -> str | None:
    """The shape of a usage block from its keys (``provider`` settles ``input_tokens`` blocks)."""
    keys = block.keys()
    if "prompt_eval_count" in keys or "eval_count" in keys:
        return OLLAMA
    if "promptTokenCount" in keys or "candidatesTokenCount" in keys:
        return GEMINI
    if "billed_units" in keys or isinstance(block.get("tokens"), Mapping):
        return COHERE
    if "prompt_tokens" in keys or "completion_tokens" in keys:
        return OPENAI
    if "input_tokens" in keys or "output_tokens" in keys:
        if not _ANTHROPIC_KEYS.isdisjoint(keys) or provider in _ANTHROPIC_PROVIDERS:
            return ANTHROPIC
        return OPENAI_RESPONSES
    return None


def normalise_usage(raw: object, shape: str | None = None, provider: str | None = None) -> Usage | None:
    """``raw`` (a :class:`Usage`, a usage block, or a whole response body) as a :class:`Usage`.

    Args:
        raw: the provider's usage, a dict (or an SDK model for the OpenAI / Anthropic shapes).
        shape: one of :data:`SHAPES`; detected from the keys when omitted.
        provider: ``gen_ai.provider.name``, to tell Anthropic blocks from OpenAI Responses ones.

    Returns:
        The normalised usage, or ``None`` when ``raw`` holds no recognisable counts.

    Raises:
        ValueError: ``shape`` is not one of :data:`SHAPES`.
    """
    if isinstance(raw, Usage):
        return raw
    if shape is not None and shape not in SHAPES:
        raise ValueError(f"unknown usage shape {shape!r}; expected one of {sorted(SHAPES)}")
    block: Any = usage_block(raw) if isinstance(raw, Mapping) else raw
    if shape is None:
        shape = detect_shape(block, provider) if isinstance(block, Mapping) else None
        if shape is None:
            return None
    return SHAPES[shape](block)
