"""Which provider a request went to, from the host it was sent to.

The only provider list in the package: a new OpenAI-compatible host is one row of ``_HOST_SUFFIXES``.
Values are ``gen_ai.provider.name`` values of the GenAI semantic conventions where one exists.
"""

from __future__ import annotations

from typing import Final

# (host suffix, provider name); the first suffix that matches wins, so more specific rows come first.
_HOST_SUFFIXES: Final[tuple[tuple[str, str], ...]] = (
    ("api.openai.com", "openai"),
    ("openai.azure.com", "azure.ai.openai"),
    ("services.ai.azure.com", "azure.ai.openai"),
    ("cognitiveservices.azure.com", "azure.ai.openai"),
    ("models.inference.ai.azure.com", "azure.ai.inference"),
    ("api.anthropic.com", "anthropic"),
    ("amazonaws.com", "aws.bedrock"),
    ("aiplatform.googleapis.com", "gcp.vertex_ai"),
    ("generativelanguage.googleapis.com", "gcp.gemini"),
    ("api.groq.com", "groq"),
    ("api.deepseek.com", "deepseek"),
    ("api.together.xyz", "together"),
    ("api.together.ai", "together"),
    ("api.mistral.ai", "mistral_ai"),
    ("openrouter.ai", "openrouter"),
    ("api.x.ai", "x_ai"),
    ("api.perplexity.ai", "perplexity"),
    ("api.fireworks.ai", "fireworks"),
    ("api.cerebras.ai", "cerebras"),
    ("api.cohere.com", "cohere"),
    ("api.cohere.ai", "cohere"),
    ("dashscope.aliyuncs.com", "alibaba"),
    ("api.moonshot.ai", "moonshot"),
)

# Local servers are told apart by their conventional port; anything else local falls back to the host.
_LOCAL_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0", "host.docker.internal"})
_LOCAL_PORTS: Final[dict[int, str]] = {11434: "ollama", 1234: "lm_studio"}

_cache: dict[tuple[str, int | None], str] = {}


def provider_for_host(host: str | None, port: int | None = None, default: str = "openai") -> str:
    """The ``gen_ai.provider.name`` for a request sent to ``host:port``.

    Args:
        host: the request's host name, as the SDK's base URL gives it.
        port: the request's port, used only to recognise local model servers.
        default: the answer when no host is known at all.

    Returns:
        The provider name from the table, else the host itself.
    """
    if not host:
        return default
    key = (host, port)
    name = _cache.get(key)
    if name is None:
        name = _lookup(host.lower().rstrip("."), port)
        if len(_cache) < 1024:  # hosts are few in practice; the cap only guards against abuse
            _cache[key] = name
    return name


def _lookup(host: str, port: int | None) -> str:
    for suffix, name in _HOST_SUFFIXES:
        if host == suffix or host.endswith("." + suffix) or _regional(host, suffix):
            return name
    if host in _LOCAL_HOSTS and port in _LOCAL_PORTS:
        return _LOCAL_PORTS[port]
    return host


def _regional(host: str, suffix: str) -> bool:
    """Vertex AI's regional hosts join the region with a dash: ``us-central1-aiplatform.googleapis.com``."""
    return suffix == "aiplatform.googleapis.com" and host.endswith("-aiplatform.googleapis.com")
