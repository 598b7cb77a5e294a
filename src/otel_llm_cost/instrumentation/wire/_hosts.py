"""Which requests the wire capture records: a known LLM host, and a path one of the ``apis/`` rooms owns.

Hosts: the provider table's (:mod:`otel_llm_cost.providers`), private ones (self-hosted servers), and
the gateways listed in ``OTEL_LLM_COST_WIRE_HOSTS``. Every other host is answered from a small cache by
``(host, port)`` before anything else is looked at, so unrelated traffic pays one dictionary lookup.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from otel_llm_cost.apis import find_wire_api
from otel_llm_cost.providers import is_private_host, known_provider

if TYPE_CHECKING:
    from otel_llm_cost.apis import WireApi

_CACHE_LIMIT: Final = 1024  # hosts are few in practice; the cap only guards against abuse


@dataclass(frozen=True, slots=True)
class Host:
    """A host the capture looks at."""

    provider: str
    private: bool  # a self-hosted server: only requests naming a model are LLM calls there


def parse_hosts(value: str | None) -> dict[str, str]:
    """``host`` / ``host=provider`` entries, comma-separated, as ``{host: provider}`` (lower case).

    A host given without a provider gets ``""``: its calls are named by the API they speak
    (:func:`api_provider`), never by the host (a host is not a provider name, #18)."""
    hosts: dict[str, str] = {}
    for entry in (value or "").split(","):
        host, _, provider = entry.strip().partition("=")
        host = host.strip().lower().rstrip(".")
        if host:
            hosts[host] = provider.strip()
    return hosts


class HostTable:
    """Known LLM hosts: the provider table, private hosts and configured gateways."""

    __slots__ = ("_cache", "_extra")

    def __init__(self, extra: Mapping[str, str] | None = None) -> None:
        self._extra = dict(extra or {})
        self._cache: dict[tuple[str, int | None], Host | None] = {}

    def find(self, host: str, port: int | None) -> Host | None:
        key = (host, port)
        try:
            return self._cache[key]
        except KeyError:
            pass
        found = self._lookup(host.lower().rstrip("."), port)
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = found
        return found

    def _lookup(self, host: str, port: int | None) -> Host | None:
        provider = self._extra.get(host)
        if provider is None and port:
            provider = self._extra.get(f"{host}:{port}")
        if provider is not None:
            return Host(provider, private=False)
        provider = known_provider(host, port)
        if provider is None:
            return None
        return Host(provider, private=is_private_host(host))


def find_api(method: str, path: str) -> WireApi | None:
    """The room owning ``method path`` (no query), or ``None``."""
    return find_wire_api(method, path)


# The provider name of each API family, for a gateway configured without one: the room's name begins
# with its family.
_FAMILY_PROVIDERS: Final = {"gemini": "gcp.gemini", "aws": "aws.bedrock"}


def api_provider(api: WireApi) -> str:
    """The ``gen_ai.provider.name`` of the API a room speaks: ``openai``, ``anthropic``, ``gcp.gemini``..."""
    family = api.name.split(".", 1)[0]
    return _FAMILY_PROVIDERS.get(family, family)
