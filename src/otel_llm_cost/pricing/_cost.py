"""The priced result of one call, and its span attributes."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from otel_llm_cost import attributes as attr

_ZERO = Decimal(0)


class CostDetail(NamedTuple):
    """The parts of a cost beyond text tokens, and the units left unpriced (#17)."""

    parts: tuple[tuple[str, Decimal], ...] = ()
    unpriced_units: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Cost:
    """What one LLM call cost, in USD, split by part.

    The parts add up to ``amount`` for local prices (a per-request fee, rare, is in ``amount`` only).
    With ``source == "provider"`` the amount is the provider's figure and the parts are our local
    breakdown, when we could price the model.
    """

    status: str
    """``"priced"``, ``"unpriced"`` (unknown model; ``amount`` is ``None``), ``"estimated"``
    (priced from estimated token counts), ``"partial"`` (some billed unit could not be priced: see
    ``unpriced_units``), or ``"implausible"`` (an amount or token count beyond any real call;
    ``amount`` is ``None``)."""
    amount: Decimal | None
    input: Decimal
    """Uncached input tokens."""
    output: Decimal
    """Output tokens other than reasoning."""
    cache_read: Decimal
    cache_write: Decimal
    reasoning: Decimal
    """Reasoning tokens (part of the output), at the reasoning price or else the output price."""
    source: str = attr.COST_SOURCE_LOCAL
    currency: str = "USD"
    pricing_version: str = ""
    """Where the prices came from, e.g. ``"genai-prices 0.2.3"`` or ``"overrides:/etc/prices.toml"``."""
    model_ref: str | None = None
    """The price-data model id that matched."""
    detail: CostDetail | None = None
    """What a call billed beyond text tokens (``None`` for most calls): see :attr:`parts` and
    :attr:`unpriced_units`. One field, so the text-only hot path sets one slot, not two."""

    @property
    def parts(self) -> tuple[tuple[str, Decimal], ...]:
        """Parts beyond the five above, by name: modality tokens at their own price (``input_audio``,
        ``cache_image_read``, ``output_image``...), server-tool requests (``web_searches``...), and
        iterations billed at their own model (``advisor_message``, ``compaction``)."""
        detail = self.detail
        return detail.parts if detail is not None else ()

    @property
    def unpriced_units(self) -> tuple[str, ...]:
        """Billed units the price data could not price (then ``status == "partial"``)."""
        detail = self.detail
        return detail.unpriced_units if detail is not None else ()

    @property
    def is_priced(self) -> bool:
        return self.amount is not None


# The slots of Cost, which local_cost() fills directly: a frozen dataclass's __init__ goes through
# object.__setattr__ for each of its 11 fields, a third of the time it takes to price a call.
(
    _set_status, _set_amount, _set_input, _set_output, _set_cache_read, _set_cache_write,
    _set_reasoning, _set_source, _set_currency, _set_pricing_version, _set_model_ref, _set_detail,
) = (getattr(Cost, name).__set__ for name in Cost.__slots__)  # fmt: skip


def local_cost(
    status: str,
    amount: Decimal,
    input: Decimal,
    output: Decimal,
    cache_read: Decimal,
    cache_write: Decimal,
    reasoning: Decimal,
    pricing_version: str,
    model_ref: str | None,
) -> Cost:
    """``Cost(status, amount, ..., source="local", currency="USD", ...)``, built for the pricing hot path."""
    cost: Cost = object.__new__(Cost)
    _set_status(cost, status)
    _set_amount(cost, amount)
    _set_input(cost, input)
    _set_output(cost, output)
    _set_cache_read(cost, cache_read)
    _set_cache_write(cost, cache_write)
    _set_reasoning(cost, reasoning)
    _set_source(cost, attr.COST_SOURCE_LOCAL)
    _set_currency(cost, "USD")
    _set_pricing_version(cost, pricing_version)
    _set_model_ref(cost, model_ref)
    _set_detail(cost, None)
    return cost


def unpriced_cost(source: str = attr.COST_SOURCE_LOCAL, status: str = attr.COST_UNPRICED) -> Cost:
    """No amount: ``unpriced`` (unknown model) or ``implausible`` (beyond the bounds of ``_numbers``)."""
    return Cost(status, None, _ZERO, _ZERO, _ZERO, _ZERO, _ZERO, source)


def cost_attributes(cost: Cost, *, mirror: bool = False) -> dict[str, str | float]:
    """Span attributes for a cost: the proposed ``gen_ai.usage.cost.*`` and our ``llm_cost.*`` parts.

    Args:
        cost: the priced call.
        mirror: also set ``gen_ai.usage.cost`` (the amount) for backends that read that name.

    Returns:
        Attribute names to values; the amount and parts are left out when the call is unpriced,
        the parts also when a provider-reported amount has no local breakdown, and parts that are zero
        always (most calls have no cache or reasoning tokens).
    """
    return add_cost_attributes({}, cost, mirror=mirror)


def add_cost_attributes(attributes: dict[str, Any], cost: Cost, *, mirror: bool = False) -> dict[str, Any]:
    """Add :func:`cost_attributes` to ``attributes`` in place (and return it): one dict per span end."""
    attributes[attr.GEN_AI_USAGE_COST_CURRENCY] = cost.currency
    attributes[attr.GEN_AI_USAGE_COST_SOURCE] = cost.source
    attributes[attr.LLM_COST_COST_STATUS] = cost.status
    amount = cost.amount
    if amount is not None:
        attributes[attr.GEN_AI_USAGE_COST_AMOUNT] = float(amount)
        if mirror:
            attributes[attr.GEN_AI_USAGE_COST] = float(amount)
        # A provider-reported total for a model we cannot price has no breakdown: omit, don't claim $0.
        if cost.source != attr.COST_SOURCE_PROVIDER or cost.model_ref is not None:
            _add_parts(attributes, cost)
    if cost.pricing_version:
        attributes[attr.LLM_COST_PRICING_VERSION] = cost.pricing_version
    if cost.model_ref:
        attributes[attr.LLM_COST_PRICING_MODEL] = cost.model_ref
    return attributes


def _add_parts(attributes: dict[str, Any], cost: Cost) -> None:
    # Zero parts are left out: each attribute costs the SDK's checks on every span, and absent reads as $0.
    if cost.input:
        attributes[attr.LLM_COST_COST_INPUT] = float(cost.input)
    if cost.output:
        attributes[attr.LLM_COST_COST_OUTPUT] = float(cost.output)
    if cost.cache_read:
        attributes[attr.LLM_COST_COST_CACHE_READ] = float(cost.cache_read)
    if cost.cache_write:
        attributes[attr.LLM_COST_COST_CACHE_WRITE] = float(cost.cache_write)
    if cost.reasoning:
        attributes[attr.LLM_COST_COST_REASONING] = float(cost.reasoning)
    detail = cost.detail
    if detail is not None:
        for name, value in detail.parts:
            attributes[attr.LLM_COST_COST_PREFIX + name] = float(value)
        if detail.unpriced_units:
            attributes[attr.LLM_COST_COST_UNPRICED_UNITS] = list(detail.unpriced_units)
