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


def span_sampling_probability(sampler: object, context: SpanContext, span: object) -> float | None:
    """The probability with which ``span`` (of ``context``) was kept; run once per LLM call."""
    trace_state = context.trace_state
    if trace_state:
        from_threshold = threshold_probability(trace_state.get("ot"))
        if from_threshold is not None:
            return from_threshold
    parent_based, probability = _describe(sampler)
    if parent_based:
        parent = getattr(span, "parent", None)
        if parent is not None and parent.is_valid and parent.is_remote:
            return None  # decided upstream, at a rate we cannot see
    return probability


# id(sampler) -> (sampler, is ParentBased, its root's probability): samplers are few and live long, and
# the isinstance checks against the SDK's abstract classes cost more than the rest of this module.
_described: dict[int, tuple[object, bool, float | None]] = {}
_MAX_DESCRIBED: Final = 64


def _describe(sampler: object) -> tuple[bool, float | None]:
    found = _described.get(id(sampler))
    if found is not None and found[0] is sampler:
        return found[1], found[2]
    parent_based = isinstance(sampler, ParentBased)
    probability = sampler_probability(sampler)
    if len(_described) >= _MAX_DESCRIBED:
        _described.clear()
    _described[id(sampler)] = (sampler, parent_based, probability)
    return parent_based, probability


# (sampler, whether its decision may depend on a span's attributes): the last sampler asked about.
_attribute_blind: tuple[object, bool] = (None, False)


def decides_without_attributes(sampler: object) -> bool:
    """Whether ``sampler``'s decision never reads the span's attributes (#20).

    True for the SDK's ``ALWAYS_ON`` / ``ALWAYS_OFF``, ``TraceIdRatioBased`` and ``ParentBased`` over those
    (the default ``ParentBased(ALWAYS_ON)``), and their subclasses that keep the SDK's ``should_sample``:
    judged by the method a type runs, not by its name. Anything else (a custom sampler, a subclass that
    overrides ``should_sample``, no sampler known) may read them: ``False``.
    """
    global _attribute_blind
    last, blind = _attribute_blind
    if last is sampler and sampler is not None:
        return blind
    blind = _blind(sampler, depth=0)
    _attribute_blind = (sampler, blind)
    return blind


def _blind(sampler: object, depth: int) -> bool:
    method = getattr(type(sampler), "should_sample", None)
    if method is StaticSampler.should_sample or method is TraceIdRatioBased.should_sample:
        return True
    if method is not ParentBased.should_sample or depth > 4:
        return False
    delegates = (
        getattr(sampler, name, None)
        for name in (
            "_root", "_remote_parent_sampled", "_remote_parent_not_sampled",
            "_local_parent_sampled", "_local_parent_not_sampled",
        )
    )  # fmt: skip
    return all(_blind(delegate, depth + 1) for delegate in delegates)


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
