"""Which provider a request went to, from the host it was sent to.

The only provider list in the package: a new OpenAI-compatible host is one row of ``_HOST_SUFFIXES``.
Values are ``gen_ai.provider.name`` values of the GenAI semantic conventions where one exists.

A host that is not in the table is not a provider name: the conventions define ``gen_ai.provider.name``
as the telemetry format flavour the instrumentation knows (``openai`` for a server the OpenAI SDK talks
to, ``anthropic`` for the Anthropic SDK), with the host in ``server.address``. So an unknown host, a
proxy or an IP address gives the SDK's own provider (the caller's ``default``), never the host itself:
a host or IP must not become a span attribute value or a Prometheus label meant for provider names.
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
    ("api.moonshot.ai", "moonshot_ai"),
    ("api.moonshot.cn", "moonshot_ai"),
)

# Local servers are told apart by their conventional port; anything else falls back to the SDK's provider.
_LOCAL_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0", "host.docker.internal"})
_LOCAL_PORTS: Final[dict[int, str]] = {11434: "ollama", 1234: "lm_studio"}

_cache: dict[tuple[str, int | None], str | None] = {}  # None: not in the table


def provider_for_host(host: str | None, port: int | None = None, default: str = "openai") -> str:
    """The ``gen_ai.provider.name`` for a request sent to ``host:port``.

    Args:
        host: the request's host name, as the SDK's base URL gives it.
        port: the request's port, used only to recognise local model servers.
        default: the answer for a host not in the table (or none): the API the SDK speaks.

    Returns:
        The provider name from the table, else ``default``.
    """
    if not host:
        return default
    key = (host, port)
    name = _cache.get(key, "")
    if name == "":
        name = _lookup(host.lower().rstrip("."), port)
        if len(_cache) < 1024:  # hosts are few in practice; the cap only guards against abuse
            _cache[key] = name
    return name if name is not None else default


def _lookup(host: str, port: int | None) -> str | None:
    for suffix, name in _HOST_SUFFIXES:
        if host == suffix or host.endswith("." + suffix):
            return name
    if host in _LOCAL_HOSTS and port in _LOCAL_PORTS:
        return _LOCAL_PORTS[port]
    return None
