"""Secrets never reach a span, an event, a log line or the JSONL file (#16).

Property tests generate credentials of every shape the scrubber knows, embedded in arbitrary text; the
end-to-end tests drive the real SDKs and ``llm_call`` over loopback into errors whose messages echo a key,
and a budget store URL with a password into configure().
"""

from __future__ import annotations

import logging
import string

import httpx2 as httpx  # the HTTP client of the newest SDKs; httpx's API
import openai
import pytest
from hostile_support import Recorded, chat_completion, log_text
from hypothesis import assume, given
from hypothesis import strategies as st

import otel_llm_cost
from otel_llm_cost import agent_step, llm_call
from otel_llm_cost._scrub import REDACTED, describe_error, scrub
from otel_llm_cost.instrumentation.openai import OpenAIInstrumentor
from replay import json_response

MESSAGES = [{"role": "user", "content": "hi"}]
_KEY = string.ascii_letters + string.digits
_b64 = st.text(_KEY + "-_", min_size=20, max_size=48)
_upper = st.text(string.ascii_uppercase + string.digits, min_size=16, max_size=16)
_value = st.text(_KEY + "%+/.~-", min_size=10, max_size=40).filter(lambda v: v[0] not in "%+/.~-")
_password = st.text(_KEY + "!$*+,;~-", min_size=10, max_size=24)
_separator = st.sampled_from([" ", "\n", "\t", '"', "'", "(", ", ", ": ", "=", "> "])
_noise = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)


@st.composite
def secrets(draw: st.DrawFn) -> tuple[str, str]:
    """(text that holds a credential, the credential's random part that must not survive)."""
    kind = draw(st.integers(0, 9))
    core = draw(_b64)
    if kind == 0:
        return f"sk-{core}", core
    if kind == 1:
        return f"sk-proj-{core}", core
    if kind == 2:
        return f"sk-ant-api03-{core}", core
    if kind == 3:
        key = draw(_upper)
        return f"AKIA{key}", key
    if kind == 4:
        return f"AIza{core}", core
    if kind == 5:
        return f"Authorization: Bearer {core}", core
    if kind == 6:
        name = draw(
            st.sampled_from(
                [
                    "key",
                    "api_key",
                    "apikey",
                    "token",
                    "sig",
                    "X-Amz-Signature",
                    "X-Amz-Credential",
                    "access_token",
                    "client_secret",
                    "password",
                ]
            )
        )
        value = draw(_value)
        return f"https://host.example/v1/x?alt=sse&{name}={value}&b=1", value
    if kind == 7:
        password = draw(_password)
        scheme = draw(st.sampled_from(["redis", "rediss", "postgres", "https", "amqp"]))
        return f"{scheme}://user:{password}@db.internal:6379/0", password
    if kind == 8:
        name = draw(
            st.sampled_from(["x-api-key", "api-key", "api_key", "password", "secret", "Authorization"])
        )
        quote = draw(st.sampled_from(["", '"']))
        return f"{quote}{name}{quote}: {quote}{core}{quote}", core
    return f"redis://:{draw(_password)}@127.0.0.1:6379/0".replace("redis://:", "redis://:"), ""


@given(secret=secrets(), before=_noise, after=_noise, left=_separator, right=_separator)
def test_no_credential_shape_survives_the_scrubber(secret, before, after, left, right) -> None:
    text, core = secret
    assume(core not in before and core not in after)
    scrubbed = scrub(f"{before}{left}{text}{right}{after}")
    assert core == "" or core not in scrubbed
    assert scrub(scrubbed) == scrubbed  # idempotent: scrubbing twice (span, then file) changes nothing


@given(st.text())
def test_the_scrubber_takes_any_text(text) -> None:
    assert isinstance(scrub(text), str)


@given(st.text(string.ascii_letters + string.digits + "-_. /", max_size=60))
def test_ordinary_strings_are_left_alone(text) -> None:
    assert scrub(text) == text  # model names, ids, operation names: untouched (and without a regex)


def test_exception_text_is_scrubbed_and_bounded() -> None:
    error = RuntimeError("Incorrect API key provided: sk-proj-" + "A" * 40 + " " + "x" * 10_000)
    described = describe_error(error)
    assert "AAAAAAAAAA" not in described and REDACTED in described and len(described) <= 500

    class Broken(Exception):
        def __str__(self) -> str:
            raise ValueError("no text")

    assert "Broken" in describe_error(Broken())


def test_an_sdk_error_echoing_the_key_leaks_nowhere(recorded: Recorded, replay_server, package_log) -> None:
    key = "sk-proj-" + "Zq9" * 15
    body = {"error": {"message": f"Incorrect API key provided: {key}.", "type": "invalid_request_error"}}
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=recorded.provider)
    try:
        with replay_server([json_response(body, 401)]) as server:
            client = openai.OpenAI(base_url=server.base_url, api_key=key, max_retries=0)
            with pytest.raises(openai.AuthenticationError) as raised:
                client.chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
                )
    finally:
        instrumentor.uninstrument()
    assert key in str(raised.value)  # the application's own exception is untouched
    (span,) = recorded.spans
    assert (span.status.description or "").startswith("Error code: 401")
    assert key not in recorded.text()
    assert "Zq9Zq9Zq9" not in recorded.text() + log_text(package_log)


def test_llm_call_with_a_keyed_url_leaks_nowhere(recorded: Recorded, replay_server, package_log) -> None:
    key = "AIza" + "Sy" * 18
    with replay_server([json_response({"error": {"code": 403}}, 403)], prefix="") as server:
        url = f"{server.url}/v1beta/models/gemini-2.0-flash:generateContent?key={key}"
        with (
            pytest.raises(httpx.HTTPStatusError),
            llm_call(url=url, model="gemini-2.0-flash", tracer_provider=recorded.provider) as call,
        ):
            call.set_attribute("url.full", url)
            httpx.post(url, json={}).raise_for_status()
    (span,) = recorded.spans
    assert span.status.description and "403" in span.status.description
    assert "SySySySy" not in recorded.text() + log_text(package_log)


def test_agent_step_exception_events_are_scrubbed(recorded: Recorded) -> None:
    tracer_secret = "Bearer " + "tok" * 10
    with pytest.raises(PermissionError), agent_step("plan", tracer_provider=recorded.provider):
        raise PermissionError(f"gateway said: Authorization: {tracer_secret}")
    (span,) = recorded.spans
    assert [event.name for event in span.events] == ["exception"]
    assert "toktoktok" not in recorded.text()


def test_a_redis_password_in_the_store_variable_is_never_logged(
    recorded: Recorded, replay_server, package_log, monkeypatch
) -> None:
    monkeypatch.setenv("OTEL_LLM_COST_BUDGETS", "global:calls=5/1h")
    monkeypatch.setenv("OTEL_LLM_COST_BUDGET_STORE", "redis-x://:hunter2hunter2@127.0.0.1:6379/0")
    installed = otel_llm_cost.configure(tracer_provider=recorded.provider)
    try:
        with replay_server([json_response(chat_completion())]) as server:
            client = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0)
            client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    finally:
        for instrumentor in installed:
            instrumentor.uninstrument()
    printed = log_text(package_log)
    assert "hunter2" not in printed
    budget_lines = [
        r for r in package_log.records if "budgets" in r.getMessage() and r.levelno >= logging.WARNING
    ]
    assert len(budget_lines) == 1 and not budget_lines[0].exc_info and not budget_lines[0].exc_text
    assert "Traceback" not in printed
    assert len(recorded.spans) == 1  # budgets are off, the instrumentation is not
