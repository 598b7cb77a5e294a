"""Many calls at once against one limit: never more than one worst case over, nothing left reserved.

Every admitted call sends exactly one request (no retries), so the server's request count is the
number of admitted calls. Replies mix successes with server errors (settled at zero), and the async
test abandons every stream after its first chunk (settled with what it used).
"""

from __future__ import annotations

import asyncio
import threading
from decimal import Decimal

import openai
from oai_helpers import MESSAGES, chat_completion, chat_stream

from otel_llm_cost import BudgetExceeded, BudgetGuard
from otel_llm_cost import attributes as attr
from replay import json_response, sse_response

CALLS = 50
ROUNDS = 3  # each thread calls again after a success, until refused
LIMIT = Decimal("0.003")  # about five worst cases of the request below
USAGE = {"prompt_tokens": 100, "completion_tokens": 500, "total_tokens": 600}  # $0.000315
ERROR = {"error": {"message": "overloaded", "type": "server_error"}}


def _replies(success, count=CALLS):
    # Errors at every third position: the first replies served include some of each.
    return [json_response(ERROR, status=500) if i % 3 == 1 else success() for i in range(count)]


def _check(guard, srv, exporter, outcomes):
    refused = [o for o in outcomes if isinstance(o, BudgetExceeded)]
    sent = [o for o in outcomes if not isinstance(o, BudgetExceeded)]
    assert refused and any(isinstance(o, openai.InternalServerError) for o in sent)
    assert len(srv.requests) == len(sent)  # a refused call never reached the server
    worst = refused[0].requested
    spent, reserved = guard.usage(guard.limits[0])
    assert reserved == 0  # every reservation settled or released, errors and abandoned streams included
    assert spent <= LIMIT + worst
    costs = [
        Decimal(str(s.attributes.get(attr.GEN_AI_USAGE_COST_AMOUNT, 0)))
        for s in exporter.get_finished_spans()
        if attr.GEN_AI_OPERATION_NAME in (s.attributes or {})
    ]
    assert len(costs) == len(sent)
    assert abs(spent - sum(costs)) <= Decimal("1e-9") * len(costs)  # settled at the real cost
    return sent


def test_fifty_threads_against_one_limit(guarded, replay_server, exporter):
    guard = BudgetGuard([f"global:usd={LIMIT}/1h"])
    guarded(guard)
    outcomes: list[object] = []
    lock = threading.Lock()
    start = threading.Barrier(CALLS)

    def call(client):
        start.wait()
        for _ in range(ROUNDS):
            try:
                outcome = client.chat.completions.create(
                    model="gpt-4o-mini", messages=MESSAGES, max_tokens=1000
                )
            except (BudgetExceeded, openai.APIError) as error:
                outcome = error
            with lock:
                outcomes.append(outcome)
            if isinstance(outcome, BudgetExceeded):
                return

    with replay_server(_replies(lambda: json_response(chat_completion(usage=USAGE)), CALLS * ROUNDS)) as srv:
        client = openai.OpenAI(base_url=srv.base_url, api_key="k", max_retries=0)
        threads = [threading.Thread(target=call, args=(client,)) for _ in range(CALLS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        client.close()
        sent = _check(guard, srv, exporter, outcomes)
    assert any(not isinstance(o, Exception) for o in sent)


async def test_fifty_tasks_with_errors_and_abandoned_streams(guarded, replay_server, exporter):
    guard = BudgetGuard([f"global:usd={LIMIT}/1h"])
    guarded(guard)
    abandoned = []

    async def call(client):
        try:
            stream = await client.chat.completions.create(
                model="gpt-4o-mini", messages=MESSAGES, max_tokens=1000, stream=True
            )
        except (BudgetExceeded, openai.APIError) as error:
            return error
        async for _chunk in stream:
            break  # the caller loses interest after the first chunk
        await stream.close()
        abandoned.append(stream)
        return stream

    with replay_server(_replies(lambda: sse_response(chat_stream(("a" * 400,) * 5)))) as srv:
        client = openai.AsyncOpenAI(base_url=srv.base_url, api_key="k", max_retries=0)
        outcomes = await asyncio.gather(*(call(client) for _ in range(CALLS)))
        await client.close()
        _check(guard, srv, exporter, outcomes)
    assert abandoned
    outcomes_seen = {s.attributes.get(attr.LLM_COST_STREAM_OUTCOME) for s in exporter.get_finished_spans()}
    assert "abandoned" in outcomes_seen
