"""The Collector file exporter's output, in every framing it writes, reports like our own JSONL (#19).

The files come from :mod:`collector_files`, which writes as the exporter's source says (no Docker
here): batches grouped by resource and scope with the agent scope first, so roots arrive before their
calls or in later batches; rotated into timestamped backups; ``group_by`` subdirectories; zstd (per
record, or a stream under the ``exporter.file.nativeCompression`` gate); binary OTLP. Every report
must equal the one from the same spans in our JSONL: totals, cost by agent and step, top traces.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
import yaml
from collector_files import AGENT_SCOPE, FileExporter, collector_spans, records, spans_of
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from report_spans import agent_trace, write_jsonl

from otel_llm_cost._cli import main
from otel_llm_cost.report import build_report, to_json
from otel_llm_cost.report._aggregate import Aggregator
from otel_llm_cost.report._inputs import input_files
from otel_llm_cost.report._jsonl import jsonl_span
from otel_llm_cost.report._read import ReadStats
from otel_llm_cost.report._records import UnsupportedInput, file_container
from otel_llm_cost.report._totals import NONE
from otel_llm_cost.report._traces import Traces

COLLECTOR = Path(__file__).resolve().parents[2] / "collector"
AGENTS = {"travel-helper": 48, "planner": 24, NONE: 100}
STEPS = {"plan": 24, "act": 48, NONE: 100}


@pytest.fixture(scope="module")
def spans():
    return collector_spans()


@pytest.fixture(scope="module")
def expected(spans, tmp_path_factory):
    """The report of the same spans from our JSONL."""
    return build_report([write_jsonl(tmp_path_factory.mktemp("jsonl") / "spans.jsonl", spans)])


def _without_input(report):
    """The report's JSON but its input section, floats to 12 digits (calls add up in trace-closing order)."""
    data = json.loads(to_json(report), parse_float=lambda text: float(f"{float(text):.12g}"))
    data.pop("input")
    return data


def _assert_same_report(report, expected, spans):
    assert report.stats.spans == len(spans) and report.stats.malformed == 0
    assert _without_input(report) == _without_input(expected)
    assert report.totals.calls == 172
    assert dict((label, t.calls) for label, t in report.groups["agent"]) == AGENTS
    assert dict((label, t.calls) for label, t in report.groups["step"]) == STEPS


def test_json_lines_rotated_into_a_directory_report_like_jsonl(tmp_path, spans, expected):
    out = tmp_path / "llm-spans"
    FileExporter(out / "traces.json", max_bytes=20_000).export_all(spans, batch_size=8)

    files = input_files([out])
    assert len(files) >= 4
    # Backups (lumberjack's names) by the time in their names, the file being written last.
    assert files[-1] == str(out / "traces.json")
    assert all(
        re.fullmatch(r"traces-2025-06-15T\d\d-\d\d-\d\d\.123\.json", f.rsplit("/", 1)[1]) for f in files[:-1]
    )
    assert files[:-1] == sorted(files[:-1])
    report = build_report([out])
    _assert_same_report(report, expected, spans)
    assert report.stats.files == files


def test_the_files_hold_what_broke_attribution_roots_first_and_in_later_batches(tmp_path, spans):
    path = tmp_path / "traces.json"
    FileExporter(path).export_all(spans, batch_size=8)
    requests = records(path)
    # Exactly the Collector's JSON: hex ids, string times, numeric enums, schemaUrl, flags, empty status.
    first = requests[0]["resourceSpans"][0]
    assert set(first) == {"resource", "scopeSpans", "schemaUrl"}
    span = first["scopeSpans"][0]["spans"][0]
    assert (
        isinstance(span["startTimeUnixNano"], str) and span["flags"] == 257 and isinstance(span["kind"], int)
    )
    roots_before_calls = roots_in_later_batch = 0
    for number, request in enumerate(requests):
        for resource in request["resourceSpans"]:
            names = [scope["scope"]["name"] for scope in resource["scopeSpans"]]
            roots_before_calls += names[0] == AGENT_SCOPE and len(names) > 1
        for span in spans_of([request]):
            if "parentSpanId" not in span:
                children = [
                    s for r in requests[:number] for s in spans_of([r]) if s["traceId"] == span["traceId"]
                ]
                roots_in_later_batch += bool(children)
    assert roots_before_calls > 5 and roots_in_later_batch > 5


@pytest.mark.parametrize(
    "options",
    [
        {"compression": "zstd"},
        {"compression": "zstd", "max_bytes": 6_000, "backup_reason": "size"},
        {"compression": "zstd", "native_zstd": True},
        {"compression": "zstd", "native_zstd": True, "max_bytes": 6_000},
        {"format": "proto"},
        {"format": "proto", "compression": "zstd", "max_bytes": 9_000},
        {"format": "proto", "compression": "zstd", "native_zstd": True},
    ],
    ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()),
)
def test_every_framing_reports_like_jsonl(tmp_path, spans, expected, options):
    out = tmp_path / "out"
    FileExporter(out / "traces.bin", **options).export_all(spans, batch_size=8)
    kinds = {file_container(f) for f in input_files([out])}
    assert kinds == ({"zstd"} if options.get("native_zstd") else {"framed"})
    _assert_same_report(build_report([out]), expected, spans)


def test_group_by_writes_a_file_per_service_and_the_directory_reports_like_jsonl(tmp_path, spans, expected):
    out = tmp_path / "out"
    FileExporter(
        out / "*" / "traces.json", group_by="service.name", max_bytes=15_000, backup_reason="size"
    ).export_all(spans, batch_size=8)
    files = input_files([out])
    assert {f.split("/")[-2] for f in files} == {"agents", "svc"}
    assert any("-size.json" in f for f in files)
    # Service by service: "svc" starts 50 minutes before "agents" ends, and traces stay whole.
    _assert_same_report(build_report([out]), expected, spans)


def test_the_command_reads_a_collector_directory(tmp_path, spans, capsys):
    out = tmp_path / "llm-spans"
    FileExporter(out / "traces.json", max_bytes=20_000).export_all(spans, batch_size=8)
    jsonl = write_jsonl(tmp_path / "spans.jsonl", spans)
    assert main(["report", str(jsonl), "--format", "json", "--by", "deployment.environment.name"]) == 0
    ours = json.loads(capsys.readouterr().out)
    assert main(["report", str(out), "--format", "json", "--by", "deployment.environment.name"]) == 0
    theirs = json.loads(capsys.readouterr().out)
    assert theirs["input"]["files"] == input_files([out])
    ours.pop("input"), theirs.pop("input")
    assert theirs == ours
    assert {row["label"]: row["calls"] for row in theirs["by"]["agent"]} == AGENTS


def test_one_file_exporter_in_every_pipeline_its_metrics_and_logs_are_not_errors(tmp_path, spans, expected):
    # `exporters: [file]` in the traces, metrics and logs pipelines: one file, all three signals.
    path = tmp_path / "all.json"
    FileExporter(path).export_all(spans, batch_size=8)
    metrics = {
        "resourceMetrics": [{"resource": {}, "scopeMetrics": [{"scope": {}, "metrics": [{"name": "m"}]}]}]
    }
    logs = {"resourceLogs": [{"resource": {}, "scopeLogs": [{"scope": {}, "logRecords": [{"body": {}}]}]}]}
    lines, others = path.read_text().splitlines(), [json.dumps(metrics), json.dumps(logs)]
    mixed = []
    for i, line in enumerate(lines):
        mixed += [line, *others[: i % 3]]
    path.write_text("\n".join(mixed) + "\n")
    report = build_report([path])
    assert report.stats.lines == len(mixed) > len(lines)
    _assert_same_report(report, expected, spans)


def test_the_duckdb_engine_leaves_zstd_and_records_to_the_python_engine(tmp_path, spans, capsys):
    pytest.importorskip("duckdb")
    out = tmp_path / "out"
    FileExporter(out / "traces.json", compression="zstd").export_all(spans, batch_size=8)
    assert main(["report", str(out), "--engine", "duckdb", "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert "the duckdb engine reads JSON lines; using the python engine" in captured.err
    assert json.loads(captured.out)["calls"]["total"] == 172


def test_an_older_file_read_after_a_newer_one_keeps_its_traces_whole():
    # Two group_by files, or rotated files named out of order: the input's clock is far ahead when the
    # older file starts. Its traces must wait for their spans (up to the open-trace limit, here 6), not
    # close on arrival: they used to, after the limit was first reached, splitting every trace.
    newer = [s for t in (1, 2) for s in agent_trace(t, start_s=100_000 + t * 10)]
    older = []
    for pair in range(10):  # two runs at a time, a pair every 1000 s, their spans interleaved
        a, b = (
            agent_trace(10 + 2 * pair, start_s=pair * 1000),
            agent_trace(11 + 2 * pair, start_s=pair * 1000),
        )
        older += [s for i in range(7) for s in (a[i], b[i])]
    reports = []
    for spans in (older + newer, newer + older):
        aggregator = Aggregator(top=5)
        aggregator.traces = Traces(aggregator._count_call, top=5, max_traces=6)
        for s in spans:
            aggregator.add(jsonl_span(s))
        reports.append(aggregator.report(ReadStats()))
    in_order, newer_first = reports
    assert newer_first.stats.split_traces == 0
    assert _without_input(newer_first) == _without_input(in_order)
    assert dict((label, t.calls) for label, t in newer_first.groups["agent"]) == {"travel-helper": 66}


def test_directory_order_backups_by_time_then_the_current_file(tmp_path):
    names = [
        "traces.json",
        "traces-2025-06-15T15-10-00.000-size.json",
        "traces-2025-06-15T15-08-00.000.json",
        "traces-2025-06-14T23-59-59.999-time.json",
        "notes.txt",
        ".hidden.json",
        "b/traces.json",
        "a/traces-2025-01-01T00-00-00.000.json",
        "a/traces.json",
    ]
    for name in names:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("")
    relative = [f[len(str(tmp_path)) + 1 :] for f in input_files([tmp_path, tmp_path / "traces.json"])]
    assert relative == [
        "notes.txt",
        "traces-2025-06-14T23-59-59.999-time.json",
        "traces-2025-06-15T15-08-00.000.json",
        "traces-2025-06-15T15-10-00.000-size.json",
        "traces.json",  # once, though named twice
        "a/traces-2025-01-01T00-00-00.000.json",
        "a/traces.json",
        "b/traces.json",
    ]


@pytest.mark.parametrize("options", [{"compression": "zstd"}, {"compression": "zstd", "native_zstd": True}])
def test_a_file_cut_short_while_written_ends_that_file_not_the_report(tmp_path, spans, options):
    path = tmp_path / "traces.zst"
    FileExporter(path, **options).export_all(spans, batch_size=8)
    path.write_bytes(path.read_bytes()[:-7])
    report = build_report([path])
    assert 0 < report.stats.spans < len(spans)
    # One loss, the record cut in two: a record's length past the end, or a zstd stream's last line.
    assert report.stats.malformed == 1
    assert ("ends inside a record" if "native_zstd" not in options else "not JSON") in report.stats.examples[
        0
    ]


def test_a_record_too_long_is_skipped_and_counted(tmp_path, spans):
    path = tmp_path / "traces.bin"
    FileExporter(path, compression="zstd").export_all(spans[:40] + spans[-40:], batch_size=40)
    sizes = [len(payload) for payload in _framed_payloads(path)]
    report = build_report([path], max_line_bytes=max(sizes) - 1)
    assert report.stats.oversized >= 1 and report.stats.lines == 2
    assert report.stats.spans == 40 * (2 - report.stats.oversized)


def _framed_payloads(path):
    import zstandard

    data, out = path.read_bytes(), []
    while data:
        size = int.from_bytes(data[:4], "big")
        out.append(zstandard.ZstdDecompressor().decompressobj().decompress(data[4 : 4 + size]))
        data = data[4 + size :]
    return out


@pytest.mark.parametrize(
    ("options", "module", "says"),
    [
        ({"compression": "zstd"}, "zstandard", "`compression: zstd`): pip install zstandard"),
        ({"compression": "zstd", "native_zstd": True}, "zstandard", "pip install zstandard"),
        ({"format": "proto"}, "opentelemetry.proto.trace.v1.trace_pb2", "set `format: json`"),
    ],
)
def test_a_missing_optional_package_is_one_clear_error(
    tmp_path, spans, capsys, monkeypatch, options, module, says
):
    path = tmp_path / "traces.out"
    FileExporter(path, **options).export_all(spans[:20], batch_size=8)
    monkeypatch.setitem(sys.modules, module, None)  # as if not installed
    with pytest.raises(UnsupportedInput, match=str(path)):
        build_report([path])
    assert main(["report", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and says in err


@pytest.fixture(scope="module")
def framed_files(spans, tmp_path_factory):
    """Small files in each binary framing, to damage."""
    folder = tmp_path_factory.mktemp("framed")
    options = {
        "zstd-records": {"compression": "zstd"},
        "zstd-stream": {"compression": "zstd", "native_zstd": True, "max_bytes": 4_000},
        "proto": {"format": "proto"},
    }
    for name, option in options.items():
        FileExporter(folder / name, **option).export_all(spans[:60], batch_size=8)
    return {name: folder / name for name in options}


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_binary_files_are_counted_never_raised(tmp_path, framed_files, data):
    name = data.draw(st.sampled_from(sorted(framed_files)))
    content = bytearray(framed_files[name].read_bytes())
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(content) - 1))
        action = data.draw(st.sampled_from(["flip", "cut", "length"]))
        if action == "flip":
            content[at] ^= data.draw(st.integers(1, 255))
        elif action == "cut":
            del content[at:]
            if not content:
                break
        else:  # a record length claiming up to 4 GiB
            content[at : at + 4] = data.draw(st.integers(0, 2**32 - 1)).to_bytes(4, "big")
    path = tmp_path / "damaged"
    path.write_bytes(bytes(content))
    report = build_report([path], max_line_bytes=1 << 20)
    assert report.stats.spans <= 60 and report.totals.calls <= 60


def test_a_zstd_stream_damaged_in_its_first_header_is_one_unreadable_record(tmp_path, framed_files):
    path = tmp_path / "damaged.zst"
    content = bytearray(framed_files["zstd-stream"].read_bytes())
    content[4] ^= 1  # the frame header descriptor: fails before the first line is seen
    path.write_bytes(bytes(content))
    report = build_report([path])
    assert (report.stats.spans, report.stats.malformed) == (0, 1)
    assert "unreadable compressed data (zstd:" in report.stats.examples[0]


def test_tail_refuses_compressed_and_framed_files(tmp_path, spans, capsys):
    for options in ({"compression": "zstd"}, {"compression": "zstd", "native_zstd": True}):
        path = tmp_path / "traces.out"
        path.unlink(missing_ok=True)
        FileExporter(path, **options).export_all(spans[:20], batch_size=8)
        assert main(["tail", str(path), "--once"]) == 1
        assert "use `otel-llm-cost report` on it" in capsys.readouterr().err


# --- collector/otel-collector.yaml: its file exporter writes what the report reads ----------------------


def test_the_collector_configuration_writes_files_the_report_reads(tmp_path, spans, expected):
    config = _load("otel-collector.yaml")
    exporters = {name: c for name, c in config["exporters"].items() if name.split("/")[0] == "file"}
    assert list(exporters) == ["file/llm"]
    settings = exporters["file/llm"]
    assert "file/llm" in config["service"]["pipelines"]["traces"]["exporters"]
    assert settings.get("format", "json") == "json" and settings.get("compression") in (None, "zstd")
    assert "group_by" not in settings and not settings.get("append")
    # Written where the compose file keeps a volume, which the README copies out and reports on.
    directory, name = settings["path"].rsplit("/", 1)
    compose = _load("docker-compose.yaml")
    assert any(v.endswith(f":{directory}") for v in compose["services"]["collector"]["volumes"])
    readme = (COLLECTOR / "README.md").read_text()
    assert f"docker compose cp collector:{directory} ." in readme
    assert f"otel-llm-cost report {directory.rsplit('/', 1)[1]}/" in readme

    # The same settings, with rotation scaled down from megabytes, give the report of our JSONL.
    rotation = settings["rotation"]
    assert rotation["max_megabytes"] >= 1 and rotation["max_backups"] >= 1
    out = tmp_path / directory.rsplit("/", 1)[1]
    FileExporter(
        out / name,
        format=settings.get("format", "json"),
        compression=settings.get("compression"),
        max_bytes=20_000,
    ).export_all(spans, batch_size=8)
    assert len(input_files([out])) > 2
    _assert_same_report(build_report([out]), expected, spans)


def _load(name):
    return yaml.safe_load((COLLECTOR / name).read_text())
