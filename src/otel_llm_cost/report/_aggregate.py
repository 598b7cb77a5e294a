"""Spans in, one :class:`~otel_llm_cost.report._result.Report` out, in constant memory.

Which spans are what:

- An **LLM call** reports token usage (``gen_ai.usage.*``) and is not an agent or tool operation
  (``invoke_agent``, ``create_agent``, ``execute_tool``); a span whose descendants were calls is a
  wrapper, not a call (see :mod:`._traces`).
- An **agent step** has ``llm_cost.span.type == "agent_step"`` or ``gen_ai.operation.name ==
  "invoke_agent"``; it is named by ``llm_cost.step.name``, else its span name.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, Final

from otel_llm_cost import attributes as attr
from otel_llm_cost._span_usage import SpanUsage, has_usage, read_span_usage
from otel_llm_cost.report._call_usage import read_call_usage
from otel_llm_cost.report._filters import Filters
from otel_llm_cost.report._labels import MAX_LABEL, clip_label, label
from otel_llm_cost.report._parts import PartTotals
from otel_llm_cost.report._read import ReadStats
from otel_llm_cost.report._result import Latency, Report
from otel_llm_cost.report._sampling import SampleEstimate
from otel_llm_cost.report._span import SpanRecord
from otel_llm_cost.report._stats import LogHistogram, Quantiles
from otel_llm_cost.report._steps import PHASES, Steps
from otel_llm_cost.report._timeline import Timeline
from otel_llm_cost.report._totals import NONE, Call, GroupTable, Totals
from otel_llm_cost.report._trace_model import CallRecord, SpanNode
from otel_llm_cost.report._traces import Traces

_OPERATION: Final = attr.GEN_AI_OPERATION_NAME
_SPAN_TYPE: Final = attr.LLM_COST_SPAN_TYPE
_STEP_NAME: Final = attr.LLM_COST_STEP_NAME
_AGENT_NAME: Final = attr.GEN_AI_AGENT_NAME
_ERROR_TYPE: Final = attr.ERROR_TYPE
_OUTPUT_RATE: Final = attr.LLM_COST_OUTPUT_TOKENS_PER_SECOND
_SAMPLING: Final = attr.LLM_COST_SAMPLING_PROBABILITY
_PHASE_NAMES: Final = tuple(name for name, _ in PHASES)
_NO_PHASES: Final = (None,) * len(PHASES)
_NOT_CALLS: Final = frozenset({"invoke_agent", "create_agent", "execute_tool"})
_PRICED: Final = frozenset({attr.COST_PRICED, attr.COST_ESTIMATED})
_MAX_UNPRICED: Final = 1000
# A recorded cost above this (USD, one call) is taken as corrupt: counted as unpriced, never summed.
MAX_CALL_COST: Final = Decimal(1_000_000)
# Below this a cost is zero for the report (keeps Decimal sums away from absurd exponents).
_MIN_COST_EXPONENT: Final = -18


class Aggregator:
    """Adds spans up; :meth:`report` turns the sums into a :class:`Report`."""

    def __init__(
        self, filters: Filters | None = None, by: Iterable[str] = (), top: int = 10, trace: str | None = None
    ) -> None:
        self.filters = filters or Filters()
        self._unfiltered = self.filters == Filters()  # every span kept: no per-span test
        self.totals = Totals()
        self.by_provider = GroupTable()
        self.by_model = GroupTable(latency=True)
        self.by = tuple(by)
        self.by_attribute = {name: GroupTable() for name in self.by}
        self.latency = Latency(Quantiles(), Quantiles(), Quantiles(), Quantiles())
        self.histogram = LogHistogram()
        self.timeline = Timeline()
        self.traces = Traces(self._count_call, top=top, pin=trace)
        self.steps = Steps()
        self.cost_status: dict[str, int] = {}
        self.unpriced: dict[tuple[str, str], int] = {}
        self.sampling = SampleEstimate()
        self.parts = PartTotals()

    def add(self, span: SpanRecord) -> None:
        """Take one span (its calls are counted when its trace closes)."""
        trace_id, span_id, parent_id, name, start_ns, end_ns, error, attributes, _ = span
        get = attributes.get
        operation = get(_OPERATION)
        span_type = get(_SPAN_TYPE)
        is_step = operation == "invoke_agent" or span_type == "agent_step"
        step = label(get(_STEP_NAME)) or (label(name) if is_step else None)
        agent = label(get(_AGENT_NAME))
        record = None
        if not is_step and operation not in _NOT_CALLS and has_usage(attributes):
            record = self._record(span)
        phases = step_phases(attributes) if is_step else None
        error = error or _ERROR_TYPE in attributes
        node = SpanNode(
            span_id, parent_id, name if len(name) <= MAX_LABEL else clip_label(name),
            _kind(operation, span_type), start_ns, end_ns, error, step, agent, record, phases,
        )  # fmt: skip
        self.traces.add(trace_id, node)
        if is_step and (self._unfiltered or self.filters.keeps_span(span)):
            self.steps.get(step or NONE).add(phases, max(end_ns - start_ns, 0) / 1e9, error, agent)

    def _record(self, span: SpanRecord) -> CallRecord | None:
        if not (self._unfiltered or self.filters.keeps_span(span)):
            return None
        attributes = span.attributes
        usage = read_call_usage(attributes)
        if usage is None:
            return None
        if not (self._unfiltered or self.filters.keeps_model(usage.model, _request_model(attributes))):
            return None
        call = call_figures(span, usage)
        status = usage.cost_status or "missing"
        if call.cost is None and status in _PRICED:
            status = "absurd"
        rate = finite(attributes.get(_OUTPUT_RATE))
        by_labels = tuple(_label(span, name) for name in self.by) if self.by else ()
        return CallRecord(
            call, clip_label(usage.provider), clip_label(usage.model), status, span.start_ns,
            ttft(attributes, call.duration), rate, by_labels, usage.response_id, span.trace_id,
            attributes.get(_SAMPLING), PartTotals.extract(attributes),
        )  # fmt: skip

    def _count_call(self, record: CallRecord) -> None:
        call = record.call
        self.totals.add(call)
        self.sampling.add_call(record.trace_id, record.sampling_probability, call.cost)
        if record.parts is not None:
            self.parts.add_extracted(record.parts)  # type: ignore[arg-type]
        self.by_provider.get(record.provider or NONE).add(call)
        self.by_model.get(record.model or NONE).add(call)
        if self.by:
            for table, value in zip(self.by_attribute.values(), record.by_labels, strict=True):
                table.get(value).add(call)
        self.cost_status[record.cost_status] = self.cost_status.get(record.cost_status, 0) + 1
        if call.cost is None:
            self._count_unpriced(record)
        self._count_latency(record)
        self.timeline.bucket(record.start_ns).add(call)

    def _count_latency(self, record: CallRecord) -> None:
        latency, call = self.latency, record.call
        latency.duration.add(call.duration)
        self.histogram.add(call.duration)
        generating = call.duration
        if record.ttft is not None:
            latency.ttft.add(record.ttft)
            generating = call.duration - record.ttft
            latency.generation.add(generating)
        if record.tokens_per_second is not None:
            latency.tokens_per_second.add(record.tokens_per_second)
        elif call.output_tokens and generating > 0:
            latency.tokens_per_second.add(call.output_tokens / generating)

    def _count_unpriced(self, record: CallRecord) -> None:
        key = (record.provider or NONE, record.model or NONE)
        if key in self.unpriced or len(self.unpriced) < _MAX_UNPRICED:
            self.unpriced[key] = self.unpriced.get(key, 0) + 1

    def report(self, stats: ReadStats) -> Report:
        """Close the traces still open and build the report."""
        self.traces.finish()
        stats.split_traces = self.traces.split
        return Report.build(self, stats)


def llm_usage(span: SpanRecord) -> SpanUsage | None:
    """The usage of an LLM call span; ``None`` for any other span (agent, tool, plain)."""
    attributes = span.attributes
    operation = attributes.get(attr.GEN_AI_OPERATION_NAME)
    if operation in _NOT_CALLS or attributes.get(attr.LLM_COST_SPAN_TYPE) == "agent_step":
        return None
    return read_span_usage(attributes) if has_usage(attributes) else None


def call_figures(span: SpanRecord, usage: SpanUsage) -> Call:
    """The figures of one call: tokens, cost (``None`` when unpriced or absurd), error, duration."""
    u = usage.usage
    if usage.cost_status is None:
        cost = usage.provider_cost
    else:
        cost = usage.cost_amount if usage.cost_status in _PRICED else None
    error = span.error or attr.ERROR_TYPE in span.attributes
    return Call(
        u.input_tokens,
        u.output_tokens,
        u.cache_read_tokens,
        u.cache_write_tokens,
        u.reasoning_tokens,
        sane_cost(cost),
        error,
        _seconds(span),
    )


def sane_cost(cost: Decimal | None) -> Decimal | None:
    """``cost`` if it is a plausible amount for one call; ``None`` if not; 0 for vanishing amounts."""
    if cost is None or not cost.is_finite() or not 0 <= cost <= MAX_CALL_COST:
        return None
    return cost if not cost or cost.adjusted() >= _MIN_COST_EXPONENT else Decimal(0)


def finite(value: object) -> float | None:
    """A JSON number as a finite float; ``None`` for anything else (bool, text, huge, NaN)."""
    if type(value) is not float and type(value) is not int:
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def step_phases(attributes: dict[str, Any]) -> tuple[float | None, ...] | None:
    """Seconds per phase of an agent step (see :data:`PHASES`); ``None`` when it recorded none."""
    values = tuple([None if value is None else finite(value) for value in map(attributes.get, _PHASE_NAMES)])
    return None if values == _NO_PHASES else values


def _kind(operation: object, span_type: object) -> str:
    if span_type == "agent_step":  # our steps also say invoke_agent: the step is the finer fact
        return "step"
    if operation in ("invoke_agent", "create_agent"):
        return "agent"
    if operation == "execute_tool" or span_type == "tool":
        return "tool"
    return "span"


def ttft(attributes: dict[str, Any], duration: float) -> float | None:
    """``gen_ai.response.time_to_first_chunk`` when it is a plausible number of seconds."""
    value = attributes.get(attr.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK)
    if (type(value) is float or type(value) is int) and 0 <= value <= duration:
        return value
    return None


def _seconds(span: SpanRecord) -> float:
    return max(span.end_ns - span.start_ns, 0) / 1e9


def _request_model(attributes: dict[str, Any]) -> str | None:
    model = attributes.get(attr.GEN_AI_REQUEST_MODEL)
    return model if isinstance(model, str) else None


def _label(span: SpanRecord, name: str) -> str:
    value = span.attributes.get(name)
    if value is None:
        value = span.resource.get(name)
    return label(value) or NONE
