"""Numbers for people: money, durations, counts, shares, times."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

_CENT: Final = Decimal("0.01")
_SMALL: Final = Decimal("0.0001")
_TINY: Final = Decimal("0.000001")


def money(value: Decimal | None) -> str:
    """``$1,234.57``, ``$0.48``, ``$0.0123``, ``$0.000123``, ``<$0.000001``; ``-`` for unknown.

    Two decimals from a dollar up; below, up to four decimals from a cent and six under a cent (trailing
    zeros dropped), so small per-call costs stay readable.
    """
    if value is None:
        return "-"
    if value == 0:
        return "$0.00"
    magnitude = abs(value)
    if magnitude < _TINY:
        return "<$0.000001"
    if magnitude >= 1:
        return f"${value.quantize(_CENT, rounding=ROUND_HALF_UP):,}"
    rounded = value.quantize(_SMALL if magnitude >= _CENT else _TINY, rounding=ROUND_HALF_UP)
    text = f"{rounded:f}".rstrip("0")
    return "$" + (text + "0" if len(text.split(".")[1]) < 2 else text)


UNPRICED: Final = "unpriced"


def cost(value: Decimal, unpriced: int, calls: int) -> str:
    """The cost of a group of calls: ``unpriced`` when none was priced, ``$1.23*`` when some were not."""
    if calls and unpriced >= calls:
        return UNPRICED
    return money(value) + ("*" if unpriced else "")


def seconds(value: float | None) -> str:
    """``850 ms``, ``1.23 s``, ``12.3 s``, ``2m 03s``; ``-`` for unknown."""
    if value is None:
        return "-"
    if value < 1:
        return f"{value * 1000:.3g} ms" if value < 0.01 else f"{value * 1000:.0f} ms"
    if value < 60:
        return f"{value:.3g} s"
    minutes, rest = divmod(round(value), 60)
    return f"{minutes}m {rest:02d}s"


def count(value: int | None) -> str:
    """``1,234,567``; ``-`` for unknown."""
    return "-" if value is None else f"{value:,}"


def share(value: float | None) -> str:
    """``37.0%``; ``-`` for unknown."""
    return "-" if value is None else f"{value * 100:.1f}%"


def rate(value: float | None) -> str:
    """A tokens-per-second figure, three significant digits."""
    return "-" if value is None else f"{value:.3g}" if value < 1000 else f"{value:,.0f}"


def compact(value: float) -> str:
    """``950``, ``12.3k``, ``4.56M``: axis labels."""
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.3g}"


def timestamp(ns: int | None, with_date: bool = True) -> str:
    """UTC time of a nanosecond timestamp: ``2025-01-31 12:00:03`` (or ``12:00:03``)."""
    if ns is None:
        return "-"
    moment = datetime.fromtimestamp(ns / 1e9, UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S")


def clip(text: str, width: int, mark: str = "…") -> str:
    """``text`` cut to ``width`` characters, the cut shown by ``mark``."""
    return text if len(text) <= width else text[: max(width - len(mark), 0)] + mark
