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


def _openai_call(client: Any, request: dict[str, Any]) -> Callable[[], Any]:
    create = client.chat.completions.create

    def call() -> Any:
        return create(**request).usage

    def stream() -> Any:
        usage = None
        for chunk in create(**request):
            if chunk.usage is not None:
                usage = chunk.usage
        return usage

    return stream if request.get("stream") else call


def _anthropic_call(client: Any, request: dict[str, Any]) -> Callable[[], Any]:
    create = client.messages.create

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


def make_call(config: str, surface: str, payload: dict[str, Any], clients: dict[str, Any], tracer: Any) -> Call:
    """The call an application makes on ``surface``, with the floor's span around it for ``floor``."""
    provider_name = surface.split(".")[0]
    request = payload["request"]
    if surface.endswith("#raw"):  # the SDK's stream itself, for per-chunk timing
        client = clients[provider_name]
        create = client.chat.completions.create if provider_name == "openai" else client.messages.create
        return lambda: create(**request)
    if provider_name == "openai":
        call, attributes = _openai_call(clients["openai"], request), _openai_attributes
    else:
        call, attributes = _anthropic_call(clients["anthropic"], request), _anthropic_attributes
    if config == "floor":
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


def _chunk_samples(open_stream: Call, calls: int) -> list[int]:
    """The time each ``next()`` on the stream takes, over ``calls`` whole streams."""
    clock = time.perf_counter_ns
    samples: list[int] = []
    append = samples.append
    for _ in range(calls):
        iterator = iter(open_stream())
        while True:
            start = clock()
            try:
                next(iterator)
            except StopIteration:
                break
            append(clock() - start)
    return samples


def _timing(plan: dict, payloads: dict, server: MockServer, make: Callable[[str], Call], exporter: Any) -> dict:
    results = {}
    for surface in plan["surfaces"]:
        payload = payloads[surface]
        server.payload = payload
        call = make(surface)
        calls = plan["calls"][surface]
        _timed(call, plan["warmup"][surface])
        gc.collect()
        before = (exporter.spans, exporter.usage_spans) if exporter else (0, 0)
        samples = _timed(call, calls)
        result = {"samples_ns": samples, "check": _check(exporter, before, calls, payload["expect"])}
        if payload["chunks"] and plan.get("chunk_calls"):
            gc.collect()
            result["chunk_samples_ns"] = _chunk_samples(make(surface + "#raw"), plan["chunk_calls"])
        results[surface] = result
    return results


def _memory(plan: dict, payloads: dict, server: MockServer, make: Callable[[str], Call], exporter: Any) -> dict:
    (surface,) = plan["surfaces"]
    payload = payloads[surface]
    server.payload = payload
    call = make(surface)
    calls = plan["calls"][surface]
    _timed(call, plan["warmup"][surface])
    gc.collect()
    rss0, objects0 = _rss_kib(), len(gc.get_objects())
    before = (exporter.spans, exporter.usage_spans) if exporter else (0, 0)
    started = time.perf_counter_ns()
    for _ in range(calls):
        call()
    elapsed = time.perf_counter_ns() - started
    gc.collect()
    return {
        surface: {
            "calls": calls,
            "rss_growth_kib": _rss_kib() - rss0,
            "object_growth": len(gc.get_objects()) - objects0,
            "mean_ns": elapsed / calls,
            "check": _check(exporter, before, calls, payload["expect"]),
        }
    }


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
    tracer_provider, exporter = provider() if config != "bare" else (None, None)
    if config in INSTRUMENTATIONS:
        INSTRUMENTATIONS[config](tracer_provider)
    # Clients are built after instrumenting, as an application configured at start-up does.
    clients = _clients(server)
    tracer = tracer_provider.get_tracer("benchmarks.floor") if tracer_provider else None

    def make(surface: str) -> Call:
        return make_call(config, surface, payloads[surface.split("#")[0]], clients, tracer)

    measure = _memory if plan["mode"] == "memory" else _timing
    results = measure(plan, payloads, server, make, exporter)
    json.dump({"plan": plan, "versions": _versions(config), "results": results}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv)
