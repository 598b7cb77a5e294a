"""The two editions of the GenAI call metrics: the instruments of each, and how a finished call fills them.

``OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental`` selects :class:`LatestEdition`, the newest
names of the ``semantic-conventions-genai`` repository (``client-inference.md``, ``client-embeddings.md``,
``model/gen-ai/token-metrics.yaml``). Without it, :class:`DefaultEdition` emits what the official Python
GenAI instrumentations (``opentelemetry-util-genai``) emit today, so that one dashboard serves both. Only
the names change with the edition: the attributes, buckets and the per-chunk observations are the same.

======================================================== ========= =========================================
default edition                                          unit      what
======================================================== ========= =========================================
``gen_ai.client.operation.duration`` (histogram)         s         every call (inference and embeddings)
``gen_ai.client.operation.time_to_first_chunk`` (hist.)  s         streamed calls
``gen_ai.client.operation.time_per_output_chunk`` (h.)   s         one observation per chunk after the first
``gen_ai.client.token.usage`` (histogram)                {token}   by ``gen_ai.token.type`` input / output
``llm_cost.client.token.cache_read`` (counter)           {token}   ours: cache-read input tokens
``llm_cost.client.token.cache_write`` (counter)          {token}   ours: cache-write input tokens
``llm_cost.client.token.reasoning`` (counter)            {token}   ours: reasoning output tokens
======================================================== ========= =========================================

======================================================== ========= =========================================
latest edition                                           unit      what
======================================================== ========= =========================================
``gen_ai.client.inference.duration`` (histogram)         s         inference calls
``gen_ai.client.inference.time_to_first_chunk`` (hist.)  s         streamed inference calls
``gen_ai.client.inference.time_per_output_chunk`` (h.)   s         one observation per chunk after the first
``gen_ai.client.inference.usage.input_tokens`` (counter) {token}   and ``.output_tokens``,
                                                                   ``.cache_read.input_tokens``,
                                                                   ``.cache_write.input_tokens``,
                                                                   ``.reasoning.output_tokens``; each with
                                                                   ``gen_ai.token.modality`` (``unknown``:
                                                                   the providers report no split)
``gen_ai.client.inference.operation.input_tokens`` (h.)  {token}   and ``.output_tokens``: per call
``gen_ai.client.embeddings.duration`` (histogram)        s         embeddings calls
``gen_ai.client.embeddings.operation.input_tokens`` (h.) {token}   embeddings calls
======================================================== ========= =========================================

In the latest edition every inference call records its token metrics, failed ones with ``0``, as
``token-metrics.yaml`` asks; the default edition records tokens only when usage is known, as before.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final

from otel_llm_cost import attributes as attr

if TYPE_CHECKING:
    from opentelemetry.metrics import Meter

    from otel_llm_cost.instrumentation._invocation import LLMInvocation
    from otel_llm_cost.usage import Usage

__all__ = ["DURATION_BUCKETS", "TOKEN_BUCKETS", "DefaultEdition", "LabelSet", "LatestEdition", "chunk_gaps"]

# The GenAI conventions' advised boundaries, seconds (duration, time to first chunk, time per chunk).
DURATION_BUCKETS: Final = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip
TOKEN_BUCKETS: Final = tuple(4**n for n in range(14))  # 1, 4, 16, ... 67108864, as the conventions advise

# Default edition (what opentelemetry-util-genai emits).
TOKEN_USAGE: Final = "gen_ai.client.token.usage"
OPERATION_DURATION: Final = "gen_ai.client.operation.duration"
TIME_TO_FIRST_CHUNK: Final = "gen_ai.client.operation.time_to_first_chunk"
TIME_PER_OUTPUT_CHUNK: Final = "gen_ai.client.operation.time_per_output_chunk"
CACHE_READ_TOKENS: Final = "llm_cost.client.token.cache_read"
CACHE_WRITE_TOKENS: Final = "llm_cost.client.token.cache_write"
REASONING_TOKENS: Final = "llm_cost.client.token.reasoning"

# Latest edition (semantic-conventions-genai).
INFERENCE_DURATION: Final = "gen_ai.client.inference.duration"
INFERENCE_TIME_TO_FIRST_CHUNK: Final = "gen_ai.client.inference.time_to_first_chunk"
INFERENCE_TIME_PER_OUTPUT_CHUNK: Final = "gen_ai.client.inference.time_per_output_chunk"
USAGE_INPUT_TOKENS: Final = "gen_ai.client.inference.usage.input_tokens"
USAGE_OUTPUT_TOKENS: Final = "gen_ai.client.inference.usage.output_tokens"
USAGE_CACHE_READ_TOKENS: Final = "gen_ai.client.inference.usage.cache_read.input_tokens"
USAGE_CACHE_WRITE_TOKENS: Final = "gen_ai.client.inference.usage.cache_write.input_tokens"
USAGE_REASONING_TOKENS: Final = "gen_ai.client.inference.usage.reasoning.output_tokens"
OPERATION_INPUT_TOKENS: Final = "gen_ai.client.inference.operation.input_tokens"
OPERATION_OUTPUT_TOKENS: Final = "gen_ai.client.inference.operation.output_tokens"
EMBEDDINGS_DURATION: Final = "gen_ai.client.embeddings.duration"
EMBEDDINGS_INPUT_TOKENS: Final = "gen_ai.client.embeddings.operation.input_tokens"

EMBEDDINGS: Final = "embeddings"
UNKNOWN_MODALITY: Final = "unknown"

Labels = Mapping[str, Any]


class LabelSet:
    """A call's metric attributes and the variants the instruments need, made once per distinct set and
    shared by every call that has it (the instruments never change them)."""

    __slots__ = ("base", "input", "output", "with_modality")

    def __init__(self, base: dict[str, Any]) -> None:
        self.base = base
        self.input = {**base, attr.GEN_AI_TOKEN_TYPE: "input"}
        self.output = {**base, attr.GEN_AI_TOKEN_TYPE: "output"}
        self.with_modality = {**base, attr.GEN_AI_TOKEN_MODALITY: UNKNOWN_MODALITY}


def chunk_gaps(invocation: LLMInvocation) -> Iterator[float]:
    """Seconds from each chunk to the next, from the first content chunk on: one per chunk after it."""
    previous = invocation.first_chunk_ns
    arrivals = invocation.chunk_ns
    if previous is None or not arrivals:
        return
    for arrived in arrivals:
        yield (arrived - previous) / 1e9 if arrived > previous else 0.0  # per chunk: no max() call
        previous = arrived


def _seconds(meter: Meter, name: str, description: str) -> Any:
    return meter.create_histogram(
        name, unit="s", description=description, explicit_bucket_boundaries_advisory=DURATION_BUCKETS
    )


def _tokens(meter: Meter, name: str, description: str) -> Any:
    return meter.create_histogram(
        name, unit="{token}", description=description, explicit_bucket_boundaries_advisory=TOKEN_BUCKETS
    )


def _record_timing(
    duration: Any, ttfc: Any, per_chunk: Any, invocation: LLMInvocation, labels: Labels
) -> None:
    start, end, first = invocation.start_ns, invocation.end_ns, invocation.first_chunk_ns
    if end is not None:
        duration.record((end - start) / 1e9 if end > start else 0.0, labels)
    if first is not None:
        ttfc.record((first - start) / 1e9 if first > start else 0.0, labels)
        record = per_chunk.record
        for gap in chunk_gaps(invocation):
            record(gap, labels)


class DefaultEdition:
    """The names the official Python GenAI instrumentations emit by default today."""

    def __init__(self, meter: Meter) -> None:
        self._duration = _seconds(meter, OPERATION_DURATION, "GenAI operation duration.")
        self._ttfc = _seconds(
            meter, TIME_TO_FIRST_CHUNK, "Time to receive the first chunk of a streamed response."
        )
        self._per_chunk = _seconds(
            meter, TIME_PER_OUTPUT_CHUNK, "Time per output chunk, for each chunk after the first."
        )
        self._token_usage = _tokens(meter, TOKEN_USAGE, "Number of input and output tokens used.")
        self._cache_read = meter.create_counter(CACHE_READ_TOKENS, "{token}", "Input tokens read from cache.")
        self._cache_write = meter.create_counter(
            CACHE_WRITE_TOKENS, "{token}", "Input tokens written to cache."
        )
        self._reasoning = meter.create_counter(REASONING_TOKENS, "{token}", "Reasoning output tokens.")

    def record(
        self, invocation: LLMInvocation, usage: Usage | None, labels: LabelSet, error_labels: LabelSet
    ) -> None:
        base = error_labels.base
        _record_timing(self._duration, self._ttfc, self._per_chunk, invocation, base)
        if usage is None:
            return
        self._token_usage.record(usage.input_tokens, error_labels.input)
        self._token_usage.record(usage.output_tokens, error_labels.output)
        if usage.cache_read_tokens:
            self._cache_read.add(usage.cache_read_tokens, base)
        if usage.cache_write_tokens:
            self._cache_write.add(usage.cache_write_tokens, base)
        if usage.reasoning_tokens:
            self._reasoning.add(usage.reasoning_tokens, base)


class LatestEdition:
    """The newest names of ``semantic-conventions-genai`` (opt-in ``gen_ai_latest_experimental``)."""

    def __init__(self, meter: Meter) -> None:
        self._duration = _seconds(meter, INFERENCE_DURATION, "GenAI client inference operation duration.")
        self._ttfc = _seconds(
            meter, INFERENCE_TIME_TO_FIRST_CHUNK, "Time to receive the first chunk of a streamed response."
        )
        self._per_chunk = _seconds(
            meter, INFERENCE_TIME_PER_OUTPUT_CHUNK, "Time per output chunk, for each chunk after the first."
        )
        self._usage = tuple(
            meter.create_counter(name, "{token}", description)
            for name, description in (
                (USAGE_INPUT_TOKENS, "Input tokens used, including cached tokens."),
                (USAGE_OUTPUT_TOKENS, "Output tokens used, including reasoning tokens."),
                (USAGE_CACHE_READ_TOKENS, "Input tokens served from a provider-managed cache."),
                (USAGE_CACHE_WRITE_TOKENS, "Input tokens written to a provider-managed cache."),
                (USAGE_REASONING_TOKENS, "Output tokens used for reasoning."),
            )
        )
        self._input = _tokens(meter, OPERATION_INPUT_TOKENS, "Input tokens used per inference operation.")
        self._output = _tokens(meter, OPERATION_OUTPUT_TOKENS, "Output tokens used per inference operation.")
        self._embeddings_duration = _seconds(
            meter, EMBEDDINGS_DURATION, "GenAI client embeddings operation duration."
        )
        self._embeddings_input = _tokens(
            meter, EMBEDDINGS_INPUT_TOKENS, "Input tokens used per embeddings operation."
        )

    def record(
        self, invocation: LLMInvocation, usage: Usage | None, labels: LabelSet, error_labels: LabelSet
    ) -> None:
        base = error_labels.base
        if invocation.operation == EMBEDDINGS:
            if invocation.end_ns is not None:
                seconds = max(invocation.end_ns - invocation.start_ns, 0) / 1e9
                self._embeddings_duration.record(seconds, base)
            if usage is not None:
                self._embeddings_input.record(usage.input_tokens, base)
            return
        _record_timing(self._duration, self._ttfc, self._per_chunk, invocation, base)
        counts = (0, 0, 0, 0, 0)
        if usage is not None:
            counts = (
                usage.input_tokens,
                usage.output_tokens,
                usage.cache_read_tokens,
                usage.cache_write_tokens,
                usage.reasoning_tokens,
            )
        with_modality = labels.with_modality
        for counter, count in zip(self._usage, counts, strict=True):
            counter.add(count, with_modality)
        self._input.record(counts[0], base)
        self._output.record(counts[1], base)
