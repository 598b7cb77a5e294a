"""A pretend prompt cache, so that repeated prompts report cached tokens as real providers do.

Simplified on purpose: real providers cache only prompts above a minimum size (1024 tokens) and in
fixed steps; here any repeated prefix counts, so that a short demo conversation shows cache reads.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from typing import Any


class PromptCache:
    """Prompt prefixes seen so far, per model. Thread-safe: the server answers requests in threads."""

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def openai_cached(self, model: str, pieces: Sequence[Any], tokens: Sequence[int]) -> int:
        """OpenAI style: automatic caching of the longest prompt prefix already seen.

        Args:
            model: caches are per model.
            pieces: the prompt in order (tools, then messages), each JSON-serialisable.
            tokens: tokens of each piece.

        Returns:
            Tokens of the longest cached prefix (0 on a first sight).
        """
        keys = _prefix_keys(model, pieces)
        with self._lock:
            hit = max((i + 1 for i, key in enumerate(keys) if key in self._seen), default=0)
            self._seen.update(keys)
        return sum(tokens[:hit])

    def anthropic_split(
        self, model: str, pieces: Sequence[Any], tokens: Sequence[int], breakpoints: Sequence[int]
    ) -> tuple[int, int]:
        """Anthropic style: caching up to explicit ``cache_control`` breakpoints.

        Args:
            model: caches are per model.
            pieces: the prompt in order (tools, system blocks, messages), each JSON-serialisable.
            tokens: tokens of each piece.
            breakpoints: indices of the pieces marked ``cache_control``.

        Returns:
            ``(cache_read, cache_write)`` tokens: read up to the latest breakpoint seen before,
            written from there to the last breakpoint.
        """
        if not breakpoints:
            return 0, 0
        keys = _prefix_keys(model, pieces)
        last = max(breakpoints) + 1
        with self._lock:
            read_end = max((b + 1 for b in breakpoints if keys[b] in self._seen), default=0)
            self._seen.update(keys[b] for b in breakpoints)
        read = sum(tokens[:read_end])
        return read, sum(tokens[:last]) - read


def _prefix_keys(model: str, pieces: Sequence[Any]) -> list[str]:
    digest = hashlib.sha256(model.encode())
    keys = []
    for piece in pieces:
        digest.update(json.dumps(piece, sort_keys=True, default=str).encode())
        keys.append(digest.copy().hexdigest())
    return keys
