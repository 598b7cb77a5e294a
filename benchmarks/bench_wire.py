"""What the wire capture adds beneath httpx2, against the bare call and the SDK-level wrapper, in one run.

Run: python benchmarks/bench_wire.py [rounds]

Every request goes through a real ``httpx2.Client`` whose transport is in memory (``httpx2.MockTransport``
serving ready-made bytes), so the figures are our code's and the client's, without a socket's noise:

- raw httpx2, a chat completions stream of 200 (and 1,000) SSE events, each its own chunk, read with
  ``iter_bytes()``; and a non-streamed call. Bare = ``Client.send`` unwrapped (``__wrapped__``), wire =
  the wire capture's ``send``, interleaved call by call in this process.
- the OpenAI SDK over the same transport, bare (``create.__wrapped__``) against our SDK wrapper: what the
  SDK-level path costs per call, the wire capture's target.
- a request to a host no one listed, bare against wire: what unrelated traffic pays.

Per chunk = the slope between the 200- and 1,000-event streams' overheads (the per-stream costs cancel),
and, as the other benchmarks report it, (stream overhead − call overhead) / 200. Reported as overheads in
µs and as ratios. Not a test: no assertions on time.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx2
import openai
from opentelemetry.sdk.trace import TracerProvider

from otel_llm_cost.instrumentation.openai import OpenAIInstrumentor
from otel_llm_cost.instrumentation.wire import WireInstrumentor

URL = "http://127.0.0.1:8000/v1/chat/completions"  # a self-hosted server: recognised by its address
OTHER_URL = "http://service.example.com/v1/items"
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}], "stream": True}
PLAIN_BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}


def _chunk(**fields: Any) -> bytes:
    base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini"}
    return b"data: " + json.dumps({**base, **fields}).encode() + b"\n\n"


def sse_events(count: int) -> list[bytes]:
    events = [_chunk(choices=[{"index": 0, "delta": {"role": "assistant", "content": ""}}])]
    events += [_chunk(choices=[{"index": 0, "delta": {"content": f" word{i}"}}]) for i in range(count)]
    events.append(_chunk(choices=[{"index": 0, "delta": {}, "finish_reason": "stop"}]))
    usage = {"prompt_tokens": 9, "completion_tokens": count, "total_tokens": 9 + count}
    events += [_chunk(choices=[], usage=usage), b"data: [DONE]\n\n"]
    return events


COMPLETION = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 1, "total_tokens": 10},
    }
).encode()
STREAMS = {200: sse_events(200), 1000: sse_events(1000)}


def handler(request: httpx2.Request) -> httpx2.Response:
    body = json.loads(request.content) if request.content else {}
    if request.url.host == "service.example.com":
        return httpx2.Response(200, content=b'{"ok": true}', headers={"content-type": "application/json"})
    if not body.get("stream"):
        return httpx2.Response(200, content=COMPLETION, headers={"content-type": "application/json"})
    events = STREAMS[body.get("n_events", 200)]
    return httpx2.Response(200, content=iter(events), headers={"content-type": "text/event-stream"})


def raw_calls(client: httpx2.Client) -> dict[str, tuple[Callable[[], Any], Callable[[], Any]]]:
    """(bare, wire) pairs of raw httpx2 calls."""
    unwrapped = type(client).send.__wrapped__

    def stream(events: int, bare: bool) -> Callable[[], Any]:
        def run() -> Any:
            request = client.build_request("POST", URL, json={**BODY, "n_events": events})
            response = unwrapped(client, request, stream=True) if bare else client.send(request, stream=True)
            for _ in response.iter_bytes():
                pass
            response.close()

        return run

    def call(url: str, bare: bool) -> Callable[[], Any]:
        def run() -> Any:
            request = client.build_request("POST", url, json=PLAIN_BODY)
            return unwrapped(client, request) if bare else client.send(request)

        return run

    return {
        "stream200": (stream(200, True), stream(200, False)),
        "stream1000": (stream(1000, True), stream(1000, False)),
        "call": (call(URL, True), call(URL, False)),
        "other host": (call(OTHER_URL, True), call(OTHER_URL, False)),
    }


def sdk_calls(client: openai.OpenAI) -> dict[str, tuple[Callable[[], Any], Callable[[], Any]]]:
    """(bare, wrapper) pairs of OpenAI SDK calls over the same transport."""
    create = client.chat.completions.create

    def stream(events: int, bare: bool) -> Callable[[], Any]:
        method = create.__wrapped__ if bare else create
        extra = {"n_events": events}

        def run() -> Any:
            for _ in method(
                model="gpt-4o-mini", messages=PLAIN_BODY["messages"], stream=True, extra_body=extra
            ):
                pass

        return run

    def call(bare: bool) -> Callable[[], Any]:
        method = create.__wrapped__ if bare else create
        return lambda: method(model="gpt-4o-mini", messages=PLAIN_BODY["messages"])

    return {"stream200": (stream(200, True), stream(200, False)), "call": (call(True), call(False))}


def ab(
    pairs: dict[str, tuple[Callable[[], Any], Callable[[], Any]]], rounds: int
) -> dict[str, tuple[float, float]]:
    """Median µs of (bare, instrumented) per surface, interleaved call by call."""
    out = {}
    for name, (bare, ours) in pairs.items():
        times: tuple[list[float], list[float]] = ([], [])
        repeat = rounds // 5 if name.startswith("stream") else rounds
        for _ in range(repeat // 10):  # warm-up
            bare()
            ours()
        for _ in range(repeat):
            for side, run in enumerate((bare, ours)):
                start = time.perf_counter_ns()
                run()
                times[side].append((time.perf_counter_ns() - start) / 1000)
        out[name] = (statistics.median(times[0]), statistics.median(times[1]))
    return out


def main(rounds: int) -> None:
    provider = TracerProvider()  # spans are made and ended, then dropped: no exporter cost in the figures
    transport = httpx2.MockTransport(handler)
    raw_client = httpx2.Client(transport=transport)
    wire = WireInstrumentor()
    wire.instrument(tracer_provider=provider, hosts="")
    raw = ab(raw_calls(raw_client), rounds)
    wire.uninstrument()
    sdk_wrapper = OpenAIInstrumentor()
    sdk_wrapper.instrument(tracer_provider=provider)
    sdk_client = openai.OpenAI(
        base_url="http://127.0.0.1:8000/v1", api_key="k", http_client=httpx2.Client(transport=transport)
    )
    sdk = ab(sdk_calls(sdk_client), rounds)
    sdk_wrapper.uninstrument()
    report(raw, sdk)


def report(raw: dict[str, tuple[float, float]], sdk: dict[str, tuple[float, float]]) -> None:
    def over(table: dict[str, tuple[float, float]], name: str) -> float:
        return table[name][1] - table[name][0]

    print("| path | surface | bare µs | instrumented µs | overhead µs |")
    print("|---|---|---|---|---|")
    for label, table in (("raw httpx2 + wire capture", raw), ("OpenAI SDK + SDK wrapper", sdk)):
        for name, (bare, ours) in table.items():
            print(f"| {label} | {name} | {bare:,.1f} | {ours:,.1f} | {ours - bare:,.1f} |")
    slope = (over(raw, "stream1000") - over(raw, "stream200")) / 800
    spread = (over(raw, "stream200") - over(raw, "call")) / 200
    print()
    print(f"wire, per chunk (slope 200 -> 1,000 events): {slope * 1000:,.0f} ns")
    print(f"wire, per chunk ((stream200 - call) / 200): {spread * 1000:,.0f} ns")
    print(f"wire / SDK wrapper overhead, non-streamed call: {over(raw, 'call') / over(sdk, 'call'):.2f}")
    streamed = over(raw, "stream200") / over(sdk, "stream200")
    print(f"wire / SDK wrapper overhead, 200-event stream: {streamed:.2f}")
    print(f"wire overhead / bare raw call: {over(raw, 'call') / raw['call'][0]:.2f}")
    other = over(raw, "other host")
    print(f"unlisted host: wire overhead {other:.2f} µs ({other / raw['other host'][0]:.1%} of the call)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2_000)
