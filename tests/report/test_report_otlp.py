"""The Collector's OTLP/JSON file output and gzip input give the same report as our JSONL."""

from __future__ import annotations

import base64
import gzip
import json

from report_spans import agent_trace, known_calls, to_otlp, write_jsonl

from otel_llm_cost.report import build_report, to_json
from otel_llm_cost.report._otlp import any_value, key_values, otlp_spans
from otel_llm_cost.report._span import MalformedSpan


def _without_input(report):
    data = json.loads(to_json(report))
    data.pop("input")
    return data


def write_otlp(path, spans, batch=7, compress=False):
    """Like the Collector's file exporter: one TracesData object per line, batches of spans."""
    lines = [json.dumps(to_otlp(spans[i : i + batch])) + "\n" for i in range(0, len(spans), batch)]
    data = "".join(lines).encode()
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def test_otlp_json_gives_the_same_report_as_jsonl(tmp_path):
    spans = known_calls() + agent_trace(1001) + agent_trace(1002, agent="other")
    ours = build_report([write_jsonl(tmp_path / "spans.jsonl", spans)], by=["service.name"])
    otlp = build_report([write_otlp(tmp_path / "otlp.json", spans)], by=["service.name"])
    assert otlp.stats.spans == ours.stats.spans == len(spans)
    assert otlp.stats.lines == -(-len(spans) // 7)
    assert _without_input(otlp) == _without_input(ours)
    assert otlp.totals.calls == 106


def test_gzip_inputs_detected_by_magic_bytes(tmp_path):
    spans = known_calls()
    plain = build_report([write_jsonl(tmp_path / "a.jsonl", spans)])
    # Names say nothing: detection is by content.
    zipped = build_report([write_jsonl(tmp_path / "b.jsonl", spans, compress=True)])
    zipped_otlp = build_report([write_otlp(tmp_path / "c.data", spans, compress=True)])
    assert _without_input(zipped) == _without_input(plain) == _without_input(zipped_otlp)


def test_several_files_add_up(tmp_path):
    spans = known_calls()
    a = write_jsonl(tmp_path / "a.jsonl", spans[:40])
    b = write_otlp(tmp_path / "b.json.gz", spans[40:], compress=True)
    report = build_report([a, b])
    assert report.totals.calls == 100
    assert report.stats.files == [str(a), str(b)]


def test_any_value_types():
    assert any_value({"stringValue": "x"}) == "x"
    assert any_value({"intValue": "12345678901234"}) == 12345678901234
    assert any_value({"intValue": 7}) == 7
    assert any_value({"doubleValue": 0.5}) == 0.5
    assert any_value({"doubleValue": "NaN"}) != any_value({"doubleValue": "NaN"})  # NaN, not a crash
    assert any_value({"boolValue": True}) is True
    assert any_value({"arrayValue": {"values": [{"stringValue": "stop"}, {"intValue": "2"}]}}) == ["stop", 2]
    assert any_value({"kvlistValue": {"values": [{"key": "k", "value": {"boolValue": False}}]}}) == {
        "k": False
    }
    assert any_value({"intValue": "not a number"}) is None
    assert any_value({}) is None and any_value("junk") is None
    assert key_values([{"key": "a", "value": {"stringValue": "b"}}, "junk", {"value": {}}]) == {"a": "b"}


def test_base64_ids_and_numeric_status():
    trace, span = bytes(range(16)), bytes(range(8))
    obj = {
        "resourceSpans": [
            {
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": base64.b64encode(trace).decode(),
                                "spanId": base64.b64encode(span).decode(),
                                "startTimeUnixNano": "1",
                                "endTimeUnixNano": 2,
                                "status": {"code": "STATUS_CODE_ERROR"},
                            }
                        ]
                    }
                ]
            }
        ]
    }
    (record,) = list(otlp_spans(obj))
    assert (record.trace_id, record.span_id, record.parent_id) == (trace.hex(), span.hex(), None)
    assert record.error and record.resource == {} and record.attributes == {}


def test_malformed_spans_inside_a_batch_are_counted(tmp_path):
    good = to_otlp(known_calls()[:2])
    spans = good["resourceSpans"][0]["scopeSpans"][0]["spans"]
    spans.insert(
        1, {"traceId": "zz", "spanId": "0000000000000001", "startTimeUnixNano": "1", "endTimeUnixNano": "2"}
    )
    spans.append({"traceId": "0" * 32, "spanId": "1" * 16})
    spans.append("junk")
    items = list(otlp_spans(good))
    assert sum(isinstance(i, MalformedSpan) for i in items) == 3
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(good) + "\n" + json.dumps({"resourceSpans": "nope"}) + "\n")
    report = build_report([path])
    assert report.totals.calls == 2
    assert report.stats.malformed == 4
