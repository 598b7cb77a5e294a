"""The resolution cache: genai-prices is searched once per (provider, model, UTC day, tier)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from genai_prices import data_snapshot

from otel_llm_cost.pricing import Pricer
from otel_llm_cost.usage import Usage

AT = datetime(2026, 11, 1, 8, tzinfo=UTC)


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every model ref genai-prices is asked to find."""
    calls: list[str] = []
    original = data_snapshot.DataSnapshot.find_provider_model

    def counting(self, model_ref, provider, provider_id, provider_api_url):
        calls.append(model_ref)
        return original(self, model_ref, provider, provider_id, provider_api_url)

    monkeypatch.setattr(data_snapshot.DataSnapshot, "find_provider_model", counting)
    return calls


def test_same_key_is_resolved_once(lookups: list[str]):
    pricer = Pricer()
    for input_tokens in (10, 1_000, 300_000):  # long-context tiers are chosen per call, not per key
        pricer.price(Usage.of(input_tokens, 5), "gemini-2.5-pro", "gcp.vertex_ai", at=AT)
        pricer.price(Usage.of(input_tokens, 5), "gemini-2.5-pro", "gcp.vertex_ai", at=AT + timedelta(hours=9))
    assert lookups == ["gemini-2.5-pro"]
    assert pricer.resolutions == 1


def test_new_day_tier_or_model_is_a_new_key(lookups: list[str]):
    pricer = Pricer()
    usage = Usage.of(1_000, 100)
    pricer.price(usage, "gpt-4o", "openai", at=AT)
    pricer.price(usage, "gpt-4o", "openai", at=AT + timedelta(days=1))
    pricer.price(usage, "gpt-4o", "openai", at=AT, service_tier="batch")
    pricer.price(usage, "gpt-4o-mini", "openai", at=AT)
    assert pricer.resolutions == 4
    assert len(lookups) == 4


def test_unknown_models_are_cached_too(lookups: list[str]):
    pricer = Pricer()
    for _ in range(5):
        assert pricer.price(Usage.of(1, 1), "no-such-model", "anthropic", at=AT).amount is None
    assert lookups == ["no-such-model"]
    assert pricer.unpriced_count == 5


def test_a_new_genai_prices_snapshot_invalidates_the_cache():
    pricer = Pricer()
    usage = Usage.of(1_000_000, 0)
    bundled = data_snapshot.get_snapshot()
    assert pricer.price(usage, "gpt-4o", "openai", at=AT).amount == Decimal("2.5")
    cheaper = _snapshot_with_gpt_4o_input_at(bundled, Decimal("1"))
    data_snapshot.set_custom_snapshot(cheaper)
    try:
        updated = pricer.price(usage, "gpt-4o", "openai", at=AT)
    finally:
        data_snapshot.set_custom_snapshot(None)
    assert updated.amount == Decimal("1")
    assert "updated" in updated.pricing_version
    assert pricer.price(usage, "gpt-4o", "openai", at=AT).amount == Decimal("2.5")


def _snapshot_with_gpt_4o_input_at(bundled: data_snapshot.DataSnapshot, price: Decimal):
    from copy import copy

    from genai_prices.types import ModelPrice

    openai = copy(next(p for p in bundled.providers if p.id == "openai"))
    model = copy(next(m for m in openai.models if m.id == "gpt-4o"))
    model.prices = ModelPrice(input_mtok=price, output_mtok=Decimal("10"))
    model.price_variants = None
    openai.models = [model]
    return data_snapshot.DataSnapshot(providers=[openai], from_auto_update=True)


def test_bounded_cache_is_cleared_not_grown():
    from otel_llm_cost.pricing._table import PriceTable

    table = PriceTable(max_entries=3)
    for index in range(10):
        table.schedule("openai", f"unknown-{index}", 20_000, None)
    assert len(table._cache) <= 3
    assert table.resolutions == 10
