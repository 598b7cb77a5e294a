"""A call's usage as :func:`~otel_llm_cost._span_usage.read_span_usage` reads it, the common span inline.

The report reads one span per call of a possibly huge file, and most of those spans are ours, priced
already, with plain token counts: for them this module builds the same :class:`SpanUsage` in one
function, without the dozen small calls of the general reader. Any other span (not priced yet, counts
to repair, cache writes by duration, another producer's names) is handed to ``read_span_usage`` itself,
so there is one reading of usage, and ``tests/report/test_report_call_usage.py`` checks that both give
the same answer on hostile attributes.
"""

from __future__ import annotations

from typing import Any, Final

from otel_llm_cost import attributes as attr
from otel_llm_cost._numbers import read_cost
from otel_llm_cost._span_usage import (
    _CACHE_READ,
    _CACHE_WRITE,
    _CACHE_WRITE_1H,
    _CACHE_WRITE_5M,
    _INPUT,
    _MODEL,
    _OUTPUT,
    _PROVIDER,
    _REASONING,
    SpanUsage,
    read_span_usage,
)
from otel_llm_cost.usage import ESTIMATED, MAX_TOKENS, PROVIDER, Usage

# Unpacked with their exact number of names: a name added to the general reader fails the import here
# rather than being missed.
_INPUT_NAME, _ = _INPUT
_OUTPUT_NAME, _ = _OUTPUT
_READ_1, _READ_2 = _CACHE_READ
_WRITE_1, _WRITE_2, _WRITE_3 = _CACHE_WRITE
_REASONING_1, _REASONING_2 = _REASONING
_BY_DURATION: Final = (*_CACHE_WRITE_5M, *_CACHE_WRITE_1H)
_MODEL_1, _MODEL_2 = _MODEL
_PROVIDER_1, _PROVIDER_2 = _PROVIDER
_STATUS: Final = attr.LLM_COST_COST_STATUS
_SOURCE: Final = attr.LLM_COST_USAGE_SOURCE
_AMOUNT: Final = attr.GEN_AI_USAGE_COST_AMOUNT
_RESPONSE_ID: Final = attr.GEN_AI_RESPONSE_ID


def read_call_usage(attributes: dict[str, Any]) -> SpanUsage | None:
    """``read_span_usage(attributes)``, sooner for a priced span with valid counts."""
    get = attributes.get
    status, inp, out = get(_STATUS), get(_INPUT_NAME), get(_OUTPUT_NAME)
    if type(status) is not str or type(inp) is not int or type(out) is not int:
        return read_span_usage(attributes)
    read = get(_READ_1)
    if read is None:
        read = get(_READ_2)
    write = get(_WRITE_1)
    if write is None:
        write = get(_WRITE_2)
        if write is None:
            write = get(_WRITE_3)
    thinking = get(_REASONING_1)
    if thinking is None:
        thinking = get(_REASONING_2)
    read, write, thinking = _count(read), _count(write), _count(thinking)
    if (
        read is None
        or write is None
        or thinking is None
        or not 0 <= inp <= MAX_TOKENS
        or not 0 <= out <= MAX_TOKENS
        or read + write > inp
        or thinking > out
        or any(get(name) is not None for name in _BY_DURATION)
    ):
        return read_span_usage(attributes)  # repairs, additive input or cache writes by duration
    source = ESTIMATED if get(_SOURCE) == ESTIMATED else PROVIDER
    usage = Usage(inp, out, read, write, thinking, None, None, source)
    provider = _text(get(_PROVIDER_1)) or _text(get(_PROVIDER_2))
    model = _text(get(_MODEL_1)) or _text(get(_MODEL_2))
    response_id = _text(get(_RESPONSE_ID))
    return SpanUsage(usage, model, provider.lower() if provider else None, None, None, status,
                     read_cost(get(_AMOUNT)), response_id)  # fmt: skip


def _count(value: object) -> int | None:
    """A valid token count (absent: 0); ``None`` for anything the general reader would repair."""
    if value is None:
        return 0
    return value if type(value) is int and 0 <= value <= MAX_TOKENS else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
