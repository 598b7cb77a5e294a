"""The normalised token usage of one LLM call.

Every provider's usage block is mapped into :class:`Usage` exactly once, by that provider's
extractor. From then on every consumer (span attributes, pricing, metrics, roll-ups) reads the same
numbers under one convention:

- ``input_tokens`` is *inclusive*: it counts cache reads and cache writes (OpenAI's convention and the
  GenAI semantic conventions'). Anthropic's additive counts are folded in by its extractor.
- ``output_tokens`` is *inclusive* of ``reasoning_tokens``.
- ``cache_write_5m_tokens`` / ``cache_write_1h_tokens`` split ``cache_write_tokens`` by time-to-live
  when the provider reports it (pricing differs); ``None`` means "not reported".
"""

from __future__ import annotations

import math
from typing import Final, Literal, NamedTuple

from otel_llm_cost._log import log_once

UsageSource = Literal["provider", "estimated"]

PROVIDER: Final = "provider"
ESTIMATED: Final = "estimated"
# No call has 2**53 tokens; larger counts are garbage, and once summed they would not fit OTLP's int64.
MAX_TOKENS: Final = 2**53


class Usage(NamedTuple):
    """Token counts of one call, normalised and checked.

    Build it with :meth:`Usage.of`, which repairs impossible combinations (and logs them once)
    instead of raising: a malformed usage block must never break the application. A named tuple
    rather than a frozen dataclass because one is built on every call, and a tuple is built
    several times faster.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cache_write_5m_tokens: int | None = None
    cache_write_1h_tokens: int | None = None
    source: UsageSource = PROVIDER

    @classmethod
    def of(
        cls,
        input_tokens: object = 0,
        output_tokens: object = 0,
        *,
        cache_read_tokens: object = 0,
        cache_write_tokens: object = 0,
        reasoning_tokens: object = 0,
        cache_write_5m_tokens: object = None,
        cache_write_1h_tokens: object = None,
        source: UsageSource = PROVIDER,
    ) -> Usage:
        """Build a checked record from raw, possibly malformed numbers.

        Non-numeric, negative, non-finite or absurd (over :data:`MAX_TOKENS`) values count as 0 (or
        ``None`` for the TTL split).
        The invariants ``cache_read + cache_write <= input`` and ``reasoning <= output`` are enforced
        by raising the inclusive totals, since a provider under-reporting a total is more likely than
        one inventing cache hits.
        """
        inp = (
            input_tokens
            if type(input_tokens) is int and 0 <= input_tokens <= MAX_TOKENS
            else _count(input_tokens)
        )
        out = (
            output_tokens
            if type(output_tokens) is int and 0 <= output_tokens <= MAX_TOKENS
            else _count(output_tokens)
        )
        cache_read = _count(cache_read_tokens)
        cache_write = _count(cache_write_tokens)
        reasoning = _count(reasoning_tokens)
        write_5m = None if cache_write_5m_tokens is None else _count(cache_write_5m_tokens)
        write_1h = None if cache_write_1h_tokens is None else _count(cache_write_1h_tokens)
        if write_5m is not None or write_1h is not None:
            split_total = (write_5m or 0) + (write_1h or 0)
            if split_total > cache_write:
                cache_write = split_total
        if cache_read + cache_write > inp:
            log_once(
                "usage.cache_exceeds_input",
                "usage reports more cache tokens (%d read + %d write) than input tokens (%d); "
                "input raised to match",
                cache_read,
                cache_write,
                inp,
            )
            inp = cache_read + cache_write
        if reasoning > out:
            log_once(
                "usage.reasoning_exceeds_output",
                "usage reports more reasoning tokens (%d) than output tokens (%d); output raised to match",
                reasoning,
                out,
            )
            out = reasoning
        return tuple.__new__(cls, (inp, out, cache_read, cache_write, reasoning, write_5m, write_1h, source))

    @property
    def uncached_input_tokens(self) -> int:
        """Input tokens billed at the plain input price."""
        return self.input_tokens - self.cache_read_tokens - self.cache_write_tokens

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def is_estimated(self) -> bool:
        return self.source == ESTIMATED


def _count(value: object) -> int:
    """A token count from untrusted input: a non-negative int up to :data:`MAX_TOKENS`, 0 when unusable."""
    if type(value) is int:  # the overwhelmingly common case, kept first and cheap
        if 0 <= value <= MAX_TOKENS:
            return value
        return _absurd(value) if value > 0 else 0
    if value is None or isinstance(value, bool):
        return 0
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return 0
    if not math.isfinite(number) or number < 0:
        return 0
    return int(number) if number <= MAX_TOKENS else _absurd(value)


def _absurd(value: object) -> int:
    log_once("usage.absurd_count", "ignoring an impossible token count (over %d)", MAX_TOKENS)
    return 0
