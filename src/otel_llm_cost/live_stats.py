"""Live, in-process statistics of LLM calls, for an agent to read about itself.

Fed by an invocation listener (every finished call, instrumented or made with
:func:`~otel_llm_cost.llm_call`, its span sampled or not), answered from memory: no I/O; a call is queued
at its end and summed in batches of at most 256 (by the next reader, or by the thread that fills the
batch), so every answer counts every call that ended before it; memory bounded whatever the number of
calls::

    import otel_llm_cost

    snapshot = otel_llm_cost.stats(window=300)
    snapshot.process.cost            # Decimal USD since the process started
    snapshot.recent.total_tokens     # tokens of the calls that ended in the last 5 minutes
    snapshot.run                     # this run (trace) so far, or None outside a trace
    snapshot.models["gpt-4o-mini"].duration_p90

    with agent_step("plan") as step:
        if step.stats().cost > Decimal("0.50"):    # same as current_run_stats()
            model = "gpt-4o-mini"

**What is kept, and the error of each answer.**

- Totals (calls, errors, unpriced calls, cost, tokens by kind) of the process: exact.
- Totals per run (a run is a trace, as for the ``run`` budget key): exact, for the
  ``max_runs`` (1,024) runs most recently updated; older runs are forgotten.
- Totals of the last N seconds: per-second buckets over the last hour; a window's old edge is
  rounded to whole buckets, so a call up to one bucket (1 s) older than the window may count.
- p50 / p90 of call duration and time to first chunk per model, over the last ``window_calls`` (256)
  calls of that model: exact nearest-rank percentiles of those calls (no sketch, so no error beyond the
  window's definition). At most ``max_models`` (100) models; later ones share ``_other``.
- Cache hit ratio: cache-read input tokens over input tokens, of any of the totals above.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Final

from opentelemetry import trace

from otel_llm_cost import attributes as attr
from otel_llm_cost._calls import add_invocation_listener
from otel_llm_cost._fork import reinit_locks_after_fork
from otel_llm_cost._log import log_once

if TYPE_CHECKING:
    from otel_llm_cost.instrumentation._invocation import LLMInvocation
    from otel_llm_cost.pricing import Cost
    from otel_llm_cost.usage import Usage

__all__ = [
    "LiveStats",
    "ModelLatency",
    "Stats",
    "Totals",
    "current_run_stats",
    "get_live_stats",
    "install_stats",
    "run_id",
    "stats",
]

OTHER_MODEL: Final = "_other"
_PENDING_CALLS: Final = 256  # calls queued before the recording thread sums them (bounded memory)
# A queued call: the clock at its end, model, usage, cost, duration, TTFT, run, error, partial.
_Queued = tuple[
    float, str | None, "Usage | None", Decimal | None, float | None, float | None, object, bool, bool
]
_ZERO: Final = Decimal(0)


@dataclass(frozen=True, slots=True)
class Totals:
    """Sums over a set of finished calls. ``cost`` counts priced calls only (USD)."""

    calls: int = 0
    errors: int = 0
    unpriced_calls: int = 0
    cost: Decimal = _ZERO
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    partial_calls: int = 0
    """Priced calls with some billed unit the price data lacks (status ``partial``, #17)."""

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def cache_hit_ratio(self) -> float:
        """Cache-read input tokens over input tokens (0.0 without input)."""
        return self.cache_read_tokens / self.input_tokens if self.input_tokens else 0.0


@dataclass(frozen=True, slots=True)
class ModelLatency:
    """Nearest-rank percentiles of one model's last calls, in seconds (``None``: no sample)."""

    calls: int
    duration_p50: float | None
    duration_p90: float | None
    ttft_calls: int
    ttft_p50: float | None
    ttft_p90: float | None


@dataclass(frozen=True, slots=True)
class Stats:
    """A consistent snapshot of the live statistics."""

    process: Totals
    recent: Totals
    window: float
    run: Totals | None
    models: Mapping[str, ModelLatency] = field(default_factory=dict)


# One call as _Sums.add takes it (usage, amount, error, partial): a run's sums until its second call.
_Call = tuple["Usage | None", "Decimal | None", bool, bool]


class _Sums:
    """The mutable twin of :class:`Totals` (under the owner's lock)."""

    __slots__ = (
        "cache_read",
        "cache_write",
        "calls",
        "cost",
        "errors",
        "input",
        "output",
        "partial",
        "reasoning",
        "unpriced",
    )

    def __init__(self) -> None:
        self.calls = self.errors = self.unpriced = self.partial = 0
        self.input = self.output = self.cache_read = self.cache_write = self.reasoning = 0
        self.cost = _ZERO

    def add(self, usage: Usage | None, amount: Decimal | None, error: bool, partial: bool = False) -> None:
        self.calls += 1
        if error:
            self.errors += 1
        if partial:
            self.partial += 1
        if usage is not None:
            self.input += usage.input_tokens
            self.output += usage.output_tokens
            if usage.cache_read_tokens:
                self.cache_read += usage.cache_read_tokens
            if usage.cache_write_tokens:
                self.cache_write += usage.cache_write_tokens
            if usage.reasoning_tokens:
                self.reasoning += usage.reasoning_tokens
            if amount is None:
                self.unpriced += 1
            else:
                self.cost += amount

    @classmethod
    def of(cls, usage: Usage | None, amount: Decimal | None, error: bool, partial: bool) -> _Sums:
        """The sums of one call."""
        sums = cls()
        sums.add(usage, amount, error, partial)
        return sums

    def merge(self, other: _Sums) -> None:
        for name in _Sums.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def copy(self) -> _Sums:
        copy = _Sums()
        copy.merge(self)
        return copy

    def freeze(self) -> Totals:
        return Totals(
            self.calls, self.errors, self.unpriced, self.cost, self.input, self.output,
            self.cache_read, self.cache_write, self.reasoning, self.partial,
        )  # fmt: skip


class _ModelWindow:
    __slots__ = ("durations", "ttfts")

    def __init__(self, size: int) -> None:
        self.durations: deque[float] = deque(maxlen=size)
        self.ttfts: deque[float] = deque(maxlen=size)

    def latency(self) -> ModelLatency:
        durations, ttfts = sorted(self.durations), sorted(self.ttfts)
        return ModelLatency(
            len(durations), _rank(durations, 0.5), _rank(durations, 0.9),
            len(ttfts), _rank(ttfts, 0.5), _rank(ttfts, 0.9),
        )  # fmt: skip


def _rank(ordered: list[float], q: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least ``q`` of the values at or below it."""
    if not ordered:
        return None
    return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]


class LiveStats:
    """The live statistics: an invocation listener (:meth:`record`) and snapshots (:meth:`snapshot`).

    Args:
        window_calls: calls per model kept for the percentiles.
        bucket_seconds: width of a time bucket of the recent totals (their precision).
        horizon_seconds: the longest window the recent totals can answer for.
        max_runs: runs whose totals are kept (the most recently updated).
        max_models: models whose latencies are kept; later ones share ``_other``.
        clock: seconds, monotonic (injectable for tests).
    """

    def __init__(
        self,
        *,
        window_calls: int = 256,
        bucket_seconds: float = 1.0,
        horizon_seconds: float = 3600.0,
        max_runs: int = 1024,
        max_models: int = 100,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._window_calls = window_calls
        self._bucket = bucket_seconds
        self._horizon = max(int(horizon_seconds / bucket_seconds), 1)
        self._max_runs = max_runs
        self._max_models = max_models
        self._clock = clock
        self._lock = threading.Lock()
        reinit_locks_after_fork(self, "_lock")
        # The process's totals are those of the closed buckets (summed as each closes) and the open one's:
        # a call adds to two sums (its second's and its run's), not three.
        self._closed = _Sums()
        self._open = _Sums()  # the last bucket's sums (merged into _closed when the next one opens)
        self._open_index: int | None = None
        self._buckets: deque[tuple[int, _Sums]] = deque()
        # Keyed by the trace id as an int (a hex string per call cost more than the sums), or by the key
        # given to add().
        self._runs: OrderedDict[object, _Sums | _Call] = OrderedDict()
        self._models: dict[str, _ModelWindow] = {}
        self._pending: deque[_Queued] = deque()  # calls ended and not summed yet (see _defer)

    # --- recording ------------------------------------------------------------------------------
    def record(
        self, invocation: LLMInvocation, usage: Usage | None, cost: Cost | None, error: BaseException | None
    ) -> None:
        """The invocation listener: add one finished call (never raises)."""
        try:
            if usage is None:
                amount = None
            elif cost is None:  # a failed, unsampled call is not priced by the invocation
                amount = _amount(invocation, usage)
            else:
                amount = cost.amount if cost.status != attr.COST_UNPRICED else None
            start, end, first = invocation.start_ns, invocation.end_ns, invocation.first_chunk_ns
            trace_id = invocation.span.get_span_context().trace_id  # 0: no span context (no run)
            self._defer(
                invocation.request_model,
                usage,
                amount,
                # Conditionals, not max(): a builtin call costs more than these two on every call.
                None if end is None else (end - start) / 1e9 if end > start else 0.0,
                None if first is None else (first - start) / 1e9 if first > start else 0.0,
                trace_id or None,
                error is not None,
                cost is not None and cost.status == attr.COST_PARTIAL,
            )
        except Exception:
            log_once("stats.record", "otel-llm-cost could not update its live stats", exc_info=True)

    def add(
        self,
        model: str | None,
        usage: Usage | None,
        cost: Decimal | None,
        *,
        duration: float | None = None,
        ttft: float | None = None,
        run: str | None = None,
        error: bool = False,
        partial: bool = False,
    ) -> None:
        """Add one call: its usage, its cost (``None``: unpriced; ``partial``: priced without some billed
        unit), latencies in seconds, its run."""
        self._defer(model, usage, cost, duration, ttft, _run_key(run), error, partial)

    def _defer(
        self,
        model: str | None,
        usage: Usage | None,
        cost: Decimal | None,
        duration: float | None,
        ttft: float | None,
        run: object,
        error: bool,
        partial: bool,
    ) -> None:
        """Queue one call, stamped with the clock; the queue is summed by the next reader, or here once
        it holds ``_PENDING_CALLS`` calls (#20: summing a batch at once costs a call a fraction of summing
        it alone, cold, at its end)."""
        pending = self._pending
        pending.append((self._clock(), model, usage, cost, duration, ttft, run, error, partial))
        if len(pending) >= _PENDING_CALLS:
            with self._lock:
                self._sum_pending()

    def _sum_pending(self) -> None:
        """Add the queued calls to the sums (the lock held). Calls queued meanwhile by other threads are
        taken too, or left to the next reader: ``popleft`` never loses or repeats one."""
        pending, add = self._pending, self._add
        while pending:
            try:
                call = pending.popleft()
            except IndexError:  # another thread emptied it first
                return
            add(call)

    def _add(self, call: _Queued) -> None:
        at, model, usage, cost, duration, ttft, run, error, partial = call
        index = int(at // self._bucket)
        if self._open_index is not None and index <= self._open_index:
            # The open second's call, or one stamped earlier but summed after a later one: the open second.
            bucket = self._open
        else:
            bucket = self._open_bucket(index)
        bucket.add(usage, cost, error, partial)
        if run is not None:
            sums = self._runs.get(run)
            if sums is None:  # a run's first call is kept as it came: most runs have one call
                self._new_run(run, (usage, cost, error, partial))
            else:
                self._runs.move_to_end(run)
                if type(sums) is tuple:
                    sums = self._runs[run] = _Sums.of(*sums)
                sums.add(usage, cost, error, partial)
        if duration is not None or ttft is not None:
            window = self._models.get(model) if model else None
            if window is None:
                window = self._model(model or "unknown")
            if duration is not None:
                window.durations.append(duration)
            if ttft is not None:
                window.ttfts.append(ttft)

    def _open_bucket(self, index: int) -> _Sums:
        """Start the bucket of second ``index``: the open one's sums join the closed ones'."""
        buckets = self._buckets
        self._closed.merge(self._open)
        while buckets and buckets[0][0] <= index - self._horizon:
            buckets.popleft()
        self._open = _Sums()
        self._open_index = index
        buckets.append((index, self._open))
        return self._open

    def _process(self) -> _Sums:
        process = self._closed.copy()
        process.merge(self._open)
        return process

    def _new_run(self, run: object, first: _Call) -> None:
        self._runs[run] = first
        if len(self._runs) > self._max_runs:
            self._runs.popitem(last=False)

    def _run_totals(self, run: str) -> Totals:
        found = self._runs.get(_run_key(run))
        if found is None:
            return Totals()
        return (_Sums.of(*found) if type(found) is tuple else found).freeze()

    def _model(self, model: str) -> _ModelWindow:
        window = self._models.get(model)
        if window is None:
            if len(self._models) >= self._max_models:
                model = OTHER_MODEL
                window = self._models.get(model)
            if window is None:
                window = self._models[model] = _ModelWindow(self._window_calls)
        return window

    # --- reading --------------------------------------------------------------------------------
    def snapshot(self, window: float = 300.0, *, run: str | None = None) -> Stats:
        """Totals of the process, of the last ``window`` seconds and of ``run``; latencies per model."""
        with self._lock:
            self._sum_pending()
            process = self._process().freeze()
            recent = self._recent(window)
            run_totals = None if run is None else self._run_totals(run)
            samples = [(model, _copy(w)) for model, w in self._models.items()]
        # Sorting happens outside the lock: recording threads never wait for a reader's sort.
        return Stats(process, recent, window, run_totals, {model: w.latency() for model, w in samples})

    def run_totals(self, run: str) -> Totals:
        """The totals of one run so far (zero when it made no call, or was forgotten)."""
        with self._lock:
            self._sum_pending()
            return self._run_totals(run)

    def _recent(self, window: float) -> Totals:
        oldest = int(self._clock() // self._bucket) - max(math.ceil(window / self._bucket), 1) + 1
        sums = _Sums()
        for index, bucket in reversed(self._buckets):
            if index < oldest:
                break
            sums.merge(bucket)
        return sums.freeze()

    def entries(self) -> int:
        """How many entries the statistics hold (buckets, runs, latency samples): bounded by design."""
        with self._lock:
            self._sum_pending()
            samples = sum(len(w.durations) + len(w.ttfts) for w in self._models.values())
            return len(self._buckets) + len(self._runs) + len(self._models) + samples


def _copy(window: _ModelWindow) -> _ModelWindow:
    copy = _ModelWindow(0)
    copy.durations, copy.ttfts = deque(window.durations), deque(window.ttfts)
    return copy


def _amount(invocation: LLMInvocation, usage: Usage) -> Decimal | None:
    """The cost of a call the invocation did not price (a failed call on an unsampled span)."""
    from otel_llm_cost.pricing import get_pricer

    cost = get_pricer().price(usage, invocation.request_model, invocation.provider)
    return cost.amount if cost.status != attr.COST_UNPRICED else None


def _run_key(run: str | None) -> object:
    """How a run is keyed: a trace id (32 hex digits, as :func:`run_id` gives) as the int it spells."""
    if run is not None and len(run) == 32:
        try:
            return int(run, 16)
        except ValueError:
            pass
    return run


def run_id() -> str | None:
    """The current run: the trace id of the current span (as the ``run`` budget key), or ``None``."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


_live = LiveStats()
_installed: list[LiveStats] = []
_install_lock = threading.Lock()
reinit_locks_after_fork(__name__, "_install_lock")


def get_live_stats() -> LiveStats:
    """The process's :class:`LiveStats`, the one :func:`stats` reads."""
    return _live


def install_stats() -> LiveStats:
    """Feed :func:`get_live_stats` from every finished call (idempotent; ``configure()`` does it)."""
    with _install_lock:
        if not _installed:
            add_invocation_listener(_live.record)
            _installed.append(_live)
    return _live


def stats(window: float = 300.0) -> Stats:
    """A snapshot of the live statistics: this process, the last ``window`` seconds, the current run.

    Starts the statistics if ``configure()`` has not (calls that ended before are not counted).
    """
    live = install_stats()
    return live.snapshot(window, run=run_id())


def current_run_stats() -> Totals | None:
    """The current run's totals so far (``None`` outside a trace): what ``step.stats()`` returns."""
    run = run_id()
    return None if run is None else install_stats().run_totals(run)
