"""The cost of a call that reports more than text tokens: modality tokens and server-tool requests.

Taken only when :attr:`Usage.units` is set or the cache-write time to live is unknown; the text-only
call keeps the short arithmetic of :func:`otel_llm_cost.pricing._pricer._cost`.

Each unit the price data prices (``Rates.extras``, genai-prices' own unit keys) is charged at its price
and taken out of the general pool it is part of (uncached input, cache reads, cache writes, output), so
nothing is charged twice. A unit the data cannot price is named in ``unpriced_units`` and makes the
call ``partial``:

- a request unit without a price (``code_executions`` on a model that lists none) is left out ($0);
- modality tokens without a price of their own stay in their general pool, at the model's token rate
  (genai-prices' fallback). They count as priced when the data prices some other modality in the same
  direction (it then lists the modalities that cost more, as Gemini's audio input); otherwise the
  data may simply not know (``gpt-4o-audio-preview`` lists text rates only), and they are named;
- cache writes without the 5-minute / 1-hour split, on a model whose two rates differ, are charged
  at the 5-minute rate (a lower bound) and named ``cache_write_ttl``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Final

from otel_llm_cost import attributes as attr
from otel_llm_cost.pricing._cost import Cost, CostDetail
from otel_llm_cost.pricing._rates import ZERO, Rates
from otel_llm_cost.usage import COUNT_UNITS, ESTIMATED, MODALITIES, Usage

# Units the provider reports but does not bill (Anthropic's web fetch costs only its tokens).
FREE_UNITS: Final = frozenset({"web_fetches"})
CACHE_WRITE_TTL: Final = "cache_write_ttl"


def ttl_unknown(usage: Usage, cache_write: int, rates: Rates) -> bool:
    """Whether cache writes lack the TTL split on a model that prices 5-minute and 1-hour writes apart."""
    return (
        cache_write > 0
        and usage.cache_write_5m_tokens is None
        and usage.cache_write_1h_tokens is None
        and rates.cache_write_1h != rates.cache_write
    )


def detailed_cost(
    rates: Rates, usage: Usage, counts: tuple[int, int, int, int, int, int], version: str, model_ref: str
) -> Cost:
    """The cost with every unit of ``usage`` charged, and those the data cannot price named."""
    input_tokens, output_tokens, cache_read, cache_write, write_1h, reasoning = counts
    pools = {
        "input": max(input_tokens - cache_read - cache_write, 0),
        "output": max(output_tokens - reasoning, 0),
        "cache_read": cache_read,
        "cache_write": cache_write,
    }
    extras = dict(rates.extras)
    parts: dict[str, Decimal] = {}
    unpriced: list[str] = []
    units = usage.units or {}
    for key, count in units.items():
        price = extras.get(key)
        if key in COUNT_UNITS:
            if price is not None:
                parts[key] = count * price
            elif key not in FREE_UNITS:
                unpriced.append(key)
        elif price is not None:
            pool = _pool_of(key)
            billed = min(_own_count(key, count, units), pools[pool])
            pools[pool] -= billed
            parts[key.removesuffix("_tokens")] = billed * price
        elif not _direction_priced(key, extras):
            unpriced.append(key)
    if ttl_unknown(usage, cache_write, rates):
        unpriced.append(CACHE_WRITE_TTL)
    write_1h = min(write_1h, pools["cache_write"])
    base = (
        pools["input"] * rates.input,
        pools["output"] * rates.output,
        pools["cache_read"] * rates.cache_read,
        (pools["cache_write"] - write_1h) * rates.cache_write + write_1h * rates.cache_write_1h,
        reasoning * rates.reasoning,
    )
    amount = sum(base, ZERO) + sum(parts.values(), ZERO) + rates.per_request
    return Cost(
        status_of(usage, unpriced),
        amount,
        *base,
        pricing_version=version,
        model_ref=model_ref,
        detail=CostDetail(tuple(parts.items()), tuple(unpriced)),
    )


def status_of(usage: Usage, unpriced: list[str] | tuple[str, ...]) -> str:
    if unpriced:
        return attr.COST_PARTIAL
    return attr.COST_ESTIMATED if usage.source == ESTIMATED else attr.COST_PRICED


def _pool_of(key: str) -> str:
    if key.startswith("output_"):
        return "output"
    if key.endswith("_read_tokens"):
        return "cache_read"
    if key.endswith("_write_tokens"):
        return "cache_write"
    return "input"


def _own_count(key: str, count: int, units: Mapping[str, int]) -> int:
    """The tokens of ``key`` billed at its price: a modality's input count less its cached part."""
    if not key.startswith("input_"):
        return count
    modality = key[len("input_") : -len("_tokens")]
    cached = units.get(f"cache_{modality}_read_tokens", 0) + units.get(f"cache_{modality}_write_tokens", 0)
    return max(count - cached, 0)


def _direction_priced(key: str, extras: Mapping[str, Decimal]) -> bool:
    """Whether the data prices some modality in the direction of ``key`` (input or output)."""
    output = key.startswith("output_")
    return any(
        other.startswith("output_") == output
        for other in extras
        if other not in COUNT_UNITS and any(f"_{m}_" in other for m in MODALITIES)
    )
