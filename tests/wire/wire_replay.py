"""Replaying indexed recordings through raw ``httpx`` / ``httpx2`` clients, as the provider's host.

The client sends to the recorded host (``http://api.openai.com/v1/chat/completions``) through the replay
server as its HTTP proxy, so the wire capture sees the host a real call has (and names the provider from
it), while the bytes come from loopback. The recorded request body is sent as it was recorded.
"""

from __future__ import annotations

import json
import urllib.parse
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

import genai_prices
import pytest
from claude_replay import expected_token_attributes
from oai_helpers import expected_tokens

import sdk_calls
from otel_llm_cost import attributes as attr
from otel_llm_cost.pricing._genai import price_context
from otel_llm_cost.pricing._providers import GENAI_PRICES_PROVIDER_IDS
from replay import CASSETTES, Interaction, load

DEFAULT_HOSTS = {
    "openai": "api.openai.com",
    "anthropic": "api.anthropic.com",
    "azure-openai": "example.openai.azure.com",
    "groq": "api.groq.com",
    "mistral": "api.mistral.ai",
    "together": "api.together.xyz",
    "deepseek": "api.deepseek.com",
    "openrouter": "openrouter.ai",
}


@dataclass(frozen=True)
class Case:
    """One replayable interaction of ``index.json``."""

    file: str
    index: int
    entry: dict[str, Any]

    @property
    def interaction(self) -> Interaction:
        return _interactions(self.file)[self.index]

    @property
    def url(self) -> str:
        """The recorded URL, over plain HTTP (the proxy is loopback)."""
        recorded = self.interaction
        host = recorded.host or DEFAULT_HOSTS[self.entry["provider"]]
        query = f"?{recorded.query}" if recorded.query else ""
        return f"http://{host.split(':')[0]}{recorded.path}{query}"

    @property
    def body(self) -> bytes:
        recorded = self.interaction.request_body
        if recorded is not None and self.entry["request"] == "recorded":
            return recorded
        return json.dumps(sdk_calls.request_of(self.interaction)).encode()

    @property
    def streamed(self) -> bool:
        return self.interaction.is_sse


def cases() -> Iterator[Any]:
    """Every replayable interaction of the index as a ``pytest.param`` (the others are not listed)."""
    for recording in json.loads((CASSETTES / "index.json").read_text()):
        for entry in recording["interactions"]:
            if not entry["replayable"]:
                continue
            case = Case(recording["file"], entry["index"], entry)
            short = "/".join(recording["file"].split("/")[-2:])
            yield pytest.param(case, id=f"{entry['provider']}:{short}#{entry['index']}")


@cache
def _interactions(file: str) -> list[Interaction]:
    return load(file)


def expected_token_attributes_of(entry: dict[str, Any]) -> dict[str, int]:
    if entry["provider"] == "anthropic":
        return expected_token_attributes(entry["usage"])
    api = "chat" if entry["api"] == "chat.completions" else entry["api"]
    return expected_tokens(api, entry["usage"])


def billed_units(span_attributes: Any) -> dict[str, int]:
    """The units beyond text tokens the span reports (``llm_cost.usage.<unit>``, genai-prices' own unit
    names: modality tokens, web searches...), which genai-prices prices too (#17)."""
    prefix = attr.LLM_COST_USAGE_UNIT_PREFIX
    return {
        key[len(prefix) :]: value
        for key, value in span_attributes.items()
        if key.startswith(prefix) and "." not in key[len(prefix) :] and type(value) is int
    }


def reference_cost(span_attributes: Any) -> Decimal | None:
    """genai-prices' ``calc_price`` on the span's usage and model, or ``None`` where it has no price."""
    usage = genai_prices.Usage(
        input_tokens=span_attributes.get(attr.GEN_AI_USAGE_INPUT_TOKENS, 0),
        output_tokens=span_attributes.get(attr.GEN_AI_USAGE_OUTPUT_TOKENS, 0),
        cache_read_tokens=span_attributes.get(attr.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, 0),
        cache_write_tokens=span_attributes.get(attr.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS, 0),
        cache_write_1h_tokens=span_attributes.get(attr.LLM_COST_USAGE_CACHE_WRITE_1H, 0),
        output_reasoning_tokens=span_attributes.get(attr.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, 0),
        **billed_units(span_attributes),
    )
    model = span_attributes.get(attr.GEN_AI_RESPONSE_MODEL) or span_attributes.get(attr.GEN_AI_REQUEST_MODEL)
    provider = span_attributes[attr.GEN_AI_PROVIDER_NAME]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return genai_prices.calc_price(
                usage,
                model,
                provider_id=GENAI_PRICES_PROVIDER_IDS.get(provider),
                price_context=price_context(span_attributes.get("openai.response.service_tier")),
            ).total_price
    except LookupError:
        return None


def proxy_url(server_url: str) -> str:
    return urllib.parse.urlsplit(server_url)._replace(path="").geturl()
