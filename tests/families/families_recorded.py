"""The recorded Gemini / Vertex AI, Cohere, Ollama and OpenAI media exchanges
(``tests/cassettes/families.json``, written by ``_select_families.py``), and what a test expects of each:
usage read straight from the recorded block, and genai-prices' own price for it.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import Any

import genai_prices

from otel_llm_cost.pricing._providers import GENAI_PRICES_PROVIDER_IDS
from otel_llm_cost.usage import Usage
from replay import CASSETTES, Interaction, load

TOLERANCE = Decimal("1e-9")
RECORDED_AT = datetime(2025, 9, 1, tzinfo=UTC)  # recordings carry no reliable date; both sides use this one


@dataclass(frozen=True)
class Case:
    file: str
    entry: dict[str, Any]

    @property
    def id(self) -> str:
        name = self.file.rsplit("/", 1)[-1].removesuffix(".yaml")
        return f"{self.entry['provider']}-{name}-{self.entry['index']}"

    @property
    def interaction(self) -> Interaction:
        return _load(self.file)[self.entry["index"]]


@cache
def _load(file: str) -> list[Interaction]:
    return load(file)


# The rooms of the Gemini, Cohere and Ollama families that the recordings exercise.
FAMILY_ROOMS = (
    "gemini.generate_content",
    "gemini.embed_content",
    "cohere.chat",
    "cohere.chat_v1",
    "cohere.embed",
    "ollama.chat",
    "ollama.generate",
    "ollama.embed",
)


def cases(*rooms: str, status: int | None = 200) -> list[Case]:
    """Recorded exchanges read by ``rooms`` (all when none named), with that response status."""
    index = json.loads((CASSETTES / "families.json").read_text())
    return [
        Case(record["file"], entry)
        for record in index
        for entry in record["interactions"]
        if (not rooms or entry["room"] in rooms) and (status is None or entry["status"] == status)
    ]


def payloads(interaction: Interaction) -> list[Any]:
    """The decoded response: SSE data, JSON lines, or the one JSON body (a JSON array is a stream)."""
    if interaction.is_sse:
        return interaction.sse_data()
    body = interaction.body_json()
    if isinstance(body, list):
        return body
    if body is not None:
        return [body]
    found = []
    for line in interaction.body.splitlines():
        try:
            found.append(json.loads(line))
        except ValueError:
            continue
    return found


def expected_usage(room: str, block: dict[str, Any]) -> Usage:
    """The recorded usage block, read by the provider's documented rules (not by the code under test)."""
    if room.startswith("gemini"):
        thoughts = block.get("thoughtsTokenCount", 0)
        return Usage.of(
            block.get("promptTokenCount", 0) + block.get("toolUsePromptTokenCount", 0),
            block.get("candidatesTokenCount", 0) + thoughts,
            cache_read_tokens=block.get("cachedContentTokenCount", 0),
            reasoning_tokens=thoughts,
            units=_gemini_modalities(block),
        )
    if room.startswith("cohere"):
        billed = block.get("billed_units") or block.get("tokens") or {}
        return Usage.of(billed.get("input_tokens", 0), billed.get("output_tokens", 0))
    if room.startswith("ollama"):
        return Usage.of(block.get("prompt_eval_count", 0), block.get("eval_count", 0))
    details = block.get("input_tokens_details") or {}
    return Usage.of(
        block.get("input_tokens", 0),
        block.get("output_tokens", 0),
        cache_read_tokens=details.get("cached_tokens", 0),
    )


def _gemini_modalities(block: dict[str, Any]) -> dict[str, int] | None:
    """Gemini's audio, image and video token counts by direction (text is the remainder), as
    genai-prices names them (#17)."""
    units: dict[str, int] = {}
    for key, template in (
        ("promptTokensDetails", "input_{}_tokens"),
        ("candidatesTokensDetails", "output_{}_tokens"),
        ("cacheTokensDetails", "cache_{}_read_tokens"),
    ):
        for entry in block.get(key) or ():
            modality = str(entry.get("modality", "")).lower()
            if modality in ("audio", "image", "video") and entry.get("tokenCount"):
                name = template.format(modality)
                units[name] = units.get(name, 0) + entry["tokenCount"]
    return units or None


def reference_price(
    usage: Usage, model: str | None, provider: str, at: datetime | None = RECORDED_AT
) -> Decimal | None:
    """genai-prices' ``calc_price`` for ``usage``, or ``None`` where it has no price (or must not be used:
    a self-hosted server)."""
    provider_id = GENAI_PRICES_PROVIDER_IDS.get(provider)
    if provider_id is None or not model:
        return None
    theirs = genai_prices.Usage(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        output_reasoning_tokens=usage.reasoning_tokens,
        **(usage.units or {}),
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            price = genai_prices.calc_price(
                theirs, model, provider_id=provider_id, genai_request_timestamp=at
            )
    except LookupError:
        return None
    return price.total_price
