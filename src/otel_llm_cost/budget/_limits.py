"""One budget limit: how much of what, per which window, for which calls, and what to do past it."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final, Literal

from otel_llm_cost.errors import BudgetConfigError, format_window

Unit = Literal["usd", "tokens", "calls"]
Action = Literal["block", "warn"]

UNITS: Final = ("usd", "tokens", "calls")
ACTIONS: Final = ("block", "warn")
GLOBAL: Final = "global"
# Smallest unit the stores count in: USD is kept as integer nano-dollars so that every store (Redis
# included) adds exactly; tokens and calls are counted as they are.
USD_SCALE: Final = Decimal(1_000_000_000)


@dataclass(frozen=True, slots=True)
class Limit:
    """A limit on spend, tokens or calls per sliding window, for one kind of key.

    Example::

        Limit("tenant", "usd", "50", "1d")                 # $50 a day for each tenant
        Limit("model", "tokens", 1_000_000, "1h", value="gpt-4o*", action="warn")
        Limit("global", "usd", "2", 600)                  # $2 per 10 minutes, all calls together

    Args:
        key: what the limit is counted per: ``"global"`` (all calls), ``"model"``, ``"provider"``,
            ``"tenant"``, ``"user"``, ``"agent"``, ``"run"``, or any name set by
            :func:`~otel_llm_cost.budget.budget_scope` or found as an attribute of the current span.
        unit: ``"usd"``, ``"tokens"`` (input plus output) or ``"calls"``.
        amount: the limit, in ``unit`` (USD as an exact decimal: pass a string or ``Decimal``).
        window: the sliding window: seconds, or a string such as ``"30s"``, ``"10m"``, ``"1h"``,
            ``"1d"``, ``"1w"``.
        value: only calls whose key has this value (shell-style wildcards allowed) are counted;
            ``None`` counts each value separately (one budget per tenant, say).
        action: ``"block"`` (refuse the call with ``BudgetExceeded``) or ``"warn"`` (let it through,
            with a span event, a metric and a log line).
    """

    key: str
    unit: Unit
    amount: Decimal | int | float | str
    window: int | str
    value: str | None = None
    action: Action = "block"
    window_seconds: int = field(init=False)
    scaled: int = field(init=False)
    """The amount in store units (nano-dollars, tokens or calls)."""

    def __post_init__(self) -> None:
        if not self.key or any(c in self.key for c in ":;={}") or self.key != self.key.strip():
            raise BudgetConfigError(f"budget key {self.key!r}: must be a plain name")
        if self.unit not in UNITS:
            raise BudgetConfigError(
                f"budget {self.key}: unknown unit {self.unit!r} (use usd, tokens or calls)"
            )
        if self.action not in ACTIONS:
            raise BudgetConfigError(f"budget {self.key}: unknown action {self.action!r} (use block or warn)")
        amount = parse_amount(self.amount)
        object.__setattr__(self, "amount", amount)
        object.__setattr__(self, "window_seconds", parse_window(self.window))
        object.__setattr__(self, "scaled", to_units(amount, self.unit))

    @property
    def limit(self) -> Decimal:
        return self.amount  # type: ignore[return-value]

    def label(self, value: str | None) -> str:
        """The key as users see it: ``"global"``, ``"tenant=acme"``."""
        return GLOBAL if self.key == GLOBAL else f"{self.key}={value}"

    def matches(self, value: str) -> bool:
        return self.value is None or fnmatch.fnmatchcase(value, self.value)

    def describe(self) -> str:
        scope = self.key if self.value is None else f"{self.key}={self.value}"
        window = format_window(self.window_seconds)
        return f"{scope}:{self.unit}={self.limit.normalize():f}/{window}:{self.action}"


def parse_amount(raw: Decimal | int | float | str) -> Decimal:
    """A non-negative finite amount; ``"1e6"`` and ``"0.50"`` are fine, ``"cheap"`` is not."""
    try:
        amount = raw if isinstance(raw, Decimal) else Decimal(str(raw).strip())
    except ArithmeticError:
        raise BudgetConfigError(f"not an amount: {raw!r}") from None
    if not amount.is_finite() or amount < 0:
        raise BudgetConfigError(f"not an amount: {raw!r} (must be a finite number >= 0)")
    return amount


_WINDOW_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_window(raw: int | str) -> int:
    """Seconds from ``600``, ``"600"``, ``"10m"``, ``"h"`` (one hour)."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        seconds = raw
    else:
        text = str(raw).strip().lower()
        if text and text[-1] in _WINDOW_UNITS:
            number, unit = text[:-1] or "1", text[-1]
        elif text.isdigit():
            number, unit = text, "s"
        else:
            raise BudgetConfigError(f"window {raw!r}: unknown unit (use s, m, h, d or w)")
        if not number.isdigit():
            raise BudgetConfigError(f"window {raw!r}: not a whole number of {unit}")
        seconds = int(number) * _WINDOW_UNITS[unit]
    if seconds <= 0:
        raise BudgetConfigError(f"window {raw!r}: must be positive")
    return seconds


def to_units(amount: Decimal, unit: str) -> int:
    """An amount in store units, rounded up (a reservation must never be smaller than the truth)."""
    if unit == "usd":
        amount = amount * USD_SCALE
    return int(amount.to_integral_value(rounding="ROUND_CEILING"))


def from_units(units: int, unit: str) -> Decimal:
    return Decimal(units) / USD_SCALE if unit == "usd" else Decimal(units)
