"""The worst case of a call before it is sent: input tokens estimated offline, the output cap.

Input: every string in the request's content fields (messages, input, system prompt, instructions,
tools) is estimated with :func:`otel_llm_cost._estimate.estimate_tokens` (about four characters per
token), plus a few tokens of framing per message; an inline image or file (a ``data:`` URL or a
base64 ``data`` field) counts :data:`MEDIA_TOKENS`. Output: the request's own cap (``max_tokens``,
``max_completion_tokens``, ``max_output_tokens``), times ``n`` choices, else the guard's default for
the model (see :class:`~otel_llm_cost.budget.BudgetGuard`). Embeddings produce no output tokens.

History the request does not carry (``previous_response_id``, a ``conversation``, a stored prompt)
is invisible here: :func:`has_hidden_history` says so, and the guard then bounds the input by the
model's whole context window instead of trusting the visible part.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from otel_llm_cost._estimate import estimate_tokens

CONTENT_FIELDS: Final = ("messages", "input", "system", "instructions", "tools", "functions", "prompt")
OUTPUT_CAPS: Final = ("max_tokens", "max_completion_tokens", "max_output_tokens")
# Request fields naming server-side state that is billed as input but not sent with the request.
HIDDEN_HISTORY: Final = ("previous_response_id", "conversation", "conversation_id", "thread_id")
MEDIA_TOKENS: Final = 1600  # about what a large image costs at Anthropic or OpenAI
_FRAMING: Final = 4  # role and separators of one message
_MAX_DEPTH: Final = 32


def request_params(kwargs: Mapping[str, Any]) -> Mapping[str, Any]:
    """The request body's fields: keyword arguments overridden by ``extra_body``, as the SDKs send them."""
    extra = kwargs.get("extra_body")
    return {**kwargs, **extra} if isinstance(extra, Mapping) else kwargs


def input_tokens(params: Mapping[str, Any]) -> int:
    return sum(_tokens(params.get(name), 0) for name in CONTENT_FIELDS)


def has_hidden_history(params: Mapping[str, Any]) -> bool:
    """Whether the request continues server-side state (its real input is larger than what is sent)."""
    return any(params.get(name) not in (None, "", False) for name in HIDDEN_HISTORY) or (
        isinstance(params.get("prompt"), Mapping) and "id" in params["prompt"]  # a stored prompt
    )


def output_cap(params: Mapping[str, Any], operation: str, default: int) -> int:
    """The most output tokens the call can produce."""
    if operation == "embeddings":
        return 0
    cap = default
    for name in OUTPUT_CAPS:
        value = params.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            cap = value
            break
    choices = params.get("n")
    if isinstance(choices, int) and not isinstance(choices, bool) and choices > 1:
        cap *= choices
    return cap


def _tokens(value: Any, depth: int) -> int:
    if value is None or depth > _MAX_DEPTH:
        return 0
    if isinstance(value, str):
        return _text_tokens(value)
    if isinstance(value, Mapping):
        return _FRAMING + sum(_field_tokens(k, v, depth) for k, v in value.items())
    if isinstance(value, list | tuple):
        if value and all(type(item) is int for item in value):
            return len(value)  # an embeddings input already in tokens
        return sum(_tokens(item, depth + 1) for item in value)
    dump = getattr(value, "model_dump", None)  # typed SDK params (pydantic models)
    if callable(dump):
        try:
            return _tokens(dump(), depth + 1)
        except Exception:
            return 0
    return 0


def _field_tokens(key: object, value: Any, depth: int) -> int:
    if key == "data" and isinstance(value, str) and len(value) > 256:
        return MEDIA_TOKENS
    return _tokens(value, depth + 1)


def _text_tokens(text: str) -> int:
    if text.startswith("data:"):
        return MEDIA_TOKENS
    if text.isascii():  # the common case, without a pass over the characters in Python
        return (len(text) + 3) // 4
    return estimate_tokens(text)
