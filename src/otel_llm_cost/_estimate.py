"""Offline token estimates, for streams whose provider sent no usage.

No tokenizer download is possible at run time (and none should be needed), so this is a heuristic
calibrated on BPE tokenizers: about four characters per token for Latin-script text, one token per
CJK character. Estimates are always labelled ``llm_cost.usage.source=estimated``.
"""

from __future__ import annotations

import math


def estimate_tokens(text: str) -> int:
    """Estimate the number of tokens a BPE tokenizer would give ``text``."""
    if not text:
        return 0
    wide = 0
    for char in text:
        if ord(char) >= 0x2E80:  # CJK and beyond: roughly one token each
            wide += 1
    narrow = len(text) - wide
    return wide + math.ceil(narrow / 4)


def estimate_tokens_of_parts(parts: list[str]) -> int:
    return estimate_tokens("".join(parts))
