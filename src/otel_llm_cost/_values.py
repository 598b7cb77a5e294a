"""Attribute values from untrusted request and response fields: the value, or ``None`` when unusable.

Shared by every extractor (the SDK instrumentations and ``llm_call``), so that one malformed field is
read the same way whichever path a call took.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def read_number(value: object) -> int | float | None:
    """An int or float as it is; ``bool`` and anything else is ``None``."""
    return value if type(value) is int or type(value) is float else None


def read_double(value: object) -> float | None:
    """A number as a float: the conventions type the sampling parameters (temperature, top_p, the
    penalties) as double, and ``temperature=1`` must not make an int attribute. ``bool`` is ``None``."""
    kind = type(value)
    if kind is float:
        return value  # type: ignore[return-value]
    if kind is int:
        try:
            return float(value)  # type: ignore[arg-type]
        except OverflowError:  # an int beyond any float: no sampling parameter
            return None
    return None


def read_whole(value: object) -> int | None:
    """A whole number as an int (``top_k``, typed int): an int, or a float without a fraction."""
    kind = type(value)
    if kind is int:
        return value  # type: ignore[return-value]
    if kind is float and value.is_integer():  # type: ignore[attr-defined]
        return int(value)  # type: ignore[call-overload]
    return None


def read_int(value: object) -> int | None:
    """An int as it is (a token limit, a count); ``bool``, floats and anything else are ``None``."""
    return value if type(value) is int else None


def read_str(value: object) -> str | None:
    """A non-empty string, else ``None``."""
    return value if type(value) is str and value else None


def read_strings(value: object) -> list[str] | None:
    """A string or a non-empty sequence of strings as a list (e.g. stop sequences), else ``None``."""
    if type(value) is str:
        return [value]
    if isinstance(value, list | tuple) and value and all(type(item) is str for item in value):
        return list(value)
    return None


def drop_none(pairs: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    """Attributes from (key, value) pairs, leaving out the ``None`` values."""
    return {key: value for key, value in pairs if value is not None}
