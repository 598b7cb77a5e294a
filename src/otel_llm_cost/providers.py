"""Which provider a request went to, from the host it was sent to.

The only provider list in the package: a new OpenAI-compatible host is one row of ``_HOST_SUFFIXES``.
Values are ``gen_ai.provider.name`` values of the GenAI semantic conventions where one exists.

A host that is not in the table is not a provider name: the conventions define ``gen_ai.provider.name``
as the telemetry format flavour the instrumentation knows (``openai`` for a server the OpenAI SDK talks
to, ``anthropic`` for the Anthropic SDK), with the host in ``server.address``. So an unknown public host
or proxy gives the SDK's own provider (the caller's ``default``), never the host itself: a host or IP
must not become a span attribute value or a Prometheus label meant for provider names (#18).

Self-hosted servers (a loopback, private or link-local address, an IP literal, a single-label or
``.local`` / ``.internal`` name) are named by a port only one server uses by default (Ollama 11434,
LM Studio 1234), else :data:`SELF_HOSTED` (vLLM, TGI, llama.cpp, and gateways, share 8000 / 8080 / 3000
with too much else to be told apart): never by their host or address, and never priced as a hosted
provider's open-weight model (see :mod:`otel_llm_cost.pricing`) (#14).
"""

from __future__ import annotations

import ipaddress
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

SELF_HOSTED: Final = "self_hosted"
"""The provider name of a model server on a private host whose port names no known server."""

# Self-hosted servers told apart by a default port no other common server uses.
SELF_HOSTED_PORTS: Final[dict[int, str]] = {11434: "ollama", 1234: "lm_studio"}
_PRIVATE_NAMES: Final = frozenset({"localhost", "host.docker.internal", "host.containers.internal"})
_PRIVATE_SUFFIXES: Final = (".localhost", ".local", ".internal", ".lan", ".home.arpa", ".svc")

_cache: dict[tuple[str, int | None], str | None] = {}  # None: not in the table


def provider_for_host(host: str | None, port: int | None = None, default: str = "openai") -> str:
    """The ``gen_ai.provider.name`` for a request sent to ``host:port``.

    Args:
        host: the request's host name, as the SDK's base URL gives it.
        port: the request's port, used only to recognise local model servers.
        default: the answer for a public host not in the table (or none): the API the SDK speaks.

    Returns:
        The provider name from the table; for a private host, the self-hosted server its port names
        (else :data:`SELF_HOSTED`); else ``default``.
    """
    name = known_provider(host, port) if host else None
    return name if name is not None else default


def known_provider(host: str | None, port: int | None = None) -> str | None:
    """The provider of a host the table knows, or of a private (self-hosted) host; ``None`` for any
    other public host, which only a configured gateway list can vouch for."""
    if not host:
        return None
    key = (host, port)
    name = _cache.get(key, "")
    if name == "":
        name = _lookup(host.lower().rstrip("."), port)
        if len(_cache) < 1024:  # hosts are few in practice; the cap only guards against abuse
            _cache[key] = name
    return name


def _lookup(host: str, port: int | None) -> str | None:
    for suffix, name in _HOST_SUFFIXES:
        if host == suffix or host.endswith("." + suffix) or _regional(host, suffix):
            return name
    if is_private_host(host):
        return SELF_HOSTED_PORTS.get(port, SELF_HOSTED) if port is not None else SELF_HOSTED
    return None


def is_private_host(host: str) -> bool:
    """Whether ``host`` (lower case) is a loopback, private or link-local address or name, or any IP
    literal: where self-hosted model servers live. A public name is a hosted service or a gateway."""
    if host in _PRIVATE_NAMES or host.endswith(_PRIVATE_SUFFIXES) or _is_ip(host):
        return True
    return "." not in host  # a single-label name: a container or service on a private network


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True  # public addresses too: an IP literal is a server someone runs, not a provider's API


def _regional(host: str, suffix: str) -> bool:
    """Vertex AI's regional hosts join the region with a dash: ``us-central1-aiplatform.googleapis.com``."""
    return suffix == "aiplatform.googleapis.com" and host.endswith("-aiplatform.googleapis.com")
