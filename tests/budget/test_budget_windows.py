"""Sliding windows with an injected clock, settlement rules, and the budget gauges."""

from __future__ import annotations

from decimal import Decimal

import pytest

from otel_llm_cost import BudgetExceeded, BudgetGuard
from otel_llm_cost import attributes as attr
from otel_llm_cost.budget.windows import Window
from otel_llm_cost.usage import Usage


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def _admit(guard, model="gpt-4o-mini", **request):
    return guard.admit(model=model, provider="openai", operation="chat", request=request)


def test_window_layout():
    assert Window.of(600) == Window(600, 10, 60)
    assert Window.of(86400) == Window(86400, 1440, 60)
    assert Window.of(30) == Window(30, 1, 30)


def test_calls_expire_when_the_window_slides():
    clock = Clock()
    guard = BudgetGuard("global:calls=2/10m", clock=clock)
    for _ in range(2):
        _admit(guard).settle(Usage.of(1, 1), None, None)
    with pytest.raises(BudgetExceeded):
        _admit(guard)
    clock.now += 590  # still inside the window (10-second buckets)
    with pytest.raises(BudgetExceeded):
        _admit(guard)
    clock.now += 20
    assert _admit(guard) is not None  # the two calls have left the window
    assert guard.usage(guard.limits[0]) == (0, 1)


def test_settlement_rules():
    guard = BudgetGuard("global:tokens=1e9/1h; global:calls=100/1h", clock=Clock())
    tokens, calls = guard.limits
    worst = _admit(guard, messages=[{"role": "user", "content": "x" * 400}], max_tokens=50)
    assert guard.usage(tokens) == (0, 100 + 1 + 4 + 50)  # 400 chars, "user", message framing, output cap
    worst.settle(Usage.of(90, 10), None, None)
    assert guard.usage(tokens) == (100, 0)
    refused = RuntimeError("refused by the provider")
    refused.status_code = 429  # an SDK's status error: the server answered, nothing was generated
    _admit(guard, max_tokens=50).settle(None, None, refused)
    assert guard.usage(tokens) == (100, 0)  # refused by the server without usage: nothing spent
    _admit(guard, max_tokens=50).abandon()
    assert guard.usage(tokens) == (150, 0)  # usage never known: the worst case stays spent
    _admit(guard, max_tokens=50).settle(None, None, TimeoutError("client gave up"))
    assert guard.usage(tokens) == (200, 0)  # a client timeout: the server may still be billing (#16)
    assert guard.usage(calls) == (4, 0)
    ticket = _admit(guard, max_tokens=50)
    ticket.settle(Usage.of(1, 1), None, None)
    ticket.settle(Usage.of(1000, 1000), None, None)  # settled once only
    assert guard.usage(tokens) == (202, 0)


def test_worst_case_uses_the_output_cap_and_default():
    guard = BudgetGuard("global:tokens=1e9/1h", max_output_tokens=lambda model: 300, clock=Clock())
    _admit(guard, input="abcd" * 10)
    _admit(guard, input=[1, 2, 3], n=1)  # token ids count one each
    image = {"type": "image_url", "image_url": {"url": "data:x"}}
    _admit(guard, messages=[{"role": "user", "content": [image]}], max_completion_tokens=7, n=2)
    embeddings = guard.admit(model="text-embedding-3-small", provider="openai", operation="embeddings",
                             request={"input": "abcd" * 10})  # fmt: skip
    assert embeddings is not None
    reserved = guard.usage(guard.limits[0])[1]
    # text ~4 chars a token, default cap; token ids; an inline image, framing of 3 objects,
    # "user", "image_url", output 7 x 2 choices; embeddings have no output
    assert reserved == (10 + 300) + (3 + 300) + (1600 + 3 * 4 + 1 + 3 + 14) + 10


def test_gauges(meter, metric_points):
    guard = BudgetGuard("tenant:usd=1/1h; tenant:usd=5/1d:warn", meter=meter, clock=Clock())
    from otel_llm_cost import budget_scope

    with budget_scope(tenant="acme"):
        ticket = _admit(guard, max_tokens=1000)
        ticket.settle(Usage.of(1_000_000, 0), None, None)  # $0.15 at gpt-4o-mini's input price
        running = _admit(guard, max_tokens=1000)
    spent = {
        p.attributes[attr.LLM_COST_BUDGET_WINDOW]: p.value for p in metric_points("llm_cost.budget.spent")
    }
    assert spent == {"1h": pytest.approx(0.15), "1d": pytest.approx(0.15)}
    reserved = metric_points("llm_cost.budget.reserved")
    assert {p.attributes[attr.LLM_COST_BUDGET_KEY] for p in reserved} == {"tenant=acme"}
    assert all(p.value > 0 for p in reserved)
    remaining = {
        p.attributes[attr.LLM_COST_BUDGET_LIMIT]: p.value for p in metric_points("llm_cost.budget.remaining")
    }
    assert remaining[1.0] == pytest.approx(1 - 0.15 - reserved[0].value)
    assert remaining[5.0] == pytest.approx(5 - 0.15 - reserved[0].value)
    running.settle(None, None, RuntimeError())
    assert [p.value for p in metric_points("llm_cost.budget.reserved")] == [0, 0]
    assert Decimal(str(spent["1h"])) == Decimal("0.15")
