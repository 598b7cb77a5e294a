"""Resolve a model to a :class:`Schedule` from the active genai-prices snapshot.

This is the slow path (100+ us), taken once per (provider, model, UTC day, service tier). It reuses
genai-prices' own matching (``find_provider_model``) and price selection (``ModelInfo.get_prices``:
price history, service-tier variants), then flattens the chosen ``ModelPrice`` into per-token rates.
genai-prices is imported lazily so that importing this package stays cheap.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any, Final

from otel_llm_cost.pricing._providers import (
    GENAI_PRICES_PROVIDER_IDS,
    LOCAL_PROVIDERS,
    OPEN_WEIGHT_PREFIXES,
    PROPRIETARY_MAKERS,
    SELF_HOSTED,
)
from otel_llm_cost.pricing._rates import ZERO, RateCard, Rates, Schedule, per_token
from otel_llm_cost.usage import COUNT_UNITS, TOKEN_UNITS

if TYPE_CHECKING:
    from genai_prices.data_snapshot import DataSnapshot
    from genai_prices.types import ModelInfo, ModelPrice, Provider

_PER_THOUSAND = Decimal(1000)

_BATCH_CONTEXT: Mapping[str, str] = {"processing": "batch"}
# Tier names meaning "no surcharge, no discount": no price variant to select.
_STANDARD_TIERS = frozenset({"", "auto", "standard", "standard_only", "on_demand"})


def version_label(snap: DataSnapshot) -> str:
    from genai_prices import __version__

    if snap.from_auto_update:
        return f"genai-prices {__version__} (updated {snap.timestamp.isoformat(timespec='seconds')})"
    return f"genai-prices {__version__}"


def price_context(service_tier: str | None) -> Mapping[str, str] | None:
    """The genai-prices ``price_context`` for a service tier (OpenAI or Anthropic spelling)."""
    if service_tier is None:
        return None
    tier = service_tier.strip().lower()
    if tier in _STANDARD_TIERS:
        return None
    if tier == "batch":
        return _BATCH_CONTEXT
    return {"service_tier": tier}


def resolve(
    snap: DataSnapshot, provider: str | None, model: str, day: int, service_tier: str | None
) -> Schedule | None:
    """The schedule of ``model`` on UTC ``day`` (days since the epoch), or ``None`` if unknown."""
    found = _find(snap, provider, model)
    if found is None:
        return None
    gp_provider, info = found
    context = price_context(service_tier)
    if context is not None and not any(info is candidate for candidate in gp_provider.models):
        context = None  # as genai-prices does: variants belong to the provider that owns the model
    midnight = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=day)
    starts = _segment_starts(info)
    cards: list[RateCard] = []
    for start in starts:
        card = _card(info.get_prices(midnight + timedelta(seconds=start), context))
        if card is None:
            return None
        cards.append(card)
    return Schedule(tuple(starts), tuple(cards), info.id, version_label(snap))


def context_window(snap: DataSnapshot, provider: str | None, model: str) -> int | None:
    """The model's context window in tokens (input and output together), when the data knows it."""
    found = _find(snap, provider, model)
    window = found[1].context_window if found is not None else None
    return window if type(window) is int and window > 0 else None


def _find(snap: DataSnapshot, provider: str | None, model: str) -> tuple[Provider, ModelInfo] | None:
    for provider_id, api_url in _lookups(provider, model):
        try:
            return snap.find_provider_model(model, None, provider_id, api_url)
        except LookupError:
            continue
    if _is_unmapped(provider):
        return _model_owner(snap, model)
    if (provider or "").strip().lower() == SELF_HOSTED:
        return _proprietary_owner(snap, model)
    return None


def _is_unmapped(provider: str | None) -> bool:
    name = (provider or "").strip().lower()
    return name not in LOCAL_PROVIDERS and name not in GENAI_PRICES_PROVIDER_IDS


# Model makers before resellers, so a model listed by both is priced at its maker's rate.
_FIRST_PARTY: Final = ("openai", "anthropic", "google", "mistral", "cohere", "deepseek", "x-ai", "moonshotai")


def _first_party_first(provider: Provider) -> int:
    return _FIRST_PARTY.index(provider.id) if provider.id in _FIRST_PARTY else len(_FIRST_PARTY)


def _model_owner(snap: DataSnapshot, model: str) -> tuple[Provider, ModelInfo] | None:
    """The provider listing ``model`` among its own models, for calls through gateways and proxies.

    genai-prices infers a provider from a model name only by each provider's name patterns, which miss
    some first-party models (OpenAI's ``text-embedding-3-small``). Runs once per resolution, then cached.
    """
    for candidate in sorted(snap.providers, key=_first_party_first):
        for info in candidate.models:
            if info.is_match(model):
                return candidate, info
    return None


def _proprietary_owner(snap: DataSnapshot, model: str) -> tuple[Provider, ModelInfo] | None:
    """The maker of a proprietary model served through a self-hosted gateway; ``None`` for open weights."""
    name = model.strip().lower().rsplit("/", 1)[-1]
    if name.startswith(OPEN_WEIGHT_PREFIXES):
        return None
    for candidate in snap.providers:
        if candidate.id in PROPRIETARY_MAKERS:
            for info in candidate.models:
                if info.is_match(model):
                    return candidate, info
    return None


def _lookups(provider: str | None, model: str) -> Iterator[tuple[str | None, str | None]]:
    """(provider_id, provider_api_url) pairs to try, best first."""
    name = (provider or "").strip().lower()
    if name in LOCAL_PROVIDERS:
        return
    if mapped := GENAI_PRICES_PROVIDER_IDS.get(name):
        yield mapped, None
        return
    # Unmapped: maybe a genai-prices id or a host; else let genai-prices infer from the model.
    if name:
        yield name, None
    if "." in name and " " not in name and "/" not in name:
        yield None, f"https://{name}"
    yield None, None
    if "/" in model:
        yield "litellm", None  # "openai/gpt-4o" style refs: genai-prices splits off the provider


def _segment_starts(info: ModelInfo) -> list[int]:
    """Seconds after UTC midnight where a time-of-day constraint may switch prices."""
    from genai_prices.types import TimeOfDateConstraint

    conditional = info.prices if isinstance(info.prices, list) else []
    constraints: list[Any] = [price.constraint for price in conditional]
    constraints += [variant.constraint for variant in info.price_variants or ()]
    starts = {0}
    for constraint in constraints:
        if isinstance(constraint, TimeOfDateConstraint):
            starts.add(_utc_second(constraint.start_time))
            starts.add(_utc_second(constraint.end_time))
    return sorted(starts)


def _utc_second(value: time) -> int:
    moment = datetime.combine(date(1970, 1, 2), value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return (moment.hour * 60 + moment.minute) * 60 + moment.second


def _card(price: ModelPrice) -> RateCard | None:
    """Flatten a genai-prices ``ModelPrice`` into bands of rates.

    ``None`` when the model is billed only in units a token usage cannot express (audio hours,
    pages): $0 would be wrong there. An entirely empty price is the data saying "free".
    """
    raw = {key: getattr(price, key, None) for key in _PRICE_KEYS}
    if raw["input_mtok"] is None and any(value is not None for value in vars(price).values()):
        return None
    extra_units = _extra_units()
    extras = {key: value for key, value in vars(price).items() if key in extra_units and value is not None}
    thresholds = sorted(
        {tier.start for value in (*raw.values(), *extras.values()) for tier in getattr(value, "tiers", ())}
    )
    # A representative input size for each band: 0 for the base band, just past each threshold.
    probes = [0, *(threshold + 1 for threshold in thresholds)]
    bands = tuple(
        _rates(
            {key: _at(value, probe) for key, value in raw.items()},
            {extra_units[key]: _at(value, probe) for key, value in extras.items()},
        )
        for probe in probes
    )
    return RateCard(tuple(thresholds), bands)


@cache
def _extra_units() -> dict[str, tuple[str, int]]:
    """genai-prices price keys we price beyond :data:`_PRICE_KEYS` -> (usage key, units per price).

    Read from genai-prices' own unit table, so its units and ours cannot drift apart.
    """
    from genai_prices.data_units import unit_data

    ours = {*TOKEN_UNITS, *COUNT_UNITS}
    return {
        unit["price_key"]: (usage_key, unit["per"])
        for usage_key, unit in unit_data.items()
        if usage_key in ours
    }


_PRICE_KEYS = (
    "input_mtok",
    "output_mtok",
    "cache_read_mtok",
    "cache_write_mtok",
    "cache_write_1h_mtok",
    "output_reasoning_mtok",
    "requests_kcount",
)


def _at(value: Any, input_tokens: int) -> Decimal | None:
    """The price applying at ``input_tokens``, by genai-prices' cliff rule (``input > tier.start``)."""
    if value is None or isinstance(value, Decimal):
        return value
    applicable: Decimal = value.base
    for tier in sorted(value.tiers, key=lambda tier: tier.start):
        if input_tokens > tier.start:
            applicable = tier.price
    return applicable


def _rates(
    per_million: dict[str, Decimal | None], extras: Mapping[tuple[str, int], Decimal | None] | None = None
) -> Rates:
    input_ = per_million["input_mtok"] or ZERO
    output = per_million["output_mtok"] or ZERO
    cache_write = _or(per_million["cache_write_mtok"], input_)
    per_request = per_million["requests_kcount"]
    return Rates(
        input=per_token(input_),
        output=per_token(output),
        cache_read=per_token(_or(per_million["cache_read_mtok"], input_)),
        cache_write=per_token(cache_write),
        cache_write_1h=per_token(_or(per_million["cache_write_1h_mtok"], cache_write)),
        reasoning=per_token(_or(per_million["output_reasoning_mtok"], output)),
        per_request=ZERO if per_request is None else per_request / _PER_THOUSAND,
        extras=tuple((key, price / per) for (key, per), price in (extras or {}).items() if price is not None),
    )


def _or(value: Decimal | None, default: Decimal) -> Decimal:
    return default if value is None else value
