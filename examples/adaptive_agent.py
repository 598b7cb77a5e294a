"""An agent that watches its own spend and switches to a cheaper model, with ``otel_llm_cost.stats()``.

Each turn is an ``agent_step``; before calling the model the agent reads what its run (the trace) has
cost so far, from memory (``step.stats()``: no exporter, no query), and once that passes a threshold it
switches from ``gpt-4o`` to ``gpt-4o-mini``. The last turn calls the server by hand (``urllib``, no SDK)
inside ``llm_call``, which prices and counts it like the SDK calls. It ends with the live statistics:
this run, the process, and p50 / p90 latency per model.

Run it (offline: a local demo server answers in the OpenAI format)::

    python examples/adaptive_agent.py
    ADAPTIVE_BUDGET_USD=0.002 python examples/adaptive_agent.py     # a larger threshold

Under ``opentelemetry-instrument`` the spans go wherever the environment says; the statistics are the
same (the ``llm_cost_processor`` entry point starts them).
"""

from __future__ import annotations

import json
import os
import urllib.request
from decimal import Decimal
from typing import Any

import openai
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

import otel_llm_cost
from otel_llm_cost import agent_step, llm_call
from otel_llm_cost.demo.server import DemoServer
from otel_llm_cost.live_stats import Totals

EXPENSIVE, CHEAP = "gpt-4o", "gpt-4o-mini"
THRESHOLD = Decimal(os.environ.get("ADAPTIVE_BUDGET_USD", "0.001"))
QUESTIONS = (
    "Plan a three-day trip to Paris.",
    "Which museums should I book in advance?",
    "What should I pack for rain?",
    "Suggest two day trips from Paris.",
    "How do I get from the airport to the centre?",
)


def tracer_provider() -> TracerProvider:
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):  # opentelemetry-instrument made one
        return current
    provider = TracerProvider()
    otel_llm_cost.configure(tracer_provider=provider)
    return provider


def pick_model(run: Any) -> str:
    """The agent's policy: the strong model until the run has spent ``THRESHOLD``."""
    return EXPENSIVE if run.stats().cost < THRESHOLD else CHEAP


def ask_by_hand(base_url: str, model: str, messages: list[dict[str, Any]]) -> str:
    """One chat call without the SDK: a plain HTTP POST, recorded with ``llm_call``."""
    url = base_url + "/chat/completions"
    body = {"model": model, "messages": messages, "max_tokens": 200}
    with llm_call(url=url, request=body) as call:
        request = urllib.request.Request(
            url, json.dumps(call.request).encode(), {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            reply = json.load(response)
        call.set_usage(reply)  # the whole body: its usage block is found and normalised
        call.set_response_model(reply.get("model"))
        call.set_response_id(reply.get("id"))
        call.set_finish_reasons(*(choice.get("finish_reason") for choice in reply.get("choices", [])))
    return str(reply["choices"][0]["message"]["content"])


def run(server: DemoServer, provider: TracerProvider) -> None:
    client = openai.OpenAI(base_url=server.base_url, api_key="demo")
    messages: list[dict[str, Any]] = [{"role": "system", "content": "You are a concise travel helper."}]
    with agent_step("trip", agent="adaptive-helper", tracer_provider=provider) as trip:
        switched = False
        for turn, question in enumerate(QUESTIONS, 1):
            with agent_step("turn", tracer_provider=provider):
                model = pick_model(trip)
                if model == CHEAP and not switched:
                    switched = True
                    print(
                        f"switched to {CHEAP} at turn {turn}: run spend ${trip.stats().cost} >= ${THRESHOLD}"
                    )
                messages.append({"role": "user", "content": question})
                if turn < len(QUESTIONS):
                    reply = client.chat.completions.create(model=model, messages=messages, max_tokens=200)
                    answer = reply.choices[0].message.content or ""
                else:
                    answer = ask_by_hand(server.base_url, model, messages)
                messages.append({"role": "assistant", "content": answer})
                print(f"turn {turn}: {model:<12} run spend ${trip.stats().cost}")
        report(trip.stats())


def report(run_totals: Totals) -> None:
    snapshot = otel_llm_cost.stats(window=60)
    print(
        f"run: {run_totals.calls} calls, {run_totals.total_tokens} tokens, ${run_totals.cost}; "
        f"process: {snapshot.process.calls} calls, ${snapshot.process.cost}; "
        f"last minute: ${snapshot.recent.cost}; cache hit ratio {snapshot.process.cache_hit_ratio:.0%}"
    )
    for model, latency in sorted(snapshot.models.items()):
        print(
            f"  {model:<12} {latency.calls} calls, duration p50 {latency.duration_p50:.3f} s "
            f"p90 {latency.duration_p90:.3f} s"
        )


def main() -> None:
    provider = tracer_provider()
    with DemoServer(first_token_delay=0.0, chunk_delay=0.0) as server:
        run(server, provider)
    provider.shutdown()


if __name__ == "__main__":
    main()
