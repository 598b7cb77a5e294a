"""The CLI on hostile span files (issue #16): every input problem is exit 1 or 2 with one line on stderr,
never a traceback; nothing a file holds reaches the terminal as a control character; memory stays
bounded by the line cap, not the line.

Hypothesis builds span lines (our JSONL and OTLP/JSON) whose every field may be hostile: escape
sequences, bidi overrides, lone surrogates, absurd numbers, deep nesting, wrong types.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tracemalloc
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from report_spans import agent_trace, llm, step, to_otlp, write_jsonl

from otel_llm_cost._cli import main
from otel_llm_cost.report import build_report
from otel_llm_cost.report._follow import Follower
from otel_llm_cost.report._tail import TailOptions, tail

# What must never reach a terminal: C0 (but newline), DEL, C1, bidi controls, separators, surrogates.
UNSAFE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
HOSTILE_TEXT = (
    "\x1b]0;pwned\x07",  # OSC: set the window title
    "\x1b]8;;http://evil.example/\x1b\\link\x1b]8;;\x1b\\",  # OSC 8 hyperlink
    "\x1b[2J\x1b[H",  # clear the screen
    "\x1b[31mred\x1b[0m",  # raw ANSI colour
    "\u202egnp.exe",  # right-to-left override
    "a\u2066b\u2069c\u200f",
    "\x9b31m",  # C1 CSI
    "\r\x08\x07\x00",
    "half an emoji \ud83d",
    "\udc00lone low",
    "line\nbreak\u2028sep",
    "m" * 5000,
)
hostile_text = st.one_of(
    st.sampled_from(HOSTILE_TEXT),
    st.text(st.sampled_from([*"ab ", "\x1b", "\x07", "\x9b", "\u202e", "\ud800", "\n", "\r"]), max_size=40),
)
absurd_number = st.one_of(
    st.sampled_from(["1e999999", "-1e999999", "1e-999999", "NaN", "Infinity", "-0", "1" * 5000]),
    st.sampled_from([10**400, -(10**400), 2**64, 2**63, -1, 1e308, -1e308, 5e-324]),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
)
json_value = st.recursive(
    st.one_of(st.none(), st.booleans(), absurd_number, hostile_text),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(hostile_text, inner, max_size=3),
    max_leaves=8,
)
FIELDS = (
    "gen_ai.request.model",
    "gen_ai.response.model",
    "gen_ai.provider.name",
    "gen_ai.agent.name",
    "llm_cost.step.name",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.cost.amount",
    "llm_cost.cost.status",
    "gen_ai.response.time_to_first_chunk",
    "llm_cost.output_tokens_per_second",
    "llm_cost.phase.generation",
    "gen_ai.response.id",
)


@st.composite
def hostile_span(draw: st.DrawFn) -> dict[str, Any]:
    """A plausible span (an LLM call, a step or an agent) with some fields replaced by hostile values."""
    trace = draw(st.integers(1, 4))
    sid = draw(st.integers(1, 12))
    kind = draw(st.sampled_from(["call", "step", "agent"]))
    if kind == "call":
        span = llm(trace, sid, draw(st.none() | st.integers(1, 12)), start_s=draw(st.floats(0, 100)))
    elif kind == "step":
        span = step(
            trace, sid, draw(st.none() | st.integers(1, 12)), draw(hostile_text), agent=draw(hostile_text)
        )
    else:
        span = agent_trace(trace)[-1]
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=4)):
        span["attributes"][name] = draw(json_value)
    fields = ["name", "start_time_unix_nano", "end_time_unix_nano", "trace_id", "parent_span_id", "resource"]
    for name in draw(st.lists(st.sampled_from([*fields, "status"]), max_size=2)):
        span[name] = draw(json_value)
    span["name"] = draw(st.sampled_from([span["name"], *HOSTILE_TEXT[:6]]))
    return span


def _line(span: dict[str, Any], otlp: bool) -> str:
    try:
        obj = to_otlp([span]) if otlp else span
    except (AttributeError, TypeError, KeyError, ValueError):
        obj = span  # a span too broken to convert: written as is
    return json.dumps(obj)  # ensure_ascii: lone surrogates survive as \\ud83d escapes


def _check_output(out: str, err: str, code: int) -> None:
    assert code in (0, 1, 2)
    assert "Traceback" not in err and "internal error" not in err
    if code:
        assert err.count("\n") == 1 and err.startswith("otel-llm-cost: ")
    assert not UNSAFE.search(out), UNSAFE.search(out)
    assert not UNSAFE.search(err), UNSAFE.search(err)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    spans=st.lists(hostile_span(), min_size=1, max_size=12),
    otlp=st.booleans(),
    garbage=st.lists(
        st.sampled_from(["[" * 50_000, '{"a":' * 5000, "\x00\xff", "{", "[]", "null"]), max_size=2
    ),
    fmt=st.sampled_from(["table", "csv", "json"]),
)
def test_report_on_hostile_spans(tmp_path, capsys, spans, otlp, garbage, fmt):
    path = tmp_path / "hostile.jsonl"
    path.write_text("\n".join([*(_line(s, otlp) for s in spans), *garbage]) + "\n", encoding="utf-8")
    html = tmp_path / "r.html"
    code = main(["report", str(path), "--format", fmt, "--html", str(html), "--by", "llm_cost.step.name"])
    captured = capsys.readouterr()
    _check_output(captured.out, captured.err.replace("otel-llm-cost: HTML report written to", "", 1), code)
    assert code == 0
    html.read_text(encoding="utf-8")  # written, and valid UTF-8 (a lone surrogate is replaced)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spans=st.lists(hostile_span(), min_size=1, max_size=8), otlp=st.booleans())
def test_trace_tree_and_tail_on_hostile_spans(tmp_path, capsys, spans, otlp):
    path = tmp_path / "hostile.jsonl"
    path.write_text("\n".join(_line(s, otlp) for s in spans) + "\n", encoding="utf-8")
    for trace in range(1, 5):
        code = main(["report", str(path), "--trace", f"{trace:032x}"])
        captured = capsys.readouterr()
        _check_output(captured.out, captured.err, code)
    code = main(["tail", str(path), "--once"])
    captured = capsys.readouterr()
    _check_output(captured.out, captured.err, code)
    assert code == 0


# --- one class each, by example -------------------------------------------------------------------


def test_escape_sequences_never_reach_the_terminal(tmp_path, capsys):
    spans = []
    for i, text in enumerate(HOSTILE_TEXT[:10], 1):
        spans.append(llm(i, i, model=text, cost="0.01", start_s=i))
        spans.append(step(100, 10 + i, None, text, agent=text, start_s=i))
    path = write_jsonl(tmp_path / "esc\x1b]0;x\x07.jsonl", spans)
    for argv in (
        ["report", str(path)],
        ["report", str(path), "--format", "csv"],
        ["report", str(path), "--trace", f"{1:032x}"],
        ["tail", str(path), "--once"],
        ["report", str(tmp_path / "missing\x1b[2J.jsonl")],
    ):
        code = main(argv)
        captured = capsys.readouterr()
        _check_output(captured.out, captured.err, code)
        assert "\ufffd" in captured.out + captured.err  # neutralised, visibly


@pytest.mark.parametrize(
    "argv",
    [
        ["--top", "-3"],
        ["--width", "-1"],
        ["--since", "yesterday"],
        ["--until", "2025-13-45"],
        ["--format", "xml"],
        ["--unknown"],
    ],
)
def test_bad_arguments_exit_2_with_one_line(tmp_path, capsys, argv):
    path = write_jsonl(tmp_path / "s.jsonl", agent_trace(1))
    assert main(["report", str(path), *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("otel-llm-cost: ")


@pytest.mark.parametrize("argv", [["--interval", "0"], ["--interval", "nan"], ["--max-calls", "-1"]])
def test_bad_tail_arguments_exit_2(tmp_path, capsys, argv):
    assert main(["tail", str(tmp_path / "s.jsonl"), *argv]) == 2
    assert capsys.readouterr().err.count("\n") == 1


@pytest.mark.parametrize("option", ["--html", "-o"])
@pytest.mark.parametrize("target", ["missing-dir/r.out", ".", "/proc/version"])
def test_unwritable_outputs_exit_1_before_reading(tmp_path, capsys, option, target):
    path = write_jsonl(tmp_path / "s.jsonl", agent_trace(1))
    where = target if target.startswith("/") else str(tmp_path / target)
    assert main(["report", str(path), option, where]) == 1
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "cannot write" in captured.err
    if not target.startswith("/proc"):  # root may open /proc/version: the write itself fails, later
        assert captured.out == ""


def test_inputs_that_are_not_regular_files_exit_1(tmp_path, capsys):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for argv in (["report", str(fifo)], ["tail", str(fifo), "--once"]):
        assert main(argv) == 1
        assert "not a regular file" in capsys.readouterr().err
    # A directory is read file by file; one holding no regular file (a FIFO is skipped) is an error.
    assert main(["report", str(tmp_path)]) == 1
    assert f"no span files in {tmp_path}" in capsys.readouterr().err


def test_tail_once_on_a_fifo_does_not_hang(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    code = "from otel_llm_cost._cli import main; raise SystemExit(main())"
    done = subprocess.run(
        [sys.executable, "-c", code, "tail", str(fifo), "--once"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1 and done.stderr.count("\n") == 1


def test_absurd_numbers_are_not_summed(tmp_path, capsys):
    good = llm(1, 1, cost="0.5")
    huge = llm(2, 2, cost="0.5", start_s=1)
    huge["attributes"]["gen_ai.usage.cost.amount"] = "1e999999"
    inf = llm(
        3,
        3,
        start_s=2,
        extra={"gen_ai.usage.cost.amount": 1e308, "llm_cost.output_tokens_per_second": 10**400},
    )
    late = llm(4, 4, start_s=3)
    late["end_time_unix_nano"] = 10**30
    tokens = llm(5, 5, start_s=4, input_tokens=10**400, output_tokens=2**64)
    path = write_jsonl(tmp_path / "s.jsonl", [good, huge, inf, late, tokens])
    report = build_report([path])
    assert str(report.totals.cost) == "0.501"  # the good call and the one with absurd token counts
    assert report.totals.unpriced == 2
    assert report.stats.malformed == 1  # the time past 64 bits
    assert main(["report", str(path), "--html", str(tmp_path / "r.html")]) == 0
    assert "unpriced" in capsys.readouterr().out


def test_deep_nesting_is_a_skipped_line(tmp_path):
    otlp = json.dumps(to_otlp([llm(1, 1)]))
    deep = '{"arrayValue":{"values":[' * 5000 + '{"stringValue":"x"}' + "]}}" * 5000
    otlp = otlp.replace('"attributes": [', '"attributes": [{"key": "deep", "value": ' + deep + "}, ", 1)
    lines = [
        "[" * 100_000 + "]" * 100_000,
        '{"a":' * 50_000 + "1" + "}" * 50_000,
        otlp,
        json.dumps(llm(2, 2)),
    ]
    path = tmp_path / "deep.jsonl"
    path.write_text("\n".join(lines) + "\n")
    report = build_report([path])
    assert report.totals.calls == 1 and report.stats.malformed == 3


def test_memory_is_bounded_by_the_line_cap_not_the_line(tmp_path):
    path = tmp_path / "long.jsonl"
    with open(path, "w") as out:
        out.write(json.dumps(llm(1, 1)) + "\n")
        out.write('{"name": "' + "x" * (40 * 1024 * 1024) + '"}\n')  # a 40 MB line
        out.write(json.dumps(llm(2, 2)) + "\n")
    tracemalloc.start()
    try:
        report = build_report([path], max_line_bytes=1024 * 1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.totals.calls == 2
    assert report.stats.oversized == 1 and report.stats.malformed == 1
    assert peak < 12 * 1024 * 1024  # the cap (1 MB) plus a read chunk, not the 40 MB line


def test_follower_drops_an_oversized_line_as_it_streams(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_bytes(b"")
    follower = Follower(str(path), from_start=True, max_line_bytes=1000)
    with open(path, "ab") as out:
        out.write(b"a" * 5000)
        out.flush()
        assert follower.poll() == [] and follower._partial == b""
        out.write(b"b" * 5000 + b"\nok\n")
        out.flush()
        assert follower.poll() == [b"ok"]
    assert follower.oversized == 1
    follower.close()


def test_tail_goes_on_after_hostile_lines(tmp_path):
    lines = [
        json.dumps(llm(1, 1, cost="0.01")),
        "[" * 100_000,
        json.dumps(llm(2, 2, cost="0.01", model="\x1b]0;x\x07")),
        json.dumps({**llm(3, 3), "end_time_unix_nano": 10**30}),
        "\udcff not even json",
        json.dumps(llm(4, 4, cost="0.01", extra={"gen_ai.usage.cost.amount": "1e999999"})),
        json.dumps(llm(5, 5, cost="0.01")),
    ]
    path = tmp_path / "s.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogateescape")

    class Out:
        text = ""

        def write(self, s: str) -> None:
            Out.text += s

        def flush(self) -> None:
            pass

    totals = tail(str(path), TailOptions(once=True), Out())  # type: ignore[arg-type]
    assert totals.calls == 4 and totals.unpriced == 1 and totals.skipped == 3
    assert not UNSAFE.search(Out.text)


def test_a_line_half_written_at_rotation_is_not_lost(tmp_path):
    path = tmp_path / "s.jsonl"
    first, second, third = (json.dumps(llm(i, i)) + "\n" for i in (1, 2, 3))
    path.write_text(first)
    follower = Follower(str(path), from_start=True)
    assert len(follower.poll()) == 1
    with open(path, "a") as writer:  # the writer keeps its descriptor across the rotation
        writer.write(second[:20])
        writer.flush()
        os.rename(path, tmp_path / "s.jsonl.1")
        path.write_text(third)  # the new file appears
        assert follower.poll() == []  # the old file's last line is not finished yet: wait
        writer.write(second[20:])
        writer.flush()
    assert follower.poll() == [second.rstrip("\n").encode()]
    assert follower.poll() == [third.rstrip("\n").encode()]
    follower.close()


def test_times_from_the_epoch_to_the_64_bit_limit_render(tmp_path, capsys):
    early, late = llm(1, 1), llm(2, 2)
    early["start_time_unix_nano"] = early["end_time_unix_nano"] = 0
    late["start_time_unix_nano"] = late["end_time_unix_nano"] = 2**63 - 1
    path = write_jsonl(tmp_path / "s.jsonl", [early, late, llm(3, 3, start_s=1)])
    assert main(["report", str(path), "--html", str(tmp_path / "r.html")]) == 0
    out = capsys.readouterr().out
    assert "Period      1970-01-01 00:00:00 → 226" in out
