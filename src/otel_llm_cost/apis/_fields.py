"""Small readers the rooms share: untrusted values from decoded JSON or SDK objects, and the fields a
finished call reports. Pure; names no provider.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from otel_llm_cost import attributes as attr
from otel_llm_cost._estimate import estimate_tokens, extrapolate_tokens
from otel_llm_cost.apis._api import ResponseFields, WireRequest
from otel_llm_cost.usage import ESTIMATED, Usage

if TYPE_CHECKING:
    from opentelemetry.util.types import AttributeValue

EMPTY: Final[Mapping[str, Any]] = {}


def body_of(request: WireRequest) -> Mapping[str, Any]:
    """The request's JSON body, or an empty mapping when it has none (not JSON, too large)."""
    body = request.body
    return body if isinstance(body, Mapping) else EMPTY


def get(obj: object, name: str, alias: str | None = None) -> Any:
    """``obj[name]`` for a mapping, ``obj.name`` for an SDK object; ``alias`` is tried next (a format's
    other spelling: Gemini's JSON is camelCase, its SDK objects snake_case)."""
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        value = obj.get(name)
        return obj.get(alias) if value is None and alias is not None else value
    value = getattr(obj, name, None)
    return getattr(obj, alias, None) if value is None and alias is not None else value


def items(obj: object, name: str, alias: str | None = None) -> Sequence[Any]:
    """``get(obj, name)`` when it is a list or tuple, else empty: a malformed value is never iterated."""
    value = get(obj, name, alias)
    return value if isinstance(value, list | tuple) else ()


def count(value: object) -> int | None:
    """A token count as reported: a non-negative int, else ``None``."""
    return value if type(value) is int and value >= 0 else None


def text(value: object) -> str:
    return value if isinstance(value, str) else ""


def add_parameters(
    attributes: dict[str, Any],
    params: Mapping[str, Any],
    table: Iterable[tuple[str, str, Callable[[Any], Any]]],
) -> dict[str, Any]:
    """``attributes`` with each request parameter of ``table`` (name, attribute key, reader) that is
    present and reads as a value; most calls pass a few parameters, so absent ones cost one lookup."""
    get = params.get
    for name, key, read in table:
        value = get(name)
        if value is not None:
            value = read(value)
            if value is not None:
                attributes[key] = value
    return attributes


def estimated_usage(input_text: str, output_text: str, seen: int = 0, dropped: int = 0) -> Usage:
    """Usage estimated offline, for a call whose response carried none. ``output_text`` came from
    ``seen`` content events of a stream that had ``dropped`` more (counted, not kept)."""
    output = extrapolate_tokens(estimate_tokens(output_text), seen, dropped)
    return Usage.of(estimate_tokens(input_text), output, source=ESTIMATED)


def make_fields(
    usage: Usage | None,
    model: object = None,
    response_id: object = None,
    finish_reasons: Iterable[object] = (),
    *,
    complete: bool = True,
) -> ResponseFields:
    """The fields of a finished call; ``complete=False`` marks a stream that never reached its end event."""
    attributes: dict[str, AttributeValue] = {}
    if isinstance(response_id, str) and response_id:
        attributes[attr.GEN_AI_RESPONSE_ID] = response_id
    reasons = [reason for reason in finish_reasons if isinstance(reason, str) and reason]
    if reasons:
        attributes[attr.GEN_AI_RESPONSE_FINISH_REASONS] = reasons
    if not complete:
        attributes[attr.LLM_COST_STREAM_OUTCOME] = attr.STREAM_ABANDONED
    return ResponseFields(usage, model if isinstance(model, str) and model else None, attributes)
