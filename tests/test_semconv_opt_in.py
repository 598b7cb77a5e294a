"""OTEL_SEMCONV_STABILITY_OPT_IN: parsed as opentelemetry-instrumentation parses it, read once (#18)."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from otel_llm_cost._config import SEMCONV_STABILITY_OPT_IN, latest_in, semconv_latest
from otel_llm_cost.metrics import LLMMetrics


@pytest.mark.parametrize(
    ("value", "latest"),
    [
        (None, False),
        ("", False),
        ("gen_ai_latest_experimental", True),
        ("http, gen_ai_latest_experimental", True),
        ("database/dup,gen_ai_latest_experimental ,http", True),
        ("gen_ai", False),
        ("GEN_AI_LATEST_EXPERIMENTAL", False),  # opentelemetry-instrumentation compares as written
        ("http/dup", False),
    ],
)
def test_the_opt_in_list_is_read_like_opentelemetry_instrumentation(value, latest):
    assert latest_in(value) is latest


def test_the_variable_is_read_once_per_process(monkeypatch):
    monkeypatch.setenv(SEMCONV_STABILITY_OPT_IN, "gen_ai_latest_experimental")
    semconv_latest.cache_clear()
    try:
        assert semconv_latest() is True
        monkeypatch.delenv(SEMCONV_STABILITY_OPT_IN)
        assert semconv_latest() is True  # not re-read per call
        metrics = LLMMetrics(MeterProvider(metric_readers=[InMemoryMetricReader()]))
        assert metrics.latest is True
        assert LLMMetrics(MeterProvider(), latest=False).latest is False  # an explicit choice wins
    finally:
        semconv_latest.cache_clear()
