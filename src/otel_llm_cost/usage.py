"""The normalised token usage of one LLM call.

Every provider's usage block is mapped into :class:`Usage` exactly once, by that provider's
extractor. From then on every consumer (span attributes, pricing, metrics, roll-ups) reads the same
numbers under one convention:

- ``input_tokens`` is *inclusive*: it counts cache reads and cache writes (OpenAI's convention and the
  GenAI semantic conventions'). Anthropic's additive counts are folded in by its extractor.
- ``output_tokens`` is *inclusive* of ``reasoning_tokens``.
- ``cache_write_5m_tokens`` / ``cache_write_1h_tokens`` split ``cache_write_tokens`` by time-to-live
  when the provider reports it (pricing differs); ``None`` means "not reported".
- ``units`` holds every other billed unit the provider reports, keyed by genai-prices' usage keys
  (:data:`TOKEN_UNITS`, :data:`COUNT_UNITS`); ``None`` when there are none (the common text-only call).
  Modality tokens are *parts* of the totals above, inclusive the same way: ``input_audio_tokens`` counts
  all audio input, its cache reads (``cache_audio_read_tokens``) and writes (``cache_audio_write_tokens``)
  included, and is itself part of ``input_tokens``; ``output_image_tokens`` is part of ``output_tokens``.
  Text is the remainder, never listed. Count units (``web_searches``, ``code_executions``...) are
  requests a server-side tool made, billed apart from tokens.
- ``iterations`` are the steps a provider ran inside one call, each with its own model and usage
  (Anthropic's ``usage.iterations``: ``message``, ``advisor_message``, ``compaction``). The totals
  above cover the ``message`` iterations only (as the provider's top level does); the others are
  billed on top, at their own model (:attr:`Usage.extra_iterations`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Final, Literal, NamedTuple

from otel_llm_cost._log import log_once

UsageSource = Literal["provider", "estimated"]

PROVIDER: Final = "provider"
ESTIMATED: Final = "estimated"
# No call has 2**53 tokens; larger counts are garbage, and once summed they would not fit OTLP's int64.
MAX_TOKENS: Final = 2**53

MODALITIES: Final = ("audio", "image", "video")
# genai-prices usage keys of modality tokens, each with the inclusive total it is part of.
TOKEN_UNITS: Final[Mapping[str, str]] = {
    **{f"input_{m}_tokens": "input_tokens" for m in MODALITIES},
    **{f"cache_{m}_read_tokens": "cache_read_tokens" for m in MODALITIES},
    **{f"cache_{m}_write_tokens": "cache_write_tokens" for m in MODALITIES},
    **{f"output_{m}_tokens": "output_tokens" for m in MODALITIES},
}
# Requests made by server-side tools: genai-prices' units, and ``web_fetches`` (Anthropic bills none).
COUNT_UNITS: Final = frozenset({"web_searches", "code_executions", "storage_searches", "web_fetches"})
# The iteration kind whose usage the provider's top level already sums.
TOP_LEVEL_ITERATION: Final = "message"


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
    units: Mapping[str, int] | None = None
    iterations: tuple[Iteration, ...] | None = None

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
        units: Mapping[str, object] | None = None,
        iterations: Sequence[Iteration] | None = None,
    ) -> Usage:
        """Build a checked record from raw, possibly malformed numbers.

        Non-numeric, negative, non-finite or absurd (over :data:`MAX_TOKENS`) values count as 0 (or
        ``None`` for the TTL split).
        The invariants ``cache_read + cache_write <= input`` and ``reasoning <= output`` are enforced
        by raising the inclusive totals, since a provider under-reporting a total is more likely than
        one inventing cache hits; so are those of ``units`` (each modality count within its total, a
        modality's cache counts within its input count). Unknown unit keys are dropped.
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
        checked_units = None
        if units:
            checked_units = _checked_units(units)
            if checked_units is not None:
                inp, out, cache_read, cache_write = _raise_totals(
                    checked_units, inp, out, cache_read, cache_write
                )
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
        steps = tuple(step for step in iterations if type(step) is Iteration) if iterations else None
        return tuple.__new__(
            cls,
            (
                inp,
                out,
                cache_read,
                cache_write,
                reasoning,
                write_5m,
                write_1h,
                source,
                checked_units,
                steps or None,
            ),
        )

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

    @property
    def extra_iterations(self) -> tuple[Iteration, ...]:
        """The iterations billed on top of the totals (all but ``message``)."""
        steps = self.iterations
        if not steps:
            return ()
        return tuple(step for step in steps if step.kind != TOP_LEVEL_ITERATION)


class Iteration(NamedTuple):
    """One step a provider ran inside a call: its kind, its model (``None``: the call's), its usage."""

    kind: str
    model: str | None
    usage: Usage


def _checked_units(units: Mapping[str, object]) -> dict[str, int] | None:
    """The known, positive unit counts; ``None`` when none is left."""
    checked: dict[str, int] = {}
    for key, value in units.items():
        if key in TOKEN_UNITS or key in COUNT_UNITS:
            count = _count(value)
            if count:
                checked[key] = count
    if not checked:
        return None
    for modality in MODALITIES:  # a modality's cache counts are part of its input count
        key = f"input_{modality}_tokens"
        cached = checked.get(f"cache_{modality}_read_tokens", 0) + checked.get(
            f"cache_{modality}_write_tokens", 0
        )
        if cached > checked.get(key, 0):
            checked[key] = cached
    return checked


def _raise_totals(
    units: Mapping[str, int], inp: int, out: int, cache_read: int, cache_write: int
) -> tuple[int, int, int, int]:
    """The totals, raised where the modality parts add up to more (logged once)."""
    sums = {"input_tokens": 0, "output_tokens": 0, "cache_read_tokens": 0, "cache_write_tokens": 0}
    for key, count in units.items():
        total = TOKEN_UNITS.get(key)
        if total is not None:
            sums[total] += count
    raised = (
        max(inp, sums["input_tokens"]),
        max(out, sums["output_tokens"]),
        max(cache_read, sums["cache_read_tokens"]),
        max(cache_write, sums["cache_write_tokens"]),
    )
    if raised != (inp, out, cache_read, cache_write):
        log_once(
            "usage.units_exceed_totals",
            "usage reports more modality tokens than the totals they are part of; totals raised to match",
        )
    return raised


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
