"""Every output format, the command line and its exit codes, malformed lines and empty files."""

from __future__ import annotations

import csv
import gzip
import io
import json

import pytest
from report_spans import agent_trace, known_calls, write_jsonl

from otel_llm_cost._cli import main
from otel_llm_cost.report import build_report, render_table, to_csv, to_json


@pytest.fixture
def known_path(tmp_path):
    return write_jsonl(tmp_path / "known.jsonl", known_calls() + agent_trace(1001))


def test_table_fits_80_columns_and_has_every_section(known_path):
    text = render_table(build_report([known_path]))
    assert max(len(line) for line in text.splitlines()) <= 80
    for heading in (
        "Calls       103 · success 90.3% (10 errors)",
        "Cost        $0.49 USD",
        "Cache hits  19.9%",
        "Latency",
        "Cost by provider",
        "Cost by model",
        "Cost by agent",
        "Cost by step",
        "Agent steps",
        "Most expensive traces",
        "Unpriced models",
        "Call duration (log scale)",
        "Tokens over time",
        "Cost over time (USD)",
    ):
        assert heading in text
    assert "openai / mystery-model" in text


def test_ascii_table_is_pure_ascii(known_path):
    text = render_table(build_report([known_path]), ascii=True)
    assert text.isascii()
    assert "Call duration (log scale)" in text and "#" in text


def test_json_format(known_path):
    data = json.loads(to_json(build_report([known_path])))
    assert data["schema"] == "otel-llm-cost/report/v1"
    assert data["cost"]["total"] == "0.49"  # exact decimal string
    assert data["calls"] == {"total": 103, "errors": 10, "success_rate": 93 / 103, "traces": 101}
    assert data["tokens"]["cache_read"] == 20_000
    models = {row["label"]: row for row in data["by"]["model"]}
    assert models["gpt-4o"]["cost"] == "0.375" and models["gpt-4o"]["calls"] == 25
    assert data["unpriced_models"] == [{"provider": "openai", "model": "mystery-model", "calls": 5}]
    assert data["latency"]["duration_seconds"]["p50"] == pytest.approx(0.5, rel=0.05)
    assert {s["step"] for s in data["steps"]} == {"plan", "act", "invoke_agent travel-helper"}
    assert sum(b["calls"] for b in data["timeline"]["buckets"]) == 103
    assert len(data["top_traces"]) == 10


def test_csv_format(known_path):
    rows = list(csv.reader(io.StringIO(to_csv(build_report([known_path])))))
    assert rows[0] == ["section", "label", "metric", "value"]
    assert all(len(row) == 4 for row in rows)
    index = {(r[0], r[1], r[2]): r[3] for r in rows[1:]}
    assert index[("cost", "", "total")] == "0.49"
    assert index[("by.model", "gpt-4o", "cost")] == "0.375"
    assert index[("by.step", "act", "calls")] == "2"
    assert index[("steps", "plan", "mean_phase_seconds.tool")] == "0.1"
    assert index[("unpriced_models", "openai/mystery-model", "calls")] == "5"


def test_malformed_lines_are_skipped_counted_and_reported(tmp_path, capsys):
    good = known_calls()[:3]
    path = tmp_path / "mixed.jsonl"
    lines = [json.dumps(s) for s in good]
    lines[1:1] = ["{not json", "[1, 2]", json.dumps({"trace_id": "x"}), "", '{"span_id": 5}']
    path.write_text("\n".join(lines) + '\n{"trace_id": "half a li')
    report = build_report([path])
    assert report.totals.calls == 3
    assert report.stats.malformed == 5
    assert report.stats.examples[0] == f"{path}:2: not JSON (JSONDecodeError)"
    assert main(["report", str(path), "--no-charts"]) == 0
    out = capsys.readouterr().out
    assert "Skipped 5 malformed line(s)" in out and "not a JSON object" in out
    assert main(["report", str(path), "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["input"]["malformed"] == 5
    assert "skipped 5 malformed" in captured.err


def test_empty_file(tmp_path, capsys):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    report = build_report([empty])
    assert (report.totals.calls, report.stats.spans, report.success_rate) == (0, 0, None)
    assert "No LLM calls found." in render_table(report)
    data = json.loads(to_json(report))
    assert data["calls"]["total"] == 0 and data["latency"]["duration_seconds"]["p50"] is None
    assert main(["report", str(empty), "--format", "csv"]) == 0
    assert capsys.readouterr().out.startswith("section,label,metric,value\n")


def test_truncated_gzip_is_reported_not_raised(tmp_path):
    data = gzip.compress("".join(json.dumps(s) + "\n" for s in known_calls()).encode())
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    report = build_report([path])
    assert 0 < report.totals.calls < 100
    assert report.stats.malformed >= 1
    assert any("unreadable compressed data" in e for e in report.stats.examples)


def test_cli_output_file_html_and_by(tmp_path, known_path, capsys):
    out, html = tmp_path / "r.json", tmp_path / "r.html"
    args = ["report", str(known_path), "--format", "json", "-o", str(out), "--html", str(html)]
    assert main([*args, "--by", "gen_ai.provider.name", "--top", "3"]) == 0
    data = json.loads(out.read_text())
    assert [r["label"] for r in data["by"]["gen_ai.provider.name"]] == ["openai", "anthropic"]
    assert len(data["top_traces"]) == 3
    assert html.read_text().startswith("<!DOCTYPE html>")
    assert "HTML report written" in capsys.readouterr().err


def test_cli_filters(known_path, capsys):
    assert main(["report", str(known_path), "--format", "json", "--model", "claude-*"]) == 0
    assert json.loads(capsys.readouterr().out)["calls"]["total"] == 20 // 20
    assert main(["report", str(known_path), "--format", "json", "--since", "1h"]) == 0
    assert json.loads(capsys.readouterr().out)["calls"]["total"] == 0  # the fixture is from 2025-06-15
    assert main(["report", str(known_path), "--format", "json", "--until", "2030-01-01"]) == 0
    assert json.loads(capsys.readouterr().out)["calls"]["total"] == 103


def test_exit_codes(tmp_path, known_path, capsys):
    assert main(["report", str(tmp_path / "missing.jsonl")]) == 1
    assert "No such file" in capsys.readouterr().err
    # Usage errors: exit 2 and one line, not argparse's usage block.
    for argv in (
        ["report", str(known_path), "--since", "yesterday"],
        ["report"],
        ["report", "x", "--top", "-3"],
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("otel-llm-cost: ")


def test_progress_bar_when_forced(known_path, capsys):
    assert main(["report", str(known_path), "--progress", "--format", "json"]) == 0
    err = capsys.readouterr().err
    assert "100%" in err and "\r" in err
    assert main(["report", str(known_path), "--format", "json"]) == 0  # stderr is not a TTY here
    assert "100%" not in capsys.readouterr().err
