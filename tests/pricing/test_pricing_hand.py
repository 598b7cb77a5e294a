"""Costs worked out by hand from published per-million-token (MTok) prices."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from otel_llm_cost.pricing import Cost, Pricer
from otel_llm_cost.usage import ESTIMATED, Usage

MTOK = Decimal(1_000_000)
AT = datetime(2026, 11, 1, 12, tzinfo=UTC)


def usd(tokens: int, per_mtok: str) -> Decimal:
    return tokens * Decimal(per_mtok) / MTOK


def test_gpt_4o_with_cached_input(shared_pricer: Pricer):
    # gpt-4o: $2.50 input, $1.25 cached input, $10.00 output per MTok.
    usage = Usage.of(10_000, 500, cache_read_tokens=8_000)
    cost = shared_pricer.price(usage, "gpt-4o-2024-08-06", "openai", at=AT)
    assert cost.input == usd(2_000, "2.50")
    assert cost.cache_read == usd(8_000, "1.25")
    assert cost.output == usd(500, "10")
    assert cost.amount == Decimal("0.02")
    assert (cost.status, cost.source, cost.currency, cost.model_ref) == ("priced", "local", "USD", "gpt-4o")
    assert cost.pricing_version.startswith("genai-prices ")


def test_claude_sonnet_4_5_cache_writes_5m_and_1h_and_reads(shared_pricer: Pricer):
    # Claude Sonnet 4.5: $3 input, $15 output, $0.30 cache read, $3.75 5-minute cache write,
    # $6 1-hour cache write per MTok. Anthropic's additive counts folded into inclusive input:
    # 1_000 uncached + 20_000 read + 6_000 written (4_000 for 5 minutes, 2_000 for 1 hour).
    usage = Usage.of(
        27_000,
        800,
        cache_read_tokens=20_000,
        cache_write_tokens=6_000,
        cache_write_5m_tokens=4_000,
        cache_write_1h_tokens=2_000,
    )
    cost = shared_pricer.price(usage, "claude-sonnet-4-5-20250929", "anthropic", at=AT)
    assert cost.input == usd(1_000, "3")
    assert cost.cache_read == usd(20_000, "0.30")
    assert cost.cache_write == usd(4_000, "3.75") + usd(2_000, "6")
    assert cost.output == usd(800, "15")
    assert cost.amount == Decimal("0.048")


def test_claude_sonnet_4_5_long_context(shared_pricer: Pricer):
    # Above 200k input tokens every token is billed at the long-context rate: $6 input, $22.50 output.
    cost = shared_pricer.price(Usage.of(250_000, 1_000), "claude-sonnet-4-5", "anthropic", at=AT)
    assert cost.amount == usd(250_000, "6") + usd(1_000, "22.50") == Decimal("1.5225")


def test_reasoning_tokens_priced_at_output_rate(shared_pricer: Pricer):
    # gpt-5: $1.25 input, $10 output per MTok; reasoning tokens are billed as output.
    usage = Usage.of(1_000, 3_000, reasoning_tokens=2_500)
    cost = shared_pricer.price(usage, "gpt-5-2025-08-07", "openai", at=AT)
    assert cost.reasoning == usd(2_500, "10")
    assert cost.output == usd(500, "10")
    assert cost.amount == Decimal("0.03125")


@pytest.mark.parametrize(
    ("input_tokens", "expected"),
    [
        (100_000, usd(100_000, "1.25") + usd(2_000, "10")),  # up to 200k: $1.25 / $10 per MTok
        (200_000, usd(200_000, "1.25") + usd(2_000, "10")),  # the threshold itself is still base
        (300_000, usd(300_000, "2.50") + usd(2_000, "15")),  # above 200k: $2.50 / $15 per MTok
    ],
)
def test_gemini_2_5_pro_long_context_tier(shared_pricer: Pricer, input_tokens: int, expected: Decimal):
    cost = shared_pricer.price(Usage.of(input_tokens, 2_000), "gemini-2.5-pro", "gcp.gemini", at=AT)
    assert cost.amount == expected


def test_batch_and_flex_tiers(shared_pricer: Pricer):
    # OpenAI Batch and Flex are half price. genai-prices carries these variants from 2026-10 on.
    # gpt-4o batch: $1.25 input, $5 output; gpt-5 flex: $0.625 input, $5 output per MTok.
    usage = Usage.of(10_000, 1_000)
    batch = shared_pricer.price(usage, "gpt-4o", "openai", at=AT, service_tier="batch")
    flex = shared_pricer.price(usage, "gpt-5", "openai", at=AT, service_tier="flex")
    standard = shared_pricer.price(usage, "gpt-4o", "openai", at=AT, service_tier="default")
    assert batch.amount == usd(10_000, "1.25") + usd(1_000, "5") == Decimal("0.0175")
    assert flex.amount == usd(10_000, "0.625") + usd(1_000, "5")
    assert standard.amount == usd(10_000, "2.50") + usd(1_000, "10")


def test_price_history_o3_price_cut(shared_pricer: Pricer):
    # o3 cost $10 / $40 per MTok until 2025-06-10, then $2 / $8.
    usage = Usage.of(1_000_000, 100_000)
    before = shared_pricer.price(usage, "o3", "openai", at=datetime(2025, 6, 1, tzinfo=UTC))
    after = shared_pricer.price(usage, "o3", "openai", at=datetime(2025, 6, 11, tzinfo=UTC))
    assert before.amount == Decimal("10") + Decimal("4")
    assert after.amount == Decimal("2") + Decimal("0.8")


def test_time_of_day_prices_deepseek(shared_pricer: Pricer):
    # deepseek-chat: $0.27 input / $1.10 output 00:30-16:30 UTC, half that off-peak.
    usage = Usage.of(1_000_000, 1_000_000)
    peak = shared_pricer.price(usage, "deepseek-chat", "deepseek", at=datetime(2025, 7, 1, 3, tzinfo=UTC))
    off = shared_pricer.price(usage, "deepseek-chat", "deepseek", at=datetime(2025, 7, 1, 20, tzinfo=UTC))
    assert peak.amount == Decimal("0.27") + Decimal("1.1")
    assert off.amount == Decimal("0.135") + Decimal("0.55")


def test_naive_time_is_utc(shared_pricer: Pricer):
    usage = Usage.of(1_000_000, 0)
    naive = shared_pricer.price(usage, "o3", "openai", at=datetime(2025, 6, 9, 23, 30))
    assert naive.amount == Decimal("10")


def test_unknown_model_is_unpriced_counted_and_logged_once(caplog: pytest.LogCaptureFixture):
    pricer = Pricer()
    seen: list[tuple[str | None, str | None]] = []
    pricer.add_unpriced_listener(lambda model, provider: seen.append((model, provider)))
    with caplog.at_level(logging.WARNING, logger="otel_llm_cost"):
        costs = [pricer.price(Usage.of(100, 10), "acme-llm-9000", "openai") for _ in range(3)]
    assert costs[0] == Cost("unpriced", None, *(Decimal(0),) * 5)
    assert pricer.unpriced_count == 3
    assert seen == [("acme-llm-9000", "openai")] * 3
    assert [r.getMessage() for r in caplog.records] == [
        "no price for model 'acme-llm-9000' (provider 'openai')"
    ]


def test_local_provider_is_never_priced_from_public_data(shared_pricer: Pricer):
    # "llama-3.3-70b" exists in public data (e.g. Groq), but an Ollama call costs what the user says.
    cost = shared_pricer.price(Usage.of(100, 10), "llama-3.3-70b-versatile", "ollama")
    assert cost.status == "unpriced"


def test_estimated_usage_gives_estimated_status(shared_pricer: Pricer):
    cost = shared_pricer.price(Usage.of(1_000, 0, source=ESTIMATED), "gpt-4o", "openai", at=AT)
    assert (cost.status, cost.amount) == ("estimated", usd(1_000, "2.50"))


def test_provider_reported_cost_wins(shared_pricer: Pricer):
    usage = Usage.of(1_000, 100)
    reported = shared_pricer.price(usage, "openai/gpt-4o", "openrouter", at=AT, provider_cost=0.0042)
    assert (reported.amount, reported.source, reported.status) == (Decimal("0.0042"), "provider", "priced")
    unknown_model = shared_pricer.price(usage, "acme/secret", "openrouter", provider_cost=Decimal("0.5"))
    assert (unknown_model.amount, unknown_model.source) == (Decimal("0.5"), "provider")
    garbage = shared_pricer.price(usage, "gpt-4o", "openai", at=AT, provider_cost=float("nan"))
    assert (garbage.source, garbage.amount) == ("local", usd(1_000, "2.50") + usd(100, "10"))


def test_unmapped_provider_lets_genai_prices_infer(shared_pricer: Pricer):
    by_host = shared_pricer.price(Usage.of(1_000_000, 0), "gpt-4o", "my-gateway.internal", at=AT)
    litellm_style = shared_pricer.price(Usage.of(1_000_000, 0), "openai/gpt-4o", None, at=AT)
    assert by_host.amount == litellm_style.amount == Decimal("2.5")
