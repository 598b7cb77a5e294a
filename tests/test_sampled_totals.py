"""Totals that stay honest under head sampling (#17).

2,000 calls with known costs run at 1%, 10%, 50% and 100% trace sampling (``TraceIdRatioBased``). The
exit summary counts every call exactly, sampled or not; ``otel-llm-cost report`` on the exported spans
estimates the fleet total by adjusted counts, and the true total lies within the 95% interval it states.
Trace ids come from a seeded generator, so each run samples the same traces.
"""

from __future__ import annotations

import io
import random
import re
from decimal import Decimal
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from otel_llm_cost import attributes as attr
from otel_llm_cost import llm_call
from otel_llm_cost.export.jsonl import JsonlSpanExporter
from otel_llm_cost.export.summary import SummarySpanProcessor
from otel_llm_cost.report import build_report
from otel_llm_cost.report.render import render_table
from otel_llm_cost.usage import Usage

CALLS = 2_000
# gpt-4o-mini in genai-prices' data: $0.15 input, $0.60 output per million tokens.
INPUT_RATE, OUTPUT_RATE = Decimal("0.15") / 1_000_000, Decimal("0.6") / 1_000_000


class SeededIds(IdGenerator):
    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def generate_span_id(self) -> int:
        return self._random.getrandbits(64) or 1

    def generate_trace_id(self) -> int:
        return self._random.getrandbits(128) or 1


def usage_of(i: int) -> Usage:
    # Costs spread over two orders of magnitude, as real calls do.
    return Usage.of(100 + (i * 7919) % 20_000, 20 + (i * 104_729) % 2_000)


def true_total() -> Decimal:
    inputs = sum(usage_of(i).input_tokens for i in range(CALLS))
    outputs = sum(usage_of(i).output_tokens for i in range(CALLS))
    return inputs * INPUT_RATE + outputs * OUTPUT_RATE


def run(tmp_path: Path, probability: float, *, parent_based: bool = False) -> tuple[str, Path]:
    ratio = TraceIdRatioBased(probability)
    sampler = ParentBased(ratio) if parent_based else ratio
    provider = TracerProvider(sampler=sampler, id_generator=SeededIds(17))
    path = tmp_path / f"spans-{probability}.jsonl"
    provider.add_span_processor(SimpleSpanProcessor(JsonlSpanExporter(path)))
    out = io.StringIO()
    summary = SummarySpanProcessor(out)
    provider.add_span_processor(summary)
    for i in range(CALLS):
        with llm_call("openai", "gpt-4o-mini", tracer_provider=provider) as call:
            call.set_usage(usage_of(i))
    provider.shutdown()
    return out.getvalue(), path


def summary_total(text: str) -> tuple[int, Decimal]:
    match = re.match(r"otel-llm-cost: ([\d,]+) LLM calls, .*\$([\d.]+)$", text.splitlines()[0])
    assert match, text
    return int(match[1].replace(",", "")), Decimal(match[2])


@pytest.mark.parametrize("probability", [0.01, 0.1, 0.5, 1.0])
def test_summary_is_exact_and_report_estimate_is_within_its_stated_error(tmp_path: Path, probability: float):
    expected = true_total()
    assert expected == pytest.approx(Decimal("4.2"), rel=Decimal("0.2"))  # ~$4 over 2,000 calls
    text, path = run(tmp_path, probability)

    calls, cost = summary_total(text)  # every call, sampled or not
    assert calls == CALLS
    assert cost == expected.quantize(Decimal("0.000001"))

    report = build_report([path])
    sampled = report.totals.calls
    estimate = report.sampling.estimate()
    table = render_table(report)
    if probability == 1.0:
        assert sampled == CALLS
        assert report.totals.cost == pytest.approx(expected, abs=Decimal("1e-9"))
        assert "Estimated" not in table and "Sampling" not in table
        return
    assert 0 < sampled < CALLS
    assert estimate.min_probability == estimate.max_probability == probability
    assert estimate.cost_error > 0
    assert abs(Decimal(str(estimate.cost)) - expected) <= Decimal(str(estimate.cost_error))
    label = f"{probability * 100:.3g}% sample of {sampled:,} calls"
    assert f"from a {label}" in table
    assert f"± {estimate.cost_error:.6f} USD (95%)" in table


def test_parent_based_ratio_sampler_gives_the_same_probability(tmp_path: Path):
    _, path = run(tmp_path, 0.1, parent_based=True)
    report = build_report([path])
    assert report.sampling.estimate().min_probability == 0.1
    assert report.sampling.unknown_calls == 0


def test_report_says_when_it_cannot_know_the_sampling(tmp_path: Path):
    _, path = run(tmp_path, 0.5)
    text = path.read_text().replace(f'"{attr.LLM_COST_SAMPLING_PROBABILITY}"', '"dropped.by.an.old.exporter"')
    path.write_text(text)
    table = render_table(build_report([path]))
    assert "Sampling    unknown: the totals cover sampled traces only" in table
    assert "Estimated" not in table


@pytest.mark.parametrize(
    ("ot", "probability"),
    [
        ("th:0", 1.0),
        ("th:8", 0.5),
        ("th:c", 0.25),
        ("th:e668", 0.1),
        ("rv:1234;th:fd70a4", 0.01),
        ("th:", None),
    ],
)
def test_tracestate_threshold_gives_the_probability(ot: str, probability: float | None):
    from otel_llm_cost._sampling import threshold_probability

    found = threshold_probability(ot)
    assert found == (None if probability is None else pytest.approx(probability, abs=1e-4))


def _call_under_remote_parent(trace_state: str | None) -> dict:
    from opentelemetry import context, trace
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState

    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=ParentBased(TraceIdRatioBased(0.5)))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    state = TraceState([("ot", trace_state)]) if trace_state else TraceState()
    parent = SpanContext(
        0xABC, 0xDEF, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED), trace_state=state
    )
    token = context.attach(trace.set_span_in_context(NonRecordingSpan(parent)))
    try:
        with llm_call("openai", "gpt-4o-mini", tracer_provider=provider) as call:
            call.set_usage(usage_of(1))
    finally:
        context.detach(token)
    (span,) = exporter.get_finished_spans()
    return dict(span.attributes)


def test_a_remote_parent_s_tracestate_threshold_gives_the_probability():
    assert _call_under_remote_parent("th:c")[attr.LLM_COST_SAMPLING_PROBABILITY] == 0.25


def test_a_remote_parent_without_threshold_leaves_the_probability_unknown():
    # ParentBased followed an upstream decision whose rate we cannot see: no guess.
    assert attr.LLM_COST_SAMPLING_PROBABILITY not in _call_under_remote_parent(None)
