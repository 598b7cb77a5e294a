"""JSON lines from any value, never failing: the encoding behind the JSONL exporter.

Span attributes come from our code, other instrumentations and provider messages. One value JSON or
UTF-8 cannot carry (half an emoji from a provider's error message, a NaN, an integer of 5,000 digits,
an object a producer put in an event) must cost at most that value, never the line, and never the
other spans of the batch. The fast path is ``json.dumps`` plus a UTF-8 check; only a line that fails
is rebuilt value by value:

- strings: lone surrogates become U+FFFD (a valid surrogate pair becomes its character);
- floats: NaN and infinities become ``null``;
- integers beyond 64 bits become strings (most JSON readers round or refuse them);
- bytes are decoded (invalid UTF-8 replaced); any other object becomes its ``str()``;
- nesting deeper than 32 levels becomes a marker string;
- U+0085, U+2028 and U+2029 are escaped, so a line is one line for every reader (``splitlines``).

Every string is also scrubbed of credentials (:func:`otel_llm_cost._scrub.scrub`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

from otel_llm_cost._scrub import scrub

__all__ = ["json_safe", "to_json_line"]

_MAX_DEPTH: Final = 32
_INT_LIMIT: Final = 2**63


def to_json_line(record: Any) -> str:
    """``record`` as one line of JSON (no newline), valid UTF-8, whatever it holds."""
    try:
        line = json.dumps(record, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        line.encode("utf-8")  # a lone surrogate passes json.dumps and fails here
    except Exception:  # ValueError (NaN), TypeError (an object), UnicodeEncodeError, RecursionError...
        line = json.dumps(json_safe(record), separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return _one_line(line)


# Characters str.splitlines() (and so many readers) breaks lines at, which JSON leaves unescaped.
_LINE_BREAKS: Final = {"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _one_line(line: str) -> str:
    if line.isascii():
        return line
    for raw, escaped in _LINE_BREAKS.items():
        if raw in line:
            line = line.replace(raw, escaped)
    return line


def json_safe(value: Any, depth: int = 0) -> Any:
    """``value`` made of what JSON and UTF-8 can carry (see the module docstring for each rule)."""
    if value is None or type(value) is bool:
        return value
    if isinstance(value, str):
        return scrub(_valid_text(str(value)))
    if isinstance(value, int):
        return int(value) if -_INT_LIMIT < value < _INT_LIMIT else _big_int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if depth >= _MAX_DEPTH:
        return "<nested too deep>"
    if isinstance(value, Mapping):
        return {_key(key): json_safe(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(item, depth + 1) for item in value]
    if isinstance(value, bytes | bytearray):
        return scrub(bytes(value).decode("utf-8", "replace"))
    if isinstance(value, Decimal):
        return str(value) if value.is_finite() else None
    return scrub(_valid_text(_text_of(value)))


def _valid_text(text: str) -> str:
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        # Pairs of surrogates become their character, lone ones U+FFFD.
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _big_int(value: int) -> str:
    try:
        return str(value)
    except ValueError:  # more digits than int-to-str allows
        return f"<integer of {value.bit_length()} bits>"


def _key(key: object) -> str:
    return scrub(_valid_text(key if isinstance(key, str) else _text_of(key)))


def _text_of(value: object) -> str:
    try:
        return str(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"
