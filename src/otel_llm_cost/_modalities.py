"""Per-modality token counts -> :attr:`Usage.units <otel_llm_cost.usage.Usage.units>` keys. Pure.

Providers report modality splits in two shapes: named fields (OpenAI's ``prompt_tokens_details.audio_tokens``,
``input_tokens_details.image_tokens``) and lists of ``{modality, tokenCount}`` (Gemini's
``promptTokensDetails``, ``candidatesTokensDetails``, ``cacheTokensDetails``). Both end here as genai-prices
usage keys (``input_audio_tokens``, ``cache_image_read_tokens``, ``output_image_tokens``...). Text is the
remainder of the totals and is never listed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

# Gemini's modality names (``MediaModality``) -> ours; TEXT and DOCUMENT are billed as text.
_GEMINI_MODALITIES: Final = {"AUDIO": "audio", "IMAGE": "image", "VIDEO": "video"}
# The unit key of each (direction, modality): ``{m}`` is replaced by the modality.
INPUT: Final = "input_{m}_tokens"
OUTPUT: Final = "output_{m}_tokens"
CACHE_READ: Final = "cache_{m}_read_tokens"


def add_count(units: dict[str, int], key: str, value: object) -> None:
    """Add ``value`` under ``key`` when it is a positive int (anything else is no count)."""
    if type(value) is int and value > 0:
        units[key] = units.get(key, 0) + value


def named_units(pairs: Iterable[tuple[str, object]]) -> dict[str, int] | None:
    """Unit counts from (key, raw value) pairs; ``None`` when none is a positive count."""
    units: dict[str, int] = {}
    for key, value in pairs:
        add_count(units, key, value)
    return units or None


def gemini_units(
    prompt_details: object, candidates_details: object = None, cache_details: object = None
) -> dict[str, int] | None:
    """Gemini's ``promptTokensDetails`` / ``candidatesTokensDetails`` / ``cacheTokensDetails`` as units.

    Each is a list of ``{"modality": "IMAGE", "tokenCount": 258}`` (dicts or SDK objects with
    ``modality`` / ``token_count``). Cached modality tokens are part of the prompt's (Gemini counts
    ``cachedContentTokenCount`` inside ``promptTokenCount``).
    """
    units: dict[str, int] = {}
    for details, template in (
        (prompt_details, INPUT),
        (candidates_details, OUTPUT),
        (cache_details, CACHE_READ),
    ):
        for modality, count in _modality_counts(details):
            add_count(units, template.format(m=modality), count)
    return units or None


def _modality_counts(details: object) -> Iterable[tuple[str, object]]:
    if not isinstance(details, list | tuple):
        return ()
    found = []
    for entry in details:
        modality = _read(entry, "modality")
        name = getattr(modality, "name", modality)  # an SDK enum or its wire string
        ours = _GEMINI_MODALITIES.get(name) if isinstance(name, str) else None
        if ours is not None:
            count = _read(entry, "tokenCount")
            found.append((ours, count if count is not None else _read(entry, "token_count")))
    return found


def _read(entry: object, name: str) -> Any:
    if isinstance(entry, Mapping):
        return entry.get(name)
    return getattr(entry, name, None)
