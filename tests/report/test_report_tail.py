"""``otel-llm-cost tail``: follows a file that grows, is truncated and is rotated while it runs."""

from __future__ import annotations

import io
import json
import os
import queue
import subprocess
import sys
import threading
from decimal import Decimal

import pytest
from report_spans import agent_trace, known_calls, llm

from otel_llm_cost.report._follow import Follower
from otel_llm_cost.report._tail import TailOptions, tail

DEADLINE_S = 60  # generous bound for a loaded machine; the test waits on output, never on time


def append(path, *spans):
    with open(path, "a") as f:
        for s in spans:
            f.write(json.dumps(s) + "\n")


class Lines:
    """Reads a pipe on a thread so the test can wait for the next line with a deadline."""

    def __init__(self, stream):
        self._queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream):
        for line in stream:
            self._queue.put(line)
        self._queue.put("")

    def next(self) -> str:
        line = self._queue.get(timeout=DEADLINE_S)
        assert line, "the process ended early"
        return line.rstrip("\n")


@pytest.fixture
def follow(tmp_path):
    procs = []

    def start(path, *args):
        code = "from otel_llm_cost._cli import main; raise SystemExit(main())"
        cmd = [sys.executable, "-c", code, "tail", str(path), "--interval", "0.02", *args]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
        procs.append(proc)
        return proc, Lines(proc.stdout), Lines(proc.stderr)

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=DEADLINE_S)
        proc.stdout.close()
        proc.stderr.close()


def test_tail_follows_appends_truncation_and_rotation(tmp_path, follow):
    path = tmp_path / "spans.jsonl"
    path.write_text("")
    proc, out, err = follow(path, "--max-calls", "5")
    assert err.next().startswith("following ")  # opened at the end of the (empty) file
    append(path, llm(1, 1, model="model-a", cost="0.5", input_tokens=1200, ttft=0.25, duration_s=2.0))
    first = out.next()
    assert "ok" in first and "model-a" in first and "1,200" in first
    assert "250 ms" in first and "2 s" in first and "$0.50" in first and "1 calls $0.50" in first
    # A line written in two parts is shown once it is complete.
    text = json.dumps(llm(2, 1, model="model-b", cost="0.25", error=True))
    with open(path, "a") as f:
        f.write(text[:40])
        f.flush()
        f.write(text[40:] + "\n")
    second = out.next()
    assert "ERR" in second and "model-b" in second and "2 calls $0.75 1 err" in second
    # Truncated in place, then rewritten shorter: read again from the start.
    with open(path, "w") as f:
        f.write(json.dumps(llm(3, 1, model="model-c", cost="1")) + "\n")
    assert "model-c" in out.next()
    # Rotated: the old file moved away, a new one created under the name.
    os.replace(path, tmp_path / "spans.jsonl.1")
    append(path, llm(4, 1, model="model-d"), {"not": "a span"}, llm(5, 1, model="model-e"))
    assert "model-d" in out.next()
    assert "model-e" in out.next()
    assert out.next().startswith("total: 5 calls, 1 errors")
    assert proc.wait(timeout=DEADLINE_S) == 0


def test_tail_once_reads_existing_calls_and_exits(tmp_path):
    path = tmp_path / "spans.jsonl"
    append(path, *known_calls()[:3])
    with open(path, "a") as f:
        f.write(json.dumps(llm(9, 1, model="no-newline-at-end")))
    out = io.StringIO()
    totals = tail(str(path), TailOptions(once=True), out)
    lines = out.getvalue().splitlines()
    assert len(lines) == totals.calls == 4
    assert "no-newline-at-end" in lines[-1]


def test_tail_refuses_gzip(tmp_path):
    path = tmp_path / "spans.jsonl.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00")
    with pytest.raises(ValueError, match="gzip"):
        tail(str(path), TailOptions(once=True), io.StringIO())


def test_follower_without_a_file_yet(tmp_path):
    path = tmp_path / "later.jsonl"
    follower = Follower(str(path))
    assert follower.poll() == []
    path.write_text('{"a": 1}\n')  # created after the follower started: read from its start
    assert follower.poll() == [b'{"a": 1}']
    follower.close()


def test_follower_starts_at_the_end_unless_asked(tmp_path):
    path = tmp_path / "f.jsonl"
    path.write_text("old\n")
    follower, from_start = Follower(str(path)), Follower(str(path), from_start=True)
    assert follower.poll() == [] and from_start.poll() == [b"old"]
    with open(path, "a") as f:
        f.write("new\npart")
    assert follower.poll() == [b"new"] and from_start.poll() == [b"new"]
    assert follower.flush() == [b"part"]
    follower.close()
    from_start.close()


def test_tail_shows_each_call_once(tmp_path):
    # Per agent run: 3 calls, a wrapper span reporting one of them again, and a duplicate response id.
    path = tmp_path / "agents.jsonl"
    dup = llm(1001, 99, 100102, cost="0.005", response_id="r1001")
    append(path, *agent_trace(1001)[:4], dup, *agent_trace(1001)[4:], *agent_trace(1002))
    out = io.StringIO()
    totals = tail(str(path), TailOptions(once=True), out)
    assert totals.calls == 6 and totals.cost == Decimal("0.020")
    assert out.getvalue().count("\n") == 6
