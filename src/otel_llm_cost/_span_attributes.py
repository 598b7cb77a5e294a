"""Setting an LLM span's end attributes without the SDK checking, one by one, values we made ourselves.

``Span.set_attributes`` passes every value through the SDK's attribute cleaning (type checks, sequence
copies, string cuts), about a microsecond per attribute: at the end of a call we set ~16-20 attributes
whose values are plain ``str`` / ``int`` / ``float`` / ``bool`` (or lists of ``str``) made by our own
code. For those, :func:`set_plain_attributes` does what the cleaning would leave of them (strings cut to
the span's ``max_value_len``, lists made tuples; the count limit and ``dropped`` kept exactly as the SDK
keeps them) and writes them
under the span's locks. A mapping with anything else (lists, tuples, unknown types, keys that are not
non-empty strings) goes through ``set_attributes`` whole, as does every span that is not the SDK's.

Relies on SDK internals (``Span._lock`` / ``_end_time`` / ``_attributes``, ``BoundedAttributes._lock`` /
``_setitem_locked`` / ``_immutable``), all in this one module and checked once at import:
``tests/test_span_attributes.py`` compares the result with ``set_attributes`` and fails if an SDK
upgrade changes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.attributes import BoundedAttributes

_PLAIN = frozenset((int, float, bool))
# Whether the SDK still has what the fast path needs; if not, every call takes set_attributes.
_SUPPORTED = callable(getattr(BoundedAttributes, "_setitem_locked", None))


def set_plain_attributes(span: Any, attributes: Mapping[str, Any]) -> None:
    """``span.set_attributes(attributes)``, without the per-value cleaning when every value is plain."""
    bounded = getattr(span, "_attributes", None)
    span_lock = getattr(span, "_lock", None)
    values = None
    if _SUPPORTED and type(bounded) is BoundedAttributes and span_lock is not None and not bounded._immutable:
        values = _plain_copy(attributes, bounded.max_value_len) if bounded.maxlen != 0 else None
    if values is None:
        span.set_attributes(attributes)
        return
    with span_lock:
        if getattr(span, "_end_time", None) is not None:
            values = None  # ended: the SDK's own warning and no-op, below, outside our locks
        else:
            with bounded._lock:
                _write(bounded, values)
    if values is None:
        span.set_attributes(attributes)


def _write(bounded: BoundedAttributes, values: Mapping[str, Any]) -> None:
    """What ``_setitem_locked`` does per item (a key set again moves to the end; the oldest is evicted
    past ``maxlen``), at C speed when everything fits."""
    current = bounded._dict
    if bounded.maxlen is not None and len(current) + len(values) > bounded.maxlen:
        for key, value in values.items():
            bounded._setitem_locked(key, value)
        return
    if not current.keys().isdisjoint(values):
        pop = current.pop
        for key in values:
            pop(key, None)
    current.update(values)


def _plain_copy(attributes: Mapping[str, Any], limit: int | None) -> dict[str, Any] | None:
    """The values as the SDK's cleaning would leave them (strings cut to ``limit``, lists of ``str``
    made tuples), or ``None`` when a key is not a non-empty ``str`` or a value is not plain."""
    values = {}
    for key, value in attributes.items():
        kind = type(value)
        if type(key) is not str or not key:
            return None
        if kind is str:
            if limit is not None and len(value) > limit:
                value = value[:limit]
        elif kind is list or kind is tuple:
            for item in value:
                if type(item) is not str:
                    return None
            value = tuple(value if limit is None else (item[:limit] for item in value))
        elif kind not in _PLAIN:
            return None
        values[key] = value
    return values
