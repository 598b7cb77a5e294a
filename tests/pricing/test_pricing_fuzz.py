"""Nothing raises out of ``Pricer.price``, whatever it is given."""

from __future__ import annotations

from datetime import UTC, timedelta, timezone
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otel_llm_cost.pricing import Cost, Pricer, cost_attributes
from otel_llm_cost.usage import Usage

_PRICER = Pricer()
_PRICER.warm_up()

_counts = st.one_of(st.integers(min_value=-(10**30), max_value=10**30), st.just(10**400))
_anything = st.one_of(st.none(), st.floats(), st.text(max_size=5), st.booleans(), _counts)
_models = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.sampled_from(
        ["gpt-4o", "claude-sonnet-4-5", "gemini-2.5-pro", "deepseek-chat", "o3", "openai/gpt-4o"]
    ),
    st.integers(),
)
_providers = st.one_of(
    st.none(),
    st.text(max_size=20),
    st.sampled_from(["openai", "anthropic", "gcp.gemini", "ollama", "aws.bedrock", "litellm", "a.b"]),
)
_times = st.one_of(
    st.none(),
    st.datetimes(timezones=st.one_of(st.none(), st.just(UTC), st.just(timezone(timedelta(hours=-14))))),
    st.text(max_size=3),
)
_provider_costs = st.one_of(st.none(), st.floats(), st.decimals(), st.text(max_size=5), st.integers())


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    usage=st.builds(Usage, _counts, _counts, _counts, _counts, _counts, st.one_of(st.none(), _counts)),
    model=_models,
    provider=_providers,
    at=_times,
    tier=st.one_of(st.none(), st.text(max_size=8), st.sampled_from(["batch", "flex", "priority"])),
    provider_cost=_provider_costs,
)
def test_price_never_raises(usage, model, provider, at, tier, provider_cost):
    cost = _PRICER.price(usage, model, provider, at=at, service_tier=tier, provider_cost=provider_cost)
    assert isinstance(cost, Cost)
    assert cost.status in {"priced", "unpriced", "estimated", "partial", "implausible"}
    assert cost.amount is None or (isinstance(cost.amount, Decimal) and cost.amount >= 0)
    assert isinstance(cost_attributes(cost), dict)


@settings(max_examples=200, deadline=None)
@given(values=st.lists(_anything, min_size=7, max_size=7), model=_models)
def test_garbage_inside_usage_never_raises(values, model):
    usage = Usage(*values)  # bypasses Usage.of's repairs on purpose
    cost = _PRICER.price(usage, model, "openai")
    assert isinstance(cost, Cost)
