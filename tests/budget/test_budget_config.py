"""The budget syntax (OTEL_LLM_COST_BUDGETS, files, strings in code), its errors, and the env guard."""

from __future__ import annotations

from decimal import Decimal

import pytest

from otel_llm_cost.budget import BudgetGuard, Limit, MemoryStore, guard_from_env, parse_budgets
from otel_llm_cost.budget._config import guard_for
from otel_llm_cost.errors import BudgetConfigError, BudgetExceeded, ConfigurationError, OtelLLMCostError


def test_syntax_examples():
    limits = parse_budgets("global:usd=2/10m;tenant:usd=50/1d:block;model=gpt-4o:tokens=1e6/1h:warn")
    assert [(x.key, x.value, x.unit, x.limit, x.window_seconds, x.action) for x in limits] == [
        ("global", None, "usd", Decimal(2), 600, "block"),
        ("tenant", None, "usd", Decimal(50), 86400, "block"),
        ("model", "gpt-4o", "tokens", Decimal(1_000_000), 3600, "warn"),
    ]
    assert [x.describe() for x in limits] == [
        "global:usd=2/10m:block",
        "tenant:usd=50/1d:block",
        "model=gpt-4o:tokens=1000000/1h:warn",
    ]


def test_model_names_with_colons_and_comments_and_newlines():
    text = """
        # fine-tuned models have colons in their names
        model=ft:gpt-4o-mini:acme::abc123:usd=0.5/h   # one hour
        user:calls=100/30s ; run:tokens=200000/w:WARN
    """
    ft, user, run = parse_budgets(text)
    assert (ft.value, ft.unit, ft.limit, ft.window_seconds) == (
        "ft:gpt-4o-mini:acme::abc123",
        "usd",
        Decimal("0.5"),
        3600,
    )
    assert (user.unit, user.window_seconds) == ("calls", 30)
    assert (run.action, run.window_seconds) == ("warn", 604800)


def test_budget_file(tmp_path):
    path = tmp_path / "budgets.conf"
    path.write_text("global:usd=2/10m\ntenant:calls=5/1m:warn\n")
    assert [x.describe() for x in parse_budgets(str(path))] == [
        "global:usd=2/10m:block",
        "tenant:calls=5/1m:warn",
    ]
    with pytest.raises(BudgetConfigError, match="cannot read budget file"):
        parse_budgets(str(tmp_path / "missing.conf"))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("global:usd=2", "expected <unit>=<amount>/<window>"),
        ("global", "expected <key>:<unit>"),
        ("global:euros=2/1h", "unknown unit 'euros'"),
        ("global:usd=cheap/1h", "not an amount: 'cheap'"),
        ("global:usd=-1/1h", "not an amount"),
        ("global:usd=2/10x", "unknown unit"),
        ("global:usd=2/0m", "must be positive"),
        ("global:usd=2/1.5h", "not a whole number"),
    ],
)
def test_errors_name_the_item_and_the_reason(text, reason):
    with pytest.raises(BudgetConfigError) as raised:
        parse_budgets(text)
    assert reason in str(raised.value)
    assert repr(text) in str(raised.value) and "OTEL_LLM_COST_BUDGETS" in str(raised.value)
    assert isinstance(raised.value, ConfigurationError)


def test_limit_validation_in_code():
    with pytest.raises(BudgetConfigError, match="unknown action"):
        Limit("global", "usd", 1, "1h", action="shout")  # type: ignore[arg-type]
    with pytest.raises(BudgetConfigError, match="plain name"):
        Limit("a:b", "usd", 1, "1h")
    with pytest.raises(BudgetConfigError, match="on_store_error"):
        BudgetGuard("global:usd=1/1h", on_store_error="maybe")  # type: ignore[arg-type]


def test_exception_tree_and_message():
    error = BudgetExceeded(
        "tenant=acme", Decimal(50), 86400, Decimal("49.99"), requested=Decimal("0.12"), model="m"
    )
    assert isinstance(error, OtelLLMCostError)
    assert str(error) == (
        "LLM budget tenant=acme exceeded: $49.99 of $50 per 1d already spent or reserved; "
        "this call (m) may use up to $0.12"
    )


def test_guard_from_env(monkeypatch):
    monkeypatch.delenv("OTEL_LLM_COST_BUDGETS", raising=False)
    assert guard_from_env() is None
    monkeypatch.setenv("OTEL_LLM_COST_BUDGETS", "global:calls=7/1h; user:usd=1/1d")
    monkeypatch.setenv("OTEL_LLM_COST_BUDGET_ON_STORE_ERROR", "closed")
    guard = guard_from_env()
    assert guard is not None and guard is guard_from_env()  # one guard per process, shared by instrumentors
    assert [x.describe() for x in guard.limits] == ["global:calls=7/1h:block", "user:usd=1/1d:block"]
    assert guard.on_store_error == "closed" and isinstance(guard.store, MemoryStore)
    mine = BudgetGuard("global:calls=1/1h")
    assert guard_for({"budget_guard": mine}) is mine and guard_for({}) is guard


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [
        ("OTEL_LLM_COST_BUDGET_STORE", "memcached://x", "use memory or a redis"),
        ("OTEL_LLM_COST_BUDGET_ON_STORE_ERROR", "ajar", "use open or closed"),
    ],
)
def test_env_errors_raise_at_set_up(monkeypatch, name, value, match):
    monkeypatch.setenv("OTEL_LLM_COST_BUDGETS", f"global:calls={len(value)}/1h")  # a fresh cache entry
    monkeypatch.setenv(name, value)
    with pytest.raises(BudgetConfigError, match=match):
        guard_from_env()
