"""Anomaly detectors: latency degradation, token spikes and loops, reported as they happen.

Each anomaly becomes a span event (on the call, or on the step that repeats), a count on the
``llm_cost.anomalies`` counter (attributes ``llm_cost.anomaly.kind`` and ``.signal``), and a call of
your ``on_anomaly`` callback::

    detectors = AnomalyDetectors(meter=meter_provider.get_meter("anomalies"), on_anomaly=page_someone)
    detectors.install(tracer_provider)      # LLM calls of our instrumentation, and step spans

- **Latency degradation** (:class:`LatencyDetector`, event ``llm_cost.anomaly.latency_degradation``):
  the rolling p90 of time to first chunk and of call duration, per provider and model, rises above
  ``factor`` times its baseline (given, or learned from the first calls). Fires when it crosses, and
  again only after it has recovered.
- **Token spike** (:class:`TokenSpikeDetector`, ``llm_cost.anomaly.token_spike``): a call uses more
  than ``factor`` times the median tokens of recent calls to the same model, or a run (a trace) more
  than ``factor`` times the median of recent finished runs (a run is finished once idle for
  ``run_idle`` seconds).
- **Loop** (:class:`LoopDetector`, ``llm_cost.anomaly.loop``): the same step (an ``agent_step`` or
  ``tool_call`` span of the same name, and for tools the same arguments when recorded) starts more
  than ``max_repeats`` times in one run. Reported on the span of the repeat, when it starts.

Every detector takes its clock as an argument; nothing here blocks or raises into the application.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from opentelemetry.sdk.trace import SpanProcessor

from otel_llm_cost import attributes as attr
from otel_llm_cost._bounded import BoundedDict
from otel_llm_cost._fork import reinit_locks_after_fork
from otel_llm_cost._log import log_once

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.metrics import Meter
    from opentelemetry.sdk.trace import ReadableSpan, Span
    from opentelemetry.trace import Span as ApiSpan

    from otel_llm_cost.instrumentation._invocation import LLMInvocation
    from otel_llm_cost.pricing import Cost
    from otel_llm_cost.usage import Usage

__all__ = ["Anomaly", "AnomalyDetectors", "LatencyDetector", "LoopDetector", "TokenSpikeDetector"]

LATENCY: Final = "latency_degradation"
TOKEN_SPIKE: Final = "token_spike"
LOOP: Final = "loop"
_EVENTS: Final = {
    LATENCY: attr.EVENT_LATENCY_DEGRADATION,
    TOKEN_SPIKE: attr.EVENT_TOKEN_SPIKE,
    LOOP: attr.EVENT_LOOP_DETECTED,
}
Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Anomaly:
    """One detected anomaly, as put on the span and handed to ``on_anomaly``.

    Attributes:
        kind: ``"latency_degradation"``, ``"token_spike"`` or ``"loop"``.
        signal: ``"ttft"``, ``"duration"``, ``"call_tokens"``, ``"run_tokens"`` or ``"step"``.
        subject: ``"provider/model"``, or the repeated step.
        observed: the value that tripped the detector (seconds, tokens, or repeats).
        baseline: what is normal (seconds, tokens), or the allowed repeats for a loop.
        threshold: the value past which it fires.
        run: the run (trace id, hex), when known.
    """

    kind: str
    signal: str
    subject: str
    observed: float
    baseline: float
    threshold: float
    run: str | None = None

    def attributes(self) -> dict[str, str | float]:
        return {
            attr.LLM_COST_ANOMALY_KIND: self.kind,
            attr.LLM_COST_ANOMALY_SIGNAL: self.signal,
            attr.LLM_COST_ANOMALY_SUBJECT: self.subject,
            attr.LLM_COST_ANOMALY_OBSERVED: self.observed,
            attr.LLM_COST_ANOMALY_BASELINE: self.baseline,
            attr.LLM_COST_ANOMALY_THRESHOLD: self.threshold,
        }


OnAnomaly = Callable[[Anomaly], None]


def _p90(values: Any) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]


class LatencyDetector:
    """Rolling p90 of a latency per subject against a baseline.

    Args:
        window: the rolling p90 is over this many latest calls (and needs that many).
        factor: fires when the rolling p90 exceeds ``factor`` times the baseline.
        baseline_samples: without a given baseline, the p90 of this many first calls is the baseline.
        baselines: given baselines in seconds, ``{("openai/gpt-4o", "ttft"): 0.8, ...}``.
        max_subjects: (subject, signal) pairs followed at once; the oldest is forgotten first.
    """

    def __init__(
        self,
        *,
        window: int = 20,
        factor: float = 2.0,
        baseline_samples: int = 50,
        baselines: Mapping[tuple[str, str], float] | None = None,
        max_subjects: int = 1000,
    ) -> None:
        self.window = window
        self.factor = factor
        self.baseline_samples = baseline_samples
        cap = max(max_subjects, len(baselines or ()))
        self._baselines: BoundedDict[tuple[str, str], float] = BoundedDict(cap)
        for key, value in (baselines or {}).items():
            self._baselines[key] = value
        self._learning: BoundedDict[tuple[str, str], list[float]] = BoundedDict(cap)
        self._recent: BoundedDict[tuple[str, str], deque[float]] = BoundedDict(cap)
        self._degraded: BoundedDict[tuple[str, str], None] = BoundedDict(cap)

    def observe(self, subject: str, signal: str, seconds: float) -> Anomaly | None:
        key = (subject, signal)
        baseline = self._baselines.get(key)
        if baseline is None:
            learning = self._learning.get(key)
            if learning is None:
                learning = self._learning[key] = []
            learning.append(seconds)
            if len(learning) >= self.baseline_samples:
                self._baselines[key] = _p90(self._learning.pop(key))
            return None
        recent = self._recent.get(key)
        if recent is None:
            recent = self._recent[key] = deque(maxlen=self.window)
        recent.append(seconds)
        if len(recent) < self.window:
            return None
        p90, threshold = _p90(recent), baseline * self.factor
        if p90 <= threshold:
            self._degraded.pop(key, None)
            return None
        if key in self._degraded:
            return None  # still degraded: reported when it crossed
        self._degraded[key] = None
        return Anomaly(LATENCY, signal, subject, p90, baseline, threshold)


class TokenSpikeDetector:
    """Calls and runs far above their recent distribution of tokens (input plus output).

    Args:
        factor: fires above ``factor`` times the median of the history.
        history: how many recent calls (per subject) and finished runs are kept.
        min_samples: no verdict before the history holds this many.
        min_tokens: never fires below this many tokens (small calls vary a lot).
        run_idle: seconds without a call after which a run counts as finished.
        max_runs: runs followed at once; max_subjects: subjects (provider and model) followed at once.
        clock: monotonic seconds.
    """

    def __init__(
        self,
        *,
        factor: float = 5.0,
        history: int = 100,
        min_samples: int = 20,
        min_tokens: int = 1000,
        run_idle: float = 300.0,
        max_runs: int = 10_000,
        clock: Clock = time.monotonic,
        max_subjects: int = 1000,
    ) -> None:
        self.factor = factor
        self.min_samples = min_samples
        self.min_tokens = min_tokens
        self.run_idle = run_idle
        self._history = history
        self._max_runs = max_runs
        self._clock = clock
        self._calls: BoundedDict[str, deque[int]] = BoundedDict(max_subjects)
        self._finished: deque[int] = deque(maxlen=history)
        self._runs: OrderedDict[str, list[Any]] = OrderedDict()  # run -> [tokens, last seen, reported]

    def observe_call(self, subject: str, tokens: int) -> Anomaly | None:
        past = self._calls.get(subject)
        if past is None:
            past = self._calls[subject] = deque(maxlen=self._history)
        found = self._judge("call_tokens", subject, tokens, past)
        past.append(tokens)
        return found

    def observe_run(self, run: str, tokens: int) -> Anomaly | None:
        now = self._clock()
        self._finish_idle(now)
        state = self._runs.get(run)
        if state is None:
            state = self._runs[run] = [0, now, False]
            if len(self._runs) > self._max_runs:
                self._finished.append(self._runs.popitem(last=False)[1][0])
        self._runs.move_to_end(run)
        state[0] += tokens
        state[1] = now
        if state[2]:
            return None
        found = self._judge("run_tokens", run, state[0], self._finished)
        if found is not None:
            state[2] = True
            return Anomaly(found.kind, found.signal, found.subject, found.observed, found.baseline,
                           found.threshold, run)  # fmt: skip
        return None

    def _judge(self, signal: str, subject: str, tokens: int, past: deque[int]) -> Anomaly | None:
        if len(past) < self.min_samples or tokens < self.min_tokens:
            return None
        median = statistics.median(past)
        threshold = max(median * self.factor, self.min_tokens)
        if tokens <= threshold:
            return None
        return Anomaly(TOKEN_SPIKE, signal, subject, float(tokens), float(median), float(threshold))

    def _finish_idle(self, now: float) -> None:
        while self._runs:
            run, state = next(iter(self._runs.items()))
            if now - state[1] < self.run_idle:
                return
            del self._runs[run]
            self._finished.append(state[0])


class LoopDetector:
    """The same step starting more than ``max_repeats`` times in one run.

    Args:
        max_repeats: how many times a step may run per run; the next start is reported (once).
        max_runs: runs tracked at once (the least recently active is forgotten first).
        run_idle: seconds without a step after which a run is forgotten.
        clock: monotonic seconds.
    """

    def __init__(
        self,
        *,
        max_repeats: int = 10,
        max_runs: int = 10_000,
        run_idle: float = 3600.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self.max_repeats = max_repeats
        self.run_idle = run_idle
        self._max_runs = max_runs
        self._clock = clock
        self._runs: OrderedDict[str, tuple[dict[Hashable, int], list[float]]] = OrderedDict()

    def observe(self, run: str, step: Hashable, name: str) -> Anomaly | None:
        now = self._clock()
        while self._runs and now - next(iter(self._runs.values()))[1][0] >= self.run_idle:
            self._runs.popitem(last=False)
        found = self._runs.get(run)
        if found is None:  # distinct steps per run are bounded too (tool arguments are part of a step)
            found = self._runs[run] = (BoundedDict(_MAX_STEPS_PER_RUN), [now])
        counts, seen = found
        self._runs.move_to_end(run)
        seen[0] = now
        if len(self._runs) > self._max_runs:
            self._runs.popitem(last=False)
        counts[step] = count = counts.get(step, 0) + 1
        if count != self.max_repeats + 1:
            return None
        limit = float(self.max_repeats)
        return Anomaly(LOOP, "step", name, float(count), limit, limit, run)


_MAX_STEPS_PER_RUN: Final = 4096

StepSignature = Callable[[Mapping[str, Any]], "tuple[Hashable, str] | None"]
_STEP_TYPES: Final = frozenset({"agent_step", "tool"})
_TOOL_ARGUMENTS: Final = "gen_ai.tool.call.arguments"


def step_signature(attributes: Mapping[str, Any]) -> tuple[Hashable, str] | None:
    """What makes two starting spans "the same step": (identity, display name), or ``None`` (not a step).

    Steps are ``agent_step`` and ``tool_call`` spans (``llm_cost.span.type``) and any producer's
    ``execute_tool`` spans; a tool call's recorded arguments are part of its identity.
    """
    kind = attributes.get(attr.LLM_COST_SPAN_TYPE)
    if kind not in _STEP_TYPES:
        if attributes.get(attr.GEN_AI_OPERATION_NAME) != "execute_tool":
            return None
        kind = "tool"
    name = attributes.get(attr.LLM_COST_STEP_NAME) or attributes.get(attr.GEN_AI_TOOL_NAME)
    name = str(name or attributes.get(attr.GEN_AI_AGENT_NAME) or "")
    return (kind, name, str(attributes.get(_TOOL_ARGUMENTS, ""))), f"{kind} {name}"


class AnomalyDetectors(SpanProcessor):
    """Runs the detectors on every LLM call of our instrumentation and on every step span.

    Args:
        meter: makes the ``llm_cost.anomalies`` counter; none without it.
        on_anomaly: called with each :class:`Anomaly` (must be quick; its errors are logged).
        latency, tokens, loops: the detectors; pass ``None`` to switch one off.
        signature: what makes two steps the same (default :func:`step_signature`).
    """

    def __init__(
        self,
        *,
        meter: Meter | None = None,
        on_anomaly: OnAnomaly | None = None,
        latency: LatencyDetector | None = None,
        tokens: TokenSpikeDetector | None = None,
        loops: LoopDetector | None = None,
        signature: StepSignature = step_signature,
    ) -> None:
        self.latency = latency if latency is not None else LatencyDetector()
        self.tokens = tokens if tokens is not None else TokenSpikeDetector()
        self.loops = loops if loops is not None else LoopDetector()
        self._on_anomaly = on_anomaly
        self._signature = signature
        self._lock = threading.Lock()
        reinit_locks_after_fork(self, "_lock")
        self._counter = (
            meter.create_counter("llm_cost.anomalies", unit="{anomaly}", description="Anomalies detected")
            if meter is not None
            else None
        )

    def install(self, tracer_provider: Any = None) -> AnomalyDetectors:
        """Watch our instrumentation's calls and, given an SDK tracer provider, its step spans."""
        from otel_llm_cost._calls import add_invocation_listener

        add_invocation_listener(self.on_call, before_end=True)
        if tracer_provider is not None:
            tracer_provider.add_span_processor(self)
        return self

    def uninstall(self) -> None:
        from otel_llm_cost._calls import remove_invocation_listener

        remove_invocation_listener(self.on_call)

    # --- LLM calls (just before their span ends) ----------------------------------------------
    def on_call(
        self, invocation: LLMInvocation, usage: Usage | None, cost: Cost | None, error: BaseException | None
    ) -> None:
        subject = f"{invocation.provider}/{invocation.request_model or ''}"
        found: list[Anomaly | None] = []
        with self._lock:
            if error is None and invocation.end_ns is not None:
                if invocation.first_chunk_ns is not None:
                    ttft = (invocation.first_chunk_ns - invocation.start_ns) / 1e9
                    found.append(self.latency.observe(subject, "ttft", ttft))
                found.append(
                    self.latency.observe(subject, "duration", (invocation.end_ns - invocation.start_ns) / 1e9)
                )
            if usage is not None:
                found.append(self.tokens.observe_call(subject, usage.total_tokens))
                run = _run_of(invocation.span)
                if run is not None:
                    found.append(self.tokens.observe_run(run, usage.total_tokens))
        for anomaly in found:
            if anomaly is not None:
                self._report(invocation.span, anomaly)

    # --- step spans ---------------------------------------------------------------------------
    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        try:
            signature = self._signature(span.attributes or {})
            if signature is None:
                return
            run = _run_of(span)
            if run is None:
                return
            with self._lock:
                anomaly = self.loops.observe(run, signature[0], signature[1])
        except Exception:
            log_once("detectors.on_start", "the loop detector failed on a span", exc_info=True)
            return
        if anomaly is not None:
            self._report(span, anomaly)

    def on_end(self, span: ReadableSpan) -> None:
        pass

    def shutdown(self) -> None:
        self.uninstall()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

    def _report(self, span: ApiSpan, anomaly: Anomaly) -> None:
        try:
            if span.is_recording():
                span.add_event(_EVENTS[anomaly.kind], anomaly.attributes())
            if self._counter is not None:
                labels = {
                    attr.LLM_COST_ANOMALY_KIND: anomaly.kind,
                    attr.LLM_COST_ANOMALY_SIGNAL: anomaly.signal,
                }
                self._counter.add(1, labels)
            if self._on_anomaly is not None:
                self._on_anomaly(anomaly)
        except Exception:
            log_once("detectors.report", "could not report an anomaly", exc_info=True)


def _run_of(span: Any) -> str | None:
    context = span.get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None
