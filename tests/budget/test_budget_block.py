"""Block, warn and downgrade through the real SDKs: a refused call never reaches the server."""

from __future__ import annotations

from decimal import Decimal

import anthropic
import openai
import pytest
from oai_helpers import MESSAGES, chat_completion

from otel_llm_cost import BudgetExceeded, BudgetGuard, budget_scope
from otel_llm_cost import attributes as attr
from otel_llm_cost.budget import Limit
from otel_llm_cost.pricing import Pricer, load_overrides
from replay import json_response

# gpt-4o-mini: $0.15 / $0.60 per million tokens. Each scripted response reports 1000 + 1000 tokens,
# $0.00075; the worst case of a request with max_tokens=1000 is about $0.0006.
USAGE = {"prompt_tokens": 1000, "completion_tokens": 1000, "total_tokens": 2000}


def _openai(srv, *, is_async=False):
    cls = openai.AsyncOpenAI if is_async else openai.OpenAI
    return cls(base_url=srv.base_url, api_key="k", max_retries=0)


def _anthropic(srv, *, is_async=False):
    cls = anthropic.AsyncAnthropic if is_async else anthropic.Anthropic
    return cls(base_url=srv.base_url, api_key="k", max_retries=0)


def _chat(client, model="gpt-4o-mini"):
    return client.chat.completions.create(model=model, messages=MESSAGES, max_tokens=1000)


def _llm_spans(exporter):
    return [s for s in exporter.get_finished_spans() if attr.GEN_AI_OPERATION_NAME in (s.attributes or {})]


def test_openai_spend_limit_blocks_before_sending(guarded, replay_server, exporter, tracer_provider):
    guard = BudgetGuard("global:usd=0.002/10m")
    guarded(guard)
    replies = [json_response(chat_completion(usage=USAGE)) for _ in range(3)]
    tracer = tracer_provider.get_tracer("app")
    with replay_server(replies) as srv, tracer.start_as_current_span("agent"):
        client = _openai(srv)
        _chat(client)
        _chat(client)
        with pytest.raises(BudgetExceeded) as refused:
            _chat(client)
        assert len(srv.requests) == 2  # the third call never left the process
    error = refused.value
    assert (error.key, error.limit, error.window, error.unit) == ("global", Decimal("0.002"), 600, "usd")
    assert error.spend == Decimal("0.0015")  # two calls of $0.00075, settled
    assert Decimal("0.0006") < error.requested < Decimal("0.0007")
    assert "global" in str(error) and "$0.002" in str(error) and "10m" in str(error)
    assert len(_llm_spans(exporter)) == 2  # the refused call has no span of its own...
    agent = next(s for s in exporter.get_finished_spans() if s.name == "agent")
    (event,) = [
        e for e in agent.events if e.name == attr.EVENT_BUDGET_BLOCKED
    ]  # ...its caller's span says why
    assert event.attributes[attr.LLM_COST_BUDGET_KEY] == "global"
    assert event.attributes[attr.LLM_COST_BUDGET_LIMIT] == 0.002
    spent, reserved = guard.usage(guard.limits[0])
    assert (spent, reserved) == (Decimal("0.0015"), 0)


async def test_openai_async_per_tenant_call_limit(guarded, replay_server):
    guarded(BudgetGuard([Limit("tenant", "calls", 2, "1h")]))
    replies = [json_response(chat_completion()) for _ in range(3)]
    with replay_server(replies) as srv:
        client = _openai(srv, is_async=True)
        with budget_scope(tenant="acme"):
            await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
            await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
            with pytest.raises(BudgetExceeded) as refused:
                await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        with budget_scope(tenant="globex"):  # another tenant has its own budget
            await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        await client.close()
        assert len(srv.requests) == 3
    assert refused.value.key == "tenant=acme" and refused.value.spend == 2


@pytest.mark.parametrize("surface", ["create", "stream_helper"])
def test_anthropic_blocks_before_sending(guarded, replay_server, anthropic_message, surface):
    guarded(BudgetGuard("model=claude-3-5-haiku*:tokens=2100/1h"))
    replies = [json_response(anthropic_message(1000, 1000)) for _ in range(2)]
    request = {"model": "claude-3-5-haiku-20241022", "max_tokens": 200, "messages": MESSAGES}
    with replay_server(replies, prefix="") as srv:
        client = _anthropic(srv)
        client.messages.create(**request)  # worst case ~215 tokens; settles at 2000
        with pytest.raises(BudgetExceeded) as refused:
            if surface == "create":
                client.messages.create(**request)
            else:
                with client.messages.stream(**request) as stream:
                    stream.get_final_message()
        assert len(srv.requests) == 1
    assert refused.value.key == "model=claude-3-5-haiku-20241022"
    assert (refused.value.unit, refused.value.spend) == ("tokens", 2000)


async def test_anthropic_async_blocks_before_sending(guarded, replay_server, anthropic_message):
    guarded(BudgetGuard("global:calls=1/1m"))
    with replay_server([json_response(anthropic_message())], prefix="") as srv:
        client = _anthropic(srv, is_async=True)
        request = {"model": "claude-3-5-haiku-20241022", "max_tokens": 50, "messages": MESSAGES}
        await client.messages.create(**request)
        with pytest.raises(BudgetExceeded):
            await client.messages.create(**request)
        await client.close()
        assert len(srv.requests) == 1


def test_warn_limit_admits_with_event_metric_and_log(
    guarded, replay_server, exporter, meter, metric_points, caplog
):
    guarded(BudgetGuard("global:calls=1/1h:warn", meter=meter))
    with replay_server([json_response(chat_completion()) for _ in range(2)]) as srv:
        client = _openai(srv)
        _chat(client)
        with caplog.at_level("WARNING", logger="otel_llm_cost"):
            _chat(client)
        assert len(srv.requests) == 2
    first, second = _llm_spans(exporter)
    assert not [e for e in first.events if e.name == attr.EVENT_BUDGET_WARNING]
    (event,) = [e for e in second.events if e.name == attr.EVENT_BUDGET_WARNING]
    assert event.attributes[attr.LLM_COST_BUDGET_ACTION] == "warn"
    assert event.attributes[attr.LLM_COST_BUDGET_SPENT] == 1
    assert event.attributes[attr.LLM_COST_BUDGET_UNIT] == "calls"
    assert [p.value for p in metric_points("llm_cost.budget.warnings")] == [1]
    assert "admitted past a warn limit" in caplog.text


def test_callback_downgrades_instead_of_failing(guarded, replay_server, exporter):
    seen = []

    def downgrade(breach):
        seen.append(breach)
        return "gpt-4o-mini" if breach.model == "gpt-4o" else None

    guarded(BudgetGuard("model=gpt-4o:calls=1/1h", on_exceeded=downgrade))
    with replay_server([json_response(chat_completion()) for _ in range(2)]) as srv:
        client = _openai(srv)
        _chat(client, "gpt-4o")
        _chat(client, "gpt-4o")  # over the gpt-4o budget: sent to gpt-4o-mini instead
        assert [r.json()["model"] for r in srv.requests] == ["gpt-4o", "gpt-4o-mini"]
    assert [(b.key, b.action) for b in seen] == [("model=gpt-4o", "block")]
    second = _llm_spans(exporter)[1]
    assert second.attributes[attr.GEN_AI_REQUEST_MODEL] == "gpt-4o-mini"
    (event,) = [e for e in second.events if e.name == attr.EVENT_BUDGET_WARNING]
    assert event.attributes[attr.LLM_COST_BUDGET_REPLACEMENT_MODEL] == "gpt-4o-mini"
    assert event.attributes[attr.GEN_AI_REQUEST_MODEL] == "gpt-4o"


def test_free_and_unpriced_models_never_block_on_spend(guarded, replay_server, tmp_path):
    prices = tmp_path / "prices.toml"
    prices.write_text('[models."llama3.1:8b"]\nprovider = "openai"\ninput = 0\noutput = 0\n')
    guard = BudgetGuard("global:usd=0/1h; global:calls=3/1h", pricer=Pricer(load_overrides(prices)))
    guarded(guard)
    with replay_server([json_response(chat_completion()) for _ in range(3)]) as srv:
        client = _openai(srv)
        with pytest.raises(BudgetExceeded):
            _chat(client, "gpt-4o-mini")  # a priced model: $0 budget
        _chat(client, "llama3.1:8b")  # free
        _chat(client, "my-private-model")  # unpriced: counted by calls only
        _chat(client, "llama3.1:8b")
        with pytest.raises(BudgetExceeded) as refused:
            _chat(client, "llama3.1:8b")  # the calls limit still counts free calls
        assert len(srv.requests) == 3
    assert refused.value.unit == "calls"


def test_no_budget_applies_without_a_scope_value(guarded, replay_server):
    guarded(BudgetGuard("user:calls=0/1h"))
    with replay_server([json_response(chat_completion())]) as srv:
        _chat(_openai(srv))  # no user in scope or on the span: the per-user limit does not apply
        with budget_scope(user="u1"), pytest.raises(BudgetExceeded):
            _chat(_openai(srv))
        assert len(srv.requests) == 1


def test_agent_key_from_the_current_step(guarded, replay_server, tracer_provider):
    from otel_llm_cost.agent import agent_step

    guarded(BudgetGuard("agent=researcher:calls=1/1h"))
    with replay_server([json_response(chat_completion()) for _ in range(2)]) as srv:
        client = _openai(srv)
        with agent_step("plan", agent="researcher", tracer_provider=tracer_provider):
            _chat(client)
            with pytest.raises(BudgetExceeded) as refused:
                _chat(client)
        with agent_step("plan", agent="writer", tracer_provider=tracer_provider):
            _chat(client)
        assert len(srv.requests) == 2
    assert refused.value.key == "agent=researcher"
