"""Real usage blocks and models from the recorded provider responses, as :class:`Usage`.

``tests/cassettes/index.json`` already holds, per recorded interaction, the usage block the provider sent
(final one for streams) and the model; here each block is mapped to our inclusive convention.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from otel_llm_cost.usage import Usage

INDEX = Path(__file__).resolve().parents[1] / "cassettes" / "index.json"

# Recorded provider name -> (gen_ai.provider.name we are given, genai-prices provider id for the reference).
PROVIDERS = {
    "openai": ("openai", "openai"),
    "azure-openai": ("azure.ai.openai", "azure"),
    "anthropic": ("anthropic", "anthropic"),
    "groq": ("groq", "groq"),
    "mistral": ("mistral_ai", "mistral"),
    "deepseek": ("deepseek", "deepseek"),
    "together": ("together", "together"),
    "openrouter": ("openrouter", "openrouter"),
}


@dataclass(frozen=True)
class RecordedCall:
    file: str
    provider: str  # as recorded
    model: str
    usage: Usage


def recorded_calls() -> list[RecordedCall]:
    """Every distinct (provider, model, usage) with a usage block in the recordings."""
    if not INDEX.exists():
        return []
    seen: dict[tuple[str, str, Usage], RecordedCall] = {}
    for entry in json.loads(INDEX.read_text(encoding="utf-8")):
        for interaction in entry["interactions"]:
            call = _call(entry["file"], interaction)
            if call is not None:
                seen.setdefault((call.provider, call.model, call.usage), call)
    return list(seen.values())


def _call(file: str, interaction: dict[str, Any]) -> RecordedCall | None:
    block, model, provider = interaction.get("usage"), interaction.get("model"), interaction["provider"]
    if not isinstance(block, dict) or not isinstance(model, str) or provider not in PROVIDERS:
        return None
    usage = anthropic_usage(block) if provider == "anthropic" else openai_usage(block)
    return RecordedCall(file, provider, model, usage)


def openai_usage(block: dict[str, Any]) -> Usage:
    """Chat completions (``prompt_tokens``...) or Responses (``input_tokens``...); both inclusive."""
    chat = "prompt_tokens" in block
    details_in = block.get("prompt_tokens_details" if chat else "input_tokens_details") or {}
    details_out = block.get("completion_tokens_details" if chat else "output_tokens_details") or {}
    return Usage.of(
        block.get("prompt_tokens" if chat else "input_tokens") or 0,
        block.get("completion_tokens" if chat else "output_tokens") or 0,
        cache_read_tokens=details_in.get("cached_tokens") or 0,
        reasoning_tokens=details_out.get("reasoning_tokens") or 0,
    )


def anthropic_usage(block: dict[str, Any]) -> Usage:
    """Anthropic's counts are additive: fold cache reads and writes into input."""
    read = block.get("cache_read_input_tokens") or 0
    write = block.get("cache_creation_input_tokens") or 0
    split = block.get("cache_creation") or {}
    return Usage.of(
        (block.get("input_tokens") or 0) + read + write,
        block.get("output_tokens") or 0,
        cache_read_tokens=read,
        cache_write_tokens=write,
        cache_write_5m_tokens=split.get("ephemeral_5m_input_tokens"),
        cache_write_1h_tokens=split.get("ephemeral_1h_input_tokens"),
    )
