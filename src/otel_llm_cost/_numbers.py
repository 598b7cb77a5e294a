"""Bounds for the numbers we read and did not compute: costs, prices, token counts.

Another producer's span may say a call cost ``"1e999999"``; a price file may hold ``1e999999``; a
usage block may claim 2**53 tokens. ``Decimal`` reads all of these as finite, and one of them turned
into a float is ``Infinity`` in every roll-up, metric and report above it. Every such number passes
through one of these functions: what is not finite, negative or beyond a plausible bound is refused
(``None`` or ``False``), logged once, and the call is flagged instead of being summed.

The bounds are far above anything real (so a real call is never flagged) and far below where
arithmetic or a float conversion misbehaves.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Final

from otel_llm_cost._log import log_once

__all__ = [
    "MAX_CALL_COST",
    "MAX_CALL_TOKENS",
    "MAX_PRICE_PER_MTOK",
    "plausible_call",
    "read_cost",
]

MAX_CALL_COST: Final = Decimal(100_000)
"""USD: no single LLM call costs this much (a million output tokens of the dearest model is ~$600)."""

MAX_PRICE_PER_MTOK: Final = Decimal(1_000_000)
"""USD per million tokens: the largest price a price file may set."""

MAX_CALL_TOKENS: Final = 1_000_000_000
"""Tokens of one call (input plus output): a thousand times today's largest context window."""


def read_cost(value: object) -> Decimal | None:
    """A cost in USD recorded by someone else: a finite ``Decimal`` in [0, MAX_CALL_COST], else ``None``.

    Accepts int, float, numeric str and Decimal (floats via ``str``, so 0.1 stays 0.1).
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite() or number < 0:
        return None
    if number > MAX_CALL_COST:
        _absurd("cost", "a recorded cost of %s USD for one call", value)
        return None
    return number


def plausible_call(amount: Decimal | None, total_tokens: int) -> bool:
    """Whether a priced call's amount and token count are within the bounds (``None`` amount: yes)."""
    if total_tokens > MAX_CALL_TOKENS:
        _absurd("tokens", "a call of %s tokens", total_tokens)
        return False
    if amount is not None and not (amount.is_finite() and amount <= MAX_CALL_COST):
        _absurd("amount", "a call priced at %s USD", amount)
        return False
    return True


def _absurd(kind: str, what: str, value: object) -> None:
    log_once(
        f"numbers.absurd.{kind}",
        "otel-llm-cost: ignoring an implausible number: " + what + " (flagged, not summed)",
        _show(value),
    )


def _show(value: object) -> str:
    if isinstance(value, int) and value.bit_length() > 64:
        return f"~2**{value.bit_length() - 1}"
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."
