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


def extrapolate_tokens(seen_tokens: int, seen_chunks: int, unseen_chunks: int) -> int:
    """Output tokens of a stream whose middle chunks were counted but not kept.

    The kept content chunks' tokens per chunk, times every content chunk; at least one token per unseen
    chunk (servers stream a token or more per chunk).
    """
    if unseen_chunks <= 0:
        return seen_tokens
    if seen_chunks <= 0:
        return unseen_chunks
    scaled = math.ceil(seen_tokens * (seen_chunks + unseen_chunks) / seen_chunks)
    return max(scaled, seen_tokens + unseen_chunks)
