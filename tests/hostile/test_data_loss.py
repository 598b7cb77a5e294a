"""Nothing recorded is lost (#16): not to a value JSON cannot carry, a full disk, interpreter exit, or a
configuration variable that is wrong.

JSONL: every span is encoded alone and the encoding is total (property tests over attribute values and
arbitrary nested objects; a provider error holding half an emoji through the real SDK). Disk full: a file
that raises ENOSPC mid-write. Exit: a subprocess leaves streams and a manual call open. Configuration: a
bad budget variable turns off budgets only; an explicit bad argument raises.
"""

from __future__ import annotations

import errno
import io
import json
import math
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import openai
import pytest
from hostile_support import Recorded, chat_completion
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import otel_llm_cost
from otel_llm_cost.budget._config import guard_for
from otel_llm_cost.errors import ConfigurationError
from otel_llm_cost.export import JsonlSpanExporter
from otel_llm_cost.export._encode import to_json_line
from otel_llm_cost.instrumentation.openai import OpenAIInstrumentor
from replay import json_response

HERE = Path(__file__).parent
MESSAGES = [{"role": "user", "content": "hi"}]

_scalars = st.one_of(
    st.text(),  # lone surrogates included
    st.floats(),  # NaN and infinities included
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.booleans(),
)
_attribute_values = st.one_of(_scalars, st.lists(st.text(), max_size=4), st.lists(st.floats(), max_size=4))


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


@given(st.dictionaries(st.text(min_size=1, max_size=20), _attribute_values, max_size=8), st.text())
def test_every_span_becomes_one_parseable_line(attributes, name) -> None:
    stream = io.StringIO()
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("hostile")
    with tracer.start_as_current_span(name) as span:
        span.set_attributes(attributes)
        span.add_event(name, attributes)
    with tracer.start_as_current_span("good"):
        pass
    assert JsonlSpanExporter(stream=stream).export(memory.get_finished_spans()) is SpanExportResult.SUCCESS
    lines = stream.getvalue().splitlines()
    assert [json.loads(line)["name"] for line in lines][1] == "good"
    assert len(lines) == 2
    for line in lines:
        line.encode("utf-8")


_nested = st.recursive(
    st.one_of(
        st.none(), st.text(), st.floats(), st.integers(), st.binary(max_size=16),
        st.decimals(allow_nan=True, allow_infinity=True), st.builds(object),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.one_of(st.text(), st.integers()), inner, max_size=4),
        st.frozensets(st.integers(), max_size=3), st.tuples(inner, inner),
    ),
    max_leaves=20,
)  # fmt: skip


@given(_nested)
def test_the_encoding_is_total(value) -> None:
    line = to_json_line({"value": value})
    assert "\n" not in line
    line.encode("utf-8")  # valid UTF-8
    json.loads(line)  # valid JSON, NaN-free


def test_huge_and_deep_values_encode() -> None:
    deep: list[Any] = []
    for _ in range(5000):
        deep = [deep]
    decoded = json.loads(
        to_json_line({"big": 10**5000, "deep": deep, "nan": math.nan, "d": Decimal("1e999999")})
    )
    assert decoded["big"].startswith("<integer of") and decoded["nan"] is None and decoded["d"] == "1E+999999"


def test_one_bad_span_costs_nothing_of_its_batch(recorded: Recorded, replay_server, tmp_path) -> None:
    """30 good calls and one whose provider error holds half an emoji, exported as one batch: 31 lines."""
    path = tmp_path / "batch.jsonl"
    batch = BatchSpanProcessor(
        JsonlSpanExporter(path), max_export_batch_size=512, schedule_delay_millis=60_000
    )
    recorded.provider.add_span_processor(batch)
    error = {"error": {"message": "bad input \ud83d near here", "type": "invalid_request_error"}}
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=recorded.provider)
    try:
        with replay_server([json_response(chat_completion())] * 30 + [json_response(error, 400)]) as server:
            client = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0)
            for _ in range(30):
                client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
            with pytest.raises(openai.BadRequestError):
                client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    finally:
        instrumentor.uninstrument()
    batch.force_flush()
    lines = _lines(path)
    assert len(lines) == 31
    assert sum(line["status"]["code"] == "ERROR" for line in lines) == 1
    assert (
        "\ufffd" in next(line for line in lines if line["status"]["code"] == "ERROR")["status"]["description"]
    )


class DiskFull(io.StringIO):
    """A file that takes the first ``room`` characters, then raises ENOSPC (after writing what fits)."""

    def __init__(self, room: int) -> None:
        super().__init__()
        self.room = room

    def write(self, text: str) -> int:
        if self.room is not None and len(self.getvalue()) + len(text) > self.room:
            super().write(text[: max(self.room - len(self.getvalue()), 0)])
            raise OSError(errno.ENOSPC, "No space left on device")
        return super().write(text)


def test_disk_full_loses_only_what_did_not_fit(recorded: Recorded) -> None:
    tracer = recorded.provider.get_tracer("hostile")
    for index in range(6):
        with tracer.start_as_current_span(f"call {index}"):
            pass
    spans = recorded.spans
    disk = DiskFull(room=10**9)
    exporter = JsonlSpanExporter(stream=disk)
    assert exporter.export(spans[:2]) is SpanExportResult.SUCCESS
    disk.room = len(disk.getvalue()) + 50  # half a line fits, then the disk is full
    assert exporter.export(spans[2:4]) is SpanExportResult.FAILURE  # reported, never raised
    disk.room = 10**9  # space freed
    assert exporter.export(spans[4:]) is SpanExportResult.SUCCESS
    rows = disk.getvalue().split("\n")
    parsed = [json.loads(row) for row in rows if row.startswith("{") and row.endswith("}")]
    assert [row["name"] for row in parsed] == ["call 0", "call 1", "call 4", "call 5"]
    assert sum(1 for row in rows if row and not row.endswith("}")) == 1  # the torn line stands alone


def test_calls_open_at_exit_are_exported(tmp_path) -> None:
    path = tmp_path / "exit.jsonl"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(HERE.parent / "reliability")])}
    for name in ("OTEL_LLM_COST_BUDGETS", "OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED"):
        env.pop(name, None)
    try:
        done = subprocess.run(
            [sys.executable, str(HERE / "hostile_exit_scenario.py"), str(path)],
            capture_output=True, text=True, timeout=120, env=env, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired as hung:
        pytest.fail(f"the interpreter did not exit within 120 s: {hung.stderr!r}")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    outcomes = {
        line["attributes"].get("gen_ai.request.max_tokens"): (
            line["attributes"].get("llm_cost.stream.outcome"), line["attributes"].get("error.type"),
        )
        for line in _lines(path)
    }  # fmt: skip
    assert outcomes[2] == ("abandoned", None) and outcomes[3] == ("abandoned", None)
    assert outcomes[4] == ("abandoned", None)  # the stream a daemon thread was reading
    assert outcomes[5][1] == "otel_llm_cost.instrumentation._open_calls.InterpreterExit"


@given(
    budgets=st.text(max_size=40),
    store=st.one_of(st.just("memory"), st.text(max_size=30), st.just("redis-x://:pw@h:1/0")),
    policy=st.one_of(st.sampled_from(["open", "closed"]), st.text(max_size=8)),
)
def test_a_budget_variable_never_raises(budgets, store, policy) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OTEL_LLM_COST_BUDGETS", _env(budgets))
        patch.setenv("OTEL_LLM_COST_BUDGET_STORE", _env(store))
        patch.setenv("OTEL_LLM_COST_BUDGET_ON_STORE_ERROR", _env(policy))
        guard = guard_for({})  # what each instrumentor and llm_call do at set-up: a guard or None
    assert guard is None or callable(guard.admit)


def _env(text: str) -> str:
    return text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")


def test_explicit_bad_arguments_raise_at_configure() -> None:
    with pytest.raises(ConfigurationError, match="budget_guard"):
        otel_llm_cost.configure(tracer_provider=TracerProvider(), budget_guard="global:usd=1/1h")
