"""Terminal charts and number formatting: 80 columns, unicode or plain ASCII, a progress bar."""

from __future__ import annotations

import io
from decimal import Decimal

from report_spans import NS, T0

from otel_llm_cost.report import _charts, _fmt
from otel_llm_cost.report._progress import Progress
from otel_llm_cost.report._stats import LogHistogram
from otel_llm_cost.report._timeline import Timeline


def test_bar_uses_eighths_and_ascii_fallback():
    assert _charts.bar(0.5, 10) == "█████"
    assert _charts.bar(0.0625, 10) == "▋"  # 5/8 of a cell
    assert _charts.bar(1.5, 4) == "████"
    assert _charts.bar(0.5, 10, ascii=True) == "#####"


def test_bars_scale_to_the_largest_and_fit_the_width():
    rows = [("a very long label that will be clipped", 10.0, "10"), ("b", 5.0, "5"), ("c", 0.001, "~0")]
    lines = _charts.bars(rows, width=80)
    assert all(len(line) <= 80 for line in lines)
    assert lines[0].count("█") == 2 * lines[1].count("█")
    assert "▏" in lines[2]  # a tiny non-zero value stays visible
    assert "…" in lines[0]
    ascii_lines = _charts.bars(rows, width=80, ascii=True)
    assert all(line.isascii() and len(line) <= 80 for line in ascii_lines)


def test_histogram_rows_merge_to_the_row_limit():
    hist = LogHistogram()
    for ms in range(1, 10_001):
        hist.add(ms / 1000)
    hist.add(0.0)
    rows = hist.rows(12)
    assert len(rows) <= 12 and rows[0] == (0.0, 0.0, 1)
    assert sum(n for _, _, n in rows) == 10_001
    assert all(low < high for low, high, _ in rows[1:])
    lines = _charts.histogram(hist, width=80)
    assert len(lines) == len(rows) and all(len(line) <= 80 for line in lines)
    assert lines[0].lstrip().startswith("0 │")


def test_timeline_doubles_its_buckets_and_chart_fits_80_columns():
    tl = Timeline(max_buckets=50)
    for i in range(1000):  # one call per second for 1000 s
        bucket = tl.bucket(T0 + i * NS)
        bucket.calls += 1
        bucket.input_tokens += 10
        bucket.cost += Decimal("0.001")
    assert len(tl.buckets) <= 50
    assert tl.width_ns == 32 * NS
    assert sum(b.calls for _, b in tl.ordered()) == 1000
    for what in ("tokens", "cost"):
        lines = _charts.timeline(tl, what, width=80)
        assert all(len(line) <= 80 for line in lines)
        assert lines[-1].strip().startswith("(one column = 32")
    assert _charts.timeline(tl, "cost", width=80, ascii=True)[0].isascii()
    assert _charts.timeline(Timeline(), "tokens") == []


def test_columns_heights():
    lines = _charts.columns([0, 4, 8], height=2, label_w=2)
    assert lines == [" 8 ┤  █", " 0 ┤ ██"]


def test_money_formatting():
    assert _fmt.money(Decimal("1234.5678")) == "$1,234.57"
    assert _fmt.money(Decimal("0.0123456")) == "$0.0123"
    assert _fmt.money(Decimal("0.000123456")) == "$0.000123"
    assert _fmt.money(Decimal("0.0000001")) == "<$0.000001"
    assert _fmt.money(Decimal(0)) == "$0.00"
    assert _fmt.money(None) == "-"


def test_seconds_formatting():
    assert [_fmt.seconds(v) for v in (0.0042, 0.25, 1.234, 42.0, 125.0, None)] == [
        "4.2 ms",
        "250 ms",
        "1.23 s",
        "42 s",
        "2m 05s",
        "-",
    ]


def test_progress_bar_redraws_at_most_ten_times_a_second():
    now = [0.0]
    out = io.StringIO()
    bar = Progress(1000, out, clock=lambda: now[0])
    bar(100)
    bar(200)  # same instant: not redrawn
    now[0] = 0.5
    bar(1000)
    assert bar.drawn == 2
    assert out.getvalue().count("\r[") == 2 and "100%" in out.getvalue()
    bar.close()
    assert out.getvalue().endswith("\r")
    quiet = io.StringIO()
    Progress(10, quiet).close()
    assert quiet.getvalue() == ""
