"""``otel-llm-cost tail``: one line per finished LLM call as it lands in a span file, with running totals."""

from __future__ import annotations

import os
import stat
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, TextIO

from otel_llm_cost.report import _fmt
from otel_llm_cost.report._aggregate import call_figures, llm_usage, ttft
from otel_llm_cost.report._follow import Follower
from otel_llm_cost.report._read import ReadStats, parse_line
from otel_llm_cost.report._records import file_container
from otel_llm_cost.report._span import SpanRecord
from otel_llm_cost.report._stats import Quantiles
from otel_llm_cost.report._term import safe_cell

_RECENT_IDS: Final = 4096


@dataclass
class TailOptions:
    """How to follow.

    Attributes:
        from_start: show the calls the file holds already, then follow.
        once: show the calls the file holds, then stop (implies ``from_start``).
        max_calls: stop after this many call lines (``None``: never).
        interval: seconds between polls when nothing new arrived.
        ascii: plain ASCII output.
    """

    from_start: bool = False
    once: bool = False
    max_calls: int | None = None
    interval: float = 0.25
    ascii: bool = False


class RunningTotals:
    """Calls, errors, tokens and cost so far."""

    def __init__(self) -> None:
        self.calls = 0
        self.errors = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self.cost = Decimal(0)
        self.unpriced = 0
        self.skipped = 0
        self.durations = Quantiles()

    def line(self) -> str:
        """A summary line."""
        p50, p95 = self.durations.quantile(0.5), self.durations.quantile(0.95)
        skipped = f", {self.skipped:,} unreadable lines skipped" if self.skipped else ""
        return (
            f"total: {self.calls:,} calls, {self.errors:,} errors, {self.input_tokens:,} in / "
            f"{self.output_tokens:,} out tokens, {_fmt.money(self.cost)} ({self.unpriced:,} unpriced), "
            f"p50 {_fmt.seconds(p50)}, p95 {_fmt.seconds(p95)}{skipped}"
        )


def call_line(span: SpanRecord, totals: RunningTotals) -> str | None:
    """Count ``span`` if it is an LLM call and describe it with the totals so far; else ``None``."""
    usage = llm_usage(span)
    if usage is None:
        return None
    call = call_figures(span, usage)
    totals.calls += 1
    totals.errors += call.error
    totals.input_tokens += call.input_tokens
    totals.output_tokens += call.output_tokens
    totals.durations.add(call.duration)
    if call.cost is None:
        totals.unpriced += 1
    else:
        totals.cost += call.cost
    first = ttft(span.attributes, call.duration)
    cached = f" ({call.cache_read_tokens:,} cached)" if call.cache_read_tokens else ""
    return (
        f"{_fmt.timestamp(span.end_ns, with_date=False)} {'ERR' if call.error else 'ok ':<3} "
        f"{_fmt.clip(usage.model or '?', 22):<22} {call.input_tokens:>7,}{cached} → {call.output_tokens:<6,} "
        f"ttft {_fmt.seconds(first):>7}  {_fmt.seconds(call.duration):>7}  {_cost(call.cost):>9}"
        f"  │ {totals.calls:,} calls {_fmt.money(totals.cost)}"
        + (f" {totals.errors} err" if totals.errors else "")
    )


def _cost(cost: Decimal | None) -> str:
    return _fmt.UNPRICED if cost is None else _fmt.money(cost)


def tail(
    path: str,
    options: TailOptions,
    out: TextIO,
    sleep: Callable[[float], None] = time.sleep,
    ready: Callable[[], None] | None = None,
) -> RunningTotals:
    """Follow ``path`` and write a line per call to ``out`` until stopped (``once``, ``max_calls``, Ctrl-C).

    ``ready`` is called once the file is open (or known to be absent): lines appended after that
    are shown, whatever ``from_start`` says.

    Every line passes the report's reader (:func:`parse_line`): an unreadable one is skipped and
    counted (``totals.skipped``), and following goes on. What is printed passes the terminal filter.

    Raises:
        OSError: with ``once``, the file cannot be opened.
        ValueError: the file is gzip (it can be reported on, not followed), or not a regular file.
    """
    _check_followable(path, must_exist=options.once)
    follower = Follower(path, from_start=options.from_start or options.once)
    totals, stats, seen = RunningTotals(), ReadStats(), _RecentIds()
    try:
        while True:
            lines = follower.poll()
            if ready is not None:
                ready()
                ready = None
            if options.once and not lines:
                lines = follower.flush()
            for line in lines:
                for text in _call_lines(line, path, stats, seen, totals):
                    out.write(safe_cell(_ascii(text) if options.ascii else text) + "\n")
                    out.flush()
                    if options.max_calls is not None and totals.calls >= options.max_calls:
                        return totals
            totals.skipped = stats.malformed + follower.oversized
            if options.once and not lines:
                return totals
            if not lines:
                sleep(options.interval)
    finally:
        follower.close()


def _call_lines(
    line: bytes, path: str, stats: ReadStats, seen: _RecentIds, totals: RunningTotals
) -> Iterator[str]:
    """The call lines one input line gives; a line that cannot be read is counted, never raised."""
    try:
        spans = list(parse_line(line, path, stats))
    except (ValueError, ArithmeticError, RecursionError) as exc:
        stats.skip(path, f"unreadable ({exc.__class__.__name__})")
        return
    for span in spans:
        if seen.duplicate(span) or seen.wraps_calls(span):
            continue
        text = call_line(span, totals)
        if text is not None:
            yield text


class _RecentIds:
    """What recent spans said, so a call is shown once.

    Two instrumentations of one call share a response id; a wrapper span (reporting its calls' usage
    as its own) ends after a call below it ended. Both are remembered for the last few thousand spans.
    """

    def __init__(self) -> None:
        self._responses = _Bounded()
        self._with_calls_below = _Bounded()

    def duplicate(self, span: SpanRecord) -> bool:
        response_id = span.attributes.get("gen_ai.response.id")
        if not isinstance(response_id, str) or not response_id:
            return False
        return not self._responses.add(response_id)

    def wraps_calls(self, span: SpanRecord) -> bool:
        """Whether a call ended below ``span``; notes ``span``'s parent as having one if so, or if a call."""
        below = span.span_id in self._with_calls_below
        if span.parent_id is not None and (below or llm_usage(span) is not None):
            self._with_calls_below.add(span.parent_id)
        return below


class _Bounded:
    """An insertion-ordered set keeping the newest ``_RECENT_IDS`` entries."""

    def __init__(self) -> None:
        self._items: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, item: str) -> bool:
        return item in self._items

    def add(self, item: str) -> bool:
        """Add ``item``; ``False`` if it was there already."""
        if item in self._items:
            return False
        self._items[item] = None
        if len(self._items) > _RECENT_IDS:
            self._items.popitem(last=False)
        return True


def _check_followable(path: str, must_exist: bool) -> None:
    try:
        mode = os.stat(path).st_mode
    except OSError:
        if must_exist:
            raise
        return  # not there yet: the follower waits for it
    if not stat.S_ISREG(mode):  # a FIFO would block the open below, a device never end
        raise ValueError(f"not a regular file: {path}")
    kind = file_container(path)
    if kind == "gzip" or kind == "zstd":
        raise ValueError(f"{path} is {kind}-compressed: use `otel-llm-cost report` on it")
    if kind == "framed":
        raise ValueError(f"{path} holds length-prefixed records: use `otel-llm-cost report` on it")


def _ascii(text: str) -> str:
    return text.replace("→", "->").replace("│", "|").replace("…", "~")
