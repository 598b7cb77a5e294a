"""Report figures on fixture files whose totals and percentiles are known."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from report_spans import NS, T0, agent_trace, known_calls, llm, span, step, write_jsonl

from otel_llm_cost.report import Filters, build_report, parse_time
from otel_llm_cost.report._aggregate import Aggregator
from otel_llm_cost.report._read import ReadStats, read_spans
from otel_llm_cost.report._stats import Quantiles


@pytest.fixture
def known(tmp_path):
    return build_report([write_jsonl(tmp_path / "known.jsonl", known_calls())], by=["service.name"])


def groups(report, name):
    return {label: totals for label, totals in report.groups[name]}


def test_counts_tokens_and_success(known):
    t = known.totals
    assert (t.calls, t.errors, known.success_rate) == (100, 10, 0.9)
    assert (t.input_tokens, t.cache_read_tokens, t.output_tokens) == (100_000, 20_000, 5_000)
    assert t.uncached_input_tokens == 80_000
    assert known.cache_hit_ratio == 0.2
    assert known.traces == 100


def test_cost_is_exact_decimal_and_unpriced_calls_are_not_zero(known):
    assert known.totals.cost == Decimal("0.48")  # 25 x 0.015 + 70 x 0.0015, no float drift
    assert known.totals.unpriced == 5
    assert known.unpriced == [("openai", "mystery-model", 5)]
    by_model = groups(known, "model")
    assert by_model["gpt-4o"].cost == Decimal("0.375")
    assert by_model["gpt-4o-mini"].cost == Decimal("0.105")
    assert by_model["mystery-model"].unpriced == 5
    assert groups(known, "service.name")["svc"].calls == 100
    assert known.cost_status == {"priced": 95, "unpriced": 5}


def test_percentiles_within_sketch_accuracy(known):
    # Durations are 0.01, 0.02, ... 1.00 s; the value at rank q*(n-1) is (1 + q*99) / 100.
    lat = known.latency.duration
    for q in (0.5, 0.95, 0.99):
        assert lat.quantile(q) == pytest.approx((1 + q * 99) / 100, rel=0.025)
    assert (lat.minimum, lat.maximum, lat.count) == (0.01, 1.0, 100)
    assert known.latency.ttft.quantile(0.5) == pytest.approx(0.02525, rel=0.025)
    assert known.latency.generation.count == 100
    # Tokens per second: 50 output tokens over (duration - ttft).
    assert known.latency.tokens_per_second.quantile(0.5) == pytest.approx(
        50 / (0.505 - 0.2525 / 10), rel=0.05
    )


def test_quantiles_relative_error_on_a_wide_range():
    q = Quantiles()
    values = [1.0001**i for i in range(100_000)]  # 1 .. ~22,000: four decades
    for v in values:
        q.add(v)
    for p in (0.5, 0.9, 0.99, 0.999):
        assert q.quantile(p) == pytest.approx(values[round(p * (len(values) - 1))], rel=0.011)
    assert Quantiles().quantile(0.5) is None


def test_histogram_counts_every_call(known):
    rows = known.histogram.rows(14)
    assert len(rows) <= 14
    assert sum(n for _, _, n in rows) == 100
    assert rows[0][0] <= 0.01 <= rows[0][1] and rows[-1][0] <= 1.0 <= rows[-1][1]


def test_timeline_covers_every_call_in_bounded_buckets(known):
    buckets = known.timeline.ordered()
    assert len(buckets) <= known.timeline.max_buckets
    assert sum(b.calls for _, b in buckets) == 100
    assert sum(b.cost for _, b in buckets) == Decimal("0.48")
    assert buckets[0][0] <= T0 + 60 * NS


def test_agent_and_step_attribution_with_wrapper(tmp_path):
    spans = agent_trace(1001, agent="helper") + agent_trace(1002, start_s=10, agent="booker")
    report = build_report([write_jsonl(tmp_path / "agents.jsonl", spans)])
    assert report.totals.calls == 6  # the wrapper span's own usage is a summary, not a call
    assert report.totals.cost == Decimal("0.020")
    steps = groups(report, "step")
    assert (steps["act"].calls, steps["act"].cost) == (4, Decimal("0.016"))
    assert (steps["plan"].calls, steps["plan"].cost) == (2, Decimal("0.004"))
    agents = groups(report, "agent")
    assert agents["helper"].cost == agents["booker"].cost == Decimal("0.010")
    assert [t.cost for t in report.top_traces] == [Decimal("0.010")] * 2
    assert report.top_traces[0].root == "invoke_agent helper"
    assert report.top_traces[0].duration_s == pytest.approx(2.6)


def test_phase_breakdown_of_steps(tmp_path):
    report = build_report([write_jsonl(tmp_path / "agents.jsonl", agent_trace(1001) + agent_trace(1002))])
    steps = dict(report.steps)
    assert steps["plan"].runs == 2
    assert steps["plan"].mean_phases() == pytest.approx(
        {
            "pre_processing": 0.05,
            "time_to_first_token": 0.3,
            "generation": 0.5,
            "tool": 0.1,
            "post_processing": 0.05,
        }
    )
    assert steps["act"].mean_phases()["tool"] == pytest.approx(0.2)
    assert steps["invoke_agent travel-helper"].mean_phases() == {}
    assert steps["plan"].durations.quantile(0.5) == pytest.approx(1.0, rel=0.01)


def test_child_arriving_after_its_parent_is_still_attributed(tmp_path):
    spans = [
        step(7, 2, 1, "late"),
        llm(7, 3, 2, cost="0.25"),  # written after its step ended
        span(7, 1, None, name="root"),
    ]
    report = build_report([write_jsonl(tmp_path / "order.jsonl", spans)])
    assert groups(report, "step")["late"].cost == Decimal("0.25")


def test_same_response_id_counts_once(tmp_path):
    spans = [llm(3, 2, 1, response_id="resp-1"), llm(3, 3, 1, response_id="resp-1"), span(3, 1)]
    report = build_report([write_jsonl(tmp_path / "dup.jsonl", spans)])
    assert report.totals.calls == 1


def test_bounded_trace_tracking_keeps_totals(tmp_path):
    # Roots never arrive (remote parents): traces are settled oldest-first as the bound is hit.
    spans = [llm(i, 1, parent=999, cost="0.01") for i in range(1, 51)]
    stats = ReadStats()
    agg = Aggregator()
    agg.traces._max_traces = 5
    for s in read_spans([write_jsonl(tmp_path / "many.jsonl", spans)], stats):
        agg.add(s)
    assert len(agg.traces._open) <= 6
    report = agg.report(stats)
    assert report.totals.cost == Decimal("0.50")
    assert groups(report, "step")["(none)"].calls == 50


def test_filters(tmp_path):
    path = write_jsonl(tmp_path / "known.jsonl", known_calls())
    assert build_report([path], filters=Filters(model="gpt-4o")).totals.calls == 25
    assert build_report([path], filters=Filters(model="gpt-4o*")).totals.calls == 95
    assert build_report([path], filters=Filters(service="other")).totals.calls == 0
    assert build_report([path], filters=Filters(service="s*")).totals.calls == 100
    since = T0 + 60 * 51 * NS
    window = Filters(since_ns=since, until_ns=since + 60 * 10 * NS)
    assert build_report([path], filters=window).totals.calls == 10


def test_parse_time():
    now = datetime(2025, 1, 31, 12, 0, tzinfo=UTC)
    assert parse_time("90m", now) == int(datetime(2025, 1, 31, 10, 30, tzinfo=UTC).timestamp()) * NS
    assert parse_time("1.5h", now) == parse_time("90m", now)
    assert parse_time("2025-01-31T12:00:00Z") == int(now.timestamp()) * NS
    assert parse_time("2025-01-31T14:00:00+02:00") == int(now.timestamp()) * NS
    assert parse_time("2025-01-31T12:00:00.000001") == int(now.timestamp()) * NS + 1000
    with pytest.raises(ValueError, match="not an ISO 8601"):
        parse_time("yesterday")
