"""Read an LLM call's usage, model and provider from a finished span, whoever produced it.

Producers disagree on names, not (any longer) on meaning. What each one writes, as read from their
installed source:

- GenAI semantic conventions (our instrumentation; ``opentelemetry-instrumentation-genai-openai`` and
  ``-genai-anthropic`` 1.3b0 through ``opentelemetry-util-genai``; anthropic 2.x's native spans):
  ``gen_ai.usage.input_tokens`` *inclusive* of cache reads and writes (the Anthropic producers fold
  Anthropic's additive counts in), ``gen_ai.usage.cache_read.input_tokens``,
  ``gen_ai.usage.cache_write.input_tokens`` (older: ``gen_ai.usage.cache_creation.input_tokens``),
  ``gen_ai.usage.reasoning.output_tokens``.
- OpenLLMetry 0.62 (``opentelemetry-instrumentation-openai`` / ``-anthropic``): the same input/output
  names, inclusive (its Anthropic wrapper first writes Anthropic's additive ``input_tokens``, then
  overwrites it with the sum including cache tokens), ``gen_ai.usage.cache_creation.input_tokens``
  for writes, and ``gen_ai.usage.reasoning_tokens``.
- OpenLLMetry before semconv-ai 0.5 (e.g. 0.40): ``gen_ai.usage.prompt_tokens`` /
  ``completion_tokens`` (inclusive, as above), ``gen_ai.usage.cache_read_input_tokens``,
  ``gen_ai.usage.cache_creation_input_tokens``, provider under ``gen_ai.system`` with values such as
  ``"Anthropic"``.

Every producer read here reports input tokens inclusively. A span whose cache counts exceed its input
count can only come from an additive producer, so its input is taken as the sum rather than raised to
the cache total (which would lose the uncached part).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Final, NamedTuple

from otel_llm_cost import attributes as attr
from otel_llm_cost._log import log_once
from otel_llm_cost._numbers import read_cost
from otel_llm_cost.usage import ESTIMATED, MAX_TOKENS, PROVIDER, Usage, UsageSource

# Other producers' names, read only (see the module docstring for who writes them).
_OPENLLMETRY_CACHE_READ: Final = "gen_ai.usage.cache_read_input_tokens"
_OPENLLMETRY_CACHE_CREATION: Final = "gen_ai.usage.cache_creation_input_tokens"
_OPENLLMETRY_REASONING: Final = "gen_ai.usage.reasoning_tokens"
_ANTHROPIC_CACHE_WRITE_5M: Final = "anthropic.usage.cache_creation.ephemeral_5m_input_tokens"
_ANTHROPIC_CACHE_WRITE_1H: Final = "anthropic.usage.cache_creation.ephemeral_1h_input_tokens"

# Each figure with the names that carry it, most authoritative first.
_INPUT: Final = (attr.GEN_AI_USAGE_INPUT_TOKENS, attr.GEN_AI_USAGE_PROMPT_TOKENS)
_OUTPUT: Final = (attr.GEN_AI_USAGE_OUTPUT_TOKENS, attr.GEN_AI_USAGE_COMPLETION_TOKENS)
_CACHE_READ: Final = (attr.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, _OPENLLMETRY_CACHE_READ)
_CACHE_WRITE: Final = (
    attr.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS,
    attr.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
    _OPENLLMETRY_CACHE_CREATION,
)
_REASONING: Final = (attr.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, _OPENLLMETRY_REASONING)
_CACHE_WRITE_5M: Final = (attr.LLM_COST_USAGE_CACHE_WRITE_5M, _ANTHROPIC_CACHE_WRITE_5M)
_CACHE_WRITE_1H: Final = (attr.LLM_COST_USAGE_CACHE_WRITE_1H, _ANTHROPIC_CACHE_WRITE_1H)
_MODEL: Final = (attr.GEN_AI_RESPONSE_MODEL, attr.GEN_AI_REQUEST_MODEL)
_PROVIDER: Final = (attr.GEN_AI_PROVIDER_NAME, attr.GEN_AI_SYSTEM)
_PROVIDER_COST: Final = (attr.GEN_AI_USAGE_COST_AMOUNT, attr.GEN_AI_USAGE_COST)


class SpanUsage(NamedTuple):
    """What a span says about the LLM call it records (a tuple: built once per LLM span, kept cheap).

    Attributes:
        usage: The token counts, under :class:`Usage`'s inclusive convention.
        model: ``gen_ai.response.model``, else ``gen_ai.request.model``.
        provider: ``gen_ai.provider.name``, else the deprecated ``gen_ai.system``, lower-cased.
        service_tier: The tier the provider reports having served the call on, if any.
        provider_cost: A cost in USD that the producer recorded from the provider, if any.
        cost_status: ``llm_cost.cost.status`` when the span is priced already, else ``None``.
        cost_amount: The recorded cost of an already priced span.
        response_id: ``gen_ai.response.id``: tells two spans of the same call apart from two calls.
        cost_parts: The named parts beyond text tokens of a cost priced already (#17), for roll-ups.
    """

    usage: Usage
    model: str | None
    provider: str | None
    service_tier: str | None = None
    provider_cost: Decimal | None = None
    cost_status: str | None = None
    cost_amount: Decimal | None = None
    response_id: str | None = None
    cost_parts: tuple[tuple[str, Decimal], ...] = ()


# The attribute of an SDK span under which our instrumentation hands over what it recorded.
_HANDED_OVER: Final = "_otel_llm_cost_usage"


def hand_over(span: object, found: SpanUsage) -> None:
    """Give the processor what our instrumentation recorded on ``span`` (before it ends).

    The processor then need not read usage and cost back from the attributes we just wrote, which
    was a sizeable share of its work on our spans. Kept on the span object itself: nothing to bound
    or clean up, and any processor of the span's provider sees it. A span that takes no new
    attributes (not the SDK's) is read back from its attributes as any other producer's.
    """
    try:  # noqa: SIM105 - on every call: contextlib.suppress would cost a context manager
        setattr(span, _HANDED_OVER, found)
    except (AttributeError, TypeError):
        pass


def handed_over(span: object) -> SpanUsage | None:
    """What :func:`hand_over` left on ``span``, if anything."""
    found = getattr(span, _HANDED_OVER, None)
    return found if type(found) is SpanUsage else None


def has_usage(attributes: Mapping[str, object]) -> bool:
    """Whether the span reports token usage: the cheap test run on every ending span."""
    return (
        attr.GEN_AI_USAGE_INPUT_TOKENS in attributes
        or attr.GEN_AI_USAGE_OUTPUT_TOKENS in attributes
        or attr.GEN_AI_USAGE_PROMPT_TOKENS in attributes
        or attr.GEN_AI_USAGE_COMPLETION_TOKENS in attributes
    )


def read_span_usage(attributes: Mapping[str, object]) -> SpanUsage | None:
    """The usage, model and provider a span records, or ``None`` when it reports no tokens."""
    if not has_usage(attributes):
        return None
    provider = _first_str(attributes, _PROVIDER)
    provider = provider.lower() if provider else None
    model = _first_str(attributes, _MODEL)
    usage = _read_usage(attributes)
    response_id = attributes.get(attr.GEN_AI_RESPONSE_ID)
    response_id = response_id if isinstance(response_id, str) and response_id else None
    status = attributes.get(attr.LLM_COST_COST_STATUS)
    if isinstance(status, str):  # priced already: only the recorded amount is needed
        amount = _decimal(attributes.get(attr.GEN_AI_USAGE_COST_AMOUNT))
        return SpanUsage(usage, model, provider, None, None, status, amount, response_id)
    tier = _service_tier(attributes, provider)
    return SpanUsage(usage, model, provider, tier, _provider_cost(attributes), None, None, response_id)


def _read_usage(attributes: Mapping[str, object]) -> Usage:
    get = attributes.get
    inp = _first(attributes, _INPUT)
    out = _first(attributes, _OUTPUT)
    cache_read = _first(attributes, _CACHE_READ)
    cache_write = _first(attributes, _CACHE_WRITE)
    reasoning = _first(attributes, _REASONING)
    write_5m = _first(attributes, _CACHE_WRITE_5M)
    write_1h = _first(attributes, _CACHE_WRITE_1H)
    source: UsageSource = ESTIMATED if get(attr.LLM_COST_USAGE_SOURCE) == ESTIMATED else PROVIDER
    cached = _int(cache_read) + _int(cache_write)
    if cached > _int(inp):
        log_once(
            "span_usage.additive_input",
            "a span reports more cache tokens (%d) than input tokens (%s); reading its input as additive",
            cached,
            inp,
        )
        inp = _int(inp) + cached
    if write_5m is None and write_1h is None:
        usage = _valid_usage(inp, out, cache_read, cache_write, reasoning, source)
        if usage is not None:
            return usage
    return Usage.of(
        inp,
        out,
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        reasoning_tokens=reasoning,
        cache_write_5m_tokens=write_5m,
        cache_write_1h_tokens=write_1h,
        source=source,
    )


def _valid_usage(
    inp: object, out: object, cache_read: object, cache_write: object, reasoning: object, source: UsageSource
) -> Usage | None:
    """The common case, counts already valid, built without :meth:`Usage.of`'s repairs (they cost
    a measurable share of the span's processing); ``None`` when anything needs repairing."""
    counts: list[int] = []
    for value in (inp, out, cache_read, cache_write, reasoning):
        if value is None:
            counts.append(0)
        elif type(value) is int and 0 <= value <= MAX_TOKENS:
            counts.append(value)
        else:
            return None
    total_in, total_out, read, write, thinking = counts
    if read + write > total_in or thinking > total_out:
        return None
    return Usage(total_in, total_out, read, write, thinking, None, None, source)


def _service_tier(attributes: Mapping[str, object], provider: str | None) -> str | None:
    # Producers name the tier after the provider (openai.response.service_tier,
    # anthropic.response.service_tier); the response's tier is the one billed.
    if not provider:
        return None
    return _first_str(attributes, (f"{provider}.response.service_tier", f"{provider}.request.service_tier"))


def _provider_cost(attributes: Mapping[str, object]) -> Decimal | None:
    currency = attributes.get(attr.GEN_AI_USAGE_COST_CURRENCY)
    if currency is not None and currency != "USD":
        return None
    return _decimal(_first(attributes, _PROVIDER_COST))


def _first(attributes: Mapping[str, object], names: tuple[str, ...]) -> object:
    for name in names:
        value = attributes.get(name)
        if value is not None:
            return value
    return None


def _first_str(attributes: Mapping[str, object], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = attributes.get(name)
        if isinstance(value, str) and value:
            return value
    return None


def _int(value: object) -> int:
    if type(value) is int:
        return max(value, 0)
    if isinstance(value, float) and value == value and value >= 0:
        return int(value) if value != float("inf") else 0
    return 0


def _decimal(value: object) -> Decimal | None:
    return read_cost(value)  # finite, >= 0 and plausible, else None (the call counts as unpriced)
