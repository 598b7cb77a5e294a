"""Process model (#16): a child forked after set-up never inherits a held lock, and ``llm_call`` takes any
URL without raising into the application.

The fork tests are fault injection: a lock of ours held by another thread at the instant of ``os.fork()``
(deterministically, for each kind of owner), then forks under load from threads that record calls,
export and log. Every child must finish its own calls and exit; the parent waits with a generous bound
and fails (killing the child) past it.
"""

from __future__ import annotations

import faulthandler
import io
import logging
import os
import re
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from instrumentation_faults import Collector
from otel_llm_cost import _log, llm_call
from otel_llm_cost.budget import BudgetGuard
from otel_llm_cost.export import JsonlSpanExporter
from otel_llm_cost.launch import install_processor
from otel_llm_cost.live_stats import install_stats
from otel_llm_cost.pricing import get_pricer

SRC = Path(__file__).resolve().parents[2] / "src" / "otel_llm_cost"
CHILD_BOUND_S = 60.0
pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX only")


def _wait(pid: int) -> int:
    """The child's exit status; fails (and kills it) when it has not exited within the bound."""
    deadline = time.monotonic() + CHILD_BOUND_S
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.01)  # polling a child's exit, not synchronising with it
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail(f"a child forked after configure() did not exit within {CHILD_BOUND_S} s (deadlock)")


def _fork_and_run(work: Callable[[], None]) -> int:
    pid = os.fork()
    if pid == 0:  # the child: do the work, never return into pytest
        faulthandler.dump_traceback_later(CHILD_BOUND_S / 2, exit=True)  # a hang prints where, then exits
        code = 0
        try:
            work()
        except BaseException:
            code = 1
        os._exit(code)
    return _wait(pid)


@pytest.fixture(autouse=True)
def _logs_in_memory():
    """Our logs go to memory, not to whatever stream handlers other tests left on the root logger: a
    fork while another thread writes to a stream hangs the child in CPython itself (the stream's own
    buffer lock), whatever the library. Our logging still runs in full, in every thread."""
    logger = logging.getLogger("otel_llm_cost")
    handler, propagate = Collector(), logger.propagate  # in memory: its lock is renewed at fork
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


class Calls:
    """What a child does after the fork: LLM calls end to end (span, processor, budget, stats, logs)."""

    def __init__(self, provider: TracerProvider, guard: BudgetGuard, exporter: JsonlSpanExporter) -> None:
        self.provider, self.guard, self.exporter = provider, guard, exporter

    def one(self, index: int) -> None:
        request = {"model": "gpt-4o-mini", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
        with llm_call(
            "openai", request=request, tracer_provider=self.provider, budget_guard=self.guard
        ) as call:
            call.set_usage({"prompt_tokens": 10, "completion_tokens": 2})
        _log.log_once(f"fork.{index % 50}", "otel-llm-cost fork test %d", index)
        get_pricer().price(call.usage, f"model-{index % 50}", "openai")  # type: ignore[arg-type]

    def __call__(self) -> None:
        for index in range(20):
            self.one(index)
        self.provider.force_flush()


@pytest.fixture
def setup(tmp_path: Path):
    provider = TracerProvider()
    exporter = JsonlSpanExporter(tmp_path / "spans.jsonl")
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=5))
    install_processor(provider)
    install_stats()
    guard = BudgetGuard("global:calls=1e9/1h; user:usd=1e6/1d")
    calls = Calls(provider, guard, exporter)
    # Imports and first loads happen before any thread runs: a fork while another thread is importing a
    # module (or writing to stderr) hangs the child in CPython itself, whatever the library.
    get_pricer().warm_up()
    calls.one(0)
    yield calls
    provider.shutdown()


def _held_locks(calls: Calls) -> list[tuple[str, object]]:
    from otel_llm_cost.live_stats import _installed
    from otel_llm_cost.processor import LLMCostSpanProcessor

    processor = next(p for p in calls.provider._active_span_processor._span_processors
                     if isinstance(p, LLMCostSpanProcessor))  # fmt: skip
    return [
        ("log_once", _log),
        ("jsonl exporter", calls.exporter),
        ("budget store", calls.guard.store),
        ("pricer", get_pricer()),
        ("live stats", _installed[0]),
        ("roll-up tree", processor._tree),
    ]


@pytest.mark.parametrize("which", range(6))
def test_a_lock_held_at_fork_is_new_in_the_child(setup: Calls, which: int) -> None:
    name, owner = _held_locks(setup)[which]
    lock = owner._seen_lock if owner is _log else owner._lock  # type: ignore[attr-defined]
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with lock:
            held.set()
            release.wait(CHILD_BOUND_S)

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    assert held.wait(10)
    try:
        assert _fork_and_run(setup) == 0, f"the child failed with the {name} lock held at fork"
    finally:
        release.set()
        holder.join(10)


def test_forks_under_load_never_deadlock(setup: Calls) -> None:
    stop = threading.Event()
    slow = JsonlSpanExporter(stream=SlowDisk())

    def load(worker: int) -> None:
        index = 0
        while not stop.is_set():
            setup.one(worker * 10_000 + index)
            slow.export(())
            index += 1

    workers = [threading.Thread(target=load, args=(n,), daemon=True) for n in range(3)]
    for worker in workers:
        worker.start()
    try:
        codes = [_fork_and_run(setup) for _ in range(25)]
    finally:
        stop.set()
        for worker in workers:
            worker.join(30)
    assert codes == [0] * 25


class SlowDisk(io.StringIO):
    """Each write takes a while (a slow disk), so the exporter's lock is often held when a fork happens."""

    def write(self, text: str) -> int:
        time.sleep(0.001)
        return super().write(text)


def test_every_lock_we_create_is_renewed_after_fork() -> None:
    """Structure: each module creating a lock registers it with the fork handler (a new lock without
    registration fails here)."""
    exempt = {"_fork.py", "_cli.py"}  # the registry's own lock; the CLI never forks
    missing = []
    for path in SRC.rglob("*.py"):
        if path.name in exempt or "report" in path.parts or "demo" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        created = len(re.findall(r"threading\.R?Lock\(\)", text))
        if path.name == "_ticket.py":  # a per-call lock, held only while one ticket settles
            continue
        if created and text.count("reinit_locks_after_fork(") < created:
            missing.append(path.name)
    assert missing == []


_hosts = st.sampled_from(
    ["localhost", "127.0.0.1", "[::1]", "[::1", "[zz::1]", "api.openai.com", "", "u:p@h"]
)
_ports = st.one_of(st.none(), st.integers(-5, 10**6).map(str), st.text(max_size=6))
_urls = st.builds(
    lambda scheme, host, port, rest: f"{scheme}://{host}{'' if port is None else ':' + port}{rest}",
    st.sampled_from(["http", "https", "", "redis", "ht tp"]), _hosts, _ports, st.text(max_size=20),
)  # fmt: skip


@given(
    st.one_of(
        _urls, st.text(max_size=40), st.binary(max_size=20), st.integers(), st.none(), st.builds(object)
    )
)
def test_llm_call_takes_any_url(url) -> None:
    provider = TracerProvider()
    with llm_call(url=url, model="m", tracer_provider=provider, server_port=None) as call:  # type: ignore[arg-type]
        call.set_usage({"prompt_tokens": 1, "completion_tokens": 1})
    assert call.usage is not None


@given(
    st.one_of(st.integers(), st.text(max_size=10), st.none(), st.booleans()), st.one_of(st.text(), st.none())
)
def test_llm_call_takes_any_address_and_port(port, address) -> None:
    with llm_call(server_address=address, server_port=port, model="m", tracer_provider=TracerProvider()):  # type: ignore[arg-type]
        pass
