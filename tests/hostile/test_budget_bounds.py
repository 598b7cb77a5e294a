"""Budget promises under hostile requests and stores (#16).

Worst cases with real bounds (hidden server-side history, no output cap), calls that time out keep their
reservation, a store answering garbage is a store error (``closed`` refuses), and a store trickling its
answer cannot hold a guarded call: real sockets on 127.0.0.1 and the real SDK over loopback.
"""

from __future__ import annotations

import time
from decimal import Decimal

import openai
import pytest
from hostile_support import AnsweringServer
from hypothesis import given, settings
from hypothesis import strategies as st
from reliability_endpoints import BlackHole

from otel_llm_cost.budget import BudgetGuard, RedisStore, parse_budgets
from otel_llm_cost.errors import BudgetConfigError, BudgetExceeded, BudgetUnavailable
from otel_llm_cost.instrumentation.openai import OpenAIInstrumentor
from otel_llm_cost.pricing import get_pricer
from otel_llm_cost.usage import Usage
from replay import json_response

MESSAGES = [{"role": "user", "content": "hi"}]
GPT_4O_WINDOW = 128_000  # genai-prices' context window for gpt-4o


class Clock:
    def __call__(self) -> float:
        return 1_700_000_000.0


def _reserved(guard: BudgetGuard, **request: object) -> Decimal:
    ticket = guard.admit(
        model="gpt-4o", provider="openai", operation="chat", request={"model": "gpt-4o", **request}
    )
    assert ticket is not None
    reserved = guard.usage(guard.limits[0])[1]
    ticket.settle(Usage.of(0, 0), None, None)
    return reserved


def _admit(guard: BudgetGuard, **request: object):
    return guard.admit(model="gpt-4o", provider="openai", operation="chat", request=request)


def _price(input_tokens: int, output_tokens: int) -> Decimal:
    amount = get_pricer().price(Usage.of(input_tokens, output_tokens), "gpt-4o", "openai").amount
    assert amount is not None
    return amount


def test_hidden_history_is_bounded_by_the_context_window() -> None:
    guard = BudgetGuard("global:usd=100000/1h", clock=Clock())
    visible = _reserved(guard, input="hi", max_output_tokens=10)
    hidden = _reserved(guard, input="hi", max_output_tokens=10, previous_response_id="resp_123")
    assert visible < _price(100, 10)
    assert hidden >= _price(GPT_4O_WINDOW, 10) - Decimal("0.000001")
    conversation = _reserved(guard, input="hi", max_output_tokens=10, conversation="conv_1")
    assert conversation == hidden


def test_no_output_cap_assumes_what_the_window_leaves() -> None:
    guard = BudgetGuard("global:usd=100000/1h", clock=Clock())
    reserved = _reserved(guard, messages=MESSAGES)
    assert reserved >= _price(0, GPT_4O_WINDOW - 100)  # far above the old 4,096-token assumption
    assert reserved > 20 * _price(0, 4096)


def test_a_configured_output_cap_still_wins() -> None:
    guard = BudgetGuard("global:usd=100000/1h", clock=Clock(), max_output_tokens=1000)
    assert _reserved(guard, messages=MESSAGES) < _price(100, 1001)


_limit_text = st.text(
    alphabet=st.sampled_from(list("globaltenantusdcallstokens:=/;#*0123456789.e-smhdwxblockwarn \n"))
)


@given(st.one_of(st.text(max_size=60), _limit_text))
def test_a_budget_spec_is_parsed_or_refused_clearly(text) -> None:
    try:
        limits = parse_budgets(text)
    except BudgetConfigError as error:
        assert str(error).startswith("OTEL_LLM_COST_BUDGETS")
        return
    for limit in limits:
        assert limit.limit.is_finite() and limit.window_seconds > 0


_requests = st.dictionaries(
    st.sampled_from(
        ["messages", "input", "max_tokens", "max_output_tokens", "n", "previous_response_id", "tools"]
    ),
    st.one_of(
        st.none(), st.integers(-5, 10**7), st.text(max_size=50), st.lists(st.text(max_size=20), max_size=3)
    ),
)


@settings(max_examples=200)
@given(_requests, st.sampled_from(["gpt-4o", "gpt-4o-mini", "no-such-model", ""]))
def test_any_request_gets_a_finite_worst_case_or_a_refusal(request, model) -> None:
    guard = BudgetGuard("global:usd=5/1h; global:tokens=1e7/1h", clock=Clock())
    try:
        ticket = guard.admit(model=model or None, provider="openai", operation="chat", request=request)
    except BudgetExceeded as refused:
        assert refused.requested.is_finite() and refused.requested > 0
        return
    _, reserved = guard.usage(guard.limits[1])
    assert reserved.is_finite() and reserved >= 0
    if ticket is not None:
        ticket.abandon()


def test_a_client_timeout_keeps_the_reservation(tracer_provider) -> None:
    guard = BudgetGuard("global:tokens=1e9/1h", clock=Clock())
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, budget_guard=guard)
    try:
        with BlackHole() as hole:
            client = openai.OpenAI(
                base_url=f"http://127.0.0.1:{hole.port}/v1", api_key="k", max_retries=0, timeout=0.5
            )
            with pytest.raises(openai.APITimeoutError):
                client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=50)
    finally:
        instrumentor.uninstrument()
    spent, reserved = guard.usage(guard.limits[0])
    assert reserved == 0 and spent >= 50  # the server may have worked on it: never settled at zero


def test_a_server_refusal_settles_at_zero(tracer_provider, replay_server) -> None:
    guard = BudgetGuard("global:tokens=1e9/1h", clock=Clock())
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, budget_guard=guard)
    try:
        with replay_server([json_response({"error": {"message": "slow down"}}, 429)]) as server:
            client = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0)
            with pytest.raises(openai.RateLimitError):
                client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=50)
    finally:
        instrumentor.uninstrument()
    assert guard.usage(guard.limits[0]) == (0, 0)


def _closed_guard(url: str, policy: str = "closed") -> BudgetGuard:
    store = RedisStore(url, retry_after=0.0)
    return BudgetGuard("global:calls=100/1h", store=store, on_store_error=policy, clock=Clock())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "answer",
    [
        b"+OK\r\n",  # valid RESP, not what the script returns
        b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n",  # another server on the port
        b":12\r\n",
        b"*2\r\n:1\r\n:1\r\n",  # a list of the wrong length and meaning
        b"\x00\xff garbage \r\n",
    ],
)
def test_closed_refuses_when_the_store_answers_garbage(answer) -> None:
    with AnsweringServer(lambda data: answer) as server:
        guard = _closed_guard(server.url)
        for _ in range(3):
            with pytest.raises(BudgetUnavailable):
                _admit(guard, max_tokens=1)
        assert (
            _closed_guard(server.url, "open").admit(
                model="gpt-4o", provider="openai", operation="chat", request={"max_tokens": 1}
            )
            is None
        )  # fail open: admitted unchecked, never an exception


@settings(max_examples=60)
@given(st.binary(min_size=1, max_size=64))
def test_no_store_answer_escapes_the_failure_policy(answer) -> None:
    with AnsweringServer(lambda data: answer) as server:
        guard = _closed_guard(server.url)
        try:
            ticket = _admit(guard, max_tokens=1)
        except BudgetUnavailable:
            return
        assert ticket is not None  # admitted only on a well-formed reservation
        ticket.settle(Usage.of(1, 1), None, None)


def test_a_trickling_store_cannot_hold_a_guarded_call() -> None:
    """A server answering one byte every 0.2 s never trips a 0.25 s read timeout; the reply below would
    take 30 s. The total deadline (0.5 s) must end the operation long before."""
    padded = b"*4\r\n:1\r\n:0\r\n:" + b"0" * 120 + b"0\r\n:1\r\n"
    with AnsweringServer(lambda data: padded, rate=1, pause=0.2) as server:
        guard = _closed_guard(server.url)
        began = time.monotonic()
        with pytest.raises(BudgetUnavailable):
            _admit(guard, max_tokens=1)
        assert time.monotonic() - began < 10  # generous: without the deadline this takes 30 s or more
