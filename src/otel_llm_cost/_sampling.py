"""The probability with which a span was sampled, when it can be known (#17).

A head sampler keeps a share ``p`` of traces; each kept call then stands for ``1 / p`` calls (its
*adjusted count*), which is how ``otel-llm-cost report`` estimates fleet totals from a sample. Two
sources, most authoritative first:

- the OpenTelemetry tracestate threshold (``ot=th:<hex>``), set by consistent-probability samplers
  (the SDK's composable samplers, and upstream services that use them): ``p = 1 - th / 2**56``;
- the tracer's configured sampler: ``TraceIdRatioBased(rate)`` gives ``rate``; ``ParentBased`` its root
  sampler's, for traces that start in this process (a remote parent decided upstream, at a rate we
  cannot see); ``ALWAYS_ON`` gives 1.

``None`` means unknown: a custom sampler, or a remote parent without a threshold.
"""

from __future__ import annotations

from typing import Final

from opentelemetry.sdk.trace.sampling import Decision, ParentBased, StaticSampler, TraceIdRatioBased
from opentelemetry.trace import SpanContext

_THRESHOLD_DIGITS: Final = 14  # 56 bits, 4 per hex digit
_THRESHOLD_SCALE: Final = float(1 << 56)


def span_sampling_probability(
    sampler: object, context: SpanContext, parent: SpanContext | None
) -> float | None:
    """The probability with which the span of ``context`` (child of ``parent``) was kept."""
    from_threshold = threshold_probability(context.trace_state.get("ot") if context.trace_state else None)
    if from_threshold is not None:
        return from_threshold
    if isinstance(sampler, ParentBased):
        if parent is not None and parent.is_valid and parent.is_remote:
            return None
        sampler = sampler._root  # the SDK exposes no getter
    return sampler_probability(sampler)


def sampler_probability(sampler: object) -> float | None:
    """The share of traces a root sampler keeps, when its type says it."""
    if isinstance(sampler, TraceIdRatioBased):
        return float(sampler.rate)
    if isinstance(sampler, StaticSampler):
        return 1.0 if sampler._decision is Decision.RECORD_AND_SAMPLE else None
    if isinstance(sampler, ParentBased):
        return sampler_probability(sampler._root)
    return None


def threshold_probability(ot_value: str | None) -> float | None:
    """``p`` from the ``ot`` tracestate value's ``th:`` member (``"th:c"`` -> 0.25), else ``None``."""
    if not ot_value:
        return None
    for member in ot_value.split(";"):
        if member.startswith("th:"):
            digits = member[3:]
            if not 0 < len(digits) <= _THRESHOLD_DIGITS:
                return None
            try:
                threshold = int(digits.ljust(_THRESHOLD_DIGITS, "0"), 16)
            except ValueError:
                return None
            return 1.0 - threshold / _THRESHOLD_SCALE
    return None
