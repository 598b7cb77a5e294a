"""One room per wire API: what each LLM API's requests, responses and stream events mean. Pure.

======================== ============================================ ==================================
room                     requests                                     module
======================== ============================================ ==================================
OpenAI chat completions  ``POST .../chat/completions`` (every         :mod:`.openai`
                         OpenAI-compatible server)
OpenAI Responses         ``POST .../responses``                       :mod:`.openai`
OpenAI embeddings        ``POST .../embeddings``                      :mod:`.openai`
Anthropic messages       ``POST .../v1/messages``                     :mod:`.anthropic`
Bedrock Converse         ``POST /model/{id}/converse``, ``/converse-  :mod:`.bedrock`
                         stream``
Bedrock InvokeModel      ``POST /model/{id}/invoke``, ``/invoke-with- :mod:`.bedrock_invoke`
                         response-stream`` (every model family)
Gemini                   ``POST .../models/{model}:generateContent``  :mod:`.gemini`
                         (and ``:streamGenerateContent``),
                         ``:embedContent``, ``:batchEmbedContents``
Cohere chat, embed       ``POST .../v2/chat``, ``/v1/chat``,          :mod:`.cohere`
                         ``/v2/embed``, ``/v1/embed``
Ollama                   ``POST /api/chat``, ``/api/generate``,       :mod:`.ollama`
                         ``/api/embed``, ``/api/embeddings``
OpenAI images, audio     ``POST .../images/generations``, ``edits``,  :mod:`.openai_media`
                         ``.../audio/transcriptions``,
                         ``translations``, ``speech``
======================== ============================================ ==================================

:func:`find_wire_api` names the room of a request from its method and path; the capture layers decide
*which hosts* they look at (the provider table, configured gateways, local servers). The contract every
room keeps is :class:`~otel_llm_cost.apis._api.WireApi`.
"""

from __future__ import annotations

from typing import Final

from otel_llm_cost.apis import (
    anthropic,
    bedrock,
    bedrock_invoke,
    cohere,
    gemini,
    ollama,
    openai,
    openai_media,
)
from otel_llm_cost.apis._api import ResponseFields, WireApi, WireRequest

__all__ = ["WIRE_APIS", "ResponseFields", "WireApi", "WireRequest", "find_wire_api"]

WIRE_APIS: Final[tuple[WireApi, ...]] = (
    # The busiest first: every request to a known host walks this list until a room claims it.
    openai.CHAT_COMPLETIONS,
    anthropic.MESSAGES,
    bedrock.CONVERSE,
    bedrock.CONVERSE_STREAM,
    bedrock_invoke.INVOKE_MODEL,
    bedrock_invoke.INVOKE_MODEL_WITH_RESPONSE_STREAM,
    openai.RESPONSES,
    gemini.GENERATE_CONTENT,
    ollama.CHAT,
    ollama.GENERATE,
    ollama.EMBED,  # before OpenAI embeddings: Ollama's "/api/embeddings" ends like theirs
    openai.EMBEDDINGS,
    gemini.EMBED_CONTENT,
    cohere.CHAT_V2,
    cohere.CHAT_V1,
    cohere.EMBED,
    openai_media.IMAGES,
    openai_media.TRANSCRIPTIONS,
    openai_media.SPEECH,
)
"""Every room; no two claim the same path, except where the more specific one comes first."""


def find_wire_api(method: str, path: str) -> WireApi | None:
    """The room whose requests look like ``method path`` (path without its query), or ``None``."""
    for api in WIRE_APIS:
        if api.matches(method, path):
            return api
    return None
