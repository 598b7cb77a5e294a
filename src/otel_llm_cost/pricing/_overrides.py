"""User prices and aliases: models genai-prices does not know, and names it cannot recognise.

Built from a mapping (see :mod:`otel_llm_cost.pricing._price_file` for the file format) and consulted
on the slow path only, before genai-prices, so a user's price always wins.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Final, TypeVar

from otel_llm_cost._numbers import MAX_PRICE_PER_MTOK
from otel_llm_cost.pricing._rates import Rates, Schedule, per_token, single_card

PRICE_FIELDS: Final = ("input", "output", "cache_read", "cache_write", "cache_write_1h", "reasoning")
MODEL_FIELDS: Final = frozenset({*PRICE_FIELDS, "provider"})
ALIAS_FIELDS: Final = frozenset({"model", "provider"})
TOP_LEVEL_FIELDS: Final = frozenset({"models", "aliases", "strip_prefixes"})


class OverrideError(ValueError):
    """A bad entry; ``path`` is the tuple of keys leading to it (the file layer adds the location)."""

    def __init__(self, path: tuple[str, ...], reason: str) -> None:
        super().__init__(reason)
        self.path = path
        self.reason = reason


@dataclass(frozen=True, slots=True)
class _ModelEntry:
    pattern: str
    provider: str | None
    rates: Rates


@dataclass(frozen=True, slots=True)
class _Alias:
    pattern: str
    model: str
    provider: str | None


_Entry = TypeVar("_Entry", _ModelEntry, _Alias)


@dataclass(frozen=True, slots=True)
class PriceOverrides:
    """User-supplied prices (USD per million tokens) and aliases. Build with :meth:`from_mapping`
    or :func:`otel_llm_cost.pricing.load_overrides`.

    Names match case-insensitively; ``*`` and ``?`` in a name are wildcards. Exact names win over
    patterns, earlier patterns over later ones.
    """

    source: str
    models: tuple[_ModelEntry, ...] = ()
    aliases: tuple[_Alias, ...] = ()
    strip_prefixes: tuple[str, ...] = ()

    @classmethod
    def from_mapping(cls, data: Mapping[str, object], source: str = "<mapping>") -> PriceOverrides:
        """Validate parsed file content (the layout :func:`load_overrides` reads).

        Raises:
            ValueError: an ``OverrideError`` whose ``path`` names the bad field.
        """
        _require_mapping(data, ())
        unknown = sorted(set(data) - TOP_LEVEL_FIELDS)
        if unknown:
            raise OverrideError((unknown[0],), f"unknown section; expected one of {sorted(TOP_LEVEL_FIELDS)}")
        models = _require_mapping(data.get("models", {}), ("models",))
        aliases = _require_mapping(data.get("aliases", {}), ("aliases",))
        return cls(
            source=source,
            models=tuple(_model_entry(str(name), spec) for name, spec in models.items()),
            aliases=tuple(_alias(str(name), spec) for name, spec in aliases.items()),
            strip_prefixes=_prefixes(data.get("strip_prefixes", [])),
        )

    @property
    def version(self) -> str:
        return f"overrides:{self.source}"

    def rewrite(self, provider: str | None, model: str) -> tuple[str | None, str]:
        """Apply ``strip_prefixes`` then the first matching alias (one step, no chains)."""
        lowered = model.lower()
        for prefix in self.strip_prefixes:
            if lowered.startswith(prefix):
                model, lowered = model[len(prefix) :], lowered[len(prefix) :]
                break
        alias = _first_match(self.aliases, lowered)
        if alias is None:
            return provider, model
        return (alias.provider or provider), alias.model

    def schedule(self, provider: str | None, model: str) -> Schedule | None:
        """The user's prices for ``model`` under ``provider``, or ``None``."""
        lowered = model.lower()
        wanted = provider.lower() if provider else None
        candidates = [entry for entry in self.models if entry.provider is None or entry.provider == wanted]
        entry = _first_match(candidates, lowered)
        if entry is None:
            return None
        return Schedule((0,), (single_card(entry.rates),), model, self.version)


def _first_match(entries: Sequence[_Entry], name: str) -> _Entry | None:
    for entry in entries:
        if entry.pattern == name:
            return entry
    for entry in entries:
        if _is_pattern(entry.pattern) and fnmatch.fnmatchcase(name, entry.pattern):
            return entry
    return None


def _is_pattern(name: str) -> bool:
    return "*" in name or "?" in name or "[" in name


def _model_entry(name: str, spec: object) -> _ModelEntry:
    path = ("models", name)
    fields = _require_mapping(spec, path)
    unknown = sorted(set(fields) - MODEL_FIELDS)
    if unknown:
        raise OverrideError((*path, unknown[0]), f"unknown field; expected one of {sorted(MODEL_FIELDS)}")
    for required in ("input", "output"):
        if required not in fields:
            raise OverrideError((*path, required), "missing (input and output prices are required)")
    prices = {key: _price(fields[key], (*path, key)) for key in PRICE_FIELDS if key in fields}
    input_, output = prices["input"], prices["output"]
    cache_write = prices.get("cache_write", input_)
    rates = Rates(
        input=per_token(input_),
        output=per_token(output),
        cache_read=per_token(prices.get("cache_read", input_)),
        cache_write=per_token(cache_write),
        cache_write_1h=per_token(prices.get("cache_write_1h", cache_write)),
        reasoning=per_token(prices.get("reasoning", output)),
    )
    return _ModelEntry(name.lower(), _optional_name(fields.get("provider"), (*path, "provider")), rates)


def _alias(name: str, spec: object) -> _Alias:
    path = ("aliases", name)
    if isinstance(spec, str):
        return _Alias(name.lower(), _name(spec, path), None)
    fields = _require_mapping(spec, path)
    unknown = sorted(set(fields) - ALIAS_FIELDS)
    if unknown:
        raise OverrideError((*path, unknown[0]), f"unknown field; expected one of {sorted(ALIAS_FIELDS)}")
    if "model" not in fields:
        raise OverrideError((*path, "model"), "missing (an alias names the model it stands for)")
    target = _name(fields["model"], (*path, "model"))
    return _Alias(name.lower(), target, _optional_name(fields.get("provider"), (*path, "provider")))


def _prefixes(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise OverrideError(("strip_prefixes",), "expected a list of non-empty strings")
    return tuple(item.lower() for item in value)


def _price(value: object, path: tuple[str, ...]) -> Decimal:
    """A price from a file: Decimal, int, float or numeric string; finite and >= 0."""
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, float, str)):
        raise OverrideError(path, f"not a price: {value!r} (use a number or a numeric string)")
    try:
        price = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise OverrideError(path, f"not a price: {value!r} (use a number or a numeric string)") from None
    if not price.is_finite() or price < 0:
        raise OverrideError(path, f"not a price: {value!r} (must be finite and >= 0)")
    if price > MAX_PRICE_PER_MTOK:
        raise OverrideError(
            path, f"not a price: {value!r} (over {MAX_PRICE_PER_MTOK} USD per million tokens)"
        )
    return price


def _name(value: object, path: tuple[str, ...]) -> str:
    if not isinstance(value, str) or not value.strip():
        raise OverrideError(path, f"expected a non-empty string, got {value!r}")
    return value.strip()


def _optional_name(value: object, path: tuple[str, ...]) -> str | None:
    return None if value is None else _name(value, path).lower()


def _require_mapping(value: object, path: tuple[str, ...]) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise OverrideError(path, f"expected a table/mapping, got {type(value).__name__}")
    return value
