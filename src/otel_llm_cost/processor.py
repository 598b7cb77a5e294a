"""A span processor that prices every LLM span, whoever made it, and rolls cost up to its ancestors.

Register it on the ``TracerProvider`` next to your exporting processors; the order does not matter::

    provider = TracerProvider()
    provider.add_span_processor(LLMCostSpanProcessor())
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))

**Pricing.** An ending span that reports ``gen_ai.usage.*`` tokens but no ``llm_cost.cost.status`` was
made by another instrumentation (OpenTelemetry's official GenAI instrumentations, OpenLLMetry,
anthropic's native tracing...). Its usage, model and provider are read under its producer's naming
(see :mod:`otel_llm_cost._span_usage`), priced at the span's start time, and the cost attributes are
added. Spans our own instrumentation made carry their cost already and are not priced again.

**Roll-up.** Every span with LLM calls below it gets, at its own end, the ``llm_cost.total.*``
attributes: cost (USD, priced calls only), input / output / cache read / cache write / reasoning
tokens, number of LLM calls and of unpriced calls. Each LLM call is counted once, by this rule:

    A span that reports usage and has *no* descendant that reported usage (before it ended) is an
    LLM call: it contributes its own figures. A span whose descendants reported usage contributes
    exactly what they did, even if it reports usage itself: such a span is a wrapper (an agent
    invocation summing its model calls, say) and its own figures are a summary, not another call.
    Wrappers are therefore neither priced nor passed to ``on_llm_span``.

Two instrumentations of the same SDK call may also make *sibling* spans (OpenLLMetry's Anthropic
span and anthropic's native span both sit under the caller's span). Within a trace, an LLM span whose
``gen_ai.response.id`` was counted already is priced (its attributes describe the call) but neither
rolled up nor passed to ``on_llm_span`` again.

A local root (no parent, or a remote one) that is not a step is tracked only once a span starts below
it: most are lone LLM calls, with nothing to roll up and nowhere to hand it, and they then cost the
roll-up nothing (see :mod:`otel_llm_cost._rollup` on adoption).

Figures reach the ancestors that are still open when the call (or the span holding it) ends; an
ancestor that ended first is skipped, and the figures go on to the next open one. Each trace's state
is dropped when its last local root ends, after ``trace_timeout`` seconds, or never created past
``max_tracked_spans`` open spans.

**Phases.** A step span (``llm_cost.span.type`` = ``agent_step`` or ``agent_run``, or
``gen_ai.operation.name`` = ``invoke_agent``, known at its start) collects the clock intervals of the
LLM calls and tool spans (``execute_tool``) below it; at its end it gets the five
``llm_cost.phase.*`` attributes of :mod:`otel_llm_cost.phases`, which add up to its duration, and
they are recorded in the phase histogram when the processor has metrics. Each LLM span gets
``llm_cost.phase.generation`` (from its first chunk, or its start when it was not streamed, to its
end) and ``llm_cost.output_tokens_per_second`` (output tokens over that time). A call's first chunk
is its start plus ``gen_ai.response.time_to_first_chunk``.

**How attributes are added.** The SDK freezes a span's attributes in ``Span.end()`` before it calls
any processor, so ``set_attribute`` in a processor is a logged no-op. ``Span.end()`` then calls every
processor's ``_on_ending(span)`` (SDK 1.40+) and only after that builds the ``ReadableSpan`` handed
to every ``on_end`` from ``span._attributes``. This processor does its work in ``_on_ending`` and
swaps in a new frozen attribute set there (:func:`_add_frozen_attributes`), so every exporter sees it
whatever the processor order. ``tests/test_processor_canary.py`` fails if an SDK upgrade changes that.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.trace import SpanProcessor

from otel_llm_cost import attributes as attr
from otel_llm_cost._log import get_logger, log_once
from otel_llm_cost._rollup import Node, SpanTree, Totals
from otel_llm_cost._span_timing import activity_of, call_timing, is_step, phase_attributes, step_phases
from otel_llm_cost._span_usage import SpanUsage, handed_over, read_span_usage
from otel_llm_cost.pricing import Cost, cost_attributes, get_pricer
from otel_llm_cost.usage import Usage

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.sdk.trace import ReadableSpan, Span
    from opentelemetry.util.types import AttributeValue

    from otel_llm_cost.metrics import LLMMetrics


__all__ = ["LLMCall", "LLMCostSpanProcessor", "OnLLMSpan"]

logger = get_logger(__name__)

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class LLMCall:
    """One priced LLM call, as handed to ``on_llm_span`` callbacks.

    Attributes:
        usage: Token counts, inclusive convention.
        model: The model the span names (response model first).
        provider: ``gen_ai.provider.name`` (or ``gen_ai.system``), lower-cased.
        status: ``"priced"``, ``"unpriced"`` or ``"estimated"``.
        amount: Cost in USD, ``None`` when unpriced.
        cost: The pricing engine's full answer when this processor priced the span; ``None`` when the
            span arrived priced (by our instrumentation) and only its attributes are known.
    """

    usage: Usage
    model: str | None
    provider: str | None
    status: str
    amount: Decimal | None
    cost: Cost | None = None


OnLLMSpan = Callable[["ReadableSpan", LLMCall], None]
"""Called once per LLM span at its end (wrappers excluded); must be cheap and must not block."""


class _Pricer(Protocol):
    def price(
        self,
        usage: Usage,
        model: str | None,
        provider: str | None,
        *,
        at: datetime | None = ...,
        service_tier: str | None = ...,
        provider_cost: Decimal | None = ...,
    ) -> Cost: ...


class LLMCostSpanProcessor(SpanProcessor):
    """Prices LLM spans made by any instrumentation and adds ``llm_cost.total.*`` to their ancestors.

    Never raises into the application and never blocks on I/O.

    Args:
        pricer: The pricing engine; default :func:`otel_llm_cost.pricing.get_pricer`.
        on_llm_span: Called with each LLM span and its :class:`LLMCall` (for metrics); default none.
        metrics: Where step phases are recorded (:func:`otel_llm_cost.metrics.get_metrics`); default none.
        trace_timeout: Seconds after which the roll-up state of a trace whose root never ended is dropped.
        max_tracked_spans: Most open spans tracked for roll-ups at once.
        clock: Monotonic seconds for the timeout; replaceable in tests.
    """

    def __init__(
        self,
        pricer: _Pricer | None = None,
        *,
        on_llm_span: OnLLMSpan | None = None,
        metrics: LLMMetrics | None = None,
        trace_timeout: float = 1800.0,
        max_tracked_spans: int = 100_000,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._pricer: _Pricer = pricer if pricer is not None else get_pricer()
        self._on_llm_span = on_llm_span
        self.metrics = metrics
        tree_options: dict[str, Any] = {"trace_timeout": trace_timeout, "max_spans": max_tracked_spans}
        if clock is not None:
            tree_options["clock"] = clock
        self._tree = SpanTree(**tree_options)
        self._shut_down = False
        self._saw_on_ending = False

    @property
    def tracked_spans(self) -> int:
        """How many open spans the roll-up tracks now (for tests and diagnostics)."""
        return self._tree.tracked_spans

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if self._shut_down:
            return
        try:
            context = span.get_span_context()
            parent = span.parent
            attributes = getattr(getattr(span, "_attributes", None), "_dict", None)  # as _attribute_dict
            step = is_step(attributes if type(attributes) is dict else _snapshot(span.attributes))
            if (parent is None or parent.is_remote) and not step:
                self._tree.note_root(context.trace_id, context.span_id)  # tracked if a span starts below
                return
            self._tree.start(context.trace_id, context.span_id, parent.span_id if parent else None, step)
        except Exception:
            log_once("processor.on_start", "LLM cost processor failed on a span start", exc_info=True)

    def _on_ending(self, span: Span) -> None:
        self._saw_on_ending = True
        if self._shut_down:
            logger.debug("LLM cost processor is shut down; span %r left as is", span.name)
            return
        try:
            self._finish(span, writable=True)
        except Exception:
            log_once("processor.on_ending", "LLM cost processor failed on an ending span", exc_info=True)

    def on_end(self, span: ReadableSpan) -> None:
        # Normally everything happened in _on_ending. A wrapper that does not forward it leaves
        # this call: keep roll-ups and callbacks going, without attributes (the span is final).
        if self._saw_on_ending or self._shut_down:
            return
        log_once(
            "processor.no_on_ending",
            "LLM cost processor is not receiving _on_ending (SDK older than 1.40, or a wrapping "
            "processor that does not forward it); cost attributes will be missing from spans",
        )
        try:
            self._finish(span, writable=False)
        except Exception:
            log_once("processor.on_end", "LLM cost processor failed on an ended span", exc_info=True)

    def shutdown(self) -> None:
        self._shut_down = True
        self._tree.clear()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True  # nothing buffered: all work is done synchronously at span end

    def _finish(self, span: ReadableSpan, *, writable: bool) -> None:
        context = span.get_span_context()
        parent = span.parent
        gathered, up, activity = self._tree.end_step(
            context.trace_id, context.span_id, parent.span_id if parent else None
        )
        attributes = _attribute_dict(span)
        added: dict[str, AttributeValue] = {}
        if activity is not None:
            added.update(self._phases(span, attributes, activity))
        if gathered is not None:
            added.update(_totals_attributes(gathered))
            self._note_activity(span, attributes, up, is_call=False, wrapper=True)
        else:
            self._finish_call(span, attributes, up, added)
        if added and writable:
            _add_frozen_attributes(span, added)

    def _finish_call(
        self,
        span: ReadableSpan,
        attributes: Mapping[str, object],
        up: Node | None,
        added: dict[str, AttributeValue],
    ) -> None:
        """A span with no usage below it: price it and hand it up if it is an LLM call."""
        found = handed_over(span) or read_span_usage(attributes)  # ours come with their figures
        if up is not None:
            self._note_activity(span, attributes, up, is_call=found is not None)
        if found is None:
            return
        if found.cost_status is not None:  # priced already (by our instrumentation): read back
            status, amount, cost = found.cost_status, found.cost_amount, None
        else:
            status, amount, cost, priced = self._cost_of(found, span.start_time)
            added.update(priced)
        if attr.LLM_COST_PHASE_GENERATION not in attributes:  # ours set it before the end
            start, end = span.start_time, span.end_time
            if start is not None and end is not None:
                added.update(call_timing(start, end, attributes, found.usage.output_tokens))
        if up is None:  # nothing above it is tracked: no ancestor to hand the call to
            first = True
        else:
            times = (span.start_time, span.end_time) if span.start_time and span.end_time else None
            parts = found.cost_parts if cost is None else cost.parts
            totals = _totals_of(found.usage, status, amount, parts)
            first = self._tree.add_call(up, totals, found.response_id, times)
        if first and self._on_llm_span is not None:
            call = LLMCall(found.usage, found.model, found.provider, status, amount, cost)
            _notify(self._on_llm_span, span, call)

    def _note_activity(
        self,
        span: ReadableSpan,
        attributes: Mapping[str, object],
        up: Node | None,
        *,
        is_call: bool,
        wrapper: bool = False,
    ) -> None:
        """Hand an LLM call's or tool's interval to the steps above it (for their phases)."""
        if up is None or span.start_time is None or span.end_time is None:
            return
        interval = activity_of(span.start_time, span.end_time, attributes, is_call=is_call, wrapper=wrapper)
        if interval is not None:
            self._tree.add_interval(up, interval)

    def _phases(
        self, span: ReadableSpan, attributes: Mapping[str, object], activity: Iterable[object]
    ) -> dict[str, float]:
        if span.start_time is None or span.end_time is None:
            return {}
        seconds = step_phases(span.start_time, span.end_time, activity)
        if self.metrics is not None:
            agent, step = attributes.get(attr.GEN_AI_AGENT_NAME), attributes.get(attr.LLM_COST_STEP_NAME)
            self.metrics.record_phases(
                seconds, agent if isinstance(agent, str) else None, step if isinstance(step, str) else None
            )
        return phase_attributes(seconds)

    def _cost_of(
        self, found: SpanUsage, start_time: int | None
    ) -> tuple[str, Decimal | None, Cost | None, Mapping[str, AttributeValue]]:
        """The call's status, amount and full cost, priced now, and the attributes to add."""
        at = datetime.fromtimestamp(start_time / 1e9, UTC) if start_time else None
        try:
            cost = self._pricer.price(
                found.usage,
                found.model,
                found.provider,
                at=at,
                service_tier=found.service_tier,
                provider_cost=found.provider_cost,
            )
            added = cost_attributes(cost)
        except Exception:
            log_once("processor.price", "pricing an LLM span failed; counted as unpriced", exc_info=True)
            return attr.COST_UNPRICED, None, None, {}
        return cost.status, cost.amount, cost, added


def _notify(callback: OnLLMSpan, span: ReadableSpan, call: LLMCall) -> None:
    try:
        callback(span, call)
    except Exception:
        log_once("processor.callback", "an on_llm_span callback raised", exc_info=True)


def _totals_of(
    usage: Usage, status: str, amount: Decimal | None, parts: tuple[tuple[str, Decimal], ...] = ()
) -> Totals:
    priced = amount is not None and status != attr.COST_UNPRICED
    return Totals(
        amount if priced and amount is not None else _ZERO,
        usage.input_tokens,
        usage.output_tokens,
        usage.cache_read_tokens,
        usage.cache_write_tokens,
        usage.reasoning_tokens,
        1,
        0 if priced else 1,
        status == attr.COST_PARTIAL,
        dict(parts) if parts and priced else None,
    )


def _totals_attributes(totals: Totals) -> dict[str, AttributeValue]:
    attributes = _base_totals_attributes(totals)
    if totals.partial_calls:
        attributes[attr.LLM_COST_TOTAL_PARTIAL_CALLS] = totals.partial_calls
    for part, cost in (totals.parts or {}).items():
        attributes[attr.LLM_COST_TOTAL_COST_BY_PART_PREFIX + part] = float(cost)
    return attributes


def _base_totals_attributes(totals: Totals) -> dict[str, AttributeValue]:
    return {
        attr.LLM_COST_TOTAL_COST: float(totals.cost),
        attr.LLM_COST_TOTAL_LLM_CALLS: totals.calls,
        attr.LLM_COST_TOTAL_UNPRICED_CALLS: totals.unpriced_calls,
        attr.LLM_COST_TOTAL_INPUT_TOKENS: totals.input_tokens,
        attr.LLM_COST_TOTAL_OUTPUT_TOKENS: totals.output_tokens,
        attr.LLM_COST_TOTAL_CACHE_READ_TOKENS: totals.cache_read_tokens,
        attr.LLM_COST_TOTAL_CACHE_WRITE_TOKENS: totals.cache_write_tokens,
        attr.LLM_COST_TOTAL_REASONING_TOKENS: totals.reasoning_tokens,
    }


def _attribute_dict(span: ReadableSpan) -> Mapping[str, object]:
    """The span's attributes as a plain dict, to read: the SDK's own (``BoundedAttributes._dict``) where
    it has one, else a copy. Plain-dict lookups run at C speed; the SDK mapping's miss raises a KeyError."""
    found = getattr(getattr(span, "_attributes", None), "_dict", None)
    return found if type(found) is dict else _snapshot(span.attributes)


def _snapshot(attributes: Mapping[str, object] | None) -> Mapping[str, object]:
    """A plain dict of the span's attributes: C-speed lookups instead of the SDK mapping's."""
    if not attributes:
        return {}
    copy = getattr(attributes, "copy", None)  # MappingProxyType over BoundedAttributes -> dict
    snapshot = copy() if copy is not None else None
    return snapshot if isinstance(snapshot, dict) else dict(attributes)


def _add_frozen_attributes(span: ReadableSpan, extra: Mapping[str, AttributeValue]) -> bool:
    """Add ``extra`` to an ending span's frozen attributes; what every later ``on_end`` will see.

    Relies on SDK internals (``Span._attributes``, replaced whole, and ``BoundedAttributes._dict``;
    see the module docstring), all kept to this one function. Respects the span's limits: string
    values are cut to ``max_value_len``, and when the attribute count limit is reached the extra keys
    that do not fit are dropped (counted in ``dropped_attributes``) rather than evicting the
    producer's own.

    Returns:
        Whether the attributes were replaced.
    """
    current = getattr(span, "_attributes", None)
    if not isinstance(current, BoundedAttributes):
        log_once("processor.attributes", "span attributes are not the SDK's; cost attributes not added")
        return False
    # The span's values were cleaned by the SDK already, and ours are plain str / int / float: copying
    # them straight in avoids the SDK's per-value cleaning, which would be most of this call's cost.
    values = current.copy()
    room = None if current.maxlen is None else current.maxlen - len(values)
    limit = current.max_value_len
    refused = 0
    for key, value in extra.items():
        if key not in values:
            if room is not None and room <= 0:
                refused += 1
                continue
            if room is not None:
                room -= 1
        if limit is not None and isinstance(value, str):
            value = value[:limit]
        values[key] = value
    if refused:
        log_once(
            "processor.attribute_limit", "span attribute limit reached; %d cost attributes dropped", refused
        )
    replaced = BoundedAttributes(current.maxlen, None, immutable=True, max_value_len=limit)
    replaced._dict = values
    replaced.dropped = current.dropped + refused
    span._attributes = replaced  # type: ignore[attr-defined]
    return True
