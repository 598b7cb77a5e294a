"""Anomaly detectors: pure detectors with an injected clock and chosen numbers, then wired to real calls."""

from __future__ import annotations

import openai
from oai_helpers import MESSAGES, chat_completion

from otel_llm_cost import attributes as attr
from otel_llm_cost.agent import agent_step, tool_call
from otel_llm_cost.demo import DemoServer
from otel_llm_cost.detectors import AnomalyDetectors, LatencyDetector, LoopDetector, TokenSpikeDetector
from otel_llm_cost.instrumentation.openai import OpenAIInstrumentor
from otel_llm_cost.providers import provider_for_host
from replay import json_response


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _feed(detector, values, subject="openai/gpt-4o", signal="ttft"):
    return [a for a in (detector.observe(subject, signal, v) for v in values) if a is not None]


def test_latency_learns_a_baseline_then_fires_once_per_degradation():
    detector = LatencyDetector(window=10, factor=2.0, baseline_samples=20)
    assert _feed(detector, [1.0] * 20) == []  # learning: baseline p90 = 1.0
    assert _feed(detector, [1.9] * 10) == []  # slower, but within the factor
    (fired,) = _feed(detector, [3.0] * 10)  # p90 crosses 2.0 once two of ten are slow; reported once
    assert (fired.kind, fired.signal, fired.subject) == ("latency_degradation", "ttft", "openai/gpt-4o")
    assert (fired.observed, fired.baseline, fired.threshold) == (3.0, 1.0, 2.0)
    assert _feed(detector, [1.0] * 10) == []  # recovered
    assert len(_feed(detector, [5.0] * 10)) == 1  # degraded again: reported again
    assert _feed(detector, [5.0] * 10, subject="openai/gpt-4o-mini") == []  # another model learns its own


def test_latency_with_given_baselines():
    detector = LatencyDetector(window=3, factor=1.5, baselines={("anthropic/claude", "duration"): 2.0})
    assert _feed(detector, [2.5, 2.9, 3.0], "anthropic/claude", "duration") == []
    (fired,) = _feed(detector, [3.1, 3.2, 3.3], "anthropic/claude", "duration")
    assert fired.threshold == 3.0


def test_call_token_spike():
    detector = TokenSpikeDetector(factor=5, min_samples=5, min_tokens=100)
    assert [detector.observe_call("m", 200) for _ in range(5)] == [None] * 5
    assert detector.observe_call("m", 999) is None  # under 5 x the median
    spike = detector.observe_call("m", 1001)
    assert spike is not None and (spike.signal, spike.observed, spike.baseline) == ("call_tokens", 1001, 200)
    assert TokenSpikeDetector(min_samples=1, min_tokens=5000).observe_call("x", 4000) is None


def test_run_token_spike_against_finished_runs():
    clock = Clock()
    detector = TokenSpikeDetector(factor=3, min_samples=3, min_tokens=10, run_idle=60, clock=clock)
    for run in ("a", "b", "c"):
        assert detector.observe_run(run, 100) is None
        assert detector.observe_run(run, 100) is None  # each run totals 200
    clock.now += 61  # a, b, c are idle: finished, the history holds 200, 200, 200
    assert detector.observe_run("d", 500) is None
    spike = detector.observe_run("d", 200)  # 700 > 3 x 200: the run is reported while it runs
    assert spike is not None and (spike.signal, spike.run, spike.observed) == ("run_tokens", "d", 700)
    assert detector.observe_run("d", 5000) is None  # once per run


def test_loop_detector():
    clock = Clock()
    detector = LoopDetector(max_repeats=3, run_idle=60, clock=clock)
    found = [detector.observe("run1", ("tool", "search"), "tool search") for _ in range(5)]
    assert found[:3] == [None] * 3 and found[4] is None
    assert found[3] is not None and (found[3].kind, found[3].observed, found[3].run) == ("loop", 4, "run1")
    assert detector.observe("run2", ("tool", "search"), "tool search") is None  # per run
    clock.now += 61
    assert [detector.observe("run1", ("tool", "search"), "s") for _ in range(3)] == [None] * 3  # forgotten


def _events(spans, name):
    return [(s, e) for s in spans for e in s.events if e.name == name]


def test_token_spike_event_metric_and_callback_on_a_real_call(
    tracer_provider, exporter, meter, metric_points, replay_server
):
    seen = []
    detectors = AnomalyDetectors(meter=meter, on_anomaly=seen.append,
                                 tokens=TokenSpikeDetector(min_samples=3, min_tokens=100))  # fmt: skip
    detectors.install()
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    big = {"prompt_tokens": 5000, "completion_tokens": 100, "total_tokens": 5100}
    replies = [json_response(chat_completion()) for _ in range(3)] + [
        json_response(chat_completion(usage=big))
    ]
    try:
        with replay_server(replies) as srv:
            client = openai.OpenAI(base_url=srv.base_url, api_key="k", max_retries=0)
            for _ in range(4):
                client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    finally:
        instrumentor.uninstrument()
        detectors.uninstall()
    spans = exporter.get_finished_spans()
    ((span, event),) = _events(spans, attr.EVENT_TOKEN_SPIKE)
    assert span is spans[3] and event.attributes[attr.LLM_COST_ANOMALY_OBSERVED] == 5100
    provider = span.attributes[attr.GEN_AI_PROVIDER_NAME]
    assert event.attributes[attr.LLM_COST_ANOMALY_SUBJECT] == f"{provider}/gpt-4o-mini"
    assert [a.signal for a in seen] == ["call_tokens"]
    (point,) = metric_points("llm_cost.anomalies")
    assert point.value == 1 and point.attributes[attr.LLM_COST_ANOMALY_KIND] == "token_spike"


def test_latency_degradation_with_controlled_delays(tracer_provider, exporter):
    # The demo server waits 50 ms before its first chunk: far above a 5 ms baseline, far below 60 s.
    results = {}
    for name, baseline in (("slow", 0.005), ("relaxed", 60.0)):
        with DemoServer(first_token_delay=0.05, chunk_delay=0) as demo:
            subject = f"{provider_for_host('127.0.0.1', demo.port)}/gpt-4o-mini"
            latency = LatencyDetector(window=2, baselines={(subject, "ttft"): baseline})
            detectors = AnomalyDetectors(
                latency=latency, tokens=TokenSpikeDetector(min_samples=10**6)
            ).install()
            instrumentor = OpenAIInstrumentor()
            instrumentor.instrument(tracer_provider=tracer_provider)
            try:
                client = openai.OpenAI(base_url=demo.base_url, api_key="k", max_retries=0)
                for _ in range(3):
                    for _chunk in client.chat.completions.create(
                        model="gpt-4o-mini", messages=MESSAGES, stream=True
                    ):
                        pass
            finally:
                instrumentor.uninstrument()
                detectors.uninstall()
        results[name] = [e for _, e in _events(exporter.get_finished_spans(), attr.EVENT_LATENCY_DEGRADATION)]
        exporter.clear()
    (event,) = results["slow"]  # fires on the second call (window full), once
    assert event.attributes[attr.LLM_COST_ANOMALY_SIGNAL] == "ttft"
    assert event.attributes[attr.LLM_COST_ANOMALY_OBSERVED] >= 0.05
    assert results["relaxed"] == []


def test_loop_event_on_the_repeated_step(tracer_provider, exporter):
    detectors = AnomalyDetectors(loops=LoopDetector(max_repeats=2)).install(tracer_provider)
    try:
        tracer = tracer_provider.get_tracer("app")
        with tracer.start_as_current_span("run"):
            for _ in range(3):
                with (
                    agent_step("think", tracer_provider=tracer_provider),
                    tool_call("search", tracer_provider=tracer_provider),
                ):
                    pass
        with (
            tracer.start_as_current_span("another run"),
            agent_step("think", tracer_provider=tracer_provider),
        ):
            pass
    finally:
        detectors.uninstall()
    found = _events(exporter.get_finished_spans(), attr.EVENT_LOOP_DETECTED)
    assert sorted(e.attributes[attr.LLM_COST_ANOMALY_SUBJECT] for _, e in found) == [
        "agent_step think",
        "tool search",
    ]
    assert all(e.attributes[attr.LLM_COST_ANOMALY_OBSERVED] == 3 for _, e in found)
