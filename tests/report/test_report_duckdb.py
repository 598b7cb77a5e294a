"""The DuckDB engine gives the Python engine's report (the reference), figure for figure."""

from __future__ import annotations

import json
import math
import random
from decimal import Decimal

import pytest
from report_spans import agent_trace, known_calls, llm, span, step, to_otlp, write_jsonl

from otel_llm_cost._cli import main
from otel_llm_cost.report import build_report, to_json
from otel_llm_cost.report._duckdb import EngineUnsupported, duckdb_report
from otel_llm_cost.report._filters import Filters, parse_time


def _close(a, b):
    """Equal, floats within 1e-9 relative (the engines add in different orders)."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _figures(report):
    data = json.loads(to_json(report))
    data.pop("input")  # the DuckDB engine does not count unreadable lines
    for key in ("by_part", "unpriced_units"):  # nor the cost per billed part (#17)
        data["cost"].pop(key)
    return data


@pytest.fixture
def spans_path(tmp_path):
    spans = known_calls() + agent_trace(1001) + agent_trace(1002, start_s=4000, agent="booker")
    # Root first, and two spans of one call (one response id): order and duplicates as in real files.
    spans += [
        agent_trace(1003)[-1],
        *agent_trace(1003)[:-1],
        llm(9001, 70, response_id="same", start_s=6000),
        llm(9001, 71, response_id="same", start_s=6000),
    ]
    return write_jsonl(tmp_path / "spans.jsonl", spans)


@pytest.mark.parametrize(
    "filters",
    [
        Filters(),
        Filters(model="gpt-4o*"),
        Filters(since_ns=parse_time("2025-06-15T15:30:00Z"), until_ns=parse_time("2025-06-15T16:00:00Z")),
        Filters(service="nothing"),
    ],
)
def test_same_figures_as_the_python_engine(spans_path, filters):
    python = build_report([spans_path], filters=filters)
    duck = duckdb_report([spans_path], filters=filters)
    assert _close(_figures(duck), _figures(python)), (_figures(duck), _figures(python))


def test_same_trace_views(spans_path):
    python, duck = build_report([spans_path], top=3), duckdb_report([spans_path], top=3)
    assert [t.trace_id for t in duck.top_traces] == [t.trace_id for t in python.top_traces]
    for a, b in zip(duck.slow_traces, python.slow_traces, strict=True):
        if a.trace_id == f"{9001:032x}":
            continue  # which copy of a duplicated call counts is the engines' choice
        # Span ids are not compared: the DuckDB engine tells spans apart by hashed keys (views show no ids).
        assert [(s.depth, s.name, s.kind, s.start_ns, s.cost, s.phases) for s in a.spans] == [
            (s.depth, s.name, s.kind, s.start_ns, s.cost, s.phases) for s in b.spans
        ]
        assert (a.root, a.calls, a.cost, a.duration_s, a.spans_dropped) == (
            b.root,
            b.calls,
            b.cost,
            b.duration_s,
            b.spans_dropped,
        )
    trace = f"{1001:032x}"
    assert duckdb_report([spans_path], trace=trace).trace(trace).calls == 3


def test_gzip_and_otlp_inputs(tmp_path):
    spans = known_calls()
    zipped = write_jsonl(tmp_path / "a.jsonl", spans, compress=True)
    assert _close(_figures(duckdb_report([zipped])), _figures(build_report([zipped])))
    otlp = tmp_path / "otlp.json"
    otlp.write_text(json.dumps(to_otlp(spans)) + "\n")
    with pytest.raises(EngineUnsupported):
        duckdb_report([otlp])


def test_cli_engine_choice(spans_path, tmp_path, capsys):
    assert main(["report", str(spans_path), "--engine", "duckdb", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["calls"]["total"] == 110
    otlp = tmp_path / "otlp.json"
    otlp.write_text(json.dumps(to_otlp(known_calls())) + "\n")
    assert main(["report", str(otlp), "--engine", "duckdb", "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert "using the python engine" in captured.err and json.loads(captured.out)["calls"]["total"] == 100


def test_hostile_file_on_the_duckdb_engine(tmp_path, capsys):
    from test_hostile_files import HOSTILE_TEXT, UNSAFE

    spans = [llm(i, i, model=text, cost="0.01", start_s=i) for i, text in enumerate(HOSTILE_TEXT, 1)]
    huge, late = llm(90, 90, cost="0.5"), llm(91, 91)
    huge["attributes"]["gen_ai.usage.cost.amount"] = "1e999999"
    late["end_time_unix_nano"] = 10**30
    path = write_jsonl(tmp_path / "s.jsonl", [*spans, huge, late])
    with open(path, "a") as out:
        out.write("[" * 100_000 + "\n" + '{"a":' * 50_000 + "\n")
    assert main(["report", str(path), "--engine", "duckdb", "--trace", f"{1:032x}"]) == 0
    assert main(["report", str(path), "--engine", "duckdb", "--format", "csv"]) == 0
    captured = capsys.readouterr()
    assert not UNSAFE.search(captured.out + captured.err)
    report = duckdb_report([path])
    assert report.totals.unpriced == 1 and report.cost_status["absurd"] == 1
    # Lines DuckDB cannot read (lone surrogates, deep nesting, a time past 64 bits) are skipped.
    assert report.totals.calls == len(HOSTILE_TEXT) - 2 + 1


def _busy_spans(traces: int, seed: int = 3) -> list[dict]:
    """Agent runs with varied durations and float-artefact costs: groups past the exact-percentile limit."""
    rng = random.Random(seed)
    spans = []
    for t in range(1, traces + 1):
        base, start = t * 100, t * 7.0
        for i in range(4):
            model = ("gpt-4o", "gpt-4o-mini", "claude-sonnet-4")[rng.randrange(3)]
            cost = repr(rng.uniform(0, 0.03)) if rng.random() > 0.05 else None
            spans.append(
                llm(
                    t,
                    base + 10 + i,
                    base + 2 + i % 2,
                    model=model,
                    cost=cost,
                    input_tokens=rng.randint(1, 9000),
                    ttft=rng.uniform(0.01, 0.2),
                    start_s=start + i,
                    duration_s=rng.lognormvariate(-0.5, 0.6),
                    error=rng.random() < 0.03,
                )
            )
        spans += [
            step(t, base + 2 + i, base + 1, ("plan", "act")[i], start_s=start, duration_s=2.0 + i)
            for i in (0, 1)
        ]
        agent = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": f"agent{t % 3}"}
        spans.append(span(t, base + 1, None, name=f"invoke_agent agent{t % 3}", start_s=start, duration_s=5,
                          attributes=agent))  # fmt: skip
    return spans


def test_same_figures_past_the_exact_percentile_limit(tmp_path):
    """Groups of over 512 calls: both engines summarise with the same sketch bins, and add exact costs."""
    path = write_jsonl(tmp_path / "busy.jsonl", _busy_spans(400))
    python, duck = build_report([path]), duckdb_report([path])
    assert python.groups["model"][0][1].calls > 512 and python.totals.calls == 1600
    assert _close(_figures(duck), _figures(python)), (_figures(duck), _figures(python))
    assert duck.totals.cost == python.totals.cost  # exact decimals, read from the JSON text


def test_roots_after_their_children_and_in_another_file(tmp_path):
    spans = _busy_spans(30)
    roots = [s for s in spans if s["parent_span_id"] is None]
    rest = [s for s in spans if s["parent_span_id"] is not None]
    first = write_jsonl(tmp_path / "a.jsonl", rest[::-1])
    second = write_jsonl(tmp_path / "b.jsonl", roots)
    for paths in ([first, second], [second, first]):
        python, duck = build_report(paths), duckdb_report(paths)
        assert dict(duck.groups["agent"]).keys() == {"agent0", "agent1", "agent2"}
        assert _close(_figures(duck), _figures(python)), paths


def test_wrapper_chains_cycles_and_self_parents(tmp_path):
    """A call under a call under a call counts once (the lowest); calls in a parent cycle or parented
    by themselves are wrappers, as the Python engine decides; labels come through plain spans."""
    spans = [
        llm(1, 1, None, cost="0.5"),
        step(1, 2, 1, "outer"),
        llm(1, 3, 2, cost="0.25"),
        span(1, 4, 3, name="http"),
        llm(1, 5, 4, cost="0.125", response_id="r"),
        llm(1, 6, 4, cost="0.125", response_id="r"),
        llm(2, 1, 2, cost="1"),
        llm(2, 2, 1, cost="2"),
        llm(3, 7, 7, cost="4"),
        step(4, 1, 2, "loop", start_s=1),  # no root: the trace is named after its earliest span
        step(4, 2, 1, "loop2", start_s=2),
        llm(4, 3, 1, cost="8", start_s=3),
    ]
    path = write_jsonl(tmp_path / "odd.jsonl", spans)
    python, duck = build_report([path]), duckdb_report([path])
    assert _close(_figures(duck), _figures(python)), (_figures(duck), _figures(python))
    assert duck.totals.calls == 2 and duck.totals.cost == Decimal("8.125")


def test_cli_auto_engine_uses_duckdb_for_large_inputs(spans_path, monkeypatch, capsys):
    import otel_llm_cost._cli as cli

    assert main(["report", str(spans_path), "--format", "json"]) == 0
    small = capsys.readouterr()
    assert "duckdb" not in small.err  # small inputs: the Python engine, which counts everything
    monkeypatch.setattr(cli, "_DUCKDB_BYTES", 0)
    assert main(["report", str(spans_path), "--format", "json"]) == 0
    large = capsys.readouterr()
    assert "computed by the duckdb engine" in large.err
    assert json.loads(large.out)["cost"]["total"] == json.loads(small.out)["cost"]["total"]
    assert main(["report", str(spans_path), "--format", "json", "--engine", "python"]) == 0
    assert "duckdb" not in capsys.readouterr().err


def test_values_that_are_not_numbers_count_as_the_python_engine_counts_them(tmp_path):
    # A producer that writes `true` for a cost or a token count, a number as a string, an object or a
    # fraction: typed columns made DuckDB read `true` as 1 (a dollar, a token); both engines now agree.
    odd = (True, False, "7", "0.25", {"amount": 1}, [3], 10.5, "NaN", "1e999999", None)
    spans = []
    for sid, value in enumerate(odd, 1):
        spans.append(llm(sid, sid, cost="0.001", start_s=sid, extra={"gen_ai.usage.cost.amount": value}))
        spans.append(llm(100 + sid, 100 + sid, start_s=sid, extra={"gen_ai.usage.input_tokens": value}))
        spans.append(llm(200 + sid, 200 + sid, start_s=sid, extra={"gen_ai.usage.output_tokens": value}))
    path = write_jsonl(tmp_path / "odd.jsonl", spans)
    python, duck = build_report([path]), duckdb_report([path])
    assert _close(_figures(duck), _figures(python)), (_figures(duck), _figures(python))
    assert duck.totals.calls == len(spans)  # no line skipped for an odd value


def test_the_sampled_estimate_is_the_python_engines(tmp_path):
    # Traces kept at 10% and 50%, calls without a probability, and values the Python path does not read as
    # one (a string, a bool, 0, above 1): the same estimate, error and sampling line from both engines.
    rng = random.Random(5)
    odd = ("0.5", True, 0, 1.5, None)
    spans = []
    for t in range(1, 61):
        probability = (0.1, 0.5, 1, odd[t % len(odd)])[t % 4]
        for i in range(3):
            extra = {} if probability is None else {"llm_cost.sampling.probability": probability}
            cost = f"{rng.uniform(0.001, 0.02):.6f}" if rng.random() > 0.1 else None
            spans.append(llm(t, t * 10 + i, cost=cost, start_s=t + i, extra=extra))
    path = write_jsonl(tmp_path / "sampled.jsonl", spans)
    python, duck = build_report([path]), duckdb_report([path])
    assert python.sampling.sampled and python.sampling.unknown_calls > 0
    assert _close(_figures(duck), _figures(python)), (_figures(duck)["cost"], _figures(python)["cost"])
    from otel_llm_cost.report._sampling import sampling_lines

    assert sampling_lines(duck.sampling, duck.totals.calls) == sampling_lines(
        python.sampling, python.totals.calls
    )
