"""A one-screen summary of the LLM calls a process made, printed when its tracer provider shuts down.

``SummarySpanProcessor`` counts every call our instrumentation (or ``llm_call``) makes, sampled or not,
as the metrics do (#17): a head sampler that keeps 5% of traces must not shrink the summary to 5%. Spans
of other producers, which only reach it when sampled, are added from their ending span (one the cost
processor priced: it has ``llm_cost.cost.status``). The SDK shuts the provider down at exit, and
``shutdown()`` prints::

    otel-llm-cost: 4 LLM calls, 2,310 input tokens (1,024 cache read), 412 output tokens, $0.004210
      model                              calls      input     output     cost USD
      gpt-4o-mini                            3      1,286        300     0.000373
      claude-sonnet-4-5                      1      1,024        112     0.003837
      spans: otel-llm-cost-spans.jsonl (otel-llm-cost report otel-llm-cost-spans.jsonl)
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from opentelemetry.sdk.trace import SpanProcessor

from otel_llm_cost import attributes as attr
from otel_llm_cost._fork import reinit_locks_after_fork
from otel_llm_cost._log import log_once
from otel_llm_cost._numbers import read_cost
from otel_llm_cost._span_usage import handed_over

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan

    from otel_llm_cost.instrumentation._invocation import LLMInvocation
    from otel_llm_cost.pricing import Cost
    from otel_llm_cost.usage import Usage

__all__ = ["CallSummary", "ModelLine", "SummarySpanProcessor"]

_MAX_MODELS = 10  # lines printed
_MAX_TRACKED_MODELS = 1000  # lines kept (model names are untrusted)
_OTHER = "_other"
_MAX_RESPONSE_IDS = 100_000


@dataclass(slots=True)
class ModelLine:
    """Totals of one model's calls."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cost: Decimal = Decimal(0)
    unpriced: int = 0
    partial: int = 0


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


class CallSummary:
    """Per-model totals of LLM spans; thread-safe, one small update per LLM span."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        reinit_locks_after_fork(self, "_lock")
        self._models: dict[str, ModelLine] = {}
        self._seen: set[tuple[int, str]] = set()

    def add(self, span: ReadableSpan) -> None:
        """Count ``span`` if it is a priced (or unpriceable) LLM call not counted yet."""
        attributes = span.attributes or {}
        status = attributes.get(attr.LLM_COST_COST_STATUS)
        if status is None:
            return
        model = str(
            attributes.get(attr.GEN_AI_RESPONSE_MODEL) or attributes.get(attr.GEN_AI_REQUEST_MODEL) or "?"
        )
        amount = attributes.get(attr.GEN_AI_USAGE_COST_AMOUNT)
        with self._lock:
            if not self._first_sighting(span, attributes.get(attr.GEN_AI_RESPONSE_ID)):
                return
            line = self._line(model)
            line.calls += 1
            line.input_tokens += _int(attributes.get(attr.GEN_AI_USAGE_INPUT_TOKENS))
            line.output_tokens += _int(attributes.get(attr.GEN_AI_USAGE_OUTPUT_TOKENS))
            line.cache_read_tokens += _int(attributes.get(attr.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS))
            cost = read_cost(amount) if status != attr.COST_UNPRICED else None
            if cost is not None:
                line.cost += cost
                line.partial += status == attr.COST_PARTIAL
            else:
                line.unpriced += 1

    def add_call(
        self, model: str | None, usage: Usage | None, cost: Cost | None, seen: tuple[int, str] | None = None
    ) -> None:
        """Count one finished call of our instrumentation (recorded or not); ``seen``, its (trace id,
        response id), keeps another producer's span of the same call from counting again."""
        with self._lock:
            if seen is not None and len(self._seen) < _MAX_RESPONSE_IDS:
                self._seen.add(seen)
            line = self._line(model or "?")
            line.calls += 1
            if usage is not None:
                line.input_tokens += usage.input_tokens
                line.output_tokens += usage.output_tokens
                line.cache_read_tokens += usage.cache_read_tokens
            if cost is not None and cost.amount is not None:
                line.cost += cost.amount
                line.partial += cost.status == attr.COST_PARTIAL
            else:
                line.unpriced += 1

    def _line(self, model: str) -> ModelLine:
        """The line of ``model`` (called under the lock). Model names are untrusted: past the cap, later
        ones share one line."""
        line = self._models.get(model)
        if line is None:
            if len(self._models) >= _MAX_TRACKED_MODELS:
                model = _OTHER
            line = self._models.get(model)
            if line is None:
                line = self._models[model] = ModelLine()
        return line

    def _first_sighting(self, span: ReadableSpan, response_id: Any) -> bool:
        # Two instrumentations of one SDK call make two priced spans with one response id: count once.
        context = span.get_span_context()
        if not response_id or context is None or len(self._seen) >= _MAX_RESPONSE_IDS:
            return True
        key = (context.trace_id, str(response_id))
        if key in self._seen:
            return False
        self._seen.add(key)
        return True

    def models(self) -> dict[str, ModelLine]:
        """A copy of the per-model totals, most expensive first."""
        with self._lock:
            lines = {name: ModelLine(**_fields(line)) for name, line in self._models.items()}
        return dict(sorted(lines.items(), key=lambda item: (-item[1].cost, -item[1].calls, item[0])))

    def render(self, jsonl_path: Path | None = None) -> str:
        """The summary text (empty when no LLM call was seen)."""
        models = self.models()
        if not models:
            return ""
        total = ModelLine()
        for line in models.values():
            for name, value in _fields(line).items():
                setattr(total, name, getattr(total, name) + value)
        head = (
            f"otel-llm-cost: {total.calls:,} LLM call{'s' if total.calls != 1 else ''}, "
            f"{total.input_tokens:,} input tokens ({total.cache_read_tokens:,} cache read), "
            f"{total.output_tokens:,} output tokens, ${total.cost:.6f}"
        )
        rows = [head, f"  {'model':<32} {'calls':>7} {'input':>10} {'output':>10} {'cost USD':>12}"]
        shown = list(models.items())[:_MAX_MODELS]
        rows += [_row(name, line) for name, line in shown]
        if len(models) > len(shown):
            rows.append(f"  ... {len(models) - len(shown)} more models")
        if total.unpriced:
            rows.append(f"  {total.unpriced} call(s) could not be priced (unknown model): no cost counted")
        if total.partial:
            rows.append(
                f"  {total.partial} call(s) partly priced: a billed unit had no price "
                "(llm_cost.cost.unpriced_units on their spans)"
            )
        if jsonl_path is not None:
            rows.append(f"  spans: {jsonl_path} (otel-llm-cost report {jsonl_path})")
        return "\n".join(rows)


def _fields(line: ModelLine) -> dict[str, Any]:
    return {name: getattr(line, name) for name in ModelLine.__slots__}


def _row(name: str, line: ModelLine) -> str:
    cost = f"{line.cost:.6f}" if line.calls > line.unpriced else "unpriced"
    shown = name if len(name) <= 32 else name[:31] + "…"
    return f"  {shown:<32} {line.calls:>7,} {line.input_tokens:>10,} {line.output_tokens:>10,} {cost:>12}"


class SummarySpanProcessor(SpanProcessor):
    """Collects LLM spans into a :class:`CallSummary` and prints it once, at shutdown.

    Args:
        stream: Where to print; default ``sys.stderr`` (looked up at shutdown).
        jsonl_path: The JSONL file to point at in the last line, if spans also go there.
    """

    def __init__(self, stream: IO[str] | None = None, *, jsonl_path: Path | None = None) -> None:
        from otel_llm_cost.instrumentation._invocation import add_invocation_listener

        self.summary = CallSummary()
        self._stream = stream
        self._jsonl_path = jsonl_path
        self._printed = False
        # Span ids of our sampled calls, counted by _on_call before their span ends: on_end skips them.
        self._ours: set[int] = set()
        add_invocation_listener(self._on_call, before_end=True)

    def _on_call(
        self, invocation: LLMInvocation, usage: Usage | None, cost: Cost | None, error: BaseException | None
    ) -> None:
        if self._printed or not self._serves(invocation):
            return
        try:
            context = invocation.span.get_span_context()
            found = handed_over(invocation.span)
            seen = None
            if found is not None and found.response_id:
                seen = (context.trace_id, found.response_id)
            if context.trace_flags.sampled:
                if len(self._ours) >= _MAX_RESPONSE_IDS:  # spans of another provider never reach on_end
                    self._ours.clear()
                self._ours.add(context.span_id)
            self.summary.add_call(invocation.response_model or invocation.request_model, usage, cost, seen)
        except Exception:
            log_once("summary.add_call", "otel-llm-cost: could not add a call to the summary", exc_info=True)

    def _serves(self, invocation: LLMInvocation) -> bool:
        """Whether the call's tracer belongs to the provider this processor is attached to.

        Read from the SDK tracer's (private) processor list: a call made through another provider, or
        with no SDK provider at all, is not this summary's. Sampled or not, the tracer is the same.
        """
        processors = getattr(getattr(invocation.tracer, "span_processor", None), "_span_processors", ())
        return any(processor is self for processor in processors)

    def on_end(self, span: ReadableSpan) -> None:
        context = span.get_span_context()
        if context is not None and context.span_id in self._ours:
            self._ours.discard(context.span_id)
            return  # our instrumentation's call: counted by _on_call, sampled or not
        try:
            self.summary.add(span)
        except Exception:
            log_once("summary.add", "otel-llm-cost: could not add a span to the summary", exc_info=True)

    def shutdown(self) -> None:
        if self._printed:
            return
        self._printed = True
        from otel_llm_cost.instrumentation._invocation import remove_invocation_listener

        remove_invocation_listener(self._on_call)
        try:
            text = self.summary.render(self._jsonl_path)
            if text:
                stream = self._stream if self._stream is not None else sys.stderr
                stream.write(text + "\n")
                stream.flush()
        except Exception:
            log_once("summary.print", "otel-llm-cost: could not print the summary", exc_info=True)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
