"""Budgets shared through a real Redis server (Debian's ``redis-server``), and what happens when it is down.

The fixture starts ``redis-server`` on a free loopback port with a temporary directory and no
persistence. Without the binary (or the ``redis`` client) the tests fail when ``CI=true``, else skip.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from oai_helpers import MESSAGES, chat_completion

from otel_llm_cost import BudgetExceeded, BudgetGuard
from otel_llm_cost.budget import Limit, RedisStore
from otel_llm_cost.errors import BudgetUnavailable
from replay import json_response

STARTUP_TIMEOUT = 20.0


def _need(what: str) -> None:
    message = f"{what} is needed for the shared-budget tests"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def _need_redis_client() -> None:
    try:
        import redis  # noqa: F401
    except ImportError:
        _need("the redis client (pip install redis)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A ``redis-server`` process on loopback; ``stop()`` kills it (and is idempotent)."""

    def __init__(self, binary: str, directory: Path) -> None:
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(
            [*args, "--dir", str(directory)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        import redis

        client = redis.Redis.from_url(self.url, socket_timeout=1, socket_connect_timeout=1)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:  # readiness poll of a server we started, bounded
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.02)
        client.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    binary = shutil.which("redis-server")
    if binary is None:
        _need("redis-server (Debian package redis-server)")
    _need_redis_client()
    server = RedisServer(binary, tmp_path)  # type: ignore[arg-type]
    yield server
    server.stop()


CHILD = textwrap.dedent(
    """
    import json, os, sys
    import openai
    from opentelemetry.sdk.trace import TracerProvider
    from otel_llm_cost import BudgetExceeded, BudgetGuard
    from otel_llm_cost.budget import RedisStore
    from otel_llm_cost.demo import DemoServer
    from otel_llm_cost.instrumentation.openai import OpenAIInstrumentor

    store = RedisStore(os.environ["REDIS_URL"])
    guard = BudgetGuard(os.environ["BUDGETS"], store=store, on_store_error="closed")
    OpenAIInstrumentor().instrument(tracer_provider=TracerProvider(), budget_guard=guard)
    sent = refused = tokens = 0
    with DemoServer(first_token_delay=0, chunk_delay=0) as demo:
        client = openai.OpenAI(base_url=demo.base_url, api_key="k", max_retries=0)
        for _ in range(int(os.environ["CALLS"])):
            try:
                reply = client.chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], max_tokens=50
                )
            except BudgetExceeded:
                refused += 1
                continue
            sent += 1
            tokens += reply.usage.total_tokens
    print(json.dumps({"sent": sent, "refused": refused, "tokens": tokens}))
    """
)


def test_two_processes_share_one_budget(redis_server):
    budgets = "global:calls=12/1h; global:tokens=1e9/1h:warn"
    env = {**os.environ, "BUDGETS": budgets, "REDIS_URL": redis_server.url, "CALLS": "10"}
    children = [
        subprocess.Popen([sys.executable, "-c", CHILD], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = []
    for child in children:
        out, _ = child.communicate(timeout=120)
        assert child.returncode == 0
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert sum(r["sent"] for r in results) == 12  # one budget for both processes
    assert sum(r["refused"] for r in results) == 8
    guard = BudgetGuard(budgets, store=RedisStore(redis_server.url))
    calls, tokens = guard.limits
    assert guard.usage(calls) == (12, 0)  # settled, nothing left reserved
    assert guard.usage(tokens) == (sum(r["tokens"] for r in results), 0)


def _call(client):
    return client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, max_tokens=100)


@pytest.mark.parametrize("policy", ["open", "closed"])
def test_redis_stopped(policy, redis_server, guarded, replay_server, caplog):
    guard = BudgetGuard(
        [Limit("global", "usd", "1", "1h")], store=RedisStore(redis_server.url), on_store_error=policy
    )
    guarded(guard)
    with replay_server([json_response(chat_completion()) for _ in range(2)]) as srv:
        client = openai.OpenAI(base_url=srv.base_url, api_key="k", max_retries=0)
        _call(client)  # Redis up: reserved and settled there
        assert guard.usage(guard.limits[0])[0] > 0
        redis_server.stop()
        started = time.monotonic()
        with caplog.at_level("WARNING", logger="otel_llm_cost"):
            if policy == "open":
                _call(client)  # admitted unchecked, with a warning
            else:
                with pytest.raises(BudgetUnavailable) as refused:
                    _call(client)
        elapsed = time.monotonic() - started
        assert len(srv.requests) == (2 if policy == "open" else 1)
    assert elapsed < 10  # short socket timeouts, no retries: the call never hangs on Redis
    if policy == "open":
        assert "budget store unavailable" in caplog.text
    else:
        assert isinstance(refused.value, BudgetExceeded)
        assert refused.value.spend is None and "fail closed" in str(refused.value)


def test_unresponsive_redis_times_out_quickly():
    # A listener that never answers: the connection opens, the reply never comes.
    _need_redis_client()
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        store = RedisStore(f"redis://127.0.0.1:{port}/0", timeout=0.2)
        guard = BudgetGuard("global:usd=1/1h", store=store, on_store_error="open")
        started = time.monotonic()
        first = guard.admit(model="gpt-4o-mini", provider="openai", operation="chat", request={})
        again = guard.admit(model="gpt-4o-mini", provider="openai", operation="chat", request={})
        elapsed = time.monotonic() - started
    assert first is None and again is None  # admitted unchecked (fail open)
    assert elapsed < 5  # one short timeout, then Redis is skipped for a second
