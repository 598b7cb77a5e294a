"""Under concurrency every span gets exactly its own call's tokens.

1,000 asyncio streams at once (the server holds each one open after its first content chunk until all
1,000 have arrived, so they really are concurrent), and 32 threads, for OpenAI chat streams and Anthropic
message streams. Each call's ``max_tokens`` is its key; the loopback server derives the reply's usage from
it (reliability_loopback.py), so a span carrying another call's tokens, cost or response id is caught.
"""

from __future__ import annotations

import asyncio
import resource
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anthropic
import openai
import pytest
from reliability_checks import Recording
from reliability_loopback import (
    ANTHROPIC_MODEL,
    OPENAI_MODEL,
    UsageEchoServer,
    expected_anthropic,
    expected_openai,
)

from otel_llm_cost.instrumentation._invocation import usage_attributes
from otel_llm_cost.pricing import get_pricer
from otel_llm_cost.usage import Usage

STREAMS = 1000
THREADS = 32
CALLS_PER_THREAD = 8
_GATHER_TIMEOUT_S = 180.0
MESSAGES = [{"role": "user", "content": "count"}]
# Clients get timeout=120 everywhere: on a loaded 2-core runner the SDKs' 5 s connect timeout trips.


@pytest.fixture(scope="module", autouse=True)
def enough_file_descriptors() -> None:
    """Both ends of 1,000 loopback connections live in this process."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = 4 * STREAMS + 256
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < needed:
        pytest.fail(f"need {needed} file descriptors, the hard limit is {hard}")


@pytest.fixture
def spans(instrumented: Recording) -> Iterator[Recording]:
    instrumented.clear()
    yield instrumented
    instrumented.clear()


def check_spans(
    recording: Recording, keys: list[int], expected: Callable[[int], Usage], provider: str
) -> None:
    """One LLM span per key, each with its own key's tokens, cost and response id."""
    spans = recording.check()
    assert len(spans) == len(keys)
    by_key = {span.attributes["gen_ai.request.max_tokens"]: span for span in spans}
    assert sorted(by_key) == sorted(keys), "some call's span is missing or doubled"
    pricer = get_pricer()
    for key, span in by_key.items():
        attributes = dict(span.attributes or {})
        usage = expected(key)
        for name, value in usage_attributes(usage).items():
            assert attributes.get(name) == value, (key, name, attributes.get(name), value)
        assert str(key) in str(attributes["gen_ai.response.id"])
        assert attributes["llm_cost.stream.outcome"] == "completed"
        cost = pricer.price(usage, attributes["gen_ai.response.model"], provider)
        assert cost.amount is not None and cost.amount > 0, "the loopback models must be priced"
        assert attributes["gen_ai.usage.cost.amount"] == float(cost.amount), key


async def _openai_stream(client: openai.AsyncOpenAI, key: int) -> str:
    stream = await client.chat.completions.create(
        model=OPENAI_MODEL, messages=MESSAGES, max_tokens=key, stream=True
    )
    return "".join([chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices])


async def _anthropic_stream(client: anthropic.AsyncAnthropic, key: int) -> str:
    stream = await client.messages.create(
        model=ANTHROPIC_MODEL, messages=MESSAGES, max_tokens=key, stream=True
    )
    return "".join([e.delta.text async for e in stream if e.type == "content_block_delta"])


async def _all_at_once(call: Callable[[int], Any], keys: list[int]) -> list[str]:
    return await asyncio.wait_for(asyncio.gather(*(call(k) for k in keys)), _GATHER_TIMEOUT_S)


async def test_openai_async_streams(spans: Recording) -> None:
    keys = list(range(1, STREAMS + 1))
    with UsageEchoServer(hold_until=STREAMS) as server:
        client = openai.AsyncOpenAI(base_url=server.openai_base_url, api_key="k", max_retries=0, timeout=120)
        texts = await _all_at_once(lambda k: _openai_stream(client, k), keys)
        await client.close()
    assert not server.errors, server.errors[:3]
    assert server.peak_open == STREAMS and not server.hold_timed_out, server.peak_open
    assert texts == [f"tok-{k}" for k in keys]
    check_spans(spans, keys, expected_openai, "openai")


async def test_anthropic_async_streams(spans: Recording) -> None:
    keys = list(range(1, STREAMS + 1))
    with UsageEchoServer(hold_until=STREAMS) as server:
        client = anthropic.AsyncAnthropic(base_url=server.url, api_key="k", max_retries=0, timeout=120)
        texts = await _all_at_once(lambda k: _anthropic_stream(client, k), keys)
        await client.close()
    assert not server.errors, server.errors[:3]
    assert server.peak_open == STREAMS and not server.hold_timed_out, server.peak_open
    assert texts == [f"tok-{k}" for k in keys]
    check_spans(spans, keys, expected_anthropic, "anthropic")


def _in_threads(call: Callable[[int], str], keys: list[int]) -> list[str]:
    """Runs ``call`` over ``keys`` on THREADS threads that start together."""
    start = threading.Barrier(THREADS, timeout=60)
    batches = [keys[i::THREADS] for i in range(THREADS)]

    def worker(batch: list[int]) -> list[str]:
        start.wait()
        return [call(key) for key in batch]

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(worker, batches))
    by_key = {
        key: text
        for batch, texts in zip(batches, results, strict=True)
        for key, text in zip(batch, texts, strict=True)
    }
    return [by_key[k] for k in keys]


def test_openai_threads(spans: Recording) -> None:
    keys = list(range(1, THREADS * CALLS_PER_THREAD + 1))
    with UsageEchoServer(hold_until=THREADS) as server:
        client = openai.OpenAI(base_url=server.openai_base_url, api_key="k", max_retries=0, timeout=120)

        def call(key: int) -> str:
            stream = client.chat.completions.create(
                model=OPENAI_MODEL, messages=MESSAGES, max_tokens=key, stream=True
            )
            return "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)

        texts = _in_threads(call, keys)
        client.close()
    assert not server.errors and not server.hold_timed_out
    assert server.peak_open >= THREADS, server.peak_open
    assert texts == [f"tok-{k}" for k in keys]
    check_spans(spans, keys, expected_openai, "openai")


def test_anthropic_threads(spans: Recording) -> None:
    keys = list(range(1, THREADS * CALLS_PER_THREAD + 1))
    with UsageEchoServer(hold_until=THREADS) as server:
        client = anthropic.Anthropic(base_url=server.url, api_key="k", max_retries=0, timeout=120)

        def call(key: int) -> str:
            with client.messages.stream(model=ANTHROPIC_MODEL, messages=MESSAGES, max_tokens=key) as stream:
                return "".join(stream.text_stream)

        texts = _in_threads(call, keys)
        client.close()
    assert not server.errors and not server.hold_timed_out
    assert server.peak_open >= THREADS, server.peak_open
    assert texts == [f"tok-{k}" for k in keys]
    check_spans(spans, keys, expected_anthropic, "anthropic")
