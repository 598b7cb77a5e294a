"""Resolved prices in the shape the hot path wants: per-token Decimals, nothing left to look up.

A :class:`Schedule` is what one (provider, model, UTC day, service tier) resolves to. It holds one or
more :class:`RateCard` by time of day (most models have one; off-peak discounts add more), and each
card holds one :class:`Rates` per input-size band (long-context tiers add bands). Pricing a call is
then two short scans and a handful of Decimal multiplications.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

ZERO = Decimal(0)
PER_MILLION = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class Rates:
    """USD per token for each part of a call; every part filled in, so no branch per call.

    A part the price data leaves out is billed like its parent: cache reads and writes at the input
    price, 1-hour cache writes at the cache-write price, reasoning at the output price.
    """

    input: Decimal
    output: Decimal
    cache_read: Decimal
    cache_write: Decimal
    cache_write_1h: Decimal
    reasoning: Decimal
    per_request: Decimal = ZERO
    extras: tuple[tuple[str, Decimal], ...] = ()
    """USD per unit of each other unit the price data prices, by genai-prices usage key
    (``input_audio_tokens``, ``cache_image_read_tokens``, ``web_searches``...)."""


@dataclass(frozen=True, slots=True)
class RateCard:
    """Rates by input-size band: band ``i`` applies when input tokens exceed ``i`` thresholds."""

    thresholds: tuple[int, ...]
    bands: tuple[Rates, ...]

    def rates_for(self, input_tokens: int) -> Rates:
        band = 0
        for threshold in self.thresholds:
            if input_tokens <= threshold:
                break
            band += 1
        return self.bands[band]


@dataclass(frozen=True, slots=True)
class Schedule:
    """The rate cards of one model for one UTC day, and where they came from.

    ``starts`` are seconds after UTC midnight at which ``cards`` take effect; ``starts[0]`` is 0.
    """

    starts: tuple[int, ...]
    cards: tuple[RateCard, ...]
    model_ref: str
    version: str
    flat: Rates | None = field(init=False, compare=False, repr=False)
    """The only rates, when there is one card with one band (most models): no scan per call."""

    def __post_init__(self) -> None:
        only = self.cards[0] if len(self.cards) == 1 else None
        flat = only.bands[0] if only is not None and len(only.bands) == 1 else None
        object.__setattr__(self, "flat", flat)

    def rates_at(self, second_of_day: int, input_tokens: int) -> Rates:
        """The rates of a call made at ``second_of_day`` with ``input_tokens`` input tokens."""
        if self.flat is not None:
            return self.flat
        return self.card_at(second_of_day).rates_for(input_tokens)

    def card_at(self, second_of_day: int) -> RateCard:
        cards = self.cards
        if len(cards) == 1:
            return cards[0]
        index = 0
        for i, start in enumerate(self.starts):
            if second_of_day >= start:
                index = i
        return cards[index]


def per_token(price_per_million: Decimal) -> Decimal:
    """USD per token from USD per million tokens (exact: a decimal shift)."""
    return price_per_million / PER_MILLION


def single_card(rates: Rates) -> RateCard:
    return RateCard((), (rates,))
