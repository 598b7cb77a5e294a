"""One benchmark process: one configuration, real SDKs over an in-process mock transport.

Usage (the parent, ``run.py``, does this): ``python _worker.py PLAN_JSON``, where the plan names the
configuration, the payload file, the surfaces in order and the call counts. Prints one JSON document.

Modes:
- ``timing``: per surface, ``warmup`` untimed calls, ``gc.collect()``, then ``calls`` calls timed one by
  one with ``perf_counter_ns`` (the garbage collector stays on: collections caused by a configuration's
  allocations are part of its cost). Streams are consumed to the end inside the timed region.
- ``memory``: ``warmup`` calls, then RSS and live-object count, ``calls`` calls, then again.
"""

from __future__ import annotations

import gc
import json
import sys
import time
from collections.abc import Callable
from importlib import metadata
from typing import Any

from _setups import DISTRIBUTIONS, INSTRUMENTATIONS, CheckingExporter, provider

Call = Callable[[], Any]


def _http_module(sdk: Any) -> Any:
    """httpx2 for openai 3.x / anthropic 1.x+, httpx before: whichever the SDK's client imports."""
    namespace = vars(sdk._base_client)
    return namespace.get("httpx2") or namespace["httpx"]


class MockServer:
    """Serves the current payload from inside the process (no socket, no thread)."""

    def __init__(self) -> None:
        self.payload: dict[str, Any] = {}

    def transport(self, http: Any) -> Any:
        def handle(request: Any) -> Any:
            payload = self.payload
            if "events" in payload:
                # One network read per SSE event, as a real server flushes them.
                content: Any = iter(payload["events_bytes"])
            else:
                content = payload["body_bytes"]
            return http.Response(200, headers=payload["headers"], content=content)

        return http.MockTransport(handle)


def _clients(server: MockServer) -> dict[str, Any]:
    import anthropic
    import openai

    clients = {}
    for name, sdk, cls in (("openai", openai, openai.OpenAI), ("anthropic", anthropic, anthropic.Anthropic)):
        http = _http_module(sdk)
        clients[name] = cls(
            api_key="bench",
            base_url="http://mock.invalid/v1" if name == "openai" else "http://mock.invalid",
            max_retries=0,
            http_client=http.Client(transport=server.transport(http)),
        )
    return clients


# ------------------------------------------------------------------------------------------ user code
# What an application does with each surface; it reads usage as a user would, in every configuration.


def _openai_call(create: Callable[..., Any], request: dict[str, Any]) -> Callable[[], Any]:
    def call() -> Any:
        return create(**request).usage

    def stream() -> Any:
        usage = None
        for chunk in create(**request):
            if chunk.usage is not None:
                usage = chunk.usage
        return usage

    return stream if request.get("stream") else call


def _anthropic_call(create: Callable[..., Any], request: dict[str, Any]) -> Callable[[], Any]:
    def call() -> Any:
        usage = create(**request).usage
        return usage, usage

    def stream() -> Any:
        start = end = None
        for event in create(**request):
            if event.type == "message_start":
                start = event.message.usage
            elif event.type == "message_delta":
                end = event.usage
        return start, end

    return stream if request.get("stream") else call


def _openai_attributes(usage: Any) -> dict[str, int]:
    prompt_details = usage.prompt_tokens_details
    completion_details = usage.completion_tokens_details
    return {
        "gen_ai.usage.input_tokens": usage.prompt_tokens,
        "gen_ai.usage.output_tokens": usage.completion_tokens,
        "gen_ai.usage.cache_read.input_tokens": (prompt_details.cached_tokens or 0) if prompt_details else 0,
        "gen_ai.usage.reasoning.output_tokens": (
            (completion_details.reasoning_tokens or 0) if completion_details else 0
        ),
    }


def _anthropic_attributes(usages: Any) -> dict[str, int]:
    start, end = usages
    return {
        "gen_ai.usage.input_tokens": start.input_tokens,
        "gen_ai.usage.output_tokens": end.output_tokens,
        "gen_ai.usage.cache_read.input_tokens": start.cache_read_input_tokens or 0,
        "gen_ai.usage.cache_creation.input_tokens": start.cache_creation_input_tokens or 0,
    }


def _floor(tracer: Any, name: str, call: Call, attributes: Callable[[Any], dict[str, int]]) -> Call:
    """The least a hand-written integration does: one span, four usage attributes from the response."""
    from opentelemetry.trace import SpanKind

    def floor() -> Any:
        with tracer.start_as_current_span(name, kind=SpanKind.CLIENT) as span:
            result = call()
            for key, value in attributes(result).items():
                span.set_attribute(key, value)
        return result

    return floor


def sdk_method(surface: str, clients: dict[str, Any], unwrapped: bool = False) -> Callable[..., Any]:
    """The SDK method ``surface`` calls; ``unwrapped``: the original under an instrumentation's wrapper
    (the method itself when nothing wraps it)."""
    client = clients[surface.split(".")[0]]
    resource = client.chat.completions if surface.startswith("openai") else client.messages
    create = resource.create
    if not unwrapped:
        return create
    # A wrapt wrapper's __wrapped__ is the original bound method; the SDK's own functools.wraps
    # decorators also set __wrapped__, to an unbound function, which is not a wrapper to remove.
    original = getattr(create, "__wrapped__", None)
    if original is None or getattr(original, "__self__", None) is not resource:
        return create
    return original


def make_call(
    config: str, surface: str, payload: dict[str, Any], clients: dict[str, Any], tracer: Any, unwrapped: bool
) -> Call | None:
    """The call an application makes on ``surface``: with the floor's span for ``floor``, and, when
    ``unwrapped``, without any instrumentation (the in-process reference of the A/B figures)."""
    request = payload["request"]
    create = sdk_method(surface, clients, unwrapped)
    if create is None:
        return None
    if surface.startswith("openai"):
        call, attributes = _openai_call(create, request), _openai_attributes
    else:
        call, attributes = _anthropic_call(create, request), _anthropic_attributes
    if config == "floor" and not unwrapped:
        return _floor(tracer, f"chat {request['model']}", call, attributes)
    return call


# ------------------------------------------------------------------------------------------ measuring


def _timed(call: Call, calls: int) -> list[int]:
    clock = time.perf_counter_ns
    samples = [0] * calls
    for i in range(calls):
        start = clock()
        call()
        samples[i] = clock() - start
    return samples


def _check(exporter: CheckingExporter | None, before: tuple[int, int], calls: int, expect: list[int]) -> dict:
    if exporter is None:
        return {"status": "n/a"}
    exporter.flush()  # a batch pipeline exports in its own thread: wait for what the calls queued
    spans, usage_spans = exporter.spans - before[0], exporter.usage_spans - before[1]
    last = list(exporter.last_usage) if exporter.last_usage else None
    ok = usage_spans >= calls and last == expect
    return {
        "status": "ok" if ok else "no usage span",
        "spans_per_call": spans / calls,
        "usage_spans_per_call": usage_spans / calls,
        "last_usage": last,
        "expected_usage": expect,
        "span_name": exporter.last_name,
    }


def _rss_kib() -> int:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1])


def _paired(a: Call, b: Call, pairs: int) -> tuple[list[int], list[int]]:
    """``pairs`` calls of each, interleaved (a b, b a, a b, ...) and timed one by one."""
    a_samples, b_samples = _timed(a, 0), _timed(b, 0)
    for i in range(pairs):
        first, second = (a, b) if i % 2 == 0 else (b, a)
        t1, t2 = _timed(first, 1)[0], _timed(second, 1)[0]
        a_samples.append(t1 if i % 2 == 0 else t2)
        b_samples.append(t2 if i % 2 == 0 else t1)
    return a_samples, b_samples


def _chunk_timer(open_stream: Callable[..., Any], request: dict[str, Any], samples: list[int]) -> Call:
    """A call that consumes one stream, appending the time of each ``next()`` to ``samples``."""
    clock = time.perf_counter_ns
    append = samples.append

    def consume() -> None:
        iterator = iter(open_stream(**request))
        while True:
            start = clock()
            try:
                next(iterator)
            except StopIteration:
                return
            append(clock() - start)

    return consume


def _ab(plan: dict, surface: str, payload: dict, calls: tuple[Call, Call | None], clients: dict) -> dict:
    """In-process A/B: the configuration's call against the same call without instrumentation."""
    call, reference = calls
    if reference is None:
        return {}
    gc.collect()
    a, b = _paired(call, reference, plan["ab_pairs"][surface])
    out = {"ab_ns": [a, b]}
    if payload["chunks"]:
        a_chunks: list[int] = []
        b_chunks: list[int] = []
        wrapped, original = sdk_method(surface, clients), sdk_method(surface, clients, unwrapped=True)
        assert original is not None
        gc.collect()
        _paired(
            _chunk_timer(wrapped, payload["request"], a_chunks),
            _chunk_timer(original, payload["request"], b_chunks),
            plan["chunk_pairs"],
        )
        out["ab_chunk_ns"] = [a_chunks, b_chunks]
    return out


def _timing(
    plan: dict, payloads: dict, server: MockServer, make: Callable, exporter: Any, clients: dict
) -> dict:
    results = {}
    for surface in plan["surfaces"]:
        payload = payloads[surface]
        server.payload = payload
        call, reference = make(surface, False), make(surface, True)
        calls = plan["calls"][surface]
        _timed(call, plan["warmup"][surface])
        if reference is not None:
            _timed(reference, plan["warmup"][surface])
        gc.collect()
        before = (exporter.spans, exporter.usage_spans) if exporter else (0, 0)
        samples = _timed(call, calls)
        result = {"samples_ns": samples, "check": _check(exporter, before, calls, payload["expect"])}
        result.update(_ab(plan, surface, payload, (call, reference), clients))
        results[surface] = result
    return results


def _memory(
    plan: dict, payloads: dict, server: MockServer, make: Callable, exporter: Any, clients: dict
) -> dict:
    (surface,) = plan["surfaces"]
    payload = payloads[surface]
    server.payload = payload
    call = make(surface, False)
    calls = plan["calls"][surface]
    _timed(call, plan["warmup"][surface])
    readings = [_memory_reading()]
    before = (exporter.spans, exporter.usage_spans) if exporter else (0, 0)
    elapsed = 0
    # Read after every tenth of the calls: a one-time step shows in one interval, a slope in all.
    for share in _tenths(calls):
        started = time.perf_counter_ns()
        for _ in range(share):
            call()
        elapsed += time.perf_counter_ns() - started
        readings.append(_memory_reading())
    return {
        surface: {
            "calls": calls,
            "interval_calls": _tenths(calls),
            "rss_kib": [rss for rss, _ in readings],
            "objects": [objects for _, objects in readings],
            "mean_ns": elapsed / calls,
            "check": _check(exporter, before, calls, payload["expect"]),
        }
    }


def _tenths(calls: int) -> list[int]:
    return [calls // 10 + (1 if i < calls % 10 else 0) for i in range(10)]


def _memory_reading() -> tuple[int, int]:
    """RSS (KiB) and the number of gc-tracked objects, after a full collection."""
    gc.collect()
    return _rss_kib(), len(gc.get_objects())


def _versions(config: str) -> dict[str, str]:
    names = ("openai", "anthropic", "httpx", "httpx2", *DISTRIBUTIONS[config])
    found = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def _encode(payloads: dict[str, Any]) -> None:
    for payload in payloads.values():
        if "body" in payload:
            payload["body_bytes"] = payload["body"].encode()
        else:
            payload["events_bytes"] = [e.encode() for e in payload["events"]]


def main(argv: list[str]) -> None:
    plan = json.loads(argv[1])
    config = plan["config"]
    with open(plan["payloads"]) as f:
        payloads = json.load(f)
    _encode(payloads)
    server = MockServer()
    pipeline = plan.get("pipeline", "simple")
    tracer_provider, exporter = (
        (None, None) if config == "bare" else provider(plan.get("collector"), pipeline)
    )
    if config in INSTRUMENTATIONS:
        INSTRUMENTATIONS[config](tracer_provider)
    # Clients are built after instrumenting, as an application configured at start-up does.
    clients = _clients(server)
    tracer = tracer_provider.get_tracer("benchmarks.floor") if tracer_provider else None

    def make(surface: str, unwrapped: bool) -> Call | None:
        return make_call(config, surface, payloads[surface], clients, tracer, unwrapped)

    measure = _memory if plan["mode"] == "memory" else _timing
    results = measure(plan, payloads, server, make, exporter, clients)
    json.dump({"plan": plan, "versions": _versions(config), "results": results}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv)
