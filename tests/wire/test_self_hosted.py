"""Self-hosted servers (vLLM, TGI, llama.cpp, LM Studio, Ollama) on private hosts: named, never priced as a
hosted provider's open-weight model; a proprietary model behind a private gateway is priced as its maker's.
"""

from __future__ import annotations

import ssl
from decimal import Decimal
from typing import Any

import httpx2
import openai
import pytest
from oai_helpers import MESSAGES, chat_completion

from otel_llm_cost import attributes as attr
from otel_llm_cost.instrumentation.openai import OpenAIInstrumentor
from otel_llm_cost.pricing import Pricer, get_pricer, load_overrides, set_pricer
from otel_llm_cost.providers import provider_for_host
from otel_llm_cost.usage import Usage

LLAMA = "meta-llama/Llama-3.1-8B-Instruct"
_SSL = ssl.create_default_context()


@pytest.mark.parametrize(
    ("host", "port", "provider"),
    [
        ("127.0.0.1", 8000, "self_hosted"),  # vLLM's default port, shared with gateways
        ("localhost", 8080, "self_hosted"),  # llama.cpp, TGI behind Docker
        ("::1", 3000, "self_hosted"),
        ("10.1.2.3", 1234, "lm_studio"),
        ("192.168.0.7", 11434, "ollama"),
        ("vllm", 8000, "self_hosted"),  # a compose service name
        ("llm.cluster.local", 443, "self_hosted"),
        ("gpu-box.internal", 443, "self_hosted"),
        ("203.0.113.9", 443, "self_hosted"),  # an address is never a provider name
        ("api.openai.com", 443, "openai"),
        ("llm-gateway.example.com", 443, "openai"),  # a public host is never a provider name (#18)
    ],
)
def test_private_hosts_get_a_provider_name_never_an_address(host, port, provider):
    assert provider_for_host(host, port) == provider


@pytest.mark.parametrize(
    ("provider", "model", "status"),
    [
        ("self_hosted", LLAMA, "unpriced"),
        ("self_hosted", "gpt-oss-20b", "unpriced"),  # open weights, though OpenAI's list carries it
        ("self_hosted", "gemma-3", "unpriced"),
        ("lm_studio", "qwen2.5-7b-instruct", "unpriced"),
        ("ollama", "gpt-4o", "unpriced"),  # Ollama serves open weights only: a name, not OpenAI's model
        ("self_hosted", "gpt-4o", "priced"),  # a private gateway forwarding to OpenAI
        ("self_hosted", "claude-3-5-sonnet-20241022", "priced"),
        ("self_hosted", "gemini-1.5-pro", "priced"),
    ],
)
def test_self_hosted_prices(provider, model, status):
    assert Pricer().price(Usage.of(1000, 100), model, provider).status == status


def test_a_price_file_prices_a_self_hosted_model(tmp_path):
    prices = tmp_path / "prices.toml"
    prices.write_text(f'[models."{LLAMA}"]\nprovider = "self_hosted"\ninput = 0.1\noutput = 0.2\n')
    cost = Pricer(load_overrides(prices)).price(Usage.of(1_000_000, 1_000_000), LLAMA, "self_hosted")
    assert (cost.status, cost.amount) == ("priced", Decimal("0.3"))


def _llama_reply() -> Any:
    from replay import json_response

    return json_response(chat_completion(model=LLAMA))


def _assert_self_hosted(span: Any) -> None:
    assert span.attributes[attr.GEN_AI_PROVIDER_NAME] == "self_hosted"
    assert span.attributes[attr.SERVER_ADDRESS] == "127.0.0.1"
    assert span.attributes[attr.LLM_COST_COST_STATUS] == "unpriced"
    assert attr.GEN_AI_USAGE_COST_AMOUNT not in span.attributes


def test_a_raw_request_to_a_local_server_is_unpriced(replay_server, wire, exporter):
    with replay_server([_llama_reply()]) as srv:
        httpx2.post(
            srv.url + "/v1/chat/completions", json={"model": LLAMA, "messages": MESSAGES}, verify=_SSL
        )
    (span,) = exporter.get_finished_spans()
    _assert_self_hosted(span)


def test_the_openai_sdk_on_a_local_server_is_unpriced(replay_server, tracer_provider, exporter):
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    try:
        with replay_server([_llama_reply()]) as srv:
            client = openai.OpenAI(base_url=srv.base_url, api_key="k", max_retries=0)
            client.chat.completions.create(model=LLAMA, messages=MESSAGES)
    finally:
        instrumentor.uninstrument()
    (span,) = exporter.get_finished_spans()
    _assert_self_hosted(span)


def test_a_price_file_prices_the_local_servers_calls(replay_server, wire, exporter, tmp_path):
    prices = tmp_path / "prices.toml"
    prices.write_text(f'[models."{LLAMA}"]\ninput = 0\noutput = 0\n')
    previous = get_pricer()
    set_pricer(Pricer(load_overrides(prices)))
    try:
        with replay_server([_llama_reply()]) as srv:
            httpx2.post(srv.url + "/v1/chat/completions", json={"model": LLAMA}, verify=_SSL)
    finally:
        set_pricer(previous)
    (span,) = exporter.get_finished_spans()
    assert span.attributes[attr.LLM_COST_COST_STATUS] == "priced"
    assert span.attributes[attr.GEN_AI_USAGE_COST_AMOUNT] == 0
