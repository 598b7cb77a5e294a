"""Host -> gen_ai.provider.name: the table, and no host or IP address ever as a provider name (#18)."""

from __future__ import annotations

import pytest

from otel_llm_cost.providers import provider_for_host


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        ("api.openai.com", 443, "openai"),
        ("api.moonshot.ai", 443, "moonshot_ai"),
        ("api.mistral.ai", 443, "mistral_ai"),
        ("my-resource.openai.azure.com", 443, "azure.ai.openai"),
        ("localhost", 11434, "ollama"),
    ],
)
def test_known_hosts_give_the_conventions_names(host, port, expected):
    assert provider_for_host(host, port) == expected


def test_an_unknown_public_host_gives_the_sdks_own_provider_never_the_host():
    host = "gateway.internal.example"
    assert provider_for_host(host, 8080) == "openai"
    assert provider_for_host(host, 8080, default="anthropic") == "anthropic"
    assert provider_for_host(host, 8080) == "openai"  # the cache keeps "unknown", not a provider name


@pytest.mark.parametrize("host", ["127.0.0.1", "10.1.2.80", "::1", "LOCALHOST.", "vllm"])
def test_a_private_host_is_a_self_hosted_server_never_an_address(host):
    # A server on a private host is someone's own (vLLM, TGI, llama.cpp...): named, never by its address,
    # and never priced as a hosted provider's open-weight model (#14, #18).
    assert provider_for_host(host, 8080) == "self_hosted"
    assert provider_for_host(host, 8080, default="anthropic") == "self_hosted"
