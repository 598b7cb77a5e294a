"""Spans in, one :class:`~otel_llm_cost.report._result.Report` out, in constant memory.

Which spans are what:

- An **LLM call** reports token usage (``gen_ai.usage.*``) and is not an agent or tool operation
  (``invoke_agent``, ``create_agent``, ``execute_tool``); a span whose descendants were calls is a
  wrapper, not a call (see :mod:`._traces`).
- An **agent step** has ``llm_cost.span.type == "agent_step"`` or ``gen_ai.operation.name ==
  "invoke_agent"``; it is named by ``llm_cost.step.name``, else its span name.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from otel_llm_cost import attributes as attr
from otel_llm_cost._span_usage import SpanUsage, has_usage, read_span_usage
from otel_llm_cost.report._filters import Filters
from otel_llm_cost.report._parts import PartTotals
from otel_llm_cost.report._read import ReadStats
from otel_llm_cost.report._result import Latency, Report
from otel_llm_cost.report._sampling import SampleEstimate
from otel_llm_cost.report._span import SpanRecord
from otel_llm_cost.report._stats import LogHistogram, Quantiles
from otel_llm_cost.report._steps import Steps
from otel_llm_cost.report._timeline import Timeline
from otel_llm_cost.report._totals import NONE, Call, GroupTable, Totals
from otel_llm_cost.report._traces import Traces

_NOT_CALLS: Final = frozenset({"invoke_agent", "create_agent", "execute_tool"})
_PRICED: Final = frozenset({attr.COST_PRICED, attr.COST_ESTIMATED})
_MAX_UNPRICED: Final = 1000


class Aggregator:
    """Adds spans up; :meth:`report` turns the sums into a :class:`Report`."""

    def __init__(self, filters: Filters | None = None, by: Iterable[str] = (), top: int = 10) -> None:
        self.filters = filters or Filters()
        self.totals = Totals()
        self.by_provider = GroupTable()
        self.by_model = GroupTable(latency=True)
        self.by_attribute = {name: GroupTable() for name in by}
        self.latency = Latency(Quantiles(), Quantiles(), Quantiles(), Quantiles())
        self.histogram = LogHistogram()
        self.timeline = Timeline()
        self.traces = Traces(top=top)
        self.steps = Steps()
        self.cost_status: dict[str, int] = {}
        self.unpriced: dict[tuple[str, str], int] = {}
        self.sampling = SampleEstimate()
        self.parts = PartTotals()

    def add(self, span: SpanRecord) -> None:
        """Count one span."""
        attributes = span.attributes
        operation = attributes.get(attr.GEN_AI_OPERATION_NAME)
        is_step = operation == "invoke_agent" or attributes.get(attr.LLM_COST_SPAN_TYPE) == "agent_step"
        step = attributes.get(attr.LLM_COST_STEP_NAME) or (span.name if is_step else None)
        agent = attributes.get(attr.GEN_AI_AGENT_NAME) or None
        labels = (str(step) if step else None, str(agent) if agent else None)
        usage = None
        if not is_step and operation not in _NOT_CALLS and has_usage(attributes):
            usage = read_span_usage(attributes) if self.filters.keeps_span(span) else None
            if usage is not None and not self.filters.keeps_model(usage.model, _request_model(attributes)):
                usage = None
        call = call_figures(span, usage) if usage is not None else None
        response_id = usage.response_id if usage is not None else None
        if self.traces.add(span, labels, call, response_id):
            assert call is not None and usage is not None
            self._count_call(span, usage, call)
        if is_step and self.filters.keeps_span(span):
            error = span.error or attr.ERROR_TYPE in attributes
            self.steps.get(labels[0] or NONE).add(attributes, _seconds(span), error, labels[1])

    def _count_call(self, span: SpanRecord, usage: SpanUsage, call: Call) -> None:
        self.totals.add(call)
        self.sampling.add(span.trace_id, span.attributes, call.cost)
        self.parts.add(span.attributes)
        self.by_provider.get(usage.provider or NONE).add(call)
        self.by_model.get(usage.model or NONE).add(call)
        for name, table in self.by_attribute.items():
            table.get(_label(span, name)).add(call)
        status = usage.cost_status or "missing"
        self.cost_status[status] = self.cost_status.get(status, 0) + 1
        if call.cost is None:
            self._count_unpriced(usage)
        self._count_latency(span.attributes, call)
        bucket = self.timeline.bucket(span.start_ns)
        bucket.calls += 1
        bucket.errors += call.error
        bucket.input_tokens += call.input_tokens
        bucket.output_tokens += call.output_tokens
        if call.cost is not None:
            bucket.cost += call.cost
        bucket.durations.add(call.duration)

    def _count_latency(self, attributes: dict[str, Any], call: Call) -> None:
        latency = self.latency
        latency.duration.add(call.duration)
        self.histogram.add(call.duration)
        first = ttft(attributes, call.duration)
        generating = call.duration
        if first is not None:
            latency.ttft.add(first)
            generating = call.duration - first
            latency.generation.add(generating)
        rate = attributes.get(attr.LLM_COST_OUTPUT_TOKENS_PER_SECOND)
        if type(rate) is float or type(rate) is int:
            latency.tokens_per_second.add(rate)
        elif call.output_tokens and generating > 0:
            latency.tokens_per_second.add(call.output_tokens / generating)

    def _count_unpriced(self, usage: SpanUsage) -> None:
        key = (usage.provider or NONE, usage.model or NONE)
        if key in self.unpriced or len(self.unpriced) < _MAX_UNPRICED:
            self.unpriced[key] = self.unpriced.get(key, 0) + 1

    def report(self, stats: ReadStats) -> Report:
        """Settle what is still in flight and build the report."""
        self.traces.finish()
        return Report.build(self, stats)


def llm_usage(span: SpanRecord) -> SpanUsage | None:
    """The usage of an LLM call span; ``None`` for any other span (agent, tool, plain)."""
    attributes = span.attributes
    operation = attributes.get(attr.GEN_AI_OPERATION_NAME)
    if operation in _NOT_CALLS or attributes.get(attr.LLM_COST_SPAN_TYPE) == "agent_step":
        return None
    return read_span_usage(attributes) if has_usage(attributes) else None


def call_figures(span: SpanRecord, usage: SpanUsage) -> Call:
    """The figures of one call: tokens, cost (``None`` when unpriced), error, duration."""
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
        cost,
        error,
        _seconds(span),
    )


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
    if value is None or value == "":
        return NONE
    return value if isinstance(value, str) else str(value)
